"""Mapping help: explained preset choice, fuzzy header suggestions, printed and quoted commands."""

from __future__ import annotations

import shlex
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from salesradar.imports.presets import rank_presets, suggest_columns
from salesradar.imports.schema import kind_named
from salesradar.pipeline.models import Process
from tests.factories import CustomerFactory, UserFactory
from tests.imports.helpers import write_csv


def test_presets_are_ranked_by_header_overlap_with_the_vendor_first_on_a_tie() -> None:
    headers = ["Opportunity ID", "Opportunity Name", "Account Name", "Stage", "Amount"]

    ranked = rank_presets(headers, kind_named("opportunities"))

    assert (ranked[0].preset.key, ranked[0].matched) == ("salesforce-opportunities", 5)
    assert ranked[1].matched < 5


def test_fuzzy_suggestions_in_english_and_chinese_leave_unknown_headers_alone() -> None:
    suggestions = suggest_columns(
        ["Opp Name", "客户名", "商机阶段名", "Expected close", "Random"],
        kind_named("opportunities"),
        {},
    )

    assert {header: key for header, (key, _score) in suggestions.items()} == {
        "Opp Name": "name",
        "客户名": "customer",
        "商机阶段名": "stage",
        "Expected close": "expected_close_date",
    }


def test_list_presets_needs_no_file() -> None:
    out = StringIO()

    call_command("import", list_presets=True, stdout=out)

    assert "chinese-crm-opportunities" in out.getvalue()
    assert "salesforce-api-opportunityhistory" in out.getvalue()


@pytest.mark.django_db
def test_printed_stage_map_arguments_survive_the_shell_and_the_mapping_is_printed(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    path = write_csv(
        tmp_path / "deals.csv",
        [
            [
                "Opportunity Name",
                "Account Name",
                "Stage",
                "Amount",
                "Opportunity Owner",
                "Opp Notes",
            ],
            ["ERP", "Acme", "Buyer's Review", "1", "li", "x"],
        ],
    )
    err = StringIO()

    with pytest.raises(CommandError) as refused:
        call_command("import", str(path), kind="opportunities", no_progress=True, stderr=err)

    line = next(
        text for text in str(refused.value).splitlines() if text.strip().startswith("--stage-map")
    )
    assert shlex.split(line) == ["--stage-map", "Buyer's Review=?"]
    printed = err.getvalue()
    assert "Preset: Salesforce (Opportunity report), 5 of the file's 6 headers match" in printed
    assert "  Stage -> stage" in printed


@pytest.mark.django_db
def test_the_mapping_of_the_last_import_from_a_source_is_reused(tmp_path: Path) -> None:
    UserFactory(username="li")
    header = ["Firma", "Branche", "Betreuer"]
    first = write_csv(tmp_path / "a.csv", [header, ["Acme GmbH", "Handel", "li"]])
    second = write_csv(tmp_path / "b.csv", [header, ["Globex GmbH", "Energie", "li"]])
    mapping = ["Firma=name", "Branche=industry", "Betreuer=owner"]
    common = {"kind": "customers", "source": "oldcrm", "no_progress": True}
    call_command("import", str(first), map=mapping, errors=str(tmp_path / "e.csv"), **common)
    err = StringIO()

    call_command("import", str(second), stderr=err, errors=str(tmp_path / "e.csv"), **common)

    from salesradar.crm.models import Customer

    assert "mapping saved by the last import from oldcrm" in err.getvalue()
    assert dict(Customer.objects.values_list("name", "industry"))["Globex GmbH"] == "Energie"
