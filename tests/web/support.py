"""Helpers shared by the web page tests: an English-speaking client and signed-in users."""

from __future__ import annotations

from typing import Any

from django.test import Client

from salesradar.accounts.models import User


def english_client(user: User | None = None, **defaults: Any) -> Client:
    """Return a test client that asks for English pages, signed in as ``user`` if given."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **defaults)
    if user is not None:
        client.force_login(user)
    return client
