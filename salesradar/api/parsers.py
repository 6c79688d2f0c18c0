"""JSON parsing that refuses oversized bodies before reading them."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, status

from salesradar.core import env

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def max_body_bytes() -> int:
    """Return the configured body limit (``SALESRADAR_API_MAX_BODY_BYTES``)."""
    raw = env.get("API_MAX_BODY_BYTES")
    try:
        return int(raw) if raw else DEFAULT_MAX_BODY_BYTES
    except ValueError:
        return DEFAULT_MAX_BODY_BYTES


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"
    default_detail = _("The request body is too large.")


def refuse_oversized(meta: dict[str, Any], body_length: int | None = None) -> None:
    """Raise BodyTooLarge when the declared or actual length passes the limit."""
    limit = max_body_bytes()
    declared = meta.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        length = 0
    length = max(length, body_length or 0)
    if length > limit:
        raise BodyTooLarge(
            _("The request body has {size} bytes; the limit is {limit}.").format(
                size=length, limit=limit
            )
        )


class BoundedJSONParser(parsers.JSONParser):
    """Refuse by the declared length first, then never read more than the limit allows."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        if request is not None:
            refuse_oversized(request.META)
        raw = stream.read(max_body_bytes() + 1) if stream is not None else b""
        refuse_oversized({}, len(raw))
        return super().parse(io.BytesIO(raw), media_type, parser_context)
