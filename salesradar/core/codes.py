"""Record numbers for rows created one at a time (web forms, the API, inbound events)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, models, transaction
from django.utils import timezone

CODE_ATTEMPTS = 5


def new_code(prefix: str, at: dt.datetime) -> str:
    """Return a record number such as ``C261130-3FA2B1``: the day plus six random hex digits.

    Numbers from the web never collide with the demo's or an import's sequential ones, and
    two people creating records in the same second still get different numbers.
    """
    return f"{prefix}{timezone.localtime(at):%y%m%d}-{secrets.token_hex(3).upper()}"


def save_with_new_code(record: models.Model, prefix: str, at: dt.datetime) -> None:
    """Save a new record under a fresh number, drawing again on the rare collision."""
    for attempt in range(CODE_ATTEMPTS):
        record.code = new_code(prefix, at)  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                record.save()
            return
        except IntegrityError:
            if (
                attempt == CODE_ATTEMPTS - 1
                or not type(record)
                ._default_manager.filter(
                    code=record.code  # type: ignore[attr-defined]
                )
                .exists()
            ):
                raise
