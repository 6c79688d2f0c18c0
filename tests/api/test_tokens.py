"""Personal tokens: hashed at rest, scoped, revocable from the command line and the admin."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from salesradar.api.models import ApiToken
from salesradar.api.tokens import issue_token, revoke_token
from tests.api.factories import Org, client_for

pytestmark = pytest.mark.django_db


def test_only_a_digest_of_the_token_is_stored(org: Org) -> None:
    issued = issue_token(org.rep, name="crm sync", scopes=["read"])

    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret.startswith("sr_")
    assert stored.digest == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in {stored.digest, stored.prefix, stored.name}
    assert issued.secret.startswith(stored.prefix)


def test_request_without_token_is_refused_with_a_json_error() -> None:
    response = APIClient().get("/api/customers/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["message"]


def test_unknown_token_is_refused(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer sr_not-a-real-token")

    response = client.get("/api/customers/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_read_scope_reads_but_cannot_write(org: Org) -> None:
    client = client_for(org.rep, scopes=("read",))

    assert client.get("/api/customers/").status_code == 200
    response = client.post("/api/customers/", {"code": "C1", "name": "甲公司"}, format="json")

    assert response.status_code == 403
    assert "write" in response.json()["message"]


def test_write_scope_alone_cannot_read(org: Org) -> None:
    client = client_for(org.rep, scopes=("write",))

    assert client.get("/api/customers/").status_code == 403


def test_revoked_token_stops_working(org: Org) -> None:
    issued = issue_token(org.rep, name="old", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert client.get("/api/customers/").status_code == 200

    assert revoke_token(issued.token) is True

    assert client.get("/api/customers/").status_code == 401
    assert revoke_token(issued.token) is False


def test_token_of_a_deactivated_user_is_refused(org: Org) -> None:
    client = client_for(org.rep)
    org.rep.is_active = False
    org.rep.save()

    assert client.get("/api/customers/").status_code == 401


def test_command_creates_lists_and_revokes_tokens(org: Org) -> None:
    out = StringIO()
    call_command("apitoken", "create", "rep", "--scope", "read", "--scope", "write", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(user=org.rep)
    assert token.scopes == ["read", "write"]
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()

    listing = StringIO()
    call_command("apitoken", "list", "rep", stdout=listing)
    assert token.prefix in listing.getvalue()
    assert secret not in listing.getvalue()

    call_command("apitoken", "revoke", str(token.pk), stdout=StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_creates_a_token_and_shows_the_secret_once(org: Org) -> None:
    org.director.is_staff = True
    org.director.is_superuser = True
    org.director.save()
    client = APIClient()
    client.force_login(org.director)

    response = client.post(
        "/admin/api/apitoken/add/",
        {"user": org.rep.pk, "name": "from admin", "scope_choices": ["read"]},
        follow=True,
    )

    token = ApiToken.objects.get(user=org.rep)
    shown = [str(message) for message in response.context["messages"]]
    assert token.scopes == ["read"]
    assert any(token.prefix in message for message in shown)


def test_an_expired_token_is_refused(org: Org) -> None:
    issued = issue_token(
        org.rep, name="short", scopes=["read"], expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")

    assert client.get("/api/customers/").status_code == 401


def test_unknown_scopes_are_refused(org: Org) -> None:
    with pytest.raises(ValidationError):
        issue_token(org.rep, name="x", scopes=["admin"])
