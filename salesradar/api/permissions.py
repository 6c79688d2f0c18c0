"""Token scopes: reading needs ``read``, writing needs ``write``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.request import Request

from salesradar.api.choices import Scope
from salesradar.api.models import ApiToken


def required_scope(request: Request) -> str:
    return Scope.READ if request.method in permissions.SAFE_METHODS else Scope.WRITE


class HasScope(permissions.BasePermission):
    """Signed-in users (session) may do everything their role allows; tokens only their scopes."""

    message = _("This token lacks the scope this request needs.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = request.auth
        if isinstance(token, ApiToken):
            scope = required_scope(request)
            self.message = _("This token lacks the “{scope}” scope.").format(scope=scope)
            return scope in (token.scopes or [])
        return True
