"""Idempotency-Key: a retried write is applied once and answered the same way."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from salesradar.api.idempotency import purge_expired
from salesradar.api.models import IdempotencyRecord
from salesradar.crm.models import Customer
from tests.api.factories import Org, client_for

pytestmark = pytest.mark.django_db

BODY = {"code": "C100", "name": "上海某某科技有限公司"}


def test_same_key_and_body_replays_the_first_answer(rep_client: APIClient) -> None:
    first = rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(code="C100").count() == 1


def test_same_key_with_another_body_is_refused_with_422(rep_client: APIClient) -> None:
    rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    response = rep_client.post(
        "/api/customers/",
        {**BODY, "code": "C101"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Customer.objects.filter(code="C101").exists()


def test_keys_are_per_user(org: Org) -> None:
    rep, peer = client_for(org.rep), client_for(org.peer)
    rep.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    response = peer.post(
        "/api/customers/",
        {**BODY, "code": "C102", "name": "另一家公司"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )

    assert response.status_code == 201
    assert Customer.objects.get(code="C102").owner == org.peer


def test_a_refused_write_does_not_use_up_the_key(rep_client: APIClient) -> None:
    refused = rep_client.post(
        "/api/customers/", {"name": "甲"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    corrected = rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-3")

    assert refused.status_code == 400
    assert corrected.status_code == 201


def test_an_expired_key_may_be_used_again(rep_client: APIClient, org: Org) -> None:
    rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = rep_client.post(
        "/api/customers/",
        {**BODY, "code": "C103", "name": "第三家公司"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-4",
    )

    assert response.status_code == 201
    assert IdempotencyRecord.objects.filter(key="k-4").count() == 1


def test_purge_drops_expired_records_only(rep_client: APIClient) -> None:
    rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="old")
    rep_client.post(
        "/api/customers/",
        {**BODY, "code": "C2", "name": "第二家公司"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="new",
    )
    IdempotencyRecord.objects.filter(key="old").update(
        expires_at=timezone.now() - dt.timedelta(hours=1)
    )

    assert purge_expired(now=timezone.now()) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_an_unusable_key_is_refused(rep_client: APIClient) -> None:
    response = rep_client.post(
        "/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="has space"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


def test_a_concurrent_request_with_the_same_key_rolls_this_one_back(
    rep_client: APIClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesradar.api import idempotency

    real_create = IdempotencyRecord.objects.create

    def another_request_stored_first(**values: object) -> IdempotencyRecord:
        from django.db import IntegrityError

        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(IdempotencyRecord.objects, "create", another_request_stored_first)
    response = rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="race")
    monkeypatch.setattr(IdempotencyRecord.objects, "create", real_create)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    assert not Customer.objects.filter(code=BODY["code"]).exists()  # this request's write undone
    assert idempotency.stored(org.rep, "race", timezone.now()) is None


def test_the_housekeeping_job_forgets_expired_keys(rep_client: APIClient) -> None:
    from salesradar.config.jobs import housekeep

    rep_client.post("/api/customers/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    housekeep()

    assert not IdempotencyRecord.objects.exists()
