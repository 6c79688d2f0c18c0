from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from salesradar.accounts.choices import Role
from salesradar.crm.models import Customer
from salesradar.imports.models import ImportRun
from salesradar.pipeline.models import Opportunity, Process
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

HUBSPOT_DEALS = (
    "Record ID,Deal Name,Deal Stage,Amount,Close Date,Deal owner,Create Date,Associated Company\n"
    '9001,ERP rollout,Appointment Scheduled,"12,000",2026-04-01,ops,2026-01-05,Acme\n'
    "9002,CRM seats,Closed Won,3万,2026-02-01,ops,2026-01-06,Acme\n"
)


@pytest.fixture
def ops_client(client: Client, settings: object, tmp_path: Path) -> Client:
    user = UserFactory(username="ops", role=Role.OPS)
    client.force_login(user)
    return client


def upload(client: Client, name: str, content: bytes, kind: str) -> ImportRun:
    response = client.post(
        reverse("imports:upload"),
        {"file": SimpleUploadedFile(name, content), "kind": kind},
    )
    assert response.status_code == 302, response.content[:500]
    return ImportRun.objects.latest("pk")


def test_upload_preview_confirm_stages_dry_run_then_import(
    ops_client: Client, default_process: Process
) -> None:
    CustomerFactory(name="Acme")
    run = upload(ops_client, "deals.csv", HUBSPOT_DEALS.encode("utf-8-sig"), "opportunities")

    page = ops_client.get(reverse("imports:map", args=[run.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    assert page.context["preset"].key == "hubspot-deals"
    # the vendor's stage names come pre-selected as suggestions the user confirms by submitting
    data = {name: form[name].value() or "" for name in form.fields}
    data["partial"] = ""
    assert sorted(data[f"stage_{i}"] for i in range(2)) == ["initial_contact", "won"]

    dry = ops_client.post(reverse("imports:map", args=[run.pk]), {**data, "action": "dry_run"})
    run.refresh_from_db()
    assert dry.status_code == 302 and run.status == ImportRun.Status.DRY_RUN and run.created == 2
    assert not Opportunity.objects.exists()

    ops_client.post(reverse("imports:map", args=[run.pk]), {**data, "action": "import"})
    run.refresh_from_db()
    assert run.status == ImportRun.Status.COMMITTED
    assert sorted(Opportunity.objects.values_list("amount", flat=True)) == [12000, 30000]
    result = ops_client.get(reverse("imports:result", args=[run.pk]))
    assert result.status_code == 200


def test_refused_rows_are_listed_and_the_error_report_downloads_as_xlsx(
    ops_client: Client,
) -> None:
    content = "客户名称,客户等级\n甲公司,A\n乙公司,Z\n".encode("gb18030")
    run = upload(ops_client, "customers.csv", content, "customers")
    page = ops_client.get(reverse("imports:map", args=[run.pk]))
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}

    ops_client.post(reverse("imports:map", args=[run.pk]), {**data, "action": "import"})

    run.refresh_from_db()
    assert run.status == ImportRun.Status.ROLLED_BACK and not Customer.objects.exists()
    result = ops_client.get(reverse("imports:result", args=[run.pk]))
    assert result.context["errors"][0][:3] == [3, "客户等级", "Z"]
    report = ops_client.get(reverse("imports:errors", args=[run.pk, "xlsx"]))
    rows = list(
        load_workbook(io.BytesIO(b"".join(report.streaming_content)), read_only=True)
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    assert rows[0] == ("row", "column", "value", "reason") and rows[1][:2] == ("3", "客户等级")


def test_a_rep_may_export_but_not_import(client: Client) -> None:
    rep = UserFactory(username="rep")
    CustomerFactory(name="我的客户", owner=rep)
    CustomerFactory(name="别人的客户")
    client.force_login(rep)

    assert client.get(reverse("imports:upload")).status_code == 403
    response = client.get(reverse("imports:export", args=["customers", "csv"]))

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "我的客户" in text and "别人的客户" not in text
