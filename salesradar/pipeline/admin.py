"""Admin for processes, opportunities and the money that follows them.

Stage history is append-only, so it is shown but never edited or deleted here; an
opportunity's stage only changes through ``pipeline.services`` (which writes that history),
so the admin shows it read-only once the opportunity exists.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, Q, QuerySet, URLField
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesradar.core.admin import ReadOnlyAdminMixin
from salesradar.pipeline.models import (
    Contract,
    Evidence,
    Invoice,
    Opportunity,
    Process,
    Quote,
    Stage,
    StageChange,
    Target,
)


def money_column(field: str, description: str | Promise) -> Callable[[Model], str | None]:
    """Return a list column showing ``field`` with the row's currency, sortable by ``field``."""

    @admin.display(description=description, ordering=field)
    def column(obj: Model) -> str | None:
        value: Decimal | None = getattr(obj, field)
        if value is None:
            return None  # the admin renders its "empty" marker
        return f"{number_format(value, decimal_pos=2, force_grouping=True)} {obj.currency}"

    column.__name__ = f"{field}_with_currency"
    return column


def overdue() -> Q:
    """Match invoices not settled (no ``paid_at``) whose due date lies before today, local time."""
    return Q(paid_at__isnull=True, due_on__lt=timezone.localdate())


# Evidence links are pasted from a browser; a bare host means https (Django 6's default too).
EVIDENCE_FORMFIELDS = {URLField: {"assume_scheme": "https"}}


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() == "yes":
            return queryset.filter(overdue())
        if self.value() == "no":
            return queryset.exclude(overdue())
        return None


class OpportunityStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("open", _("Open")), ("won", _("Won")), ("lost", _("Lost"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() == "open":
            return queryset.open()
        if self.value() == "won":
            return queryset.filter(stage__is_won=True)
        if self.value() == "lost":
            return queryset.filter(stage__is_lost=True)
        return None


# --- Processes ---------------------------------------------------------------------------


class StageInline(admin.TabularInline):
    model = Stage
    fields = (
        "order",
        "key",
        "labels",
        "probability",
        "dwell_sla_days",
        "gate",
        "is_won",
        "is_lost",
    )
    ordering = ("order",)
    extra = 0


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):
    list_display = ("key", "__str__", "version", "is_default", "loaded_at")
    list_filter = ("is_default",)
    search_fields = ("key",)
    ordering = ("key",)
    fields = ("key", "names", "version", "is_default", "loaded_at", "source")
    # The YAML the process was loaded from; a record of what was loaded, not an editor.
    readonly_fields = ("source",)
    inlines = (StageInline,)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "process",
        "order",
        "key",
        "probability",
        "dwell_sla_days",
        "is_won",
        "is_lost",
    )
    list_select_related = ("process",)
    list_filter = ("process", "is_won", "is_lost")
    search_fields = ("key", "process__key")
    ordering = ("process", "order")


# --- Opportunities -----------------------------------------------------------------------


class StageChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StageChange
    fields = ("changed_at", "from_stage", "to_stage", "changed_by", "is_regression", "note")
    readonly_fields = fields
    ordering = ("changed_at", "id")
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StageChange]:
        return super().get_queryset(request).select_related("from_stage", "to_stage", "changed_by")


class QuoteInline(admin.TabularInline):
    model = Quote
    fields = ("version", "status", "requested_at", "sent_at", "amount", "currency")
    ordering = ("version",)
    extra = 0
    show_change_link = True


