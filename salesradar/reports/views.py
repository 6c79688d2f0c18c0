"""The weekly report page and its PDF/XLSX downloads, for managers, directors, ops and admins."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.models import Team
from salesradar.accounts.visibility import sees_everything, visible
from salesradar.reports.render import bars, render_pdf, render_xlsx
from salesradar.reports.weekly import build_weekly_report, last_full_week, week_monday
from salesradar.web.permissions import uses_cockpit


@login_required
def weekly_report(request: HttpRequest) -> HttpResponse:
    if not uses_cockpit(request.user):
        return redirect("web:home")
    teams = list(visible(request.user, Team).order_by("path"))
    team = None
    raw_team = request.GET.get("team", "")
    if raw_team:
        team = next((t for t in teams if str(t.pk) == raw_team), None)
        if team is None:
            raise Http404(_("No such team."))
    elif not sees_everything(request.user):
        team = teams[0] if teams else None  # a manager's own subtree, never the whole org
        if team is None:
            raise Http404(_("No team to report on."))
    try:
        week = week_monday(dt.date.fromisoformat(request.GET["week"]))
    except (KeyError, ValueError):
        week = last_full_week(timezone.now())
    report = build_weekly_report(week_start=week, team=team)
    stem = f"salesradar-weekly-{week:%Y-%m-%d}"
    kind = request.GET.get("format", "html")
    if kind == "pdf":
        response = HttpResponse(render_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
        return response
    if kind == "xlsx":
        response = HttpResponse(
            render_xlsx(report),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
        return response
    params = request.GET.copy()
    params.pop("format", None)
    params["week"] = week.isoformat()
    context = {
        "report": report,
        "sections": [{"section": section, "bars": bars(section)} for section in report.sections],
        "charts": {section.key: section.chart for section in report.sections},
        "teams": teams,
        "selected_team": team,
        "query": params.urlencode(),
    }
    return render(request, "reports/weekly.html", context)
