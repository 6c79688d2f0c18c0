"""The rules page (admins and ops): read the rules, switch one on or off, edit its thresholds.

Thresholds are checked by the rule pack's own validator (``alerts.rules.check_rule_fields``),
so the web cannot save a rule the loader or the engine would refuse; its message is shown on
the field it names.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesradar.alerts.choices import AlertState
from salesradar.alerts.conditions import RuleError
from salesradar.alerts.models import Rule
from salesradar.alerts.rules import check_rule_fields
from salesradar.web.permissions import manages_rules

NUMBER_TYPES = (int, float)


def _require_rule_manager(request: HttpRequest) -> None:
    if not manages_rules(request.user):
        raise PermissionDenied(_("Only administrators and sales operations may manage rules."))


def numeric_fields(condition: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    """Return (dotted path, value) for every number in a condition, nested ones included."""
    found: list[tuple[str, float]] = []
    for key, value in condition.items():
        path = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, NUMBER_TYPES):
            found.append((path, value))
        elif isinstance(value, dict):
            found.extend(numeric_fields(value, f"{path}."))
    return found


def with_values(condition: dict[str, Any], values: dict[str, float | None]) -> dict[str, Any]:
    """Return a copy of ``condition`` with the numbers at the given paths replaced.

    A path whose new value is None is removed (e.g. a rule that keeps only its danger level).
    """
    updated = copy.deepcopy(condition)
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = updated
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(leaf, None)
        else:
            original = node.get(leaf)
            node[leaf] = int(value) if isinstance(original, int) and value == int(value) else value
    return updated


def field_name(path: str) -> str:
    return "condition__" + path.replace(".", "__")


class ThresholdForm(forms.Form):
    """One number field per number in the rule's condition, checked by the rule validator."""

    def __init__(self, *args: Any, rule: Rule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        self.paths: dict[str, str] = {}
        for path, value in numeric_fields(rule.condition or {}):
            name = field_name(path)
            self.paths[name] = path
            self.fields[name] = forms.FloatField(
                label=path, required=False, initial=value, widget=forms.NumberInput({"step": "any"})
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        values = {self.paths[name]: cleaned.get(name) for name in self.paths}
        condition = with_values(self.rule.condition or {}, values)
        fields = {
            name: getattr(self.rule, name)
            for name in (
                "key",
                "metric",
                "grain",
                "scope",
                "for_clause",
                "inhibits",
                "depends_on",
            )
        }
        try:
            check_rule_fields({**fields, "condition": condition})
        except RuleError as error:
            target = None
            for name, path in self.paths.items():
                if error.where.endswith(f"condition.{path}"):
                    target = name
            self.add_error(target, error.message if target else str(error))
            return cleaned
        cleaned["condition"] = condition
        return cleaned


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    """Every rule, enabled first, with its open alerts counted in one query."""
    _require_rule_manager(request)
    rules = Rule.objects.annotate(
        open_alerts=Count("alerts", filter=~Q(alerts__state=AlertState.RESOLVED))
    ).order_by("-enabled", "key")
    rows = [{"rule": rule, "numbers": numeric_fields(rule.condition or {})} for rule in rules]
    return render(request, "web/rules/list.html", {"rows": rows})


@require_POST
@login_required
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a rule on or off; a disabled rule's open alerts resolve at the next evaluation."""
    _require_rule_manager(request)
    rule = get_object_or_404(Rule, pk=pk)
    enable = request.POST.get("enabled") == "1"
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(enabled=enable, updated_at=timezone.now())
    messages.success(
        request,
        (_("Rule “{rule}” switched on.") if enable else _("Rule “{rule}” switched off.")).format(
            rule=rule
        ),
    )
    return redirect("web:rule_list")


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a rule's thresholds; errors from the rule validator are shown on the form."""
    _require_rule_manager(request)
    rule = get_object_or_404(Rule, pk=pk)
    form = ThresholdForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            Rule.objects.filter(pk=rule.pk).update(
                condition=form.cleaned_data["condition"], updated_at=timezone.now()
            )
        messages.success(request, _("Thresholds of “{rule}” saved.").format(rule=rule))
        return redirect("web:rule_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "web/rules/edit.html", {"rule": rule, "form": form}, status=status)