class EvidenceInline(admin.TabularInline):
    model = Evidence
    fields = ("kind", "title", "url", "added_by", "added_at")
    autocomplete_fields = ("added_by",)
    formfield_overrides = EVIDENCE_FORMFIELDS
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        return super().get_queryset(request).select_related("added_by")


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "customer",
        "owner",
        "stage",
        money_column("amount", _("amount")),
        "expected_close_date",
        "stage_entered_at",
        "updated_at",
        "closed_at",
    )
    list_select_related = ("customer", "owner", "stage")
    list_filter = (
        OpportunityStatusFilter,
        "stage",
        "process",
        "owner__team",
        "customer__tier",
        "lost_reason",
        "currency",
        "expected_close_date",
        "created_at",
        "closed_at",
    )
    search_fields = ("^code", "name", "^customer__code", "customer__name")
    # The month a deal is expected to close is what a forecast review drills into.
    date_hierarchy = "expected_close_date"
    ordering = ("-updated_at",)
    autocomplete_fields = ("customer", "owner")
    fieldsets = (
        (None, {"fields": ("code", "name", "customer", "owner", "product_line")}),
        (_("Stage"), {"fields": ("process", "stage", "stage_entered_at", "closed_at")}),
        (_("Value"), {"fields": ("amount", "currency", "expected_close_date")}),
        (_("Lost"), {"fields": ("lost_reason", "lost_note")}),
        (_("Dates"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (StageChangeInline, QuoteInline, EvidenceInline)
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple:
        if obj is None:
            return ()
        # A stage move must go through the service so it lands in the stage history.
        return ("process", "stage", "stage_entered_at", "closed_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """A new opportunity starts its stage history with the stage it was entered in."""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change and not obj.stage_changes.exists():
                StageChange.objects.create(
                    opportunity=obj,
                    to_stage=obj.stage,
                    changed_at=obj.stage_entered_at,
                    changed_by=request.user,
                    note=str(_("Entered in the admin")),
                )


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "opportunity",
        "from_stage",
        "to_stage",
        "changed_at",
        "changed_by",
        "is_regression",
    )
    list_select_related = ("opportunity", "from_stage", "to_stage", "changed_by")
    list_filter = ("is_regression", "to_stage", "opportunity__owner__team", "changed_at")
    search_fields = ("^opportunity__code", "opportunity__name", "note")
    date_hierarchy = "changed_at"
    ordering = ("-changed_at", "-id")
    fields = (
        "opportunity",
        "from_stage",
        "to_stage",
        "changed_at",
        "changed_by",
        "is_regression",
        "note",
    )
    show_full_result_count = False


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "opportunity", "added_by", "added_at")
    list_select_related = ("opportunity", "added_by")
    list_filter = ("added_at", "opportunity__owner__team")
    search_fields = ("kind", "title", "^opportunity__code", "opportunity__name")
    date_hierarchy = "added_at"
    ordering = ("-added_at",)
    autocomplete_fields = ("opportunity", "added_by")
    formfield_overrides = EVIDENCE_FORMFIELDS
    show_full_result_count = False


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = (
        "opportunity",
        "version",
        "status",
        money_column("amount", _("amount")),
        "requested_at",
        "sent_at",
    )
    list_select_related = ("opportunity",)
    list_filter = ("status", "currency", "opportunity__owner__team", "requested_at", "sent_at")
    search_fields = ("^opportunity__code", "opportunity__name")
    date_hierarchy = "requested_at"
    ordering = ("-requested_at",)
    autocomplete_fields = ("opportunity",)
    show_full_result_count = False


# --- Contracts and invoices --------------------------------------------------------------


class InvoiceInline(admin.TabularInline):
    model = Invoice
    fields = (
        "code",
        "customer",
        "issued_on",
        "due_on",
        "amount",
        "currency",
        "paid_amount",
        "paid_at",
    )
    autocomplete_fields = ("customer",)
    ordering = ("due_on",)
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return super().get_queryset(request).select_related("customer")


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "customer",
        "opportunity",
        "status",
        money_column("amount", _("amount")),
        "signed_at",
        "starts_on",
        "ends_on",
    )
    list_select_related = ("customer", "opportunity")
    list_filter = (
        "status",
        "customer__tier",
        "customer__owner__team",
        "currency",
        "signed_at",
        "ends_on",
    )
    search_fields = ("^code", "^customer__code", "customer__name", "^opportunity__code")
    date_hierarchy = "signed_at"
    ordering = ("-signed_at",)
    autocomplete_fields = ("customer", "opportunity", "renewal_of")
    inlines = (InvoiceInline,)
    show_full_result_count = False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "contract",
        "customer",
        money_column("amount", _("amount")),
        money_column("paid_amount", _("paid amount")),
        "issued_on",
        "due_on",
        "paid_at",
    )
    list_select_related = ("contract", "customer")
    list_filter = (
        OverdueFilter,
        "currency",
        "customer__owner__team",
        "due_on",
        "issued_on",
        "paid_at",
    )
    search_fields = ("^code", "^contract__code", "^customer__code", "customer__name")
    date_hierarchy = "due_on"
    ordering = ("-due_on",)
    autocomplete_fields = ("contract", "customer")
    show_full_result_count = False


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = (
        "period_start",
        "period",
        "measure",
        "user",
        "team",
        "value",
        "currency",
    )
    list_select_related = ("user", "team")
    list_filter = ("period", "measure", "team", "period_start")
    search_fields = ("user__username", "user__first_name", "user__last_name", "team__name")
    date_hierarchy = "period_start"
    ordering = ("-period_start", "measure")
    autocomplete_fields = ("user", "team")
