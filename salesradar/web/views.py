"""The home redirect, the personal settings page and the health check."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesradar.web.alerts_views import action_context
from salesradar.web.cockpit import (
    PERIODS,
    charts_payload,
    cockpit_data,
    cockpit_view,
    visible_teams,
)
from salesradar.web.permissions import uses_cockpit


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send managers, directors, ops and admins to the cockpit and reps to their workspace."""
    return redirect("web:cockpit" if uses_cockpit(request.user) else "web:workspace")


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class AccountForm(forms.Form):
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), choices=time_zone_choices)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """Let the signed-in person choose the zone every time is shown in."""
    user = request.user
    form = AccountForm(request.POST or None, initial={"time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        user.time_zone = form.cleaned_data["time_zone"]
        user.save(update_fields=["time_zone"])
        messages.success(request, _("Times are now shown in {zone}.").format(zone=user.time_zone))
        return redirect("web:account")
    return render(request, "web/account.html", {"form": form})


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer whether the database is reachable, for load balancers and the serve command."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


@login_required
def cockpit(request: HttpRequest) -> HttpResponse:
    """The manager cockpit for the teams the user may see, over the chosen period."""
    if not uses_cockpit(request.user):
        return redirect("web:home")
    teams = list(visible_teams(request.user))
    team = None
    raw_team = request.GET.get("team", "")
    if raw_team:
        team = next((t for t in teams if str(t.pk) == raw_team), None)
        if team is None:
            raise Http404(_("No such team."))
    view = cockpit_view(
        request.user, team=team, period=request.GET.get("period", ""), at=timezone.now()
    )
    data = cockpit_data(view)
    context = {
        "view": view,
        "teams": teams,
        "periods": [(key, label) for key, (label, _days) in PERIODS.items()],
        "data": data,
        "charts": charts_payload(data),
        # the board's task forms load on demand, so the page does not list every colleague
        # once per alert
        **action_context(request.user, with_assignees=False),
    }
    return render(request, "web/cockpit/cockpit.html", context)
