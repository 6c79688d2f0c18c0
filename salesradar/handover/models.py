from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField


class Split(models.TextChoices):
    ONE = "one", _("Everything to one successor")
    ROUND_ROBIN = "round_robin", _("Round robin, each tier shared evenly")
    TIER = "tier", _("By customer tier")
    REGION = "region", _("By customer region")


class HandoverStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")


class Handover(models.Model):
    """A rep leaving and who takes over what: the audit record of one handover."""

    leaving = models.ForeignKey(
        "accounts.User",
        verbose_name=_("leaving rep"),
        on_delete=models.PROTECT,
        related_name="handovers_out",
    )
    successors = models.JSONField(
        _("successors"),
        default=list,
        help_text=_("User ids, in order; for a tier or region split, a mapping to user ids."),
    )
    split = models.CharField(_("split"), max_length=16, choices=Split.choices)
    mapping = models.JSONField(_("tier or region mapping"), default=dict, blank=True)
    effective_at = AwareDateTimeField(_("effective at"))
    status = models.CharField(
        _("status"), max_length=12, choices=HandoverStatus.choices, default=HandoverStatus.SCHEDULED
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    done_at = AwareDateTimeField(_("done at"), null=True, blank=True)
    moved = models.JSONField(_("what moved, by kind"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    owner_path = "leaving"

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.leaving} → {self.effective_at:%Y-%m-%d}"


class HandoverItem(models.Model):
    """One record that changed hands, so the handover can say exactly what it moved."""

    handover = models.ForeignKey(
        Handover, verbose_name=_("handover"), on_delete=models.CASCADE, related_name="items"
    )
    kind = models.CharField(_("kind"), max_length=16)
    object_id = models.BigIntegerField(_("object id"))
    label = models.CharField(_("record"), max_length=200)
    to_owner = models.ForeignKey(
        "accounts.User", verbose_name=_("successor"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("handover item")
        verbose_name_plural = _("handover items")
        constraints = [
            models.UniqueConstraint(
                fields=["handover", "kind", "object_id"], name="handover_item_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.label}"
