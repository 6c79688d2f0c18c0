"""The handover verb behind the web page, the API, the CLI and the schedulers."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from salesradar.config.celery import beat_schedule
from salesradar.config.jobs import default_scheduler
from salesradar.crm.models import Customer
from salesradar.handover.models import Handover
from tests.api.factories import Org, build_org, client_for
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    org = build_org()
    CustomerFactory(name="甲公司", owner=org.rep)
    CustomerFactory(name="乙公司", owner=org.rep)
    return org


def test_api_preview_then_handover(org: Org) -> None:
    client = client_for(org.manager)
    body = {"leaving": org.rep.pk, "successors": [org.peer.pk], "preview": True}

    preview = client.post("/api/handovers/", body, format="json")
    assert preview.status_code == 200, preview.content
    assert preview.json()["counts"][str(org.peer.pk)]["customer"] == 2
    assert Customer.objects.filter(owner=org.rep).count() == 2

    done = client.post("/api/handovers/", {**body, "preview": False}, format="json")
    assert done.status_code == 201, done.content
    assert done.json()["moved"]["customer"] == 2
    assert Customer.objects.filter(owner=org.peer).count() == 2


def test_api_refuses_a_rep_handing_over_a_peer_with_403(org: Org) -> None:
    response = client_for(org.peer).post(
        "/api/handovers/", {"leaving": org.rep.pk, "successors": [org.peer.pk]}, format="json"
    )
    assert response.status_code == 403
    assert not Handover.objects.exists()


def test_api_names_unknown_users(org: Org) -> None:
    response = client_for(org.director).post(
        "/api/handovers/", {"leaving": org.rep.pk, "successors": [999999]}, format="json"
    )
    assert response.status_code == 400
    assert "999999" in response.content.decode()


def test_web_page_previews_then_confirms(org: Org) -> None:
    client = Client()
    client.force_login(org.manager)
    form = {
        "leaving": org.rep.pk,
        "successors": [org.peer.pk],
        "split": "one",
        "effective_on": "2026-12-07",
        "note": "",
        "mapping": "",
    }
    preview = client.post("/handover/", {**form, "preview": "1"})
    assert preview.status_code == 200
    assert 'data-testid="handover-preview"' in preview.content.decode()
    assert "甲公司" in preview.content.decode()
    assert Customer.objects.filter(owner=org.rep).count() == 2

    done = client.post("/handover/", {**form, "confirm": "1"})
    assert done.status_code == 302
    assert Customer.objects.filter(owner=org.peer).count() == 2


def test_web_page_is_closed_to_reps(org: Org) -> None:
    client = Client()
    client.force_login(org.rep)
    assert client.get("/handover/").status_code == 403


def test_cli_preview_writes_nothing_and_the_handover_moves(org: Org) -> None:
    out = io.StringIO()
    call_command("handover", "rep", "--to", "peer", "--as", "manager", "--preview", stdout=out)
    assert json.loads(out.getvalue())["counts"]["peer"]["customer"] == 2
    assert not Handover.objects.exists()

    call_command("handover", "rep", "--to", "peer", "--as", "manager", stdout=io.StringIO())
    assert Customer.objects.filter(owner=org.peer).count() == 2


def test_due_handovers_run_in_both_schedulers() -> None:
    assert "handovers" in {job.name for job in default_scheduler().jobs}
    assert beat_schedule()["handovers"]["task"] == "salesradar.handover.tasks.run_due_handovers"
