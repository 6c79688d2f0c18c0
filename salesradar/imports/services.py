"""Import a file of one kind of record, all or nothing, idempotently, in bounded memory.

The flow for one file (``run_import``):

1. open it as a stream of rows (:mod:`readers`), read each mapped cell with its column's
   parser (:mod:`parsing`), and check what one row can tell (required cells, lengths,
   date order);
2. per batch, resolve references (owners, customers, opportunities, contracts, stages)
   with one query per kind of reference, and find the rows already imported from the same
   source through ``ExternalRef`` (an external id met twice in one file is refused there);
3. write the batch: new rows with ``bulk_create`` and their external ids, changed rows
   with ``bulk_update``; a batch the database refuses is retried row by row inside
   savepoints so the error names its row.

Everything runs in one transaction. It commits only if no row was refused, or with
``partial`` (then the refused rows are reported and the rest kept); a dry run always rolls
back, so it sees exactly what an import would do, database constraints included.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.core.fields import DEFAULT_CURRENCY
from salesradar.core.spreadsheet import guard_row, unguard_cell
from salesradar.crm.normalize import normalize_company_name
from salesradar.imports import dedup, schema
from salesradar.imports.models import ExternalRef, ImportRun, OwnerMapping
from salesradar.imports.parsing import (
    DAY_FIRST,
    EMPTY_MARKERS,
    MONTH_FIRST,
    CellError,
    day_month_evidence,
    is_empty,
    normalize_text,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_int,
    parse_money,
)
from salesradar.imports.presets import (
    PRESETS,
    Preset,
    detect_preset,
    fold,
    known_header_names,
    mapping_from_preset,
)
from salesradar.imports.readers import FormulaWithoutValue, Table, UnreadableFile, open_table
from salesradar.pipeline.services import is_regression, record_stage_moves

ERROR_SAMPLE_SIZE = 200
REFERENCE_CACHE_LIMIT = 100_000
PREVIEW_ROWS = 10
STAGE_SCAN_LIMIT = 500  # distinct stage names listed before an import; more is a wrong column
WON_WORDS = frozenset({"won", "closed won", "赢单", "成交", "赢"})
LOST_WORDS = frozenset({"lost", "closed lost", "输单", "丢单", "输"})


class ImportRefused(ValueError):
    """The import cannot start (unreadable file, missing required column, bad option)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    reason: str

    def as_list(self) -> list[Any]:
        return [self.row, self.column, self.value, self.reason]


@dataclass
class ImportOptions:
    kind: str
    mapping: dict[str, str]  # file header -> column key
    source: str = "file"
    stage_map: dict[str, str] = field(default_factory=dict)  # their stage name -> our stage key
    process_key: str | None = None
    partial: bool = False
    dry_run: bool = False
    default_owner: str | None = None  # username for rows whose owner cell is empty
    actor_id: int | None = None
    time_zone: str = ""
    batch_size: int = 2000
    preset: str = ""
    # their owner (user id, e-mail or name) -> our user name; remembered for the source
    owner_map: dict[str, str] = field(default_factory=dict)
    create_owners: bool = False  # unknown owners become inactive users instead of a refusal
    create_customers: bool = False  # customers a row names but SalesRadar lacks are created
    currency: str = ""  # of amounts whose row names none; empty: such rows are refused
    date_order: str = ""  # "dmy" or "mdy" for 05.03.2024; empty: decided from the file
    mode: str = "both"  # "create" leaves existing records alone; "update" creates nothing
    match: str = ""  # "external_id", "code" or "name"; empty: id, then number, then name


@dataclass
class ImportReport:
    run_id: int
    kind: str
    source: str
    dry_run: bool
    partial: bool
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused_rows: int = 0
    committed: bool = False
    seconds: float = 0.0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ERROR_SAMPLE_SIZE
    error_file: Path | None = None  # every error, as CSV
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


Progress = Callable[[int, int | None], None]  # (rows done, bytes read or None)


# --------------------------------------------------------------------------- analysis


@dataclass
class Analysis:
    headers: list[str]
    preview: list[list[str]]
    format: str
    encoding: str
    delimiter: str
    notes: list[str]
    preset: Preset | None
    mapping: dict[str, str]


def analyse_file(path: Path | str, kind: str | None = None) -> Analysis:
    """Read the header and the first rows, and guess the preset and the column mapping."""
    kind_spec = schema.kind_named(kind) if kind else None
    table = _open(path, kind_spec)
    try:
        preview = []
        for _number, cells in table.rows:
            preview.append([normalize_text(cell) for cell in cells[: len(table.headers)]])
            if len(preview) >= PREVIEW_ROWS:
                break
    except UnreadableFile as error:
        raise ImportRefused(str(error)) from error
    finally:
        table.close()
    preset = detect_preset(table.headers, kind_spec)
    return Analysis(
        headers=table.headers,
        preview=preview,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        notes=table.notes,
        preset=preset,
        mapping=mapping_from_preset(table.headers, preset),
    )


def _open(path: Path | str, kind: schema.Kind | None) -> Table:
    try:
        return open_table(path, known_header_names(kind))
    except UnreadableFile as error:
        raise ImportRefused(str(error)) from error


def stage_columns(kind: schema.Kind, mapping: dict[str, str]) -> list[str]:
    stage_keys = {column.key for column in kind.columns if column.type == schema.STAGE}
    return [header for header, key in mapping.items() if key in stage_keys]


# HubSpot's deal export: one column per stage with the time the deal entered it, labelled
# Date entered "Appointment Scheduled (Sales Pipeline)" (or the property hs_date_entered_<id>)
_DATE_ENTERED = re.compile(
    r"""^date entered\s*["'“”‘’](?P<stage>.+?)(\s*\([^()]*\))?["'“”‘’]$"""
    r"|^hs_date_entered_(?P<id>.+)$",
    re.IGNORECASE,
)


def date_entered_columns(headers: list[str]) -> dict[str, str]:
    """Map each "Date entered <stage>" header to the stage name it is about."""
    found: dict[str, str] = {}
    for header in headers:
        match = _DATE_ENTERED.match(normalize_text(header))
        if match:
            found[header] = (match["stage"] or match["id"]).strip()
    return found


def scan_stage_values(path: Path | str, kind_key: str, mapping: dict[str, str]) -> list[str]:
    """Return the distinct stage names the file uses (in first-seen order), to map them."""
    kind = schema.kind_named(kind_key)
    headers = stage_columns(kind, mapping)
    if not headers:
        return []
    table = _open(path, kind)
    seen_in_headers = (
        list(date_entered_columns(table.headers).values()) if kind.key == "opportunities" else []
    )
    indexes = [table.headers.index(header) for header in headers if header in table.headers]
    seen: dict[str, None] = dict.fromkeys(seen_in_headers)
    try:
        for _number, cells in table.rows:
            for index in indexes:
                if index < len(cells) and not is_empty(cells[index]):
                    seen.setdefault(normalize_text(cells[index]), None)
            if len(seen) > STAGE_SCAN_LIMIT:
                break
    except UnreadableFile as error:
        raise ImportRefused(str(error)) from error
    finally:
        table.close()
    return list(seen)


@dataclass
class StagePlan:
    confirmed: dict[str, str]  # their name -> our key, exact matches and the user's choices
    suggested: dict[str, str]  # their name -> our key, from the vendor's standard stages
    unmapped: list[str]  # their names that map to nothing yet


def plan_stage_mapping(
    values: Iterable[str],
    *,
    process: Any,
    chosen: dict[str, str],
    preset: Preset | None = None,
) -> StagePlan:
    """Split the file's stage names into confirmed, merely suggested, and unmapped ones.

    A name equal to a stage's key or label (in any language) is confirmed as is; a vendor's
    standard name only suggests a stage, which the user confirms (``chosen``).
    """
    stages = list(process.stages.all())
    by_spelling: dict[str, str] = {}
    for stage in stages:
        by_spelling[fold(stage.key)] = stage.key
        for label in (stage.labels or {}).values():
            by_spelling[fold(str(label))] = stage.key
    keys = {stage.key for stage in stages}
    chosen_folded = {fold(name): key for name, key in chosen.items()}
    suggestions = {
        fold(name): key for name, key in (preset.stage_suggestions if preset else {}).items()
    }
    plan = StagePlan({}, {}, [])
    for value in values:
        folded = fold(value)
        if folded in chosen_folded and chosen_folded[folded] in keys:
            plan.confirmed[value] = chosen_folded[folded]
        elif folded in by_spelling:
            plan.confirmed[value] = by_spelling[folded]
        elif suggestions.get(folded) in keys:
            plan.suggested[value] = suggestions[folded]
            plan.unmapped.append(value)
        else:
            plan.unmapped.append(value)
    return plan


