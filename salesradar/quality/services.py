"""Save backtest reports and shape them for the page, the API and the admin."""

from __future__ import annotations

from typing import Any

from salesradar.accounts.models import User
from salesradar.alerts.backtest import BacktestReport
from salesradar.quality.models import BacktestRun


def save_backtest(report: BacktestReport, *, label: str, by: User | None = None) -> BacktestRun:
    """Store ``report`` as a `BacktestRun` so the web page and the API can show it."""
    if report.start is None or report.end is None:
        raise ValueError("a backtest report without a window cannot be saved")
    return BacktestRun.objects.create(
        label=label,
        created_by=by,
        start=report.start,
        end=report.end,
        horizon_days=round(report.horizon.total_seconds() / 86400),
        result=report.as_dict(),
    )


def curve_series(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One precision/recall line per rule and baseline family, for the ECharts chart."""
    series = []
    seen: set[str] = set()
    for kind in ("rules", "baselines"):
        for row in result.get(kind, []):
            name = row["rule"].split(">")[0]
            if not row.get("curve") or name in seen:
                continue
            seen.add(name)
            points = [
                [point["recall"], point["precision"], point["level"]]
                for point in row["curve"]
                if point.get("recall") is not None and point.get("precision") is not None
            ]
            series.append({"name": name, "baseline": kind == "baselines", "points": points})
    return series
