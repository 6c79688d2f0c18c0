from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField
from salesradar.health.choices import HealthActionKind, HealthTier, Pillar


class CustomerHealth(models.Model):
    """The latest health of one customer: four pillars, their weighted score and its tier."""

    customer = models.OneToOneField(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="health",
    )
    computed_at = AwareDateTimeField(_("computed as of"))
    potential = models.PositiveSmallIntegerField(_("commercial potential"))
    depth = models.PositiveSmallIntegerField(_("depth"))
    relationship = models.PositiveSmallIntegerField(_("relationship"))
    risk = models.PositiveSmallIntegerField(_("risk signals (100 = none)"))
    score = models.PositiveSmallIntegerField(_("health score"))
    tier = models.CharField(_("tier"), max_length=8, choices=HealthTier.choices)
    tier_since = AwareDateTimeField(_("in this tier since"))
    weakest = models.CharField(_("weakest pillar"), max_length=16, choices=Pillar.choices)
    facts = models.JSONField(_("facts behind the pillars"), default=dict)

    owner_path: ClassVar[str] = "customer__owner"

    class Meta:
        verbose_name = _("customer health")
        verbose_name_plural = _("customer health")
        indexes = [models.Index(fields=["tier", "score"])]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.score} ({self.tier})"


class HealthCalibration(models.Model):
    """One monthly fit of the pillar weights on the organisation's renewal and churn history."""

    computed_at = AwareDateTimeField(_("computed at"))
    samples = models.PositiveIntegerField(_("contracts that came up for renewal"))
    renewals = models.PositiveIntegerField(_("renewed"))
    applied = models.BooleanField(
        _("weights applied"),
        help_text=_("False when there was too little history and the default weights stayed."),
    )
    weights = models.JSONField(_("weights per pillar"), default=dict)
    coefficients = models.JSONField(_("regression coefficients"), default=dict)
    pillar_auc = models.JSONField(_("how well each pillar alone predicted renewal (AUC)"))
    model_auc = models.FloatField(_("cross-validated AUC of the fitted weights"), null=True)
    default_auc = models.FloatField(_("AUC of the default weights"), null=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("health calibration")
        verbose_name_plural = _("health calibrations")
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d}"


class OpportunityBlock(models.Model):
    """No new opportunity for a red customer until a manager clears the block."""

    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="opportunity_blocks",
    )
    opened_at = AwareDateTimeField(_("blocked at"))
    score = models.PositiveSmallIntegerField(_("health score when blocked"))
    reason = models.TextField(_("reason"))
    clearable_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("can be cleared by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cleared_at = AwareDateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("cleared by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    clear_note = models.TextField(_("why it was cleared"), blank=True)

    owner_path: ClassVar[str] = "customer__owner"

    class Meta:
        verbose_name = _("opportunity block")
        verbose_name_plural = _("opportunity blocks")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(cleared_at__isnull=True),
                name="one_open_block_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.opened_at:%Y-%m-%d}"


class HealthAction(models.Model):
    """What a customer's move into a tier set off (tasks, a digest line, a block)."""

    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="health_actions",
    )
    tier = models.CharField(_("tier"), max_length=8, choices=HealthTier.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=HealthActionKind.choices)
    taken_at = AwareDateTimeField(_("taken at"), default=timezone.now)
    detail = models.TextField(_("detail"), blank=True)

    owner_path: ClassVar[str] = "customer__owner"

    class Meta:
        verbose_name = _("health action")
        verbose_name_plural = _("health actions")
        indexes = [models.Index(fields=["customer", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind}"
