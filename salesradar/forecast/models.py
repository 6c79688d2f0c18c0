"""Trained deal-outcome models and the weekly forecast snapshots.

A `ModelRecord` keeps one trained, calibrated model with everything needed to judge it later:
the training window, the feature list, the validation figures against the baselines, who
trained it and when, and a keyed checksum of the stored estimator. A record whose checksum
does not match is refused, never unpickled (`salesradar.forecast.training.load_estimator`).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField, MoneyField
from salesradar.forecast.choices import Algorithm, Calibration, PeriodKind, Target


class ModelRecordQuerySet(models.QuerySet["ModelRecord"]):
    def active(self) -> ModelRecordQuerySet:
        """The models currently used for scoring, at most one per target."""
        return self.filter(is_active=True)


class ModelRecord(models.Model):
    """One trained version of a deal-outcome model."""

    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    version = models.PositiveIntegerField(_("version"))
    algorithm = models.CharField(_("algorithm"), max_length=32, choices=Algorithm.choices)
    calibration = models.CharField(_("calibration"), max_length=16, choices=Calibration.choices)
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    window_start = AwareDateTimeField(_("training window starts"))
    window_end = AwareDateTimeField(_("training window ends"))
    features = models.JSONField(_("features"), default=list)
    metrics = models.JSONField(_("validation metrics"), default=dict)
    trained_at = AwareDateTimeField(_("trained at"), default=timezone.now)
    trained_by = models.CharField(
        _("trained by"),
        max_length=150,
        help_text=_("The user name, or the job that trained it (scheduler, Celery beat)."),
    )
    payload = models.BinaryField(_("estimator"))
    checksum = models.CharField(_("checksum (HMAC-SHA256)"), max_length=64)
    is_active = models.BooleanField(_("active"), default=False)

    objects = ModelRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal-outcome model")
        verbose_name_plural = _("deal-outcome models")
        ordering = ["target", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["target", "version"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(is_active=True),
                name="model_single_active_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} v{self.version}"


class ForecastSnapshot(models.Model):
    """A rep's forecast for one period as it stood at ``taken_at`` (kept for calibration)."""

    taken_at = AwareDateTimeField(_("taken at"))
    period = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period starts on"))
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        related_name="forecast_snapshots",
    )
    won_so_far = MoneyField(_("won so far"), default=0)
    commit = MoneyField(_("commit"), default=0)
    stage_weighted = MoneyField(_("stage-weighted"), default=0)
    historical = MoneyField(_("historical stage-to-win"), default=0)
    expected = MoneyField(_("model expected value"), default=0)
    low = MoneyField(_("low end of the 80 percent interval"), default=0)
    high = MoneyField(_("high end of the 80 percent interval"), default=0)
    target_value = MoneyField(_("target"), null=True, blank=True)
    model = models.ForeignKey(
        ModelRecord,
        verbose_name=_("model"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: [[opportunity id, P(won), amount, credibility], ...] for the deals counted
    deals = models.JSONField(_("deals counted"), default=list)

    owner_path: ClassVar[str] = "owner"

    class Meta:
        verbose_name = _("forecast snapshot")
        verbose_name_plural = _("forecast snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["taken_at", "period", "period_start", "owner"],
                name="forecast_snapshot_unique",
            )
        ]
        indexes = [models.Index(fields=["period", "period_start", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.period} {self.period_start} @ {self.taken_at:%Y-%m-%d}"
