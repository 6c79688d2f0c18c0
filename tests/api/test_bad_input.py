"""Bad input gets a 4xx with a clear JSON error in the caller's language, and writes nothing."""

from __future__ import annotations

import io

import pytest
from rest_framework.test import APIClient

from salesradar.api.parsers import BodyTooLarge, BoundedJSONParser
from salesradar.crm.models import Customer
from tests.api.factories import Org

pytestmark = pytest.mark.django_db


def post_raw(client: APIClient, path: str, body: bytes, **headers: str) -> object:
    return client.generic("POST", path, body, content_type="application/json", **headers)


def test_malformed_json_is_refused(rep_client: APIClient) -> None:
    response = post_raw(rep_client, "/api/customers/", b'{"code": "C1", "name": ')

    assert response.status_code == 400  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == "parse_error"
    assert "JSON" in body["message"]
    assert not Customer.objects.exists()


def test_unknown_fields_are_refused_by_name(rep_client: APIClient) -> None:
    response = rep_client.post(
        "/api/customers/", {"code": "C1", "name": "甲", "colour": "blue"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["colour"]
    assert not Customer.objects.exists()


def test_a_json_array_instead_of_an_object_is_refused(rep_client: APIClient) -> None:
    response = post_raw(rep_client, "/api/customers/", b"[1, 2]")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_an_oversized_body_is_refused_before_it_is_read(
    rep_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESRADAR_API_MAX_BODY_BYTES", "100")
    body = b'{"code": "C1", "name": "' + b"x" * 200 + b'"}'

    response = post_raw(rep_client, "/api/customers/", body, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 413
    assert response.json() == {
        "code": "body_too_large",
        "message": f"The request body has {len(body)} bytes; the limit is 100.",
        "fields": {},
    }


def test_wrong_content_type_is_refused(rep_client: APIClient) -> None:
    response = rep_client.generic(
        "POST", "/api/customers/", b"code=C1", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_errors_speak_the_callers_language(rep_client: APIClient) -> None:
    english = rep_client.post(
        "/api/customers/", {"name": "甲", "colour": 1}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    chinese = rep_client.post(
        "/api/customers/",
        {"name": "甲", "colour": 1},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert english.json()["fields"]["colour"] == ["Unknown field."]
    assert chinese.json()["fields"]["colour"] == ["未知字段。"]
    assert english.json()["message"] != chinese.json()["message"]


def test_a_missing_field_is_named(rep_client: APIClient) -> None:
    response = rep_client.post(
        "/api/customers/", {"name": "甲"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"code": ["This field is required."]}
    assert response.json()["message"] == "Some fields are not valid: code."


def test_a_model_constraint_becomes_a_field_error(rep_client: APIClient, org: Org) -> None:
    customer = Customer.objects.create(code="C5", name="甲", owner=org.rep)
    response = rep_client.post(
        "/api/contracts/",
        {
            "code": "HT1",
            "customer": customer.pk,
            "signed_at": "2026-01-01T10:00:00+08:00",
            "starts_on": "2026-03-01",
            "ends_on": "2026-01-01",
            "amount": "100.00",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_nul_characters_in_the_query_are_refused(rep_client: APIClient) -> None:
    response = rep_client.get("/api/customers/?region=a%00b")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_query"


def test_unknown_api_addresses_answer_json_404(rep_client: APIClient) -> None:
    response = rep_client.get("/api/nothing-here/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_time_filter_with_an_extreme_offset_is_compared_in_utc(rep_client: APIClient) -> None:
    response = rep_client.get("/api/customers/?created_at_after=0236-07-13T06:15:19.82%2B23:00")

    assert response.status_code == 200


def test_a_time_filter_out_of_range_is_a_400(rep_client: APIClient) -> None:
    response = rep_client.get("/api/customers/?created_at_after=0001-01-01T00:00:00%2B14:00")

    assert response.status_code == 400
    assert "created_at_after" in response.json()["fields"]


def test_a_body_without_a_declared_length_is_cut_at_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALESRADAR_API_MAX_BODY_BYTES", "10")
    parser = BoundedJSONParser()

    assert parser.parse(io.BytesIO(b'{"a": 1}'), parser_context={}) == {"a": 1}
    with pytest.raises(BodyTooLarge):
        parser.parse(io.BytesIO(b'{"a": "' + b"x" * 100 + b'"}'), parser_context={})
