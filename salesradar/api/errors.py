"""Every API error as ``{"code", "message", "fields"}`` in the caller's language.

``Accept-Language`` picks the language (LocaleMiddleware); DRF's and Django's own messages are
translated by their catalogs, ours by the api app's.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from salesradar.core.errors import DomainError
from salesradar.core.fields import NaiveDatetimeError


class ApiError(exceptions.APIException):
    """An error with its own code, message, optional fields and extra members."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.fields = fields or {}
        self.extra = extra or {}


def api_error(error: DomainError) -> ApiError:
    """Translate a service's refusal into the API's error answer (status from its kind)."""
    return ApiError(
        error.message_text,
        code=error.error_code,
        status_code=error.http_status,
        fields=error.fields,
        extra=error.extra,
    )


def body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


def flatten(detail: Any) -> Any:
    """Turn DRF's nested ErrorDetail structure into plain strings, lists and dicts."""
    if isinstance(detail, dict):
        return {str(key): flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [flatten(item) for item in detail]
    return str(detail)


def first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return first_message(value)
        return ""
    if isinstance(detail, list):
        return first_message(detail[0]) if detail else ""
    return str(detail)


def django_validation_fields(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in error.message_dict.items()}
    return {"non_field_errors": [str(message) for message in error.messages]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer every error the same way; never let a known fault become a 500."""
    if isinstance(exc, DomainError):
        exc = api_error(exc)
    if isinstance(exc, ApiError):
        document = body(exc.error_code, str(exc.detail), exc.fields)
        document.update(exc.extra)
        return Response(document, status=exc.status_code)
    if isinstance(exc, DjangoValidationError | NaiveDatetimeError):
        fields = django_validation_fields(exc) if isinstance(exc, DjangoValidationError) else {}
        message = " ".join(exc.messages) if isinstance(exc, DjangoValidationError) else str(exc)
        return Response(body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        return Response(
            body("invalid", _("The database cannot store or compare a value of this request.")),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IntegrityError):
        return Response(
            body("conflict", _("The change conflicts with data already stored.")),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten(detail) if isinstance(detail, dict) else {}
        non_field = fields.get("non_field_errors")
        message = (
            first_message(non_field)
            if non_field
            else _("Some fields are not valid: {names}.").format(names=", ".join(fields))
            if fields
            else first_message(detail)
        )
        response.data = body("invalid", message, fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = body(str(code), first_message(detail))
    return response


@csrf_exempt  # an unknown address changes nothing: answer 404, not the HTML CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
    """JSON 404 for any unknown address under /api/, whatever the method."""
    from django.http import JsonResponse

    return JsonResponse(body("not_found", _("There is no such API address.")), status=404)
