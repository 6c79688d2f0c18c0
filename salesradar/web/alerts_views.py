"""Alert pages: the filtered list, one alert's history and chart, and the in-place actions.

Acknowledge, snooze and assign-a-task answer an htmx request with the alert's refreshed row
(so the board updates in place) and a plain form post with a redirect and a message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import in_team_subtree, visible
from salesradar.alerts import lifecycle
from salesradar.alerts.choices import AlertState, Severity
from salesradar.alerts.models import Alert, Rule
from salesradar.web.alert_actions import assign_task
from salesradar.web.alert_history import metric_history
from salesradar.web.alert_rows import alert_row, alert_rows, by_urgency, for_listing

PAGE_SIZE = 25
OPEN = "open"
SNOOZE_CHOICES = [
    ("4", gettext_lazy("4 hours")),
    ("24", gettext_lazy("1 day")),
    ("72", gettext_lazy("3 days")),
    ("168", gettext_lazy("1 week")),
]


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)


class SnoozeForm(forms.Form):
    hours = forms.TypedChoiceField(
        label=gettext_lazy("Snooze for"), choices=SNOOZE_CHOICES, coerce=int, initial="24"
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)


class AssignTaskForm(forms.Form):
    assignee = forms.ModelChoiceField(label=gettext_lazy("Assign to"), queryset=User.objects.none())
    title = forms.CharField(label=gettext_lazy("Task"), max_length=200, required=False)
    due = forms.DateField(label=gettext_lazy("Due"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: Any, alert: Alert, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = visible(user, User).filter(is_active=True).order_by("username")

    def clean_due(self) -> dt.date:
        due: dt.date = self.cleaned_data["due"]
        if due < timezone.localdate():
            raise ValidationError(_("The due date cannot be in the past."))
        return due


def action_context(user: Any, *, with_assignees: bool = True) -> dict[str, Any]:
    """What the action forms of any number of alert rows need, computed once for the page.

    Field names follow the forms' prefixes (``ack-<id>-note``, ``snooze-<id>-hours``,
    ``task-<id>-assignee`` ...), so each row's forms stay distinct on a page of many rows.
    """
    assignees = visible(user, User).filter(is_active=True).order_by("username")
    return {
        "assignees": list(assignees) if with_assignees else [],
        "snooze_choices": SNOOZE_CHOICES,
        "default_due": timezone.localdate() + dt.timedelta(days=1),
    }


# --------------------------------------------------------------------------- list


class AlertFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[(OPEN, gettext_lazy("Open")), ("", gettext_lazy("Any")), *AlertState.choices],
    )
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"),
        required=False,
        choices=[("", gettext_lazy("Any")), *Severity.choices],
    )
    rule = forms.ModelChoiceField(
        label=gettext_lazy("Rule"),
        required=False,
        queryset=Rule.objects.order_by("key"),
        to_field_name="key",
        empty_label=gettext_lazy("Any"),
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        required=False,
        queryset=Team.objects.none(),
        empty_label=gettext_lazy("Any"),
    )
    owner = forms.ModelChoiceField(
        label=gettext_lazy("Owner"),
        required=False,
        queryset=User.objects.none(),
        empty_label=gettext_lazy("Any"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team_field = self.fields["team"]
        owner_field = self.fields["owner"]
        assert isinstance(team_field, forms.ModelChoiceField)
        assert isinstance(owner_field, forms.ModelChoiceField)
        team_field.queryset = visible(user, Team).order_by("path")
        owner_field.queryset = visible(user, User).filter(is_active=True).order_by("username")

    def filter(self, alerts: Any) -> Any:
        data = self.cleaned_data if self.is_valid() else {"state": OPEN}
        state = data.get("state", OPEN)
        if state == OPEN:
            alerts = alerts.exclude(state=AlertState.RESOLVED)
        elif state:
            alerts = alerts.filter(state=state)
        if data.get("severity"):
            alerts = alerts.filter(severity=data["severity"])
        if data.get("rule"):
            alerts = alerts.filter(rule=data["rule"])
        if data.get("team"):
            path = data["team"].path
            alerts = alerts.filter(
                in_team_subtree("team", [path]) | in_team_subtree("owner__team", [path])
            )
        if data.get("owner"):
            alerts = alerts.filter(owner=data["owner"])
        return alerts


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """Every alert the user may see, filtered, most urgent first, 25 a page."""
    params = request.GET.copy()
    params.setdefault("state", OPEN)
    form = AlertFilterForm(params, user=request.user)
    alerts = for_listing(by_urgency(form.filter(visible(request.user, Alert))))
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = alert_rows(list(page.object_list), request.user)
    return render(request, "web/alerts/list.html", {"form": form, "page": page, "rows": rows})


# --------------------------------------------------------------------------- detail


def _visible_alert(request: HttpRequest, pk: int) -> Alert:
    return get_object_or_404(
        visible(request.user, Alert).select_related("rule", "owner", "team"), pk=pk
    )


@login_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One alert: what it is about, its history, and its metric against the threshold."""
    alert = _visible_alert(request, pk)
    events = alert.events.select_related("actor").order_by("-at", "-id")
    context = {
        "row": alert_row(alert, request.user),
        "alert": alert,
        "events": events,
        "history": metric_history(alert, at=timezone.now()),
        **action_context(request.user),
    }
    return render(request, "web/alerts/detail.html", context)


