"""The Simplified Chinese catalog is complete, compiled, and actually used at run time."""

from __future__ import annotations

import datetime as dt
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone, translation

import salesradar
from salesradar.accounts.choices import Role
from salesradar.crm.choices import DecisionRole
from salesradar.pipeline.models import Opportunity
from salesradar.pipeline.services import StageMoveRefused, move_stage
from tests.factories import ContactFactory, OpportunityFactory, days_after_creation

PACKAGE_DIR = Path(salesradar.__file__).resolve().parent
ZH_PO = PACKAGE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# The project catalog plus one per app that keeps its own (apps/<app>/locale), so that
# parallel work on different apps never edits the same catalog.
ZH_CATALOGS = sorted(PACKAGE_DIR.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))
CATALOG_IDS = [str(path.relative_to(PACKAGE_DIR)) for path in ZH_CATALOGS]

# {name}, {name!r}, {name:>10}; and %(name)s, %s, %d (but not a literal "%" or "%%").
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{[A-Za-z_][\w.]*(?:![rsa])?(?::[^{}]*)?\}(?!\})")
PERCENT_PLACEHOLDER = re.compile(r"(?<!%)%(?:\([A-Za-z_]\w*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
CJK = re.compile(r"[\u4e00-\u9fff]")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}


@dataclass
class Entry:
    """One catalog entry; ``msgstr`` maps the plural index (0 when not plural) to its text."""

    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def translations(self) -> list[str]:
        return [self.msgstr[index] for index in sorted(self.msgstr)]


def unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda match: ESCAPES.get(match.group(1), match.group(1)), quoted)


