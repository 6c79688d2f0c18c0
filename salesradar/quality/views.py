from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from salesradar.accounts.choices import Role
from salesradar.quality.models import BacktestRun
from salesradar.quality.services import curve_series


def require_manager(request: HttpRequest) -> None:
    """Backtests score the whole organisation's rules: managers and above read them."""
    user = request.user
    if not (user.is_superuser or getattr(user, "role", Role.REP) != Role.REP):
        raise PermissionDenied


@login_required
def backtest_list(request: HttpRequest) -> HttpResponse:
    require_manager(request)
    runs = BacktestRun.objects.select_related("created_by")[:50]
    return render(request, "quality/backtest_list.html", {"runs": runs})


@login_required
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One saved backtest: every rule beside its base rate and best baseline, and the curves."""
    require_manager(request)
    run = get_object_or_404(BacktestRun, pk=pk)
    result = run.result
    rows = [*result.get("rules", []), *result.get("packs", []), *result.get("baselines", [])]
    return render(
        request,
        "quality/backtest_detail.html",
        {"run": run, "rows": rows, "curves": curve_series(result), "result": result},
    )
