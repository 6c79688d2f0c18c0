"""Signed events from an external CRM: verified, mapped, applied whole, recorded, idempotent."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from salesradar.api.models import InboundEvent, InboundSource
from salesradar.crm.models import Customer
from salesradar.imports.models import ExternalRef
from salesradar.pipeline.models import Opportunity, Process, StageChange
from tests.api.factories import Org
from tests.notify.servers import WEBHOOK_SECRET, reference_hmac_sha256

pytestmark = pytest.mark.django_db

URL = "/api/inbound/old-crm/"


@pytest.fixture
def source(org: Org, default_process: Process) -> InboundSource:
    source = InboundSource(
        key="old-crm",
        system="salesforce",
        secret=WEBHOOK_SECRET,
        stage_mapping={
            "Prospecting": "initial_contact",
            "Needs Analysis": "needs_confirmed",
            "Closed Won": "won",
            "Closed Lost": "lost",
        },
        default_owner=org.rep,
    )
    source.full_clean()
    source.save()
    return source


def signed_headers(event_id: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    timestamp = at if at is not None else int(time.time())
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    signature = reference_hmac_sha256(key, f"{event_id}.{timestamp}.".encode() + body)
    return {
        "HTTP_WEBHOOK_ID": event_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(timestamp),
        "HTTP_WEBHOOK_SIGNATURE": "v1," + base64.b64encode(signature).decode(),
    }


def send(event_id: str, document: Any, **overrides: str) -> Any:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    headers = {**signed_headers(event_id, body), "HTTP_ACCEPT_LANGUAGE": "en", **overrides}
    return APIClient().generic("POST", URL, body, content_type="application/json", **headers)


def deal(stage: str, **data: Any) -> dict[str, Any]:
    return {
        "type": "opportunity.upserted",
        "data": {
            "id": "006A",
            "name": "ERP 升级",
            "stage": stage,
            "amount": "120000.00",
            "customer": {"id": "001A", "name": "上海某某科技有限公司"},
            **data,
        },
    }


def test_a_new_deal_is_created_in_its_mapped_stage_with_external_ids(
    source: InboundSource, org: Org
) -> None:
    response = send("evt-1", deal("Needs Analysis"))

    assert response.status_code == 200, response.json()
    assert response.json()["outcome"] == "applied"
    opportunity = Opportunity.objects.get()
    assert opportunity.stage.key == "needs_confirmed"
    assert opportunity.owner == org.rep
    assert ExternalRef.objects.filter(source="salesforce", external_id="006A").exists()
    assert ExternalRef.objects.filter(source="salesforce", external_id="001A").exists()
    event = InboundEvent.objects.get()
    assert (event.outcome, event.object_type, event.object_id) == (
        "applied",
        "opportunity",
        opportunity.pk,
    )


def test_the_same_event_id_is_applied_once(source: InboundSource) -> None:
    first = send("evt-2", deal("Prospecting"))
    again = send("evt-2", deal("Prospecting"))

    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    assert Opportunity.objects.count() == Customer.objects.count() == 1
    assert InboundEvent.objects.count() == 1


def test_their_closed_won_moves_our_deal_through_the_gates(source: InboundSource) -> None:
    send("evt-3", deal("Prospecting"))

    response = send("evt-4", deal("Closed Won"))

    assert response.status_code == 422
    assert response.json()["outcome"] == "refused"
    assert "a signed contract" in response.json()["message"]
    opportunity = Opportunity.objects.get()
    assert opportunity.stage.key == "initial_contact"
    assert InboundEvent.objects.get(event_id="evt-4").outcome == "refused"


def test_their_closed_lost_is_our_lost(source: InboundSource) -> None:
    send("evt-5", deal("Prospecting"))

    response = send("evt-6", deal("Closed Lost", lost_reason="price"))

    assert response.status_code == 200, response.json()
    opportunity = Opportunity.objects.get()
    assert opportunity.stage.key == "lost" and opportunity.closed_at is not None
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2


def test_a_stage_that_maps_to_nothing_is_refused_and_nothing_is_written(
    source: InboundSource,
) -> None:
    response = send("evt-7", deal("Verbal Commit"))

    assert response.status_code == 422
    assert "Verbal Commit" in response.json()["message"]
    assert not Opportunity.objects.exists()
    assert not Customer.objects.exists()


def test_invalid_data_is_refused_with_the_field_named(source: InboundSource) -> None:
    response = send("evt-8", deal("Prospecting", amount="a lot"))

    assert response.status_code == 422
    assert "amount" in response.json()["message"]


def test_a_bad_signature_is_refused_and_not_applied(source: InboundSource) -> None:
    response = send("evt-9", deal("Prospecting"), HTTP_WEBHOOK_SIGNATURE="v1,AAAA")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert not Opportunity.objects.exists()
    assert not InboundEvent.objects.exists()


def test_an_old_timestamp_is_refused(source: InboundSource) -> None:
    body = json.dumps(deal("Prospecting")).encode()
    headers = signed_headers("evt-10", body, at=int(time.time()) - 3600)

    response = APIClient().generic("POST", URL, body, content_type="application/json", **headers)

    assert response.status_code == 401


def test_malformed_json_is_recorded_as_refused(source: InboundSource) -> None:
    response = send("evt-11", b'{"type": ')

    assert response.status_code == 422
    assert InboundEvent.objects.get().outcome == "refused"


def test_unknown_event_types_are_recorded_as_ignored(source: InboundSource) -> None:
    response = send("evt-12", {"type": "invoice.paid", "data": {}})

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"


def test_a_known_customer_is_updated_not_duplicated(source: InboundSource) -> None:
    send("evt-13", {"type": "customer.upserted", "data": {"id": "001B", "name": "甲公司"}})
    send(
        "evt-14",
        {"type": "customer.upserted", "data": {"id": "001B", "name": "甲公司（新）", "tier": "A"}},
    )

    customer = Customer.objects.get()
    assert (customer.name, customer.tier) == ("甲公司（新）", "A")


def test_an_unknown_source_is_404(db: None) -> None:
    response = send("evt-15", deal("Prospecting"))

    assert response.status_code == 404


def test_a_mapping_to_a_stage_the_process_lacks_is_refused(default_process: Process) -> None:
    source = InboundSource(
        key="x", system="hubspot", secret=WEBHOOK_SECRET, stage_mapping={"Won": "heaven"}
    )

    with pytest.raises(ValidationError) as refused:
        source.full_clean()

    assert "stage_mapping" in refused.value.message_dict


def test_an_event_that_failed_on_our_side_is_applied_when_sent_again(
    source: InboundSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesradar.api import inbound

    real = inbound.upsert_customer

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(inbound, "upsert_customer", broken)
    failed = send("evt-16", {"type": "customer.upserted", "data": {"id": "001C", "name": "乙公司"}})
    monkeypatch.setattr(inbound, "upsert_customer", real)
    retried = send(
        "evt-16", {"type": "customer.upserted", "data": {"id": "001C", "name": "乙公司"}}
    )

    assert failed.status_code == 503
    assert retried.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.outcome, event.attempts) == ("applied", 2)
    assert Customer.objects.get().name == "乙公司"