def saved_mapping(
    kind_key: str, source: str, headers: list[str]
) -> tuple[dict[str, str], dict[str, str]] | None:
    """The column and stage mapping of the last import written from ``source`` for this kind.

    Reused when every header it mapped is in the new file, so a nightly export is mapped once.
    """
    run = (
        ImportRun.objects.filter(kind=kind_key, source=source, status=ImportRun.Status.COMMITTED)
        .exclude(mapping={})
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is None or not set(run.mapping) <= set(headers):
        return None
    return dict(run.mapping), dict(run.stage_map)


def resolve_process(process_key: str | None) -> Any:
    from salesradar.pipeline.models import Process
    from salesradar.pipeline.playbook import ensure_default_process

    if process_key:
        try:
            return Process.objects.get(key=process_key)
        except Process.DoesNotExist:
            raise ImportRefused(
                _("No sales process with the key {key}.").format(key=process_key)
            ) from None
    process = Process.objects.filter(is_default=True).first()
    if process is None:
        ensure_default_process()
        process = Process.objects.get(is_default=True)
    return process


# --------------------------------------------------------------------------- rows


@dataclass
class ParsedRow:
    number: int
    values: dict[str, Any]  # attname -> value
    references: dict[str, str]  # column key -> raw text to resolve
    external_id: str
    present: set[str]  # column keys with a mapped column (for updates)
    extra: dict[str, Any] = field(default_factory=dict)


class _Context:
    """What one run knows beyond a single row: options, caches, counters, the error sink."""

    def __init__(self, options: ImportOptions, run: ImportRun, sink: ErrorSink) -> None:
        self.options = options
        self.kind = schema.kind_named(options.kind)
        self.model = self.kind.model
        self.content_type = ContentType.objects.get_for_model(self.model)
        self.run = run
        self.sink = sink
        self.zone = ZoneInfo(options.time_zone or settings.TIME_ZONE)
        self.now = timezone.now()
        self.users: dict[str, int | None] | None = None
        self.teams: dict[str, int | None] | None = None
        self.cache: dict[tuple[str, str], Any] = {}
        self.process: Any = None
        self.stages_by_key: dict[str, Any] = {}
        self.stages_by_id: dict[int, Any] = {}
        self.next_ids: dict[str, int] = {}
        self.header_of = {key: header for header, key in options.mapping.items() if key}
        self.stage_map: dict[str, Any] = {}  # folded name -> Stage
        self.created = 0
        self.updated = 0
        self.unchanged = 0
        self.default_owner_id: int | None = None
        self.owner_overrides: dict[str, int] = {}
        self.owners_created = 0
        self.customers_created = 0
        self.notes: list[str] = []
        self.pending_managers: list[tuple[int, int | None, str]] = []  # users: row, team, who
        self.unknown_people: dict[str, list[Any]] = {}  # folded -> [as written, column, rows]
        self.unknown_rows: set[int] = set()
        self.rows_without_currency: set[int] = set()
        self.skipped_existing = 0
        self.date_order: str | None = options.date_order or None
        self.entered_columns: list[tuple[int, Any]] = []  # HubSpot date-entered: index, stage
        preset = PRESETS.get(options.preset)
        self.value_maps: dict[str, dict[str, str]] = {
            key: {fold(theirs): ours for theirs, ours in spellings.items()}
            for key, spellings in (preset.values if preset else {}).items()
        }

    def error(self, row: int, column: str, value: Any, reason: str) -> None:
        """Report a refused cell under the file's own name for its column."""
        shown = self.header_of.get(column, column)
        self.sink.add(RowError(row, shown, normalize_text(value)[:200], reason))


def _fingerprint(parts: Iterable[Any]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        digest.update(normalize_text(part).encode("utf-8") + b"\x1f")
    return digest.hexdigest()


def _plain(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return unguard_cell(str(raw).strip())  # our exports' apostrophe before a formula start


def _read_cell(column: schema.Column, raw: Any, ctx: _Context) -> Any:
    """Read one cell as ``column``'s type; references come back as text to resolve later."""
    kind = column.type
    if isinstance(raw, FormulaWithoutValue):
        raise CellError(
            _(
                "the formula {formula} has no saved value; open the file in Excel or WPS, let "
                "it calculate, save it and import again"
            ).format(formula=raw.formula)
        )
    if kind in (schema.DATE,):
        return parse_date(raw, ctx.date_order)
    if kind == schema.DATETIME:
        return parse_datetime(raw, zone=ctx.zone, order=ctx.date_order)
    if kind == schema.AMOUNT:
        return parse_amount(raw)
    if kind == schema.INTEGER:
        return parse_int(raw)
    if kind == schema.BOOLEAN:
        return parse_bool(raw)
    folded = normalize_text(raw)
    if folded in EMPTY_MARKERS:
        return None
    # Free text keeps what the person typed (full-width brackets in 北京（上海）有限公司);
    # only codes, e-mails and choices are compared in their width-folded form.
    text = folded if kind in (schema.EMAIL, schema.CURRENCY, schema.CHOICE) else _plain(raw)
    if column.max_length and len(text) > column.max_length:
        raise CellError(
            _("{length} characters; at most {limit} fit").format(
                length=len(text), limit=column.max_length
            )
        )
    if kind == schema.EMAIL:
        try:
            validate_email(text)
        except ValidationError:
            raise CellError(_("not an email address")) from None
    if kind == schema.CURRENCY:
        code = text.upper()
        code = {"RMB": "CNY", "¥": "CNY", "元": "CNY", "人民币": "CNY", "$": "USD"}.get(code, code)
        if len(code) != 3 or not code.isalpha():
            raise CellError(_("not a three-letter currency code (CNY, USD, ...)"))
        return code
    if kind == schema.CHOICE and column.choices is not None:
        lookup = ctx.cache.get(("choice", column.key))
        if lookup is None:
            lookup = schema.choice_lookup(column.choices)
            ctx.cache[("choice", column.key)] = lookup
        value = lookup.get(text.casefold()) or ctx.value_maps.get(column.key, {}).get(fold(text))
        if value is None:
            raise CellError(
                _("not one of: {choices}").format(
                    choices=", ".join(str(label) for label in column.choices.labels)
                )
            )
        return value
    return text


def _parse_row(
    number: int, cells: list[Any], plan: list[tuple[int, schema.Column]], ctx: _Context
) -> ParsedRow | None:
    values: dict[str, Any] = {}
    references: dict[str, str] = {}
    present: set[str] = set()
    extra: dict[str, Any] = {}
    external = ""
    ok = True
    for index, column in plan:
        raw = cells[index] if index < len(cells) else None
        present.add(column.key)
        value: Any
        try:
            if column.type == schema.AMOUNT and isinstance(raw, str):
                value, spelled = parse_money(raw)
                if spelled:
                    extra["amount_currency"] = spelled
            else:
                value = _read_cell(column, raw, ctx)
        except CellError as error:
            ctx.error(number, column.key, raw, str(error))
            ok = False
            continue
        if value is None:
            if column.required and not (column.key == "owner" and ctx.default_owner_id):
                ctx.error(number, column.key, raw, _("required, but empty"))
                ok = False
            continue
        if column.type == schema.EXTERNAL_ID:
            external = value
        elif column.type in schema.REFERENCE_TYPES:
            references[column.key] = value
        elif column.attname:
            values[column.attname] = value
        else:
            references[column.key] = value  # a helper column such as the deal status
    for index, stage in ctx.entered_columns:
        raw = cells[index] if index < len(cells) else None
        try:
            entered = parse_datetime(raw, zone=ctx.zone, order=ctx.date_order)
        except CellError as error:
            ctx.error(number, "stage", raw, str(error))
            ok = False
            continue
        if entered is not None:
            extra.setdefault("entered", []).append((entered, stage))
    if not ok:
        return None
    if not external:
        natural = [values.get(name) or references.get(name) for name in ("code",)]
        if ctx.kind.natural_key == ("code",) and natural[0]:
            external = f"code:{natural[0]}"
        else:
            external = "row:" + _fingerprint(
                cells[index] if index < len(cells) else "" for index, _column in plan
            )
    return ParsedRow(number, values, references, external, present, extra)


# --------------------------------------------------------------------------- references


def _load_people(ctx: _Context) -> None:
    from salesradar.accounts.models import Team, User

    users: dict[str, int | None] = {}

    def add(mapping: dict[str, int | None], name: str, pk: int) -> None:
        name = name.strip().casefold()
        if not name:
            return
        mapping[name] = pk if mapping.get(name, pk) == pk else None  # None = ambiguous

    for user in User.objects.only("id", "username", "email", "first_name", "last_name"):
        add(users, user.username, user.pk)
        add(users, user.email, user.pk)
        add(users, user.get_full_name(), user.pk)
        add(users, f"{user.first_name} {user.last_name}", user.pk)
        add(users, f"{user.last_name}{user.first_name}", user.pk)
    teams: dict[str, int | None] = {}
    for team in Team.objects.only("id", "code", "name"):
        add(teams, team.code, team.pk)
        add(teams, team.name, team.pk)
    # the ids users were imported under from this source (Salesforce 005..., HubSpot owner ids)
    for external, user_id in ExternalRef.objects.filter(
        source=ctx.options.source, content_type=ContentType.objects.get_for_model(User)
    ).values_list("external_id", "object_id"):
        users[external.casefold()] = user_id
    # a remembered or given owner map wins over a name that happens to match
    for value, user_id in OwnerMapping.objects.filter(source=ctx.options.source).values_list(
        "value", "user_id"
    ):
        users[value.casefold()] = user_id
    users.update(ctx.owner_overrides)
    ctx.users, ctx.teams = users, teams


UNKNOWN_PEOPLE_SHOWN = 50


def _owner_overrides(ctx: _Context) -> dict[str, int]:
    """Resolve the given owner map (their value -> our user name or e-mail) to user ids."""
    from salesradar.accounts.models import User

    wanted = {name.strip().casefold() for name in ctx.options.owner_map.values()}
    found: dict[str, int] = {}
    for pk, username, email in User.objects.values_list("pk", "username", "email"):
        for name in (username.casefold(), (email or "").casefold()):
            if name in wanted:
                found[name] = pk
    missing = sorted(wanted - set(found))
    if missing:
        raise ImportRefused(
            _("The owner map names users SalesRadar does not have: {names}.").format(
                names=", ".join(missing)
            )
        )
    return {
        value.strip().casefold(): found[name.strip().casefold()]
        for value, name in ctx.options.owner_map.items()
        if value.strip()
    }


class UnknownPerson(CellError):
    """A person SalesRadar does not know: collected, then reported once for the file."""


def _unknown_person(value: str, row: ParsedRow, column: schema.Column, ctx: _Context) -> int:
    """Create an unknown owner (``create_owners``) or note it for the one message at the end."""
    assert ctx.users is not None
    text = value.strip()
    folded = text.casefold()
    if ctx.options.create_owners:
        from salesradar.accounts.services import create_inactive_user

        user = create_inactive_user(text)
        record_created(ctx, ContentType.objects.get_for_model(user).pk, [user.pk])
        ctx.users[folded] = user.pk
        OwnerMapping.objects.update_or_create(
            source=ctx.options.source, value=text[:255], defaults={"user": user}
        )
        ctx.owners_created += 1
        return user.pk
    entry = ctx.unknown_people.setdefault(folded, [text, column.key, 0])
    entry[2] += 1
    ctx.unknown_rows.add(row.number)
    raise UnknownPerson(text)


def _report_unknown_people(ctx: _Context) -> None:
    """One error for all the unknown people, each named once with how many rows name it."""
    if ctx.owners_created:
        ctx.notes.append(
            _("Created {count} inactive users for the owners SalesRadar did not know.").format(
                count=ctx.owners_created
            )
        )
    if not ctx.unknown_people:
        return
    entries = sorted(ctx.unknown_people.values(), key=lambda entry: (-entry[2], entry[0]))
    shown = ", ".join(f"{text} ({rows})" for text, _column, rows in entries[:UNKNOWN_PEOPLE_SHOWN])
    if len(entries) > UNKNOWN_PEOPLE_SHOWN:
        shown += " " + _("and {count} more").format(count=len(entries) - UNKNOWN_PEOPLE_SHOWN)
    message = _(
        "The file names {count} people SalesRadar does not know (rows in brackets): {names}. "
        "Map them to users with --owner-map FILE (two columns: their name, our user name) or "
        "in the mapping step, or create them as inactive users with --create-owners."
    ).format(count=len(entries), names=shown)
    ctx.error(min(ctx.unknown_rows), entries[0][1], "", message)
    ctx.sink.rows.update(ctx.unknown_rows)


def read_owner_map(path: Path | str) -> dict[str, str]:
    """Read an owner map file: two columns, their owner (id, e-mail or name) and our user.

    CSV in UTF-8 or GB18030; a first row whose second cell names no user is a header.
    """
    from salesradar.accounts.models import User

    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    rows = [row for row in csv.reader(text.splitlines(), dialect) if any(c.strip() for c in row)]
    mapping: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ImportRefused(
                _("Row {row} of the owner map needs two cells: their owner, our user.").format(
                    row=number
                )
            )
        if (
            number == 1
            and not User.objects.filter(
                Q(username=row[1].strip()) | Q(email=row[1].strip())
            ).exists()
        ):
            continue  # the header
        mapping[row[0].strip()] = row[1].strip()
    return mapping


def _decide_date_order(path: Path, plan: list[tuple[int, schema.Column]], ctx: _Context) -> None:
    """Decide whether 05.03.2024 means 5 March or 3 May, once for the whole file.

    The rows that can only be read one way (25.03.2024) decide; a file with both kinds, or
    with only ambiguous dates and no ``--dayfirst``/``--monthfirst``, is refused.
    """
    if ctx.date_order:
        return
    indexes = [index for index, column in plan if column.type in (schema.DATE, schema.DATETIME)]
    if not indexes:
        return
    first_seen: dict[str, tuple[int, str]] = {}
    table = _open(path, ctx.kind)
    try:
        for number, cells in table.rows:
            for index in indexes:
                raw = cells[index] if index < len(cells) else None
                evidence = day_month_evidence(raw)
                if evidence and evidence not in first_seen:
                    first_seen[evidence] = (number, normalize_text(raw))
            if DAY_FIRST in first_seen and MONTH_FIRST in first_seen:
                break
    except UnreadableFile as error:
        raise ImportRefused(str(error)) from error
    finally:
        table.close()
    if DAY_FIRST in first_seen and MONTH_FIRST in first_seen:
        raise ImportRefused(
            _(
                "The file writes dates both day first (row {day_row}: {day}) and month first "
                "(row {month_row}: {month}); correct one of them, nothing was imported."
            ).format(
                day_row=first_seen[DAY_FIRST][0],
                day=first_seen[DAY_FIRST][1],
                month_row=first_seen[MONTH_FIRST][0],
                month=first_seen[MONTH_FIRST][1],
            )
        )
    if DAY_FIRST in first_seen or MONTH_FIRST in first_seen:
        ctx.date_order = DAY_FIRST if DAY_FIRST in first_seen else MONTH_FIRST
        decided = first_seen[ctx.date_order]
        ctx.notes.append(
            (
                _("dates read day first, as row {row} ({value}) shows")
                if ctx.date_order == DAY_FIRST
                else _("dates read month first, as row {row} ({value}) shows")
            ).format(row=decided[0], value=decided[1])
        )
        return
    if "ambiguous" in first_seen:
        row, value = first_seen["ambiguous"]
        raise ImportRefused(
            _(
                "Dates such as {value} (row {row}) can be read day first or month first, and no "
                "date in the file tells which; say --dayfirst or --monthfirst (or choose in the "
                "mapping step). Nothing was imported."
            ).format(value=value, row=row)
        )


def _remember_owner_map(ctx: _Context) -> None:
    for value, user_id in ctx.owner_overrides.items():
        original = next(
            (given for given in ctx.options.owner_map if given.strip().casefold() == value), value
        )
        OwnerMapping.objects.update_or_create(
            source=ctx.options.source, value=original.strip()[:255], defaults={"user_id": user_id}
        )


def _lookup_person(table: dict[str, int | None], value: str) -> int | None:
    """Return the id, raise CellError when unknown or ambiguous."""
    folded = value.strip().casefold()
    if folded not in table:
        raise CellError(_("no such user or team in SalesRadar"))
    found = table[folded]
    if found is None:
        raise CellError(_("more than one user or team has this name; use the user name"))
    return found


def _resolve_records(
    ctx: _Context, model_label: str, values: set[str], *, by_name: str | None
) -> dict[str, Any]:
    """Map raw texts to (id, extra) for customers, opportunities or contracts, in 3 queries.

    A text is looked up as an external id of this source, then as a record number, then
    (customers, opportunities) as an exact name; a name two records share is ambiguous.
    """
    from django.apps import apps

    model = apps.get_model(model_label)
    extra_field = "customer_id" if model_label == "pipeline.Contract" else None
    found: dict[str, Any] = {}
    pending = {value for value in values if (model_label, value) not in ctx.cache}
    for value in values - pending:
        found[value] = ctx.cache[(model_label, value)]
    if pending:
        content_type = ContentType.objects.get_for_model(model)
        ids = dict(
            ExternalRef.objects.filter(
                source=ctx.options.source, content_type=content_type, external_id__in=pending
            ).values_list("external_id", "object_id")
        )
        wanted = ["id", "code"] + ([extra_field] if extra_field else [])
        rows = model._default_manager.filter(Q(pk__in=ids.values()) | Q(code__in=pending)).values(
            *wanted
        )
        by_id = {row["id"]: row for row in rows}
        by_code = {row["code"]: row for row in rows}
        names: dict[str, list[dict[str, Any]]] = {}
        unresolved = [value for value in pending if value not in ids and value not in by_code]
        if by_name and unresolved:
            name_field = "normalized_name" if by_name == "normalized_name" else "name"
            keys = {
                (normalize_company_name(value) if name_field == "normalized_name" else value): value
                for value in unresolved
            }
            for row in model._default_manager.filter(**{f"{name_field}__in": keys}).values(
                *wanted, name_field
            ):
                names.setdefault(row[name_field], []).append(row)
            names = {keys[key]: rows_ for key, rows_ in names.items() if key in keys}
        for value in pending:
            if value in ids and ids[value] in by_id:
                result: Any = by_id[ids[value]]
            elif value in by_code:
                result = by_code[value]
            elif len(names.get(value, [])) == 1:
                result = names[value][0]
            elif names.get(value):
                result = "ambiguous"
            else:
                result = None
            if len(ctx.cache) > REFERENCE_CACHE_LIMIT:
                ctx.cache = {key: item for key, item in ctx.cache.items() if key[0] == "choice"}
            if result is not None:
                ctx.cache[(model_label, value)] = result
            found[value] = result
    return found


REFERENCE_MODELS = {
    schema.CUSTOMER: ("crm.Customer", "normalized_name"),
    schema.OPPORTUNITY: ("pipeline.Opportunity", "name"),
    schema.CONTRACT: ("pipeline.Contract", None),
}


def _resolve_batch(rows: list[ParsedRow], ctx: _Context) -> list[ParsedRow]:
    """Replace reference texts by ids for the whole batch; drop rows with a bad reference."""
    kind = ctx.kind
    ref_columns = [column for column in kind.columns if column.type in schema.REFERENCE_TYPES]
    resolved: dict[str, dict[str, Any]] = {}
    for column in ref_columns:
        if column.type in REFERENCE_MODELS:
            wanted = {row.references[column.key] for row in rows if column.key in row.references}
            if wanted:
                label, by_name = REFERENCE_MODELS[column.type]
                resolved[column.key] = _resolve_records(ctx, label, wanted, by_name=by_name)
                if column.type == schema.CUSTOMER and ctx.options.create_customers:
                    _create_missing_customers(rows, column.key, resolved[column.key], ctx)
    good: list[ParsedRow] = []
    for row in rows:
        ok = True
        for column in ref_columns:
            raw = row.references.get(column.key)
            if raw is None:
                if column.key == "owner" and ctx.default_owner_id:
                    row.values["owner_id"] = ctx.default_owner_id
                continue
            try:
                value = _resolve_one(column, raw, resolved, ctx, row)
            except UnknownPerson:
                ok = False
                continue
            except CellError as error:
                ctx.error(row.number, column.key, raw, str(error))
                ok = False
                continue
            assert column.attname is not None
            row.values[column.attname] = value
        if ok:
            good.append(row)
    return good


def _create_missing_customers(
    rows: list[ParsedRow], key: str, found: dict[str, Any], ctx: _Context
) -> None:
    """Create the customers the rows name and SalesRadar lacks, through the duplicate guard.

    The new customer is owned by the first row's owner that names it (or the default owner).
    A name the guard refuses stays unresolved, and its rows are refused with the reason.
    """
    from salesradar.crm.models import Customer
    from salesradar.crm.services import DuplicateCustomer, create_customer

    if ctx.users is None:
        _load_people(ctx)
    assert ctx.users is not None
    for row in rows:
        name = row.references.get(key)
        if name is None or found.get(name) is not None:
            continue
        owner_text = row.references.get("owner")
        owner_id = ctx.users.get(owner_text.strip().casefold()) if owner_text else None
        digest = hashlib.blake2b(
            f"{ctx.options.source}\x1fcustomer\x1f{name}".encode(), digest_size=8
        ).hexdigest()
        try:
            customer = create_customer(
                name,
                code=f"C-{digest.upper()}",
                owner_id=owner_id or ctx.default_owner_id,
                at=ctx.now,
            )
        except (DuplicateCustomer, ValidationError) as error:
            found[name] = ("refused", " ".join(error.messages))
            continue
        result = {"id": customer.pk, "code": customer.code}
        record_created(ctx, ContentType.objects.get_for_model(Customer).pk, [customer.pk])
        found[name] = result
        ctx.cache[(Customer._meta.label, name)] = result
        ctx.customers_created += 1


def _resolve_one(
    column: schema.Column,
    raw: str,
    resolved: dict[str, dict[str, Any]],
    ctx: _Context,
    row: ParsedRow,
) -> Any:
    if column.type in (schema.USER, schema.TEAM):
        if ctx.users is None:
            _load_people(ctx)
        assert ctx.users is not None and ctx.teams is not None
        table = ctx.users if column.type == schema.USER else ctx.teams
        if column.type == schema.USER and raw.strip().casefold() not in table:
            return _unknown_person(raw, row, column, ctx)
        return _lookup_person(table, raw)
    if column.type == schema.STAGE:
        stage = ctx.stage_map.get(fold(raw))
        if stage is None:
            raise CellError(
                _("the stage maps to no stage of the process {process}; map it first").format(
                    process=ctx.process
                )
            )
        row.extra[column.key] = stage
        return stage.pk
    found = resolved.get(column.key, {}).get(raw)
    if isinstance(found, tuple):  # ("refused", why): --create-customers met the guard
        raise CellError(found[1])
    if found is None:
        if column.type == schema.CUSTOMER and not ctx.options.create_customers:
            raise CellError(
                _(
                    "not found in SalesRadar (by external id, number or name); "
                    "--create-customers creates it"
                )
            )
        raise CellError(_("not found in SalesRadar (by external id, number or name)"))
    if found == "ambiguous":
        raise CellError(_("more than one record has this name; use the number or external id"))
    if column.type == schema.CONTRACT:
        row.extra["contract_customer_id"] = found["customer_id"]
    return found["id"]


# --------------------------------------------------------------------------- per kind


def _generated_code(ctx: _Context, row: ParsedRow) -> str:
    digest = hashlib.blake2b(
        f"{ctx.options.source}\x1f{row.external_id}".encode(), digest_size=8
    ).hexdigest()
    return f"{ctx.kind.code_prefix}-{digest.upper()}"


def _prepare(row: ParsedRow, ctx: _Context) -> bool:
    """Fill derived fields and check what spans several cells; False when refused."""
    values = row.values
    key = ctx.kind.key
    if ctx.kind.code_prefix and not values.get("code"):
        values["code"] = _generated_code(ctx, row)
    if key in ("customers", "leads"):
        name = values.get("name") if key == "customers" else values.get("company_name")
        if name:
            values["normalized_name"] = normalize_company_name(name)
        values.setdefault("created_at", ctx.now)
        if key == "customers":
            values["updated_at"] = ctx.now
        else:
            values.setdefault("source", "import")
    elif key == "opportunities":
        return _prepare_opportunity(row, ctx)
    elif key == "users":
        return _prepare_user(row, ctx)
    elif key == "invoices":
        if not _settle_currency(row, ctx):
            return False
        values["customer_id"] = row.extra["contract_customer_id"]
        if values["due_on"] < values["issued_on"]:
            ctx.error(row.number, "due_on", values["due_on"], _("before the issue date"))
            return False
        if values.get("paid_at") is not None and values.get("paid_amount") is None:
            values["paid_amount"] = values["amount"]
    elif key == "quotes":
        if not _settle_currency(row, ctx):
            return False
        values.setdefault("version", 1)
        if values.get("sent_at") and values["sent_at"] < values["requested_at"]:
            ctx.error(row.number, "sent_at", values["sent_at"], _("before the quote was requested"))
            return False
    elif key == "targets":
        if ("user_id" in values) == ("team_id" in values):
            ctx.error(row.number, "user", "", _("give either a rep or a team, not both or neither"))
            return False
        values.setdefault("period", "month")
    elif key == "activities":
        values["backfilled"] = True  # known from when it occurred, not from the import
    elif key == "stage_history":
        to_stage = row.extra["to_stage"]
        from_stage = row.extra.get("from_stage")
        values["is_regression"] = is_regression(from_stage, to_stage)
    return True


def _prepare_user(row: ParsedRow, ctx: _Context) -> bool:
    """Derive the user name and first/last name; keep the manager for after the file."""
    from django.contrib.auth.hashers import make_password

    from salesradar.accounts.services import split_full_name, username_for

    values = row.values
    name = row.references.get("name", "")
    if name:
        values["first_name"], values["last_name"] = split_full_name(name)
    if not values.get("username"):
        full = " ".join(
            part for part in (values.get("first_name"), values.get("last_name")) if part
        )
        source = values.get("email") or name or full
        if not source:
            ctx.error(row.number, "username", "", _("give a user name, an e-mail or a name"))
            return False
        values["username"] = username_for(source)
    values.setdefault("date_joined", ctx.now)
    values["password"] = make_password(None)  # nobody signs in before an admin sets one
    manager = row.references.get("manager")
    if manager:
        ctx.pending_managers.append((row.number, values.get("team_id"), manager))
    return True


def _assign_managers(ctx: _Context) -> None:
    """Make each row's manager the manager of that row's team, once every user exists."""
    from salesradar.accounts.models import Team

    if not ctx.pending_managers:
        return
    _load_people(ctx)  # again: the file's own users are in the database now
    assert ctx.users is not None
    teams = Team.objects.in_bulk({team for _row, team, _manager in ctx.pending_managers if team})
    for number, team_id, manager in ctx.pending_managers:
        if team_id is None:
            ctx.error(number, "manager", manager, _("a manager leads a team: give the team too"))
            continue
        try:
            manager_id = _lookup_person(ctx.users, manager)
        except CellError as error:
            ctx.error(number, "manager", manager, str(error))
            continue
        team = teams[team_id]
        if team.manager_id is None:
            team.manager_id = manager_id
            team.save(update_fields=["manager"])
        elif team.manager_id != manager_id:
            ctx.error(
                number,
                "manager",
                manager,
                _("the team {team} already has another manager").format(team=team.name),
            )


def _prepare_opportunity(row: ParsedRow, ctx: _Context) -> bool:
    values = row.values
    status = fold(row.references.get("status", ""))
    stage = row.extra["stage"]
    if status in WON_WORDS or status in LOST_WORDS:
        wanted = "won" if status in WON_WORDS else "lost"
        terminal = next(
            (
                candidate
                for candidate in ctx.stages_by_key.values()
                if (candidate.is_won if wanted == "won" else candidate.is_lost)
            ),
            None,
        )
        if terminal is not None:
            if not stage.is_terminal:
                row.extra["stage_before_close"] = stage  # Pipedrive: the last stage it was in
            stage = terminal
            row.extra["stage"] = stage
            values["stage_id"] = stage.pk
    values["process_id"] = stage.process_id
    created = values.setdefault("created_at", ctx.now)
    values.setdefault("stage_entered_at", created)
    values["updated_at"] = ctx.now
    if stage.is_terminal:
        if values.get("closed_at") is None:
            close_date = values.get("expected_close_date")
            if close_date and close_date < created.astimezone(ctx.zone).date():
                ctx.error(
                    row.number,
                    "expected_close_date",
                    close_date,
                    _("the deal closed before it was created ({created})").format(
                        created=created.astimezone(ctx.zone).date().isoformat()
                    ),
                )
                return False
            closed = (
                dt.datetime.combine(close_date, dt.time(), tzinfo=ctx.zone)
                if close_date
                else created
            )
            # closed on the day it was created: at midnight it was not yet open
            values["closed_at"] = max(closed, created)
    else:
        values["closed_at"] = None
    if values["closed_at"] is not None and values["closed_at"] < created:
        ctx.error(row.number, "closed_at", values["closed_at"], _("before the creation time"))
        return False
    values.setdefault("amount", Decimal(0))
    return _settle_currency(row, ctx)


MONEY_KINDS = frozenset({"opportunities", "quotes", "invoices"})


def _settle_currency(row: ParsedRow, ctx: _Context) -> bool:
    """Give the row its currency: the currency cell, else the amount cell's own (``$12,000``),
    else ``--currency``; an amount with none of them is held for one message at the end.

    A currency cell that disagrees with the amount cell's currency is refused.
    """
    values = row.values
    spelled = row.extra.get("amount_currency")
    given = values.get("currency")
    if given and spelled and given != spelled:
        ctx.error(
            row.number,
            "currency",
            given,
            _("the amount is written in {spelled}, the currency column says {given}").format(
                spelled=spelled, given=given
            ),
        )
        return False
    currency = given or spelled or ctx.options.currency
    if currency:
        values["currency"] = currency
        return True
    if not any(values.get(name) for name in ("amount", "paid_amount")):
        values["currency"] = DEFAULT_CURRENCY  # nothing is counted in it
        return True
    ctx.rows_without_currency.add(row.number)
    return False


def _report_missing_currency(ctx: _Context) -> None:
    if not ctx.rows_without_currency:
        return
    rows = sorted(ctx.rows_without_currency)
    shown = ", ".join(str(number) for number in rows[:20]) + (" …" if len(rows) > 20 else "")
    ctx.error(
        rows[0],
        "currency",
        "",
        _(
            "{count} rows have an amount but no currency (rows {rows}); the file has no currency "
            "column, or it is empty there. Give the file's currency with --currency CODE (or in "
            "the mapping step), or add a currency column; nothing is assumed."
        ).format(count=len(rows), rows=shown),
    )
    ctx.sink.rows.update(rows)


# --------------------------------------------------------------------------- writing


def _natural_matches(rows: list[ParsedRow], ctx: _Context) -> dict[int, int]:
    """Row number -> id of an existing record with the same natural key (number, ...).

    TRICKY: one ``IN`` per key part and an exact match in Python, not an OR of one condition
    per row: SQLite refuses expression trees deeper than 1000, and a batch is larger.
    """
    names = ctx.kind.natural_key
    if not names:
        return {}
    attnames = [ctx.kind.column(name).attname or name for name in names]
    keyed: dict[tuple[Any, ...], int] = {}
    for row in rows:
        key = tuple(row.values.get(attname) for attname in attnames)
        if all(part is None for part in key):
            continue
        keyed[key] = row.number
    if not keyed:
        return {}
    filters: dict[str, set[Any]] = {}
    for position, attname in enumerate(attnames):
        parts = {key[position] for key in keyed}
        if None not in parts:
            filters[f"{attname}__in"] = parts
    matches: dict[int, int] = {}
    for record in ctx.model._default_manager.filter(**filters).values("pk", *attnames):
        key = tuple(record[attname] for attname in attnames)
        if key in keyed:
            matches[keyed[key]] = record["pk"]
    return matches


# what "name" matches on, per kind: attnames of the row's values (phone via its match key)
NAME_KEYS = {
    "customers": ("normalized_name",),
    "leads": ("normalized_name", "phone_key"),
    "opportunities": ("name", "customer_id"),
    "contacts": ("customer_id", "name"),
}


def _name_matches(rows: list[ParsedRow], ctx: _Context) -> dict[int, int]:
    """Row number -> id of the one existing record with the same name (and phone, customer).

    Two records with that name make the row ambiguous: it is reported, not guessed.
    """
    from salesradar.crm.normalize import phone_key_or_blank

    names = NAME_KEYS.get(ctx.kind.key)
    if not names or not rows:
        return {}
    keyed: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        values = dict(row.values)
        if "phone_key" in names:
            values["phone_key"] = phone_key_or_blank(values.get("phone") or "")
        key = tuple(values.get(name) for name in names)
        if all(part not in (None, "") for part in key):
            keyed.setdefault(key, []).append(row.number)
    if not keyed:
        return {}
    first = names[0]
    found: dict[tuple[Any, ...], list[int]] = {}
    for record in ctx.model._default_manager.filter(
        **{f"{first}__in": {key[0] for key in keyed}}
    ).values("pk", *names):
        key = tuple(record[name] for name in names)
        if key in keyed:
            found.setdefault(key, []).append(record["pk"])
    matches: dict[int, int] = {}
    for key, numbers in keyed.items():
        ids = found.get(key, [])
        for number in numbers:
            if len(ids) == 1:
                matches[number] = ids[0]
            elif len(ids) > 1:
                ctx.error(
                    number,
                    "",
                    "",
                    _("{count} records have this name; add an id or number column").format(
                        count=len(ids)
                    ),
                )
    return matches


def _write_batch(rows: list[ParsedRow], ctx: _Context) -> None:
    """Upsert ``rows``; on a database error, retry one row at a time to name the culprit."""
    if not rows:
        return
    try:
        with transaction.atomic():
            counts = _upsert(rows, ctx)
    except (DatabaseError, ValidationError, ValueError) as error:
        if len(rows) == 1:
            ctx.error(
                rows[0].number,
                "",
                "",
                _("refused by the database: {reason}").format(
                    reason=str(error).strip().splitlines()[0][:300]
                    if str(error).strip()
                    else type(error).__name__
                ),
            )
            return
        for row in rows:
            _write_batch([row], ctx)
        return
    ctx.created += counts[0]
    ctx.updated += counts[1]
    ctx.unchanged += counts[2]


def _upsert(rows: list[ParsedRow], ctx: _Context) -> tuple[int, int, int]:
    from salesradar.pipeline.models import StageChange

    refs = {
        external_id: (ref_id, object_id, run_id, row_number)
        for external_id, ref_id, object_id, run_id, row_number in ExternalRef.objects.filter(
            source=ctx.options.source,
            content_type=ctx.content_type,
            external_id__in=[row.external_id for row in rows],
        ).values_list("external_id", "pk", "object_id", "import_run_id", "row_number")
    }
    fresh: list[ParsedRow] = []
    existing: dict[int, ParsedRow] = {}  # object id -> row
    seen_here: dict[str, int] = {}
    refs_to_touch: list[tuple[int, int, int]] = []  # (run, row, ref id)
    for row in rows:
        ref = refs.get(row.external_id)
        first = seen_here.get(row.external_id)
        if first is None and ref is not None and ref[2] == ctx.run.pk:
            first = ref[3]
        if first is not None:
            raise_duplicate(row, first, ctx)
            continue
        seen_here[row.external_id] = row.number
        if ref is not None:
            refs_to_touch.append((ctx.run.pk, row.number, ref[0]))
            existing[ref[1]] = row
        else:
            fresh.append(row)
    match = ctx.options.match
    adopted = {} if match == "external_id" else _natural_matches(fresh, ctx)
    if match == "name" or (not match and ctx.kind.key in NAME_KEYS):
        # without an id column (a fingerprint), an edited row still finds its record by name
        by_name = [
            row
            for row in fresh
            if row.number not in adopted and (match == "name" or row.external_id.startswith("row:"))
        ]
        adopted.update(_name_matches(by_name, ctx))
    new_refs: list[tuple[Any, ...]] = []
    for row in [row for row in fresh if row.number in adopted]:
        existing[adopted[row.number]] = row
        new_refs.append(_ref(ctx, row, adopted[row.number]))
    fresh = [row for row in fresh if row.number not in adopted]
    if ctx.options.mode == "create" and existing:
        ctx.skipped_existing += len(existing)
        ctx.unchanged += len(existing)
        existing = {}
    if ctx.options.mode == "update":
        for row in fresh:
            ctx.error(
                row.number,
                "",
                "",
                _("no record matches this row, and the import only updates (--mode update)"),
            )
        fresh = []
    if ctx.kind.key in ("customers", "leads"):
        refused = dedup.check_duplicates(ctx.kind.key, [(row.number, row.values) for row in fresh])
        for number, reason in refused.items():
            ctx.error(number, "", "", reason)
        fresh = [row for row in fresh if row.number not in refused]
    if ctx.kind.key == "opportunities":
        opened = _open_opportunities(fresh, ctx)
        fresh = [row for row, _object_id in opened]
        created_ids = [object_id for _row, object_id in opened]
    else:
        created_ids = _insert(ctx.model, [row.values for row in fresh], ctx)
    for row, object_id in zip(fresh, created_ids, strict=True):
        new_refs.append(_ref(ctx, row, object_id))
    record_created(ctx, ctx.content_type.pk, created_ids)
    if ctx.kind.key == "opportunities" and created_ids:
        from salesradar.pipeline.models import StageChange as History

        record_created(
            ctx,
            ContentType.objects.get_for_model(History).pk,
            list(
                History.objects.filter(opportunity_id__in=created_ids).values_list("pk", flat=True)
            ),
        )
    updated = unchanged = 0
    if existing:
        if ctx.kind.append_only:
            unchanged = len(existing)
        else:
            updated, unchanged = _update_existing(existing, ctx, StageChange)
    _insert_refs(new_refs, ctx)
    if refs_to_touch:
        _touch_refs(refs_to_touch)
    return len(created_ids), updated, unchanged


def _open_opportunities(rows: list[ParsedRow], ctx: _Context) -> list[tuple[ParsedRow, int]]:
    """Open each new deal and write its history through the pipeline's verbs.

    A deal opens in the process's first open stage at its creation time (the creation
    entry), moves to the stage the file gives at the same time, and a closed deal then moves
    to won or lost at its close time. The moves are backfilled: the gates are not checked
    (their evidence lives in the old CRM) and each change's note says so. A refused row is
    reported and the others go on.
    """
    from salesradar.accounts.models import User
    from salesradar.crm.models import Customer
    from salesradar.pipeline.models import Opportunity
    from salesradar.pipeline.services import move_stage, open_opportunity

    if not rows:
        return []
    first = min(
        (stage for stage in ctx.stages_by_id.values() if not stage.is_terminal),
        key=lambda stage: stage.order,
    )
    actor = User(pk=ctx.options.actor_id) if ctx.options.actor_id else None
    opened: list[tuple[ParsedRow, int]] = []
    for row in rows:
        values = row.values
        stage = row.extra["stage"]
        open_stage = row.extra.get("stage_before_close") if stage.is_terminal else stage
        created = values["created_at"]
        try:
            with transaction.atomic():
                opportunity = open_opportunity(
                    Customer(pk=values["customer_id"]),
                    owner=User(pk=values["owner_id"]),
                    name=values["name"],
                    by=actor,
                    at=created,
                    amount=values["amount"],
                    currency=values["currency"],
                    product_line=values.get("product_line", ""),
                    expected_close_date=values.get("expected_close_date"),
                    process=ctx.process,
                    stage=first,
                    code=values["code"],
                    note=_("opened by import"),
                )
                position, moved_at = first, created
                for entered, entered_stage in sorted(
                    row.extra.get("entered", []), key=lambda item: item[0]
                ):
                    if entered_stage.pk == position.pk or entered_stage.is_terminal:
                        continue
                    moved_at = max(entered, created)
                    move_stage(
                        opportunity,
                        entered_stage,
                        by=actor,
                        at=moved_at,
                        note=_("import"),
                        backfill=True,
                    )
                    position = entered_stage
                if open_stage is not None and open_stage.pk != position.pk:
                    move_stage(
                        opportunity,
                        open_stage,
                        by=actor,
                        at=moved_at,
                        note=_("import"),
                        backfill=True,
                    )
                if stage.is_terminal:
                    move_stage(
                        opportunity,
                        stage,
                        by=actor,
                        at=values["closed_at"],
                        note=_("import"),
                        lost_reason=values.get("lost_reason", "") if stage.is_lost else "",
                        backfill=True,
                    )
        except (ValidationError, DatabaseError) as error:
            reason = " ".join(getattr(error, "messages", [str(error)]))
            ctx.error(row.number, "stage", row.references.get("stage", ""), reason)
            continue
        opened.append((row, opportunity.pk))
    # the deals were last updated when they were imported, as far as anyone here knows
    Opportunity.objects.filter(pk__in=[pk for _row, pk in opened]).update(updated_at=ctx.now)
    return opened


def record_created(ctx: _Context, content_type_id: int, ids: list[int]) -> None:
    """Remember the records this run created, so an undo can remove exactly them."""
    from salesradar.imports.models import ImportChange

    if not ids:
        return
    _write_rows(
        ImportChange,
        ["run_id", "content_type_id", "object_id", "action", "before", "after"],
        [(ctx.run.pk, content_type_id, pk, "created", "{}", "{}") for pk in ids],
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Values as JSON that converts back exactly (DjangoJSONEncoder drops microseconds)."""

    def plain(value: Any) -> Any:
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value

    return {name: plain(value) for name, value in values.items()}


def _touch_refs(refs: list[tuple[int, int, int]]) -> None:
    """Mark references as written by this run and row, in one prepared statement."""
    from django.db import connection

    table = connection.ops.quote_name(ExternalRef._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET import_run_id = %s, row_number = %s WHERE id = %s", refs
        )


def _allocate_ids(model: type[models.Model], count: int, ctx: _Context) -> list[int]:
    """Reserve ``count`` primary keys, so rows go in by COPY/executemany with their ids.

    PostgreSQL hands them out from the table's sequence (safe beside other writers); SQLite
    has one writer at a time, and the run holds the write lock from its first statement.
    """
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        start = ctx.next_ids.get(table)
        if start is None:
            cursor.execute(
                f"SELECT COALESCE(MAX(id), 0) + 1 FROM {connection.ops.quote_name(table)}"
            )
            start = cursor.fetchone()[0]
    ctx.next_ids[table] = start + count
    return list(range(start, start + count))


def _insert(model: type[models.Model], rows: list[dict[str, Any]], ctx: _Context) -> list[int]:
    """Insert ``rows`` (attname -> value; missing fields take their defaults); return ids."""
    if not rows:
        return []
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    defaults = {}
    for model_field in fields:
        if model_field.has_default():
            default = model_field.get_default()
            defaults[model_field.attname] = (
                ctx.now
                if callable(model_field.default) and isinstance(default, dt.datetime)
                else default
            )
        else:
            defaults[model_field.attname] = None if model_field.null else ""
    ids = _allocate_ids(model, len(rows), ctx)
    _write_rows(
        model,
        ["id", *(model_field.attname for model_field in fields)],
        [
            (
                object_id,
                *(
                    values.get(model_field.attname, defaults[model_field.attname])
                    for model_field in fields
                ),
            )
            for object_id, values in zip(ids, rows, strict=True)
        ],
    )
    return ids


def _insert_refs(refs: list[tuple[Any, ...]], ctx: _Context) -> None:
    _write_rows(
        ExternalRef,
        [
            "source",
            "content_type_id",
            "external_id",
            "object_id",
            "created_at",
            "import_run_id",
            "row_number",
        ],
        refs,
    )


def _sqlite_value(value: Any) -> Any:
    """What Django would send SQLite for ``value``, without a field lookup per cell."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _write_rows(model: type[models.Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL (the demo's TableWriter), one executemany on SQLite.

    TRICKY: only the types the import produces (text, int, bool, Decimal, date, aware
    datetime) reach here, so SQLite's values are prepared by type instead of by Django's
    per-field ``get_db_prep_save``, which was half the time of a large import.
    """
    from django.db import connection

    if not rows:
        return
    if connection.vendor == "postgresql":
        from salesradar.core.tables import TableWriter

        writer = TableWriter(model, columns, batch_size=len(rows))
        writer.rows = list(rows)
        writer.flush()
        return
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(
        connection.ops.quote_name(str(by_attname[column].column)) for column in columns
    )
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({placeholders})",
            [tuple(_sqlite_value(value) for value in row) for row in rows],
        )


def raise_duplicate(row: ParsedRow, first: int, ctx: _Context) -> None:
    shown = row.external_id
    if shown.startswith("row:"):
        reason = _("the same row as row {first}").format(first=first)
        shown = ""
    else:
        shown = shown.removeprefix("code:")
        reason = _("duplicate external id: already on row {first} of this file").format(first=first)
    ctx.error(row.number, "external_id", shown, reason)


def _ref(ctx: _Context, row: ParsedRow, object_id: int) -> tuple[Any, ...]:
    """An ExternalRef row for ``_insert_refs``, in its column order."""
    return (
        ctx.options.source,
        ctx.content_type.pk,
        row.external_id,
        object_id,
        ctx.now,
        ctx.run.pk,
        row.number,
    )


def _update_existing(
    existing: dict[int, ParsedRow], ctx: _Context, stage_change_model: type[models.Model]
) -> tuple[int, int]:
    from salesradar.imports.models import ImportChange

    records = ctx.model._default_manager.in_bulk(list(existing))
    snapshots: list[ImportChange] = []
    changed_fields: set[str] = set()
    changed: list[models.Model] = []
    moves: list[Any] = []  # StageChange rows, recorded by pipeline.services.record_stage_moves
    unchanged = 0
    # set by the importer, not the file: never a reason to count a row as changed
    bookkeeping = {"stage_entered_at", "updated_at", "password", "date_joined"}
    for object_id, row in existing.items():
        record = records.get(object_id)
        if record is None:  # the record was deleted since; its stale reference is replaced
            continue
        differs = []
        for attname, value in row.values.items():
            key = ctx.kind.key_of(attname)
            if attname in bookkeeping or (key is not None and key not in row.present):
                continue  # a default for a column the file lacks must not overwrite the record
            if getattr(record, attname) != value:
                differs.append(attname)
        if not differs:
            unchanged += 1
            continue
        if "updated_at" in row.values and "updated_at" not in differs:
            differs.append("updated_at")
        if ctx.kind.key == "opportunities" and "stage_id" in differs:
            old_stage = ctx.stages_by_id.get(record.stage_id)  # type: ignore[attr-defined]
            new_stage = row.extra["stage"]
            moves.append(
                stage_change_model(
                    opportunity_id=object_id,
                    from_stage=old_stage,
                    to_stage=new_stage,
                    changed_at=ctx.now,
                    changed_by_id=ctx.options.actor_id,
                    note=_("changed by import"),
                )
            )
            row.values["stage_entered_at"] = ctx.now
            differs.append("stage_entered_at")
        before = {attname: getattr(record, attname) for attname in differs}
        for attname in differs:
            setattr(record, attname, row.values[attname])
        changed_fields.update(differs)
        changed.append(record)
        snapshots.append(
            ImportChange(
                run_id=ctx.run.pk,
                content_type_id=ctx.content_type.pk,
                object_id=object_id,
                action=ImportChange.Action.UPDATED,
                before=_jsonable(before),
                after=_jsonable({attname: row.values[attname] for attname in differs}),
            )
        )
    if changed:
        ctx.model._default_manager.bulk_update(changed, sorted(changed_fields))
        ImportChange.objects.bulk_create(snapshots, batch_size=2000)
    if moves:
        written = record_stage_moves(moves, at=ctx.now)  # flags regressions, announces them
        record_created(
            ctx,
            ContentType.objects.get_for_model(stage_change_model).pk,
            [move.pk for move in written],
        )
    return len(changed), unchanged


# --------------------------------------------------------------------------- the run


class ErrorSink:
    """Every refused cell: the first few in memory, all of them streamed to a CSV file."""

    HEADER = ("row", "column", "value", "reason")

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or Path(tempfile.gettempdir())
        directory.mkdir(parents=True, exist_ok=True)
        # the sink outlives this call and is closed by close(), after the run
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w",
            suffix=".csv",
            prefix="import-errors-",
            dir=directory,
            delete=False,
            encoding="utf-8-sig",
            newline="",
        )
        self.path = Path(handle.name)
        self._handle = handle
        self._writer = csv.writer(handle)
        self._writer.writerow(self.HEADER)
        self.sample: list[RowError] = []
        self.count = 0
        self.rows: set[int] = set()  # TRICKY: bounded by the refused rows, not the file

    def add(self, error: RowError) -> None:
        self.count += 1
        self.rows.add(error.row)
        if len(self.sample) < ERROR_SAMPLE_SIZE:
            self.sample.append(error)
        self._writer.writerow(guard_row(error.as_list()))

    def close(self) -> None:
        self._handle.close()


def _entered_plan(table: Table, ctx: _Context) -> list[tuple[int, Any]]:
    """The "Date entered <stage>" columns the stage mapping resolves: (index, stage)."""
    plan: list[tuple[int, Any]] = []
    for header, name in date_entered_columns(table.headers).items():
        if header in ctx.options.mapping:
            continue
        stage = ctx.stage_map.get(fold(name))
        if stage is None:
            raise ImportRefused(
                _(
                    "The column {header} is about the stage {stage}, which maps to no stage of "
                    "the process; map it with --stage-map."
                ).format(header=header, stage=name)
            )
        plan.append((table.headers.index(header), stage))
    if plan:
        ctx.notes.append(
            _("stage history read from {count} date-entered columns").format(count=len(plan))
        )
    return plan


def _column_plan(table: Table, ctx: _Context) -> list[tuple[int, schema.Column]]:
    kind = ctx.kind
    mapping = ctx.options.mapping
    unknown_headers = [header for header in mapping if header not in table.headers]
    if unknown_headers:
        raise ImportRefused(
            _("The mapping names columns the file does not have: {headers}.").format(
                headers=", ".join(unknown_headers)
            )
        )
    plan: list[tuple[int, schema.Column]] = []
    used: dict[str, str] = {}
    for header, key in mapping.items():
        if not key:
            continue
        try:
            column = kind.column(key)
        except KeyError:
            raise ImportRefused(
                _("{kind} have no column {key}; known columns: {known}.").format(
                    kind=kind.label, key=key, known=", ".join(kind.keys)
                )
            ) from None
        if key in used:
            raise ImportRefused(
                _("The columns {first} and {second} both map to {key}.").format(
                    first=used[key], second=header, key=key
                )
            )
        used[key] = header
        plan.append((table.headers.index(header), column))
    missing = [
        column
        for column in kind.columns
        if column.required
        and column.key not in used
        and not (column.key == "owner" and ctx.default_owner_id)
    ]
    if missing:
        raise ImportRefused(
            _("Required columns are not mapped: {columns}.").format(
                columns=", ".join(f"{column.key} ({column.label})" for column in missing)
            )
        )
    return plan


def _batches(
    rows: Iterator[tuple[int, list[Any]]], size: int
) -> Iterator[list[tuple[int, list[Any]]]]:
    batch: list[tuple[int, list[Any]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def start_run(options: ImportOptions, file_name: str, *, stored_path: str = "") -> ImportRun:
    return ImportRun.objects.create(
        kind=options.kind,
        source=options.source,
        file_name=file_name[:255],
        stored_path=stored_path,
        preset=options.preset,
        mapping=options.mapping,
        stage_map=options.stage_map,
        partial=options.partial,
        created_by_id=options.actor_id,
    )


def run_import(
    path: Path | str,
    options: ImportOptions,
    *,
    run: ImportRun | None = None,
    progress: Progress | None = None,
    error_dir: Path | None = None,
) -> ImportReport:
    """Import ``path`` as ``options.kind``; see the module docstring for the guarantees.

    Raises :class:`ImportRefused` before anything is written when the file or the options
    cannot work at all; row problems never raise, they are reported.
    """
    path = Path(path)
    schema.kind_named(options.kind)  # unknown kind: refuse early
    run = run or start_run(options, path.name)
    sink = ErrorSink(error_dir)
    ctx = _Context(options, run, sink)
    started = time.monotonic()
    report = ImportReport(run.pk, options.kind, options.source, options.dry_run, options.partial)
    table: Table | None = None
    try:
        _prepare_context(ctx)
        table = _open(path, ctx.kind)
        report.notes = list(table.notes)
        plan = _column_plan(table, ctx)
        if ctx.kind.key == "opportunities":
            ctx.entered_columns = _entered_plan(table, ctx)
        _decide_date_order(path, plan, ctx)
        with transaction.atomic():
            _lock_source(options.source)
            # the first write takes SQLite's write lock for the whole run (see _allocate_ids)
            ImportRun.objects.filter(pk=run.pk).update(finished_at=None)
            _remember_owner_map(ctx)
            for batch in _batches(table.rows, options.batch_size):
                parsed = [
                    row
                    for number, cells in batch
                    if (row := _parse_row(number, cells, plan, ctx)) is not None
                ]
                parsed = _resolve_batch(parsed, ctx)
                parsed = [row for row in parsed if _prepare(row, ctx)]
                _write_batch(parsed, ctx)
                report.rows_read += len(batch)
                if progress is not None:
                    position = table.progress_position() if table.progress_position else None
                    progress(report.rows_read, position)
            _assign_managers(ctx)
            _report_unknown_people(ctx)
            _report_missing_currency(ctx)
            keep = not options.dry_run and (options.partial or sink.count == 0)
            if not keep:
                transaction.set_rollback(True)
        report.committed = keep
        if ctx.skipped_existing:
            ctx.notes.append(
                _("{count} rows match existing records and were left alone (--mode create)").format(
                    count=ctx.skipped_existing
                )
            )
        if ctx.customers_created:
            ctx.notes.append(
                _("Created {count} customers the file named (duplicate guard applied).").format(
                    count=ctx.customers_created
                )
            )
        report.notes = list(table.notes) + ctx.notes  # the reader notes skipped rows as it goes
    except (UnreadableFile, ImportRefused) as error:
        _finish(run, report, sink, ctx, started, status=ImportRun.Status.FAILED, message=str(error))
        raise ImportRefused(str(error)) from error
    except BaseException as error:
        # a bug or an interruption (Ctrl-C, a stopped worker), not bad input: the transaction
        # is already rolled back; say so on the run instead of leaving it "uploaded"
        _finish(
            run, report, sink, ctx, started, status=ImportRun.Status.FAILED, message=repr(error)
        )
        raise
    finally:
        if table is not None:
            table.close()
        sink.close()
    if options.dry_run:
        status = ImportRun.Status.DRY_RUN
    elif report.committed:
        status = ImportRun.Status.COMMITTED
    else:
        status = ImportRun.Status.ROLLED_BACK
    _finish(run, report, sink, ctx, started, status=status, message="")
    return report


def _lock_source(source: str) -> None:
    """Let one import per source system write at a time; refuse a second with a message.

    PostgreSQL: a transaction-level advisory lock keyed by the source (released at commit or
    rollback). Two people importing the same export at once would otherwise collide on the
    same external ids and the second die with a raw ``UniqueViolation``. SQLite needs no key:
    the run's first write takes the database's single write lock, so a second run waits.
    """
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(
        hashlib.blake2b(f"salesradar-import:{source}".encode(), digest_size=8).digest(),
        "big",
        signed=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise ImportRefused(
            _(
                "Another import from {source} is running; nothing was written. Run this one "
                "again when it has finished."
            ).format(source=source)
        )


def _prepare_context(ctx: _Context) -> None:
    from salesradar.accounts.models import User

    if ctx.options.owner_map:
        ctx.owner_overrides = _owner_overrides(ctx)
    if ctx.options.default_owner:
        found = User.objects.filter(
            Q(username=ctx.options.default_owner) | Q(email=ctx.options.default_owner)
        ).values_list("pk", flat=True)[:2]
        if len(found) != 1:
            raise ImportRefused(
                _("No single user {name} to own rows without an owner.").format(
                    name=ctx.options.default_owner
                )
            )
        ctx.default_owner_id = found[0]
    if any(column.type == schema.STAGE for column in ctx.kind.columns):
        ctx.process = resolve_process(ctx.options.process_key)
        stages = list(ctx.process.stages.all())
        ctx.stages_by_key = {stage.key: stage for stage in stages}
        ctx.stages_by_id = {stage.pk: stage for stage in stages}
        for stage in stages:
            ctx.stage_map[fold(stage.key)] = stage
            for label in (stage.labels or {}).values():
                ctx.stage_map[fold(str(label))] = stage
        for name, key in ctx.options.stage_map.items():
            if key not in ctx.stages_by_key:
                raise ImportRefused(
                    _(
                        "The stage mapping names {key}, which the process {process} lacks "
                        "(it has: {known})."
                    ).format(key=key, process=ctx.process, known=", ".join(ctx.stages_by_key))
                )
            ctx.stage_map[fold(name)] = ctx.stages_by_key[key]


def _finish(
    run: ImportRun,
    report: ImportReport,
    sink: ErrorSink,
    ctx: _Context,
    started: float,
    *,
    status: str,
    message: str,
) -> None:
    report.seconds = time.monotonic() - started
    report.errors = list(sink.sample)
    report.error_count = sink.count
    report.refused_rows = len(sink.rows)
    report.error_file = sink.path if sink.count else None
    # counted whether or not the transaction was kept: a dry run shows what an import would do
    report.created, report.updated, report.unchanged = ctx.created, ctx.updated, ctx.unchanged
    if not sink.count:
        sink.path.unlink(missing_ok=True)
    ImportRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=timezone.now(),
        rows_read=report.rows_read,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        refused=report.refused_rows,
        error_sample=[error.as_list() for error in report.errors],
        error_report=str(report.error_file or ""),
        message=message,
    )


def write_rejected_rows(source: Path, report_csv: Path, target: Path, kind_key: str) -> int:
    """Write the refused rows as they were in the file, plus an error column, to fix and re-upload.

    The header is the file's own; the last column says what was wrong with the row (every
    reason, joined). Returns the number of rows written. Memory holds the refused rows'
    reasons only, never the file.
    """
    reasons: dict[int, list[str]] = {}
    with report_csv.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row, column, _value, reason in reader:
            text = f"{column}: {reason}" if column else reason
            reasons.setdefault(int(row), []).append(text)
    table = _open(source, schema.kind_named(kind_key))
    written = 0
    try:
        header = [*table.headers, _("error")]
        rows = (
            [*[normalize_text(cell) for cell in cells[: len(table.headers)]], " | ".join(why)]
            for number, cells in table.rows
            if (why := reasons.get(number))
        )
        if target.suffix.lower() == ".xlsx":
            from openpyxl import Workbook

            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet(_("Rows to fix"))
            sheet.append(header)
            for line in rows:
                sheet.append(line)
                written += 1
            workbook.save(target)
        else:
            with target.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                for line in rows:
                    writer.writerow(line)
                    written += 1
    finally:
        table.close()
    return written


def write_error_report(report_csv: Path, target: Path) -> Path:
    """Copy an error report to ``target`` as .csv or .xlsx (by its suffix)."""
    if target.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(_("Errors"))
        with report_csv.open(encoding="utf-8-sig", newline="") as handle:
            for line in csv.reader(handle):
                sheet.append(line)  # already guarded when the report was written
        workbook.save(target)
    else:
        target.write_bytes(report_csv.read_bytes())
    return target
