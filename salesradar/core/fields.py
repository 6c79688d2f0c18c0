"""Field types shared by every bounded context."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_CURRENCY = "CNY"
currency_validator = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code."))


class NaiveDatetimeError(ValueError):
    """A naive datetime would be silently shifted by the server's zone, so it is refused."""


class AwareDateTimeField(models.DateTimeField):
    """A DateTimeField that refuses naive datetimes instead of guessing their zone."""

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            raise NaiveDatetimeError(
                _("{field}: the time {value} has no time zone; give an aware datetime.").format(
                    field=self.name, value=value.isoformat()
                )
            )
        return super().get_prep_value(value)


class MoneyField(models.DecimalField):
    """Decimal money: 18 digits, 2 places, so sums of a large org never overflow or round."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


class CurrencyField(models.CharField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", DEFAULT_CURRENCY)
        kwargs.setdefault("validators", [currency_validator])
        kwargs.setdefault("verbose_name", _("currency"))
        super().__init__(*args, **kwargs)


def non_negative(field: str, model: str) -> models.CheckConstraint:
    """Return a check constraint that keeps ``field`` at or above zero."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__gte": 0}), name=f"{model}_{field}_non_negative"
    )


def require_aware(value: dt.datetime, name: str) -> None:
    """Refuse a naive datetime at a service's edge, naming the argument."""
    if value.tzinfo is None:
        raise ValidationError(
            _("{name}: {value} has no time zone; give an aware datetime.").format(
                name=name, value=value.isoformat()
            ),
            code="naive_datetime",
        )
