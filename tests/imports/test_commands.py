from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from salesradar.crm.models import Customer
from salesradar.pipeline.models import Opportunity, Process
from tests.factories import CustomerFactory, UserFactory
from tests.imports.helpers import write_csv, write_xlsx

pytestmark = pytest.mark.django_db

PIPEDRIVE = [
    [
        "Deal - ID",
        "Deal - Title",
        "Deal - Value",
        "Deal - Currency",
        "Deal - Stage",
        "Deal - Status",
        "Deal - Owner",
        "Deal - Organization",
        "Deal - Deal created",
    ],
    [
        "71",
        "Annual licence",
        "1,200.50",
        "USD",
        "Proposal Made",
        "open",
        "li",
        "Acme",
        "2026-01-05",
    ],
    ["72", "Pilot", "5万", "CNY", "Negotiations Started", "won", "li", "Acme", "2026-01-07"],
    ["73", "Old deal", "800", "CNY", "Lead In", "lost", "li", "Acme", "2026-01-08"],
]


def test_unmapped_stages_are_listed_with_ready_to_paste_arguments_and_nothing_written(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    path = write_csv(tmp_path / "deals.csv", PIPEDRIVE)

    with pytest.raises(CommandError) as refused:
        call_command("import", str(path), kind="opportunities", no_progress=True)

    message = str(refused.value)
    assert "--stage-map 'Proposal Made=proposal'" in message
    assert "--accept-suggested-stages" in message
    assert not Opportunity.objects.exists()


def test_pipedrive_deals_import_with_confirmed_suggestions_and_the_status_column(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    path = write_csv(tmp_path / "deals.csv", PIPEDRIVE)
    out = StringIO()

    call_command(
        "import",
        str(path),
        kind="opportunities",
        accept_suggested_stages=True,
        no_progress=True,
        format="json",
        stdout=out,
    )

    summary = json.loads(out.getvalue())
    assert (summary["committed"], summary["created"], summary["errors"]) == (True, 3, 0)
    stages = dict(Opportunity.objects.values_list("name", "stage__key"))
    assert stages == {"Annual licence": "proposal", "Pilot": "won", "Old deal": "lost"}
    assert Opportunity.objects.get(name="Annual licence").currency == "USD"


def test_a_refused_import_writes_the_error_report_where_asked_and_exits_nonzero(
    tmp_path: Path,
) -> None:
    path = write_xlsx(
        tmp_path / "customers.xlsx",
        [["Customer name", "Tier", "Created at"], ["Acme", "A", 46082], ["Beta", "gold", "soon"]],
    )
    errors = tmp_path / "errors.xlsx"

    with pytest.raises(SystemExit) as stopped:
        call_command(
            "import",
            str(path),
            kind="customers",
            errors=str(errors),
            no_progress=True,
            stdout=StringIO(),
        )

    assert stopped.value.code == 1
    assert not Customer.objects.exists()
    rows = list(load_workbook(errors, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert [row[:2] for row in rows[1:]] == [("3", "Tier"), ("3", "Created at")]


def test_partial_import_from_the_command_line_keeps_the_good_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "customers.xlsx",
        [["Customer name", "Tier", "Created at"], ["Acme", "A", 46082], ["Beta", "gold", "soon"]],
    )
    out = StringIO()

    call_command(
        "import",
        str(path),
        kind="customers",
        partial=True,
        no_progress=True,
        errors=str(tmp_path / "e.csv"),
        stdout=out,
    )

    assert list(Customer.objects.values_list("name", flat=True)) == ["Acme"]
    assert "1 refused" in out.getvalue()


def test_an_unreadable_file_is_refused_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsx"
    path.write_bytes(b"this is not a workbook")

    with pytest.raises(CommandError, match="xlsx"):
        call_command("import", str(path), kind="customers", no_progress=True)
