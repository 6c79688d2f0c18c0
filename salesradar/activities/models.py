from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.activities.choices import (
    ActionCardOrigin,
    ActionCardStatus,
    ActivityKind,
    Outcome,
    TaskOrigin,
    TaskStatus,
)
from salesradar.core.fields import AwareDateTimeField, non_negative


class Activity(models.Model):
    """A logged follow-up: the raw material of almost every early-warning metric."""

    kind = models.CharField(_("kind"), max_length=12, choices=ActivityKind.choices)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="activities",
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="activities",
    )
    occurred_at = AwareDateTimeField(_("occurred at"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=0)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    decision_maker_present = models.BooleanField(_("decision maker present"), default=False)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_due = models.DateField(_("next step due"), null=True, blank=True)
    created_at = AwareDateTimeField(_("logged at"), default=timezone.now)
    backfilled = models.BooleanField(
        _("backfilled"),
        default=False,
        help_text=_(
            "Recorded after the fact (an import, a sync from another system, the demo): "
            "known from when it occurred, not from when it was logged here."
        ),
    )

    owner_path: ClassVar[str] = "owner"

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [non_negative("duration_minutes", "activity")]
        indexes = [
            models.Index(fields=["customer", "occurred_at"]),
            models.Index(fields=["opportunity", "occurred_at"]),
            models.Index(fields=["owner", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class Task(models.Model):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    assignee = models.ForeignKey(
        "accounts.User", verbose_name=_("assignee"), on_delete=models.CASCADE, related_name="tasks"
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_at = AwareDateTimeField(_("due at"))
    status = models.CharField(
        _("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    origin = models.CharField(
        _("origin"), max_length=12, choices=TaskOrigin.choices, default=TaskOrigin.MANUAL
    )
    origin_ref = models.CharField(_("origin reference"), max_length=64, blank=True)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    completed_at = AwareDateTimeField(_("completed at"), null=True, blank=True)

    owner_path: ClassVar[str] = "assignee"

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"]),
            models.Index(fields=["origin", "origin_ref"]),
        ]

    def __str__(self) -> str:
        return self.title


class ActionCard(models.Model):
    """Who does what by when, with a deliverable someone can check: the unit of follow-through."""

    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("who"),
        on_delete=models.CASCADE,
        related_name="action_cards",
    )
    what = models.CharField(_("what"), max_length=200)
    deliverable = models.CharField(_("verifiable deliverable"), max_length=200)
    due_at = AwareDateTimeField(_("by when"))
    status = models.CharField(
        _("status"), max_length=12, choices=ActionCardStatus.choices, default=ActionCardStatus.OPEN
    )
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="action_cards",
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="action_cards",
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    verified_at = AwareDateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    origin = models.CharField(
        _("origin"),
        max_length=8,
        choices=ActionCardOrigin.choices,
        default=ActionCardOrigin.MANUAL,
        db_default=ActionCardOrigin.MANUAL,
    )
    origin_ref = models.CharField(_("origin reference"), max_length=64, blank=True, db_default="")
    delivered_at = AwareDateTimeField(_("delivered at"), null=True, blank=True)
    delivery_note = models.TextField(_("what was delivered"), blank=True, db_default="")
    review_note = models.TextField(_("manager's verification note"), blank=True, db_default="")
    reminded_at = AwareDateTimeField(_("reminded at"), null=True, blank=True)
    overdue_notified_at = AwareDateTimeField(_("overdue alert sent at"), null=True, blank=True)

    owner_path: ClassVar[str] = "owner"

    class Meta:
        verbose_name = _("action card")
        verbose_name_plural = _("action cards")
        indexes = [models.Index(fields=["owner", "status", "due_at"])]

    def __str__(self) -> str:
        return self.what
