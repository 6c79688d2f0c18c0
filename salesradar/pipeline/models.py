from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField, CurrencyField, MoneyField, non_negative
from salesradar.core.history import AppendOnlyModel
from salesradar.pipeline.choices import (
    ContractStatus,
    LostReason,
    QuoteStatus,
    TargetMeasure,
    TargetPeriod,
)


def localized(labels: dict[str, str], fallback: str) -> str:
    """Pick the label for the active language from a playbook's ``{lang: text}`` map."""
    language = (translation.get_language() or "en").lower()
    return (
        labels.get(language) or labels.get(language.split("-")[0]) or labels.get("en") or fallback
    )


class Process(models.Model):
    """A sales process as loaded from a YAML playbook; the playbook is the source of truth."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    names = models.JSONField(_("name per language"), default=dict)
    version = models.PositiveIntegerField(_("version"), default=1)
    is_default = models.BooleanField(_("default process"), default=False)
    source = models.TextField(_("playbook source"), blank=True, editable=False)
    loaded_at = AwareDateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("sales process")
        verbose_name_plural = _("sales processes")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="process_single_default",
            )
        ]

    def __str__(self) -> str:
        return localized(self.names, self.key)


class Stage(models.Model):
    process = models.ForeignKey(
        Process, verbose_name=_("process"), on_delete=models.CASCADE, related_name="stages"
    )
    key = models.SlugField(_("key"), max_length=60)
    labels = models.JSONField(_("label per language"), default=dict)
    order = models.PositiveSmallIntegerField(_("order"))
    probability = models.PositiveSmallIntegerField(_("default win probability (%)"))
    dwell_sla_days = models.PositiveSmallIntegerField(_("dwell SLA (days)"), null=True, blank=True)
    gate = models.JSONField(_("gate requirements"), default=list, blank=True)
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["process", "order"]
        constraints = [
            models.UniqueConstraint(fields=["process", "key"], name="stage_key_unique"),
            models.UniqueConstraint(fields=["process", "order"], name="stage_order_unique"),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="stage_probability_range"
            ),
            models.CheckConstraint(
                condition=~(models.Q(is_won=True) & models.Q(is_lost=True)),
                name="stage_not_won_and_lost",
            ),
        ]

    def __str__(self) -> str:
        return localized(self.labels, self.key)

    @property
    def is_terminal(self) -> bool:
        return self.is_won or self.is_lost


class OpportunityQuerySet(models.QuerySet["Opportunity"]):
    def open(self) -> OpportunityQuerySet:
        """Opportunities not yet won or lost."""
        return self.filter(closed_at__isnull=True)

    def stale(self, *, hours: int, at: dt.datetime | None = None) -> OpportunityQuerySet:
        """Open opportunities nobody updated within ``hours`` before ``at``."""
        now = at or timezone.now()
        return self.open().filter(updated_at__lt=now - dt.timedelta(hours=hours))


class Opportunity(models.Model):
    code = models.CharField(_("opportunity number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    process = models.ForeignKey(
        Process, verbose_name=_("process"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    amount = MoneyField(_("amount"), default=0)
    currency = CurrencyField()
    product_line = models.CharField(_("product line"), max_length=60, blank=True)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    updated_at = AwareDateTimeField(_("last updated at"), default=timezone.now)
    stage_entered_at = AwareDateTimeField(_("entered current stage at"), default=timezone.now)
    closed_at = AwareDateTimeField(_("closed at"), null=True, blank=True)
    lost_reason = models.CharField(
        _("lost reason"), max_length=16, choices=LostReason.choices, blank=True
    )
    lost_note = models.TextField(_("lost reason details"), blank=True)

    objects = OpportunityQuerySet.as_manager()
    owner_path: ClassVar[str] = "owner"

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            non_negative("amount", "opportunity"),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True)
                | models.Q(closed_at__gte=models.F("created_at")),
                name="opportunity_closed_after_created",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "stage"]),
            models.Index(fields=["stage", "stage_entered_at"]),
            models.Index(fields=["customer", "created_at"]),
            models.Index(fields=["closed_at"]),
            models.Index(fields=["updated_at"]),
            models.Index(fields=["amount"]),  # list pages sorted by deal size
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        if self.stage_id and self.process_id and self.stage.process_id != self.process_id:
            raise ValidationError(
                {"stage": _("The stage does not belong to this opportunity's process.")}
            )


class StageChange(AppendOnlyModel):
    """One move of an opportunity between stages; never edited, never deleted on its own."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
    )
    from_stage = models.ForeignKey(
        Stage,
        verbose_name=_("from stage"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_stage = models.ForeignKey(
        Stage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+"
    )
    changed_at = AwareDateTimeField(_("changed at"))
    changed_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # history names its author; deactivate users instead
        related_name="+",
    )
    is_regression = models.BooleanField(_("moved backwards"), default=False)
    note = models.TextField(_("note"), blank=True)

    owner_path: ClassVar[str] = "opportunity__owner"

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["opportunity", "changed_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "changed_at"]),
            models.Index(fields=["to_stage", "changed_at"]),
            models.Index(fields=["changed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class Evidence(models.Model):
    """A piece of proof that a stage gate asks for (pain-point list, NDA, proposal, ...)."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="evidence",
    )
    kind = models.SlugField(_("kind"), max_length=60)
    title = models.CharField(_("title"), max_length=200, blank=True)
    url = models.URLField(_("link"), blank=True)
    added_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_at = AwareDateTimeField(_("added at"), default=timezone.now)

    owner_path: ClassVar[str] = "opportunity__owner"

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        indexes = [models.Index(fields=["opportunity", "kind"])]

    def __str__(self) -> str:
        return self.title or self.kind


class Quote(models.Model):
    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="quotes"
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    status = models.CharField(
        _("status"), max_length=16, choices=QuoteStatus.choices, default=QuoteStatus.REQUESTED
    )
    requested_at = AwareDateTimeField(_("requested at"))
    sent_at = AwareDateTimeField(_("sent at"), null=True, blank=True)
    amount = MoneyField(_("amount"), null=True, blank=True)
    currency = CurrencyField()

    owner_path: ClassVar[str] = "opportunity__owner"

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "version"], name="quote_version_unique"),
            non_negative("amount", "quote"),
            models.CheckConstraint(
                condition=models.Q(sent_at__isnull=True)
                | models.Q(sent_at__gte=models.F("requested_at")),
                name="quote_sent_after_requested",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_at"]),
            models.Index(fields=["sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id} v{self.version}"


class Contract(models.Model):
    code = models.CharField(_("contract number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contracts",
    )
    renewal_of = models.ForeignKey(
        "self",
        verbose_name=_("renews"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="renewals",
    )
    signed_at = AwareDateTimeField(_("signed at"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    amount = MoneyField(_("amount"))
    currency = CurrencyField()
    status = models.CharField(
        _("status"), max_length=16, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )

    owner_path: ClassVar[str] = "customer__owner"

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            non_negative("amount", "contract"),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="contract_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "ends_on"]),
            models.Index(fields=["status", "ends_on"]),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def term_months(self) -> int:
        return (self.ends_on.year - self.starts_on.year) * 12 + (
            self.ends_on.month - self.starts_on.month
        )


class Invoice(models.Model):
    code = models.CharField(_("invoice number"), max_length=32, unique=True)
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="invoices"
    )
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    amount = MoneyField(_("amount"))
    currency = CurrencyField()
    paid_amount = MoneyField(_("paid amount"), default=0)
    paid_at = AwareDateTimeField(_("paid at"), null=True, blank=True)

    owner_path: ClassVar[str] = "customer__owner"

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            non_negative("amount", "invoice"),
            non_negative("paid_amount", "invoice"),
            models.CheckConstraint(
                condition=models.Q(due_on__gte=models.F("issued_on")),
                name="invoice_due_after_issue",
            ),
        ]
        indexes = [
            models.Index(fields=["due_on", "paid_at"]),
            models.Index(fields=["customer", "due_on"]),
        ]

    def __str__(self) -> str:
        return self.code


class Target(models.Model):
    """A goal for one rep or one team over a period; exactly one of user and team is set."""

    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("rep"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    period = models.CharField(
        _("period"), max_length=8, choices=TargetPeriod.choices, default=TargetPeriod.MONTH
    )
    period_start = models.DateField(_("period starts on"))
    measure = models.CharField(_("measure"), max_length=16, choices=TargetMeasure.choices)
    value = MoneyField(_("target value"))
    currency = CurrencyField()

    owner_path: ClassVar[str] = "user"
    team_path: ClassVar[str] = "team"

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            non_negative("value", "target"),
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(team__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(team__isnull=False)),
                name="target_user_xor_team",
            ),
            models.UniqueConstraint(
                fields=["user", "period", "period_start", "measure"],
                condition=models.Q(user__isnull=False),
                name="target_user_period_unique",
            ),
            models.UniqueConstraint(
                fields=["team", "period", "period_start", "measure"],
                condition=models.Q(team__isnull=False),
                name="target_team_period_unique",
            ),
        ]
        indexes = [models.Index(fields=["period_start", "measure"])]

    def __str__(self) -> str:
        return f"{self.user or self.team} {self.measure} {self.period_start}"
