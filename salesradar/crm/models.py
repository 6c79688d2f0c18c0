from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField, non_negative
from salesradar.core.history import AppendOnlyModel
from salesradar.crm.choices import (
    AssignmentKind,
    CompanySize,
    DecisionRole,
    LadderAction,
    LeadSource,
    LeadStatus,
    Lifecycle,
    LifecycleEvent,
    NurtureStatus,
    ReviewStatus,
    RoutingStrategy,
    Tier,
)
from salesradar.crm.normalize import (
    company_match_key,
    name_block,
    name_subblock,
    normalize_company_name,
    normalize_email,
    phone_key_or_blank,
)


def _pool_fk(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "crm.LeadPool",
        verbose_name=_("pool"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name=related_name,
        help_text=_("The pool the record returns to; empty means the default pool."),
    )


def _previous_owner_fk() -> models.ForeignKey:
    return models.ForeignKey(
        "accounts.User",
        verbose_name=_("previous owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )


class CustomerQuerySet(models.QuerySet["Customer"]):
    def in_pool(self) -> CustomerQuerySet:
        """Customers without an owner: the public pool (公海)."""
        return self.filter(owner__isnull=True)

    def key_accounts(self) -> CustomerQuerySet:
        """Tier A customers, the ones a missed follow-up hurts most."""
        return self.filter(tier=Tier.A)


class Customer(models.Model):
    code = models.CharField(_("customer number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    normalized_name = models.CharField(
        _("normalised name"), max_length=200, db_index=True, editable=False
    )
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, null=True, blank=True
    )
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    size = models.CharField(_("size"), max_length=16, choices=CompanySize.choices, blank=True)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, default=Tier.C)
    lifecycle = models.CharField(
        _("lifecycle"), max_length=16, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        help_text=_("Empty means the customer is in the public pool."),
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    updated_at = AwareDateTimeField(_("updated at"), default=timezone.now)
    name_key = models.CharField(
        _("name match key"), max_length=200, db_index=True, editable=False, db_default=""
    )
    name_block = models.CharField(
        _("name block"), max_length=8, db_index=True, editable=False, db_default=""
    )
    name_subblock = models.CharField(
        _("name sub-block"), max_length=16, db_index=True, editable=False, db_default=""
    )
    tier_is_manual = models.BooleanField(
        _("tier set by hand"),
        db_default=False,
        default=False,
        help_text=_("Tier rules leave a tier set by hand alone."),
    )
    pool = _pool_fk("customers")
    owned_since = AwareDateTimeField(_("owned since"), null=True, blank=True)
    previous_owner = _previous_owner_fk()
    released_at = AwareDateTimeField(_("returned to the pool at"), null=True, blank=True)
    ladder_step = models.PositiveSmallIntegerField(
        _("escalation step reached"), db_default=0, default=0
    )
    ladder_since = AwareDateTimeField(_("escalation started at"), null=True, blank=True)
    high_risk = models.BooleanField(_("high risk"), db_default=False, default=False)
    expiry_notified_at = AwareDateTimeField(_("expiry notice sent at"), null=True, blank=True)

    objects = CustomerQuerySet.as_manager()
    owner_path: ClassVar[str] = "owner"

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=models.Q(credit_code__isnull=False),
                name="customer_credit_code_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "tier"]),
            models.Index(fields=["tier", "lifecycle"]),
            models.Index(fields=["created_at"]),
            models.Index(fields=["pool", "owner"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalized_name = normalize_company_name(self.name)
        self.name_key = company_match_key(self.name)
        self.name_block = name_block(self.name_key)
        self.name_subblock = name_subblock(self.name_key)
        super().save(*args, **kwargs)


class Contact(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    decision_role = models.CharField(
        _("role in the decision"), max_length=20, choices=DecisionRole.choices, blank=True
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    phone_key = models.CharField(
        _("phone match key"), max_length=32, db_index=True, editable=False, db_default=""
    )
    email_key = models.CharField(
        _("email match key"), max_length=254, db_index=True, editable=False, db_default=""
    )

    owner_path: ClassVar[str] = "customer__owner"

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["customer", "decision_role"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.phone_key = phone_key_or_blank(self.phone)
        self.email_key = normalize_email(self.email)
        super().save(*args, **kwargs)


class Lead(models.Model):
    code = models.CharField(_("lead number"), max_length=32, unique=True)
    company_name = models.CharField(_("company"), max_length=200)
    normalized_name = models.CharField(
        _("normalised name"), max_length=200, db_index=True, editable=False
    )
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=LeadSource.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("converted to customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    assigned_at = AwareDateTimeField(_("assigned at"), null=True, blank=True)
    first_contact_at = AwareDateTimeField(_("first contacted at"), null=True, blank=True)
    recycle_count = models.PositiveIntegerField(_("times recycled"), default=0)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, db_default="", db_index=True
    )
    size = models.CharField(
        _("size"), max_length=16, choices=CompanySize.choices, blank=True, db_default=""
    )
    tier = models.CharField(
        _("tier"), max_length=1, choices=Tier.choices, default=Tier.C, db_default=Tier.C
    )
    name_key = models.CharField(
        _("name match key"), max_length=200, db_index=True, editable=False, db_default=""
    )
    name_block = models.CharField(
        _("name block"), max_length=8, db_index=True, editable=False, db_default=""
    )
    name_subblock = models.CharField(
        _("name sub-block"), max_length=16, db_index=True, editable=False, db_default=""
    )
    phone_key = models.CharField(
        _("phone match key"), max_length=32, db_index=True, editable=False, db_default=""
    )
    email_key = models.CharField(
        _("email match key"), max_length=254, db_index=True, editable=False, db_default=""
    )
    pool = _pool_fk("leads")
    previous_owner = _previous_owner_fk()
    released_at = AwareDateTimeField(_("returned to the pool at"), null=True, blank=True)
    routing_rule = models.ForeignKey(
        "crm.RoutingRule",
        verbose_name=_("routed by rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    response_due_at = AwareDateTimeField(_("first response due at"), null=True, blank=True)
    last_followup_at = AwareDateTimeField(_("last follow-up at"), null=True, blank=True)
    ladder_step = models.PositiveSmallIntegerField(
        _("escalation step reached"), db_default=0, default=0
    )
    ladder_since = AwareDateTimeField(_("escalation started at"), null=True, blank=True)
    high_risk = models.BooleanField(_("high risk"), db_default=False, default=False)
    expiry_notified_at = AwareDateTimeField(_("expiry notice sent at"), null=True, blank=True)

    owner_path: ClassVar[str] = "owner"

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            non_negative("recycle_count", "lead"),
            models.CheckConstraint(
                condition=models.Q(first_contact_at__isnull=True)
                | models.Q(first_contact_at__gte=models.F("created_at")),
                name="lead_first_contact_after_creation",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["status", "assigned_at"]),
            models.Index(fields=["created_at"]),
            models.Index(fields=["status", "response_due_at"]),
            models.Index(fields=["pool", "owner"]),
        ]

    def __str__(self) -> str:
        return self.company_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fill_match_keys()
        super().save(*args, **kwargs)

    def fill_match_keys(self) -> None:
        """Set the normalised keys the duplicate guard looks up (also for bulk_create)."""
        self.normalized_name = normalize_company_name(self.company_name)
        self.name_key = company_match_key(self.company_name)
        self.name_block = name_block(self.name_key)
        self.name_subblock = name_subblock(self.name_key)
        self.phone_key = phone_key_or_blank(self.phone)
        self.email_key = normalize_email(self.email)


class LeadPool(models.Model):
    """A public pool (公海) and its rules: limits on claiming and when records come back."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(_("default pool"), default=False)
    max_open_per_rep = models.PositiveIntegerField(_("open records a rep may hold"), default=50)
    claims_per_day = models.PositiveIntegerField(_("claims per rep per day"), default=10)
    reclaim_after_days = models.PositiveIntegerField(
        _("days before the previous owner may claim again"), default=7
    )
    expiry_notice_days = models.PositiveIntegerField(
        _("notice this many days before the countdown ends"), default=3
    )

    class Meta:
        verbose_name = _("lead pool")
        verbose_name_plural = _("lead pools")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="lead_pool_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SourcePolicy(models.Model):
    """How fast a lead from one source must get its first contact."""

    source = models.CharField(_("source"), max_length=16, choices=LeadSource.choices, unique=True)
    response_hours = models.PositiveIntegerField(_("first response deadline (hours)"), default=24)
    working_hours_only = models.BooleanField(
        _("count working hours only"),
        default=False,
        help_text=_("Count only working hours on working days of the China calendar."),
    )
    pool = models.ForeignKey(
        LeadPool,
        verbose_name=_("pool"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The pool new leads of this source land in; empty means the default pool."),
    )

    class Meta:
        verbose_name = _("source policy")
        verbose_name_plural = _("source policies")

    def __str__(self) -> str:
        return self.get_source_display()


class TierPolicy(models.Model):
    """What a tier demands: the follow-up cadence, the ownership countdown and the ladder."""

    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices, unique=True)
    cadence_days = models.PositiveIntegerField(_("follow up at least every (days)"), default=30)
    cadence_kinds = models.JSONField(
        _("activity kinds that count for the cadence"),
        default=list,
        blank=True,
        help_text=_('Empty means any kind except a note, e.g. ["visit", "meeting"].'),
    )
    ownership_days = models.PositiveIntegerField(
        _("days without follow-up before the record returns to the pool"), default=30
    )
    remind_owner_day = models.PositiveIntegerField(_("remind the owner on day"), default=3)
    copy_manager_day = models.PositiveIntegerField(_("copy the manager on day"), default=5)
    high_risk_day = models.PositiveIntegerField(_("mark high risk on day"), default=7)
    ladder_action = models.CharField(
        _("at the last step"),
        max_length=12,
        choices=LadderAction.choices,
        default=LadderAction.RECALL,
    )
    min_contract_amount = models.DecimalField(
        _("contract amount in the last year that earns this tier"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        ordering = ["tier"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remind_owner_day__lt=models.F("copy_manager_day"))
                & models.Q(copy_manager_day__lt=models.F("high_risk_day")),
                name="tier_policy_ladder_in_order",
            )
        ]

    def __str__(self) -> str:
        return self.get_tier_display()


class RoutingRule(models.Model):
    """One ordered routing rule: which leads it takes and which reps it shares them among."""

    order = models.PositiveIntegerField(_("order"), default=100)
    name = models.CharField(_("name"), max_length=120)
    enabled = models.BooleanField(_("enabled"), default=True)
    regions = models.JSONField(_("regions"), default=list, blank=True)
    industries = models.JSONField(_("industries"), default=list, blank=True)
    sources = models.JSONField(_("sources"), default=list, blank=True)
    sizes = models.JSONField(_("sizes"), default=list, blank=True)
    strategy = models.CharField(
        _("strategy"),
        max_length=16,
        choices=RoutingStrategy.choices,
        default=RoutingStrategy.ROUND_ROBIN,
    )
    members = models.ManyToManyField(
        "accounts.User", verbose_name=_("reps"), related_name="routing_rules"
    )
    capacity = models.PositiveIntegerField(_("open leads per rep at most"), null=True, blank=True)
    cursor = models.PositiveIntegerField(_("round-robin position"), default=0, editable=False)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class OutOfOffice(models.Model):
    """A rep away: routing skips them between the two times."""

    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        related_name="out_of_office",
    )
    starts_at = AwareDateTimeField(_("from"))
    ends_at = AwareDateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("out of office")
        verbose_name_plural = _("out of office")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="out_of_office_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"


class WorkingDayOverride(models.Model):
    """An admin's word on one day, above the holiday package: a day off or a working day."""

    day = models.DateField(_("day"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return self.day.isoformat()


class Assignment(AppendOnlyModel):
    """Every change of hands of a lead or customer, with the rule or reason behind it."""

    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=AssignmentKind.choices)
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("new owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    previous_owner = _previous_owner_fk()
    rule = models.ForeignKey(
        RoutingRule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
    )
    at = AwareDateTimeField(_("at"))
    by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    owner_path: ClassVar[str] = "owner"

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        indexes = [
            models.Index(fields=["kind", "at"]),
            models.Index(fields=["by", "kind", "at"]),
            models.Index(fields=["previous_owner", "kind", "at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lead__isnull=False) | models.Q(customer__isnull=False),
                name="assignment_names_a_record",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class DuplicateReview(models.Model):
    """A record whose name resembles existing ones: a person decides whether to merge."""

    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="duplicate_reviews",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="duplicate_reviews",
    )
    candidates = models.JSONField(
        _("candidates"),
        default=list,
        help_text=_("Each candidate: kind, id, name and a similarity score from 0 to 1."),
    )
    best_score = models.FloatField(_("best score"))
    status = models.CharField(
        _("status"), max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    decided_at = AwareDateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("duplicate review")
        verbose_name_plural = _("duplicate reviews")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return str(self.lead or self.customer)


class MergeRecord(models.Model):
    """What a merge folded away: the removed record as it was, so nothing is lost."""

    kind = models.CharField(_("kind"), max_length=12)  # "lead" or "customer"
    survivor_id = models.BigIntegerField(_("kept record"))
    merged_id = models.BigIntegerField(_("merged record"))
    merged_code = models.CharField(_("merged record's number"), max_length=32)
    snapshot = models.JSONField(_("merged record as it was"))
    moved = models.JSONField(_("rows moved to the kept record"), default=dict)
    at = AwareDateTimeField(_("at"))
    by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("merge record")
        verbose_name_plural = _("merge records")
        indexes = [models.Index(fields=["kind", "survivor_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.merged_code} → {self.survivor_id}"


class LifecycleChange(AppendOnlyModel):
    """One step of a customer's lifecycle, so the stage on any past day can be read back."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="lifecycle_changes",
    )
    from_stage = models.CharField(_("from"), max_length=16, choices=Lifecycle.choices)
    to_stage = models.CharField(_("to"), max_length=16, choices=Lifecycle.choices)
    event = models.CharField(_("event"), max_length=16, choices=LifecycleEvent.choices)
    at = AwareDateTimeField(_("at"))

    class Meta:
        verbose_name = _("lifecycle change")
        verbose_name_plural = _("lifecycle changes")
        indexes = [models.Index(fields=["customer", "at"])]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"


class NurtureSequence(models.Model):
    """Steps for a "not now" lead: on day N, a task for a rep or an email to the lead."""

    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(_("default sequence"), default=False)
    steps = models.JSONField(
        _("steps"),
        help_text=_(
            'A list such as [{"day": 1, "kind": "task", "title": "..."}, '
            '{"day": 3, "kind": "email", "subject": "...", "text": "..."}]'
        ),
    )
    email_channel = models.ForeignKey(
        "notify.Channel",
        verbose_name=_("email channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("nurture sequence")
        verbose_name_plural = _("nurture sequences")

    def __str__(self) -> str:
        return self.name


class NurtureEnrollment(models.Model):
    lead = models.ForeignKey(
        Lead, verbose_name=_("lead"), on_delete=models.CASCADE, related_name="nurture"
    )
    sequence = models.ForeignKey(
        NurtureSequence,
        verbose_name=_("sequence"),
        on_delete=models.PROTECT,
        related_name="enrollments",
    )
    started_at = AwareDateTimeField(_("started at"))
    next_step = models.PositiveSmallIntegerField(_("next step"), default=0)
    next_due_at = AwareDateTimeField(_("next step due at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=NurtureStatus.choices, default=NurtureStatus.ACTIVE
    )
    ended_at = AwareDateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("nurture enrollment")
        verbose_name_plural = _("nurture enrollments")
        indexes = [models.Index(fields=["status", "next_due_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=models.Q(status="active"),
                name="nurture_one_active_per_lead",
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead} · {self.sequence}"


__all__ = [
    "Assignment",
    "Contact",
    "Customer",
    "DuplicateReview",
    "Lead",
    "LeadPool",
    "LifecycleChange",
    "MergeRecord",
    "NurtureEnrollment",
    "NurtureSequence",
    "OutOfOffice",
    "RoutingRule",
    "SourcePolicy",
    "TierPolicy",
    "WorkingDayOverride",
]
