"""The ``risk`` rule kind: warn about deals whose P(slip or loss) is high, optionally by amount.

The metric ``opportunity_risk`` is the deal-outcome model's P(slip or loss within the
horizon) for every open deal as of ``at``; with no usable model trained by ``at`` the value
is the stage's guess (1 − its default probability) and the context's ``model`` is empty, and
the ``risk`` condition judges such a guess ok: it stays quiet rather than warn on a guess.
The condition ``risk`` fires from a
probability level (``warning``/``danger`` between 0 and 1), or with ``amount_weighted`` from
an expected amount at risk (probability × amount, levels in the deal's currency).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from salesradar.alerts.conditions import (
    RuleError,
    Threshold,
    Verdict,
    _Fields,
    _number,
)
from salesradar.alerts.conditions import (
    register as register_condition,
)
from salesradar.metrics.catalogue import OPPORTUNITY_SCOPE
from salesradar.metrics.registry import Metric, MetricRow, Period, Scope, register


@register
class OpportunityRisk(Metric):
    """P(slip or loss within the model's horizon) of each open deal as of ``at`` (0–1).

    Slip or loss: lost, or no forward stage progress, within the horizon. The model is the
    one trained by ``at`` (`model_as_of`); without a usable one, 1 − the stage's default
    probability, with an empty ``model`` in the context.
    The context carries the amount, P(won), the stage and which model scored it.
    """

    scope_fields = OPPORTUNITY_SCOPE
    key = "opportunity_risk"
    grain = "opportunity"
    unit = "probability"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        from salesradar.forecast.services import score_deals

        scores = score_deals(at=at, scope=scope)
        record = scores.records.get("slip_or_loss")
        scored_by = f"slip_or_loss v{record.version}" if record else ""
        frame = scores.frame
        return [
            MetricRow(
                int(pk),
                float(scores.risk[index]),
                None,
                frame.owner_ids[index],
                frame.team_ids[index],
                {
                    "stage": frame.stage_keys[index],
                    "amount": float(frame.amounts[index]),
                    "p_won": round(float(scores.won[index]), 4),
                    "model": scored_by,
                },
            )
            for index, pk in enumerate(frame.ids.tolist())
        ]


@register_condition
@dataclass(frozen=True)
class Risk(Threshold):
    """P(slip or loss) from ``warning``/``danger``; ``amount_weighted``: probability × amount.

    ``{kind: risk, warning: 0.6, danger: 0.8}`` warns from a 60 % risk. With
    ``amount_weighted: true`` the levels are amounts at risk: ``{kind: risk,
    amount_weighted: true, warning: 200000}`` warns when P × amount reaches 200,000.
    """

    kind: ClassVar[str] = "risk"
    needs_history: ClassVar[bool] = False

    amount_weighted: bool = False

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Risk:
        fields = _Fields(spec, where, ("warning", "danger", "amount_weighted"))
        weighted = fields.boolean("amount_weighted")
        warning, danger = fields.levels("warning", "danger")
        if not weighted:
            for name, level in (("warning", warning), ("danger", danger)):
                if level is not None and level > 1:
                    raise RuleError(
                        f"{where}.{name}",
                        _(
                            "is a probability and must be at most 1, not {value}; use "
                            "amount_weighted: true for an amount at risk"
                        ).format(value=_number(level)),
                    )
        return cls(op=">=", warning=warning, danger=danger, amount_weighted=weighted)

    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        if current is not None and context is not None and context.get("model") == "":
            return Verdict(
                "ok",
                current,
                self.warning if self.warning is not None else self.danger,
                detail=_("no deal-outcome model is trained yet; the risk is not judged"),
            )
        if current is not None and self.amount_weighted:
            current = current * float((context or {}).get("amount") or 0)
        return super().judge(current, history, context)
