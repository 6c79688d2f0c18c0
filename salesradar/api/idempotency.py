"""``Idempotency-Key`` on writes: the same key and body replay the stored answer.

A keyed write runs in one transaction with the insert of its record, so two concurrent
requests with the same key cannot both apply: the loser's work is rolled back and it answers
with the winner's stored response. Only successful answers are stored; a refused request may
be corrected and sent again with the same key. A key is remembered per user for
``SALESRADAR_API_IDEMPOTENCY_HOURS`` (24 by default).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from salesradar.api.errors import ApiError
from salesradar.api.models import IdempotencyRecord
from salesradar.core import env

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
DEFAULT_HOURS = 24.0


def retention() -> dt.timedelta:
    raw = env.get("API_IDEMPOTENCY_HOURS")
    try:
        hours = float(raw) if raw else DEFAULT_HOURS
    except ValueError:
        hours = DEFAULT_HOURS
    return dt.timedelta(hours=max(hours, 0.0))


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(32 < ord(char) < 127 for char in key)


class _Lost(Exception):
    """Another request stored an answer for this key first."""


def replay(record: IdempotencyRecord, request_fingerprint: str) -> Response:
    if record.fingerprint != request_fingerprint:
        raise ApiError(
            _(
                "This Idempotency-Key was already used for a different request; use a new key "
                "for a new request."
            ),
            code="idempotency_key_reused",
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    response = Response(record.response, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def stored(user: Any, key: str, now: dt.datetime) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(user=user, key=key, expires_at__gt=now).first()


def run_idempotently(
    handler: Callable[..., Response], request: Request, key: str, *args: Any, **kwargs: Any
) -> Response:
    """Run ``handler`` once per (user, key); later identical requests get the same answer."""
    if not valid_key(key):
        raise ApiError(
            _("The Idempotency-Key must be 1 to {count} visible ASCII characters.").format(
                count=MAX_KEY_LENGTH
            ),
            code="invalid_idempotency_key",
        )
    user = request.user
    now = timezone.now()
    request_fingerprint = fingerprint(request.method or "", request.path, request.body)
    record = stored(user, key, now)
    if record is not None:
        return replay(record, request_fingerprint)
    try:
        with transaction.atomic():
            response = handler(request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                IdempotencyRecord.objects.filter(user=user, key=key, expires_at__lte=now).delete()
                document = json.loads(JSONRenderer().render(response.data) or b"null")
                try:
                    with transaction.atomic():
                        IdempotencyRecord.objects.create(
                            user=user,
                            key=key,
                            fingerprint=request_fingerprint,
                            status_code=response.status_code,
                            response=document,
                            created_at=now,
                            expires_at=now + retention(),
                        )
                except IntegrityError:
                    raise _Lost from None
    except _Lost:
        record = stored(user, key, timezone.now())
        if record is None:
            raise ApiError(
                _("Another request with this Idempotency-Key is in progress; retry shortly."),
                code="idempotency_key_in_use",
                status_code=status.HTTP_409_CONFLICT,
            ) from None
        return replay(record, request_fingerprint)
    return response


def purge_expired(*, now: dt.datetime) -> int:
    """Delete records past their expiry; return how many."""
    deleted, _counts = IdempotencyRecord.objects.filter(expires_at__lte=now).delete()
    return deleted
