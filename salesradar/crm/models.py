from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField, non_negative
from salesradar.crm.choices import (
    CompanySize,
    DecisionRole,
    LeadSource,
    LeadStatus,
    Lifecycle,
    Tier,
)
from salesradar.crm.normalize import normalize_company_name


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
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalized_name = normalize_company_name(self.name)
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

    owner_path: ClassVar[str] = "customer__owner"

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["customer", "decision_role"])]

    def __str__(self) -> str:
        return self.name


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
        ]

    def __str__(self) -> str:
        return self.company_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalized_name = normalize_company_name(self.company_name)
        super().save(*args, **kwargs)


__all__ = ["Contact", "Customer", "Lead"]
