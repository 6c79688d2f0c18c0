"""Field validators of the accounts app."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    """Refuse a name that is not an IANA time zone this system knows ("Asia/Shanghai")."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("“%(value)s” is not a known time zone; use a name such as Asia/Shanghai."),
            code="unknown_time_zone",
            params={"value": value},
        ) from None