def parse_po(path: Path) -> list[Entry]:
    """Parse a gettext .po file: comments, flags, msgctxt, msgid(_plural), msgstr([n])."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which string a continuation line extends

    def finish() -> None:
        nonlocal current, target
        if current is not None and (current.msgid or current.msgstr):
            entries.append(current)
        current, target = None, None

    keyword = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"\s*$')
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if current is not None and target is not None and target[0] == "msgstr":
                finish()  # a comment after a msgstr starts the next entry
            if current is None:
                current = Entry(line=number)
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        match = keyword.match(line)
        if match:
            name, index, text = match.group(1), match.group(2), unescape(match.group(3))
            if name in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()  # an entry without a blank line before it
            if current is None:
                current = Entry(line=number)
            current.obsolete = current.obsolete or obsolete
            if name.startswith("msgstr"):
                slot = int(index) if index is not None else 0
                current.msgstr[slot] = text
                target = ("msgstr", slot)
            else:
                setattr(current, name, text)
                target = (name, 0)
            continue
        assert line.startswith('"') and line.endswith('"'), f"{path}:{number}: cannot parse {raw!r}"
        assert current is not None and target is not None, f"{path}:{number}: stray string"
        text = unescape(line[1:-1])
        if target[0] == "msgstr":
            current.msgstr[target[1]] += text
        else:
            setattr(current, target[0], getattr(current, target[0]) + text)
    finish()
    return entries


def placeholders(text: str) -> Counter[str]:
    return Counter(BRACE_PLACEHOLDER.findall(text)) + Counter(PERCENT_PLACEHOLDER.findall(text))


def header_fields(entries: list[Entry]) -> dict[str, str]:
    header = next(entry for entry in entries if entry.is_header)
    pairs = (line.split(":", 1) for line in header.msgstr[0].splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


@pytest.fixture(scope="module", params=ZH_CATALOGS, ids=CATALOG_IDS)
def zh_catalog(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture(scope="module")
def zh_entries(zh_catalog: Path) -> list[Entry]:
    entries = parse_po(zh_catalog)
    minimum = 250 if zh_catalog == ZH_PO else 1
    assert len(entries) > minimum, "the catalog parsed to suspiciously few entries"
    return entries


def messages(entries: list[Entry]) -> list[Entry]:
    return [entry for entry in entries if not entry.is_header and not entry.obsolete]


def test_zh_catalog_header_declares_language_charset_and_one_plural_form(
    zh_entries: list[Entry],
) -> None:
    header = header_fields(zh_entries)
    assert header["Language"] == "zh_Hans"
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert header["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    header_entry = next(entry for entry in zh_entries if entry.is_header)
    assert "fuzzy" not in header_entry.flags


def test_every_zh_message_is_translated_not_fuzzy_and_keeps_its_placeholders(
    zh_entries: list[Entry],
) -> None:
    problems: list[str] = []
    for entry in messages(zh_entries):
        where = f"line {entry.line} {entry.msgid!r}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy")
        if entry.msgid_plural is not None and sorted(entry.msgstr) != [0]:
            problems.append(f"{where}: zh has one plural form, got msgstr{sorted(entry.msgstr)}")
        if not entry.msgstr or any(not text for text in entry.translations):
            problems.append(f"{where}: untranslated")
            continue
        expected = placeholders(entry.msgid)
        if entry.msgid_plural is not None:
            expected |= placeholders(entry.msgid_plural)
        for text in entry.translations:
            if placeholders(text) != expected:
                problems.append(
                    f"{where}: placeholders {sorted(expected.elements())} "
                    f"became {sorted(placeholders(text).elements())} in {text!r}"
                )
    assert not problems, "\n".join(problems)


def test_compiled_zh_catalog_matches_the_po_file(zh_catalog: Path, zh_entries: list[Entry]) -> None:
    compiled_path = zh_catalog.with_suffix(".mo")
    assert compiled_path.exists(), f"{compiled_path} is missing; run compilemessages"
    with compiled_path.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    stale: list[str] = []
    for entry in messages(zh_entries):
        if entry.msgid_plural is not None:
            for count in (1, 2, 5):
                got = (
                    catalog.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, count)
                    if entry.msgctxt is not None
                    else catalog.ngettext(entry.msgid, entry.msgid_plural, count)
                )
                if got != entry.msgstr[0]:
                    stale.append(f"{entry.msgid!r} (n={count}): .mo has {got!r}")
            continue
        got = (
            catalog.pgettext(entry.msgctxt, entry.msgid)
            if entry.msgctxt is not None
            else catalog.gettext(entry.msgid)
        )
        if got != entry.msgstr[0]:
            stale.append(f"{entry.msgid!r}: .mo has {got!r}, .po has {entry.msgstr[0]!r}")
    assert not stale, "django.mo is out of date; run compilemessages:\n" + "\n".join(stale)


def test_model_names_and_choice_labels_follow_the_active_language() -> None:
    with translation.override("zh-hans"):
        assert str(Opportunity._meta.verbose_name) == "商机"
        assert str(Opportunity._meta.verbose_name_plural) == "商机"
        assert str(Role.REP.label) == "销售代表"
        assert str(DecisionRole.DECISION_MAKER.label) == "决策人"
    with translation.override("en"):
        assert str(Opportunity._meta.verbose_name) == "opportunity"
        assert str(Role.REP.label) == "Sales rep"
        assert str(DecisionRole.DECISION_MAKER.label) == "Decision maker"


@pytest.mark.django_db
def test_missing_gate_refusal_is_in_chinese() -> None:
    # given an opportunity in initial_contact with an influencer but no decision maker or evidence
    opportunity = OpportunityFactory()
    ContactFactory(customer=opportunity.customer, decision_role=DecisionRole.INFLUENCER)
    # when it is moved to needs_confirmed with Chinese active
    with translation.override("zh-hans"), pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "needs_confirmed", by=opportunity.owner, at=days_after_creation(1))
    # then the message and each missing requirement are Chinese
    message = refused.value.messages[0]
    assert CJK.search(message), message
    assert "Cannot move" not in message
    assert "需求确认" in message  # the stage label from the playbook's zh-hans labels
    assert refused.value.missing == ["佐证材料“痛点清单”", "一位角色为“决策人”的联系人"]
    assert all(CJK.search(item) for item in refused.value.missing)


@pytest.mark.django_db
def test_future_move_refusal_is_in_chinese() -> None:
    opportunity = OpportunityFactory()
    tomorrow = timezone.now() + dt.timedelta(days=1)
    with translation.override("zh-hans"), pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "lost", by=opportunity.owner, at=tomorrow)
    message = refused.value.messages[0]
    assert CJK.search(message), message
    assert "cannot be recorded" not in message


def test_makemessages_over_the_whole_package_finds_nothing_left_to_translate(
    tmp_path: Path,
) -> None:
    """A string marked for translation but missing from its catalog fails here, not in use.

    makemessages runs on a copy of the package, as a developer would run it from
    ``salesradar/`` (no settings: each app's strings go to its own catalog, the rest to the
    project catalog), and every zh-Hans entry it leaves must be translated and not fuzzy.
    """
    import os
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "salesradar"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    django_admin = Path(sys.executable).with_name("django-admin")
    subprocess.run(
        [str(django_admin), "makemessages", "-l", "zh_Hans"],
        cwd=copy,
        env=environment,
        check=True,
        capture_output=True,
    )
    problems = [
        f"{catalog.relative_to(copy)}: {entry.msgid!r}"
        + (" is fuzzy" if "fuzzy" in entry.flags else " is untranslated")
        for catalog in sorted(copy.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))
        for entry in messages(parse_po(catalog))
        if "fuzzy" in entry.flags or not entry.msgstr or not all(entry.translations)
    ]
    assert not problems, "\n".join(problems)
