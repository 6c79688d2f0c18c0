"""The forecast's REST endpoints: forecasts, deal scores and the calibration report.

Each answers only about what the user may see (`accounts.visibility`): a rep their own
forecast and deals, a manager the team subtree, a director everything.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesradar.accounts.models import User
from salesradar.accounts.visibility import sees_everything, visible
from salesradar.api.errors import ApiError
from salesradar.forecast.calibration import calibration_report
from salesradar.forecast.choices import PeriodKind
from salesradar.forecast.forecasts import Forecast, credibility, forecast_period
from salesradar.forecast.services import explain, score_deals
from salesradar.pipeline.models import Opportunity

MAX_DEALS = 200
PERIOD = OpenApiParameter("period", str, enum=list(PeriodKind.values), required=False)


def period_of(request: Request) -> str:
    period = request.query_params.get("period", PeriodKind.QUARTER)
    if period not in PeriodKind.values:
        raise ApiError(
            str(_("period must be one of {choices}").format(choices=", ".join(PeriodKind.values))),
            code="invalid_period",
        )
    return str(period)


def forecast_json(forecast: Forecast) -> dict[str, Any]:
    return {
        "key": forecast.key,
        "period": forecast.period,
        "period_start": forecast.period_start.isoformat(),
        "won_so_far": round(forecast.won_so_far, 2),
        "commit": round(forecast.commit, 2),
        "stage_weighted": round(forecast.stage_weighted, 2),
        "historical": round(forecast.historical, 2),
        "expected": round(forecast.expected, 2),
        "interval_80": [round(forecast.low, 2), round(forecast.high, 2)],
        "pipeline": round(forecast.pipeline, 2),
        "target": forecast.target,
        "coverage": None if forecast.coverage is None else round(forecast.coverage, 3),
        "deals": len(forecast.deals),
        "discounted_deals": sum(1 for line in forecast.deals if line.discounted),
        "high_risk_customer_deals": forecast.high_risk_deals,
    }


class ForecastView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[PERIOD], responses={200: serializers.DictField()})
    def get(self, request: Request) -> Response:
        """The forecast of the current month or quarter per visible rep and team."""
        forecasts = forecast_period(at=timezone.now(), period=period_of(request))
        reps = set(visible(request.user, User).values_list("pk", flat=True))
        teams = set(visible(request.user, User).values_list("team_id", flat=True))
        return Response(
            {
                "period": forecasts.period,
                "period_start": forecasts.period_start.isoformat(),
                "notes": forecasts.notes,
                "reps": [forecast_json(f) for pk, f in forecasts.reps.items() if pk in reps],
                "teams": [forecast_json(f) for pk, f in forecasts.teams.items() if pk in teams],
                "org": forecast_json(forecasts.org) if sees_everything(request.user) else None,
            }
        )


class DealScoresView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, required=False)],
        responses={200: serializers.DictField()},
    )
    def get(self, request: Request) -> Response:
        """P(won), P(slip or loss), credibility and the top 3 reasons of visible open deals."""
        try:
            limit = min(int(request.query_params.get("limit", 50)), MAX_DEALS)
        except ValueError:
            raise ApiError(str(_("limit must be a whole number")), code="invalid_limit") from None
        scores = score_deals(at=timezone.now())
        allowed = set(visible(request.user, Opportunity).open().values_list("pk", flat=True))
        order = sorted(
            (index for index, pk in enumerate(scores.frame.ids.tolist()) if pk in allowed),
            key=lambda index: -scores.risk[index],
        )[: max(limit, 0)]
        ids = [int(scores.frame.ids[index]) for index in order]
        risk_reasons = explain(scores, ids, target="slip_or_loss")
        won_reasons = explain(scores, ids, target="won")
        points = credibility(scores.frame)
        return Response(
            {
                "notes": scores.notes,
                "results": [
                    {
                        "opportunity": pk,
                        "p_won": round(float(scores.won[index]), 4),
                        "p_slip_or_loss": round(float(scores.risk[index]), 4),
                        "credibility": float(points[index]),
                        "risk_reasons": [r.sentence("slip_or_loss") for r in risk_reasons[pk]],
                        "win_reasons": [r.sentence("won") for r in won_reasons[pk]],
                    }
                    for index, pk in zip(order, ids, strict=True)
                ],
            }
        )


class CalibrationView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[PERIOD], responses={200: serializers.DictField()})
    def get(self, request: Request) -> Response:
        """The calibration report of the complete periods, limited to the visible reps."""
        report = calibration_report(at=timezone.now(), period=period_of(request)).as_dict()
        if not sees_everything(request.user):
            reps = {str(pk) for pk in visible(request.user, User).values_list("pk", flat=True)}
            for period in report["periods"]:
                period["reps"] = {k: v for k, v in period["reps"].items() if k in reps}
            report["flagged"] = [item for item in report["flagged"] if str(item["rep"]) in reps]
        return Response(report)
