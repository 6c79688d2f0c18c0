"""Domain errors: what a service raises when it refuses an operation.

Services never raise HTTP exceptions; the API (``api.errors.exception_handler``) and the web
views translate these. Each error is a Django ``ValidationError`` too, so a form view that
already catches ``ValidationError`` shows the message without knowing the subclass.

``kind`` says what sort of refusal it is, and so which HTTP status the API answers:

- ``invalid``: the input itself is wrong (400);
- ``conflict``: the input is fine but the stored state refuses it (409);
- ``forbidden``: the actor may not do this (403);
- ``unprocessable``: a business precondition is missing, e.g. a stage gate (422).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

INVALID = "invalid"
CONFLICT = "conflict"
FORBIDDEN = "forbidden"
UNPROCESSABLE = "unprocessable"

HTTP_STATUS = {INVALID: 400, FORBIDDEN: 403, CONFLICT: 409, UNPROCESSABLE: 422}


class DomainError(ValidationError):
    """A refused operation: a translated message, a machine code, and the fields at fault."""

    kind: str = INVALID

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        fields: dict[str, list[str]] | None = None,
        kind: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.message_text = str(message)
        self.error_code = code
        self.fields = fields or {}
        self.extra = extra or {}
        if kind is not None:
            self.kind = kind
        if self.kind not in HTTP_STATUS:
            raise ValueError(f"unknown domain error kind {self.kind!r}")

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.kind]


class Invalid(DomainError):
    """The input is wrong; ``fields`` names each bad field."""

    kind = INVALID


class Conflict(DomainError):
    """The stored state refuses the operation (already taken, already closed, a duplicate)."""

    kind = CONFLICT


class Forbidden(DomainError):
    """The actor may not perform the operation."""

    kind = FORBIDDEN
