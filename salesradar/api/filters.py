"""Filter sets for the API's lists: exact matches, id references and date ranges.

References to other rows filter on the id column (``owner=7``) rather than through a model
choice, so a filter never tells the caller whether an id it may not see exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

# The widest integer every supported database stores; a larger filter value is a 400, not an
# overflow deep in the driver.
LARGEST_ID = 2**63 - 1


class IdField(forms.IntegerField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -LARGEST_ID)
        kwargs.setdefault("max_value", LARGEST_ID)
        super().__init__(*args, **kwargs)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time turned into UTC, so no database sees an offset it cannot store."""

    def to_python(self, value: Any) -> dt.datetime | None:
        try:
            parsed = super().to_python(value)
            return parsed.astimezone(dt.UTC) if parsed and parsed.tzinfo is not None else parsed
        except OverflowError:
            raise forms.ValidationError(
                _("The time {value} is out of range.").format(value=value), code="overflow"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


@extend_schema_field(OpenApiTypes.INT64)
class IdFilter(django_filters.NumberFilter):
    """An integer filter bounded to what the database can compare."""

    field_class = IdField


def filterset_for(
    model: type[models.Model],
    *,
    exact: tuple[str, ...] = (),
    references: tuple[str, ...] = (),
    ranges: tuple[str, ...] = (),
    text: tuple[str, ...] = (),
) -> type[django_filters.FilterSet]:
    """Build a FilterSet: ``exact`` fields, ``references`` by id, ``ranges`` with _after/_before."""
    attrs: dict[str, Any] = {}
    for name in references:
        attrs[name] = IdFilter(field_name=f"{name}_id")
        attrs[f"{name}__isnull"] = django_filters.BooleanFilter(
            field_name=f"{name}_id", lookup_expr="isnull"
        )
    for name in ranges:
        field = model._meta.get_field(name)
        filter_class = (
            UtcDateTimeFilter
            if isinstance(field, models.DateTimeField)
            else django_filters.DateFilter
        )
        attrs[f"{name}_after"] = filter_class(field_name=name, lookup_expr="gte")
        attrs[f"{name}_before"] = filter_class(field_name=name, lookup_expr="lt")
    for name in text:
        attrs[f"{name}_contains"] = django_filters.CharFilter(
            field_name=name, lookup_expr="icontains"
        )
    for name in exact:
        if isinstance(model._meta.get_field(name), models.IntegerField):
            attrs[name] = IdFilter(field_name=name)
    meta = type("Meta", (), {"model": model, "fields": list(exact)})
    attrs["Meta"] = meta
    return type(f"{model.__name__}FilterSet", (django_filters.FilterSet,), attrs)
