from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField


class BacktestRun(models.Model):
    """A saved backtest report (``salesradar backtest --save``): scores, baselines, curves."""

    label = models.CharField(_("label"), max_length=160)
    created_at = AwareDateTimeField(_("run at"), default=timezone.now)
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("run by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    start = AwareDateTimeField(_("first snapshot"))
    end = AwareDateTimeField(_("last snapshot"))
    horizon_days = models.PositiveIntegerField(_("horizon (days)"))
    result = models.JSONField(_("report"), default=dict)

    class Meta:
        verbose_name = _("backtest run")
        verbose_name_plural = _("backtest runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.label