# --------------------------------------------------------------------------- actions


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _cockpit_counts(request: HttpRequest) -> dict[str, Any] | None:
    """Fresh board counts when the action came from the cockpit, to update its tiles too."""
    from salesradar.web.cockpit import board_counts, cockpit_view
    from salesradar.web.permissions import uses_cockpit

    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.path != reverse("web:cockpit") or not uses_cockpit(request.user):
        return None
    raw_team = parse_qs(current.query).get("team", [""])[0]
    team = visible(request.user, Team).filter(pk=raw_team).first() if raw_team.isdigit() else None
    return board_counts(cockpit_view(request.user, team=team, period="", at=timezone.now()))


def _after_action(
    request: HttpRequest, alert: Alert, *, error: str = "", notice: str = ""
) -> HttpResponse:
    """Answer htmx with the refreshed row; anything else with a redirect and a message."""
    if _is_htmx(request):
        alert.refresh_from_db()
        context = {
            "row": alert_row(alert, request.user),
            "error": error,
            "notice": notice,
            "board_counts": _cockpit_counts(request),
            **action_context(request.user),
        }
        return render(request, "web/alerts/_row.html", context)
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = ""
    return redirect(target or "web:alert_detail", *([] if target else [alert.pk]))


def _errors(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@require_POST
@login_required
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _visible_alert(request, pk)
    form = AcknowledgeForm(request.POST, prefix=f"ack-{alert.pk}")
    if not form.is_valid():
        return _after_action(request, alert, error=_errors(form))
    try:
        lifecycle.acknowledge(
            alert, by=request.user, note=form.cleaned_data["note"], at=timezone.now()
        )
    except ValidationError as error:
        return _after_action(request, alert, error=" ".join(error.messages))
    return _after_action(request, alert, notice=_("Acknowledged."))


@require_POST
@login_required
def alert_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _visible_alert(request, pk)
    form = SnoozeForm(request.POST, prefix=f"snooze-{alert.pk}")
    if not form.is_valid():
        return _after_action(request, alert, error=_errors(form))
    now = timezone.now()
    until = now + dt.timedelta(hours=form.cleaned_data["hours"])
    try:
        lifecycle.snooze(
            alert, by=request.user, until=until, note=form.cleaned_data["note"], at=now
        )
    except ValidationError as error:
        return _after_action(request, alert, error=" ".join(error.messages))
    local = timezone.localtime(until)
    return _after_action(
        request,
        alert,
        notice=_("Snoozed until {until}.").format(until=local.strftime("%Y-%m-%d %H:%M")),
    )


@login_required
def alert_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the assign-a-task form (GET, loaded when the row's form is opened) or assign."""
    alert = _visible_alert(request, pk)
    if request.method != "POST":
        context = {"alert": alert, **action_context(request.user)}
        if _is_htmx(request):
            context["next"] = request.headers.get("HX-Current-URL", "")
            return render(request, "web/alerts/_assign_form.html", context)
        return render(request, "web/alerts/assign.html", context)
    form = AssignTaskForm(request.POST, prefix=f"task-{alert.pk}", user=request.user, alert=alert)
    if not form.is_valid():
        return _after_action(request, alert, error=_errors(form))
    due = form.cleaned_data["due"]
    due_at = timezone.make_aware(dt.datetime.combine(due, dt.time(18, 0)))
    task = assign_task(
        alert,
        assignee=form.cleaned_data["assignee"],
        title=form.cleaned_data["title"],
        due_at=due_at,
        by=request.user,
        at=timezone.now(),
    )
    return _after_action(
        request,
        alert,
        notice=_("Task “{title}” assigned to {person}.").format(
            title=task.title, person=task.assignee
        ),
    )
