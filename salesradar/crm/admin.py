"""Admin for customers, contacts and leads: tables that grow to hundreds of thousands of rows.

Every foreign key to a big table is an autocomplete widget (never a full ``<select>``), every
related object shown in a list is joined up front, and the unfiltered total count is skipped.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.activities.choices import ActivityKind
from salesradar.core.admin import ReadOnlyAdminMixin
from salesradar.crm.calendar import coverage_warning
from salesradar.crm.choices import LifecycleEvent, ReviewStatus
from salesradar.crm.models import (
    Assignment,
    Contact,
    Customer,
    DuplicateReview,
    Lead,
    LeadPool,
    LifecycleChange,
    MergeRecord,
    NurtureEnrollment,
    NurtureSequence,
    OutOfOffice,
    RoutingRule,
    SourcePolicy,
    TierPolicy,
    WorkingDayOverride,
)
from salesradar.crm.routing import validate_rule_fields


class PublicPoolFilter(admin.SimpleListFilter):
    """Split customers into the public pool (公海, no owner) and those a rep owns."""

    title = _("public pool")
    parameter_name = "pool"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", _("In the public pool")), ("no", _("Owned by a rep"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() == "yes":
            return queryset.in_pool()
        if self.value() == "no":
            return queryset.filter(owner__isnull=False)
        return None


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ("name", "title", "decision_role", "phone", "email")
    extra = 0
    show_change_link = True


class DuplicateGuardForm(forms.ModelForm):
    """Run the duplicate guard on manual entry: exact collisions are refused, naming the record."""

    name_field = "name"
    phone_field = ""
    email_field = ""

    def clean(self) -> dict[str, Any]:
        from salesradar.crm.dedup import Incoming, guard_duplicates

        data = super().clean() or {}
        if self.errors:
            return data
        model = self._meta.model
        exclude = [self.instance.pk] if self.instance.pk else []
        incoming = Incoming(
            company_name=data.get(self.name_field) or "",
            credit_code=data.get("credit_code") or "",
            phone=data.get(self.phone_field) or "" if self.phone_field else "",
            email=data.get(self.email_field) or "" if self.email_field else "",
        )
        try:
            [check] = guard_duplicates(
                [incoming],
                exclude_leads=exclude if model is Lead else (),
                exclude_customers=exclude if model is Customer else (),
            )
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        if check.exact:
            raise forms.ValidationError([collision.message for collision in check.exact])
        self.similar = check.similar
        return data


class CustomerForm(DuplicateGuardForm):
    class Meta:
        model = Customer
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets decide which fields show


class LeadForm(DuplicateGuardForm):
    name_field = "company_name"
    phone_field = "phone"
    email_field = "email"

    class Meta:
        model = Lead
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets decide which fields show


def warn_similar(request: HttpRequest, form: Any) -> None:
    for candidate in getattr(form, "similar", []):
        messages.warning(
            request,
            _("Similar name: {kind} {code} {name} (score {score:.2f}).").format(
                kind=candidate.kind, code=candidate.code, name=candidate.name, score=candidate.score
            ),
        )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = (
        "code",
        "name",
        "tier",
        "lifecycle",
        "industry",
        "region",
        "owner",
        "created_at",
    )
    list_select_related = ("owner",)
    list_filter = (
        "tier",
        "lifecycle",
        "size",
        PublicPoolFilter,
        "owner__team",
        "created_at",
        "updated_at",
    )
    search_fields = ("^code", "name", "normalized_name", "=credit_code")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("normalized_name",)
    fieldsets = (
        (None, {"fields": ("code", "name", "normalized_name", "credit_code")}),
        (_("Profile"), {"fields": ("industry", "region", "size")}),
        (
            _("Account management"),
            {"fields": ("tier", "tier_is_manual", "lifecycle", "owner", "pool", "owned_since")},
        ),
        (_("Dates"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ContactInline,)
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        """A lifecycle changed by hand is kept in the history like any event."""
        super().save_model(request, obj, form, change)
        warn_similar(request, form)
        if change and "lifecycle" in form.changed_data:
            LifecycleChange.objects.create(
                customer=obj,
                from_stage=form.initial.get("lifecycle", ""),
                to_stage=obj.lifecycle,
                event=LifecycleEvent.MANUAL,
                at=timezone.now(),
            )


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "title", "decision_role", "phone", "email", "created_at")
    list_select_related = ("customer",)
    list_filter = ("decision_role", "customer__tier", "customer__owner__team", "created_at")
    search_fields = ("name", "phone", "email", "^customer__code", "customer__name")
    ordering = ("-id",)
    autocomplete_fields = ("customer",)
    show_full_result_count = False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadForm

    def save_model(self, request: HttpRequest, obj: Lead, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        warn_similar(request, form)

    list_display = (
        "code",
        "company_name",
        "contact_name",
        "phone",
        "source",
        "status",
        "owner",
        "created_at",
        "assigned_at",
        "first_contact_at",
        "recycle_count",
    )
    list_select_related = ("owner",)
    list_filter = (
        "status",
        "source",
        "owner__team",
        ("owner", admin.EmptyFieldListFilter),
        "created_at",
        "assigned_at",
    )
    search_fields = (
        "^code",
        "company_name",
        "normalized_name",
        "contact_name",
        "phone",
        "email",
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    autocomplete_fields = ("owner", "customer")
    fieldsets = (
        (None, {"fields": ("code", "company_name", "normalized_name")}),
        (_("Contact"), {"fields": ("contact_name", "phone", "email", "region", "industry")}),
        (_("Handling"), {"fields": ("source", "status", "owner", "customer", "recycle_count")}),
        (
            _("Lead pool"),
            {
                "fields": (
                    "pool",
                    "tier",
                    "size",
                    "credit_code",
                    "routing_rule",
                    "previous_owner",
                    "released_at",
                    "response_due_at",
                    "last_followup_at",
                    "ladder_step",
                    "high_risk",
                )
            },
        ),
        (_("Dates"), {"fields": ("created_at", "assigned_at", "first_contact_at")}),
    )
    readonly_fields = ("normalized_name", "routing_rule", "previous_owner", "released_at")
    show_full_result_count = False


# --------------------------------------------------------------------------- lead pool (issue 6)


@admin.register(LeadPool)
class LeadPoolAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "is_default",
        "max_open_per_rep",
        "claims_per_day",
        "reclaim_after_days",
        "expiry_notice_days",
    )
    search_fields = ("code", "name")


@admin.register(SourcePolicy)
class SourcePolicyAdmin(admin.ModelAdmin):
    list_display = ("source", "response_hours", "working_hours_only", "pool")
    list_select_related = ("pool",)
    search_fields = ("source",)


# Every setting of a tier's policy: edited in the form and shown as the list's columns.
TIER_POLICY_SETTINGS = (
    "tier",
    "cadence_days",
    "cadence_kinds",
    "ownership_days",
    "remind_owner_day",
    "copy_manager_day",
    "high_risk_day",
    "ladder_action",
    "min_contract_amount",
)


class TierPolicyForm(forms.ModelForm):
    class Meta:
        model = TierPolicy
        fields = TIER_POLICY_SETTINGS

    def clean_cadence_kinds(self) -> list[str]:
        kinds = self.cleaned_data.get("cadence_kinds") or []
        if not isinstance(kinds, list) or any(kind not in ActivityKind.values for kind in kinds):
            raise forms.ValidationError(
                _("Use a list of activity kinds from: {known}.").format(
                    known=", ".join(ActivityKind.values)
                )
            )
        return kinds


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    form = TierPolicyForm
    list_display = TIER_POLICY_SETTINGS
    search_fields = ("tier",)


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = (
            "order",
            "name",
            "enabled",
            "regions",
            "industries",
            "sources",
            "sizes",
            "strategy",
            "members",
            "capacity",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            validate_rule_fields(
                regions=data.get("regions") or [],
                industries=data.get("industries") or [],
                sources=data.get("sources") or [],
                sizes=data.get("sizes") or [],
                strategy=data.get("strategy") or "",
                members=data.get("members") or [],
                capacity=data.get("capacity"),
            )
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict) from None
        return data


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("order", "name", "enabled", "strategy", "capacity", "regions", "sources")
    list_display_links = ("name",)
    list_editable = ("order", "enabled")
    list_filter = ("enabled", "strategy")
    search_fields = ("name",)
    autocomplete_fields = ("members",)
    ordering = ("order", "pk")


@admin.register(OutOfOffice)
class OutOfOfficeAdmin(admin.ModelAdmin):
    list_display = ("user", "starts_at", "ends_at", "note")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__last_name", "note")
    autocomplete_fields = ("user",)


@admin.register(WorkingDayOverride)
class WorkingDayOverrideAdmin(admin.ModelAdmin):
    """Admin overrides of the holiday package; the list warns about years without data."""

    list_display = ("day", "is_working_day", "note")
    list_filter = ("is_working_day",)
    search_fields = ("note",)
    date_hierarchy = "day"

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        year = timezone.localdate().year
        for checked in (year, year + 1):
            warning = coverage_warning(checked)
            if warning:
                messages.warning(request, warning)
        return super().changelist_view(request, extra_context)


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "lead", "customer", "owner", "previous_owner", "rule", "by")
    list_select_related = ("lead", "customer", "owner", "previous_owner", "rule", "by")
    list_filter = ("kind", "at")
    search_fields = ("lead__code", "customer__code", "note")
    date_hierarchy = "at"
    ordering = ("-at",)
    show_full_result_count = False


@admin.action(description=_("Merge into the best-scoring candidate"))
def merge_into_best(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    from salesradar.crm.dedup import merge

    merged = 0
    for review in queryset.filter(status=ReviewStatus.OPEN).select_related("lead", "customer"):
        record = review.lead or review.customer
        best = next(
            (
                c
                for c in review.candidates
                if c["kind"] == ("lead" if review.lead_id else "customer")
            ),
            None,
        )
        model = Lead if review.lead_id else Customer
        survivor = model.objects.filter(pk=best["id"]).first() if best else None
        if survivor is None or record is None:
            messages.error(
                request,
                _("{review}: no candidate of the same kind left to merge into.").format(
                    review=review
                ),
            )
            continue
        DuplicateReview.objects.filter(pk=review.pk).update(
            status=ReviewStatus.MERGED, decided_at=timezone.now(), decided_by=request.user
        )
        merge(survivor, record, by=request.user)
        merged += 1
    messages.success(request, _("{count} records merged.").format(count=merged))


@admin.action(description=_("Not a duplicate"))
def dismiss(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    queryset.filter(status=ReviewStatus.OPEN).update(
        status=ReviewStatus.DISMISSED, decided_at=timezone.now(), decided_by=request.user
    )


@admin.register(DuplicateReview)
class DuplicateReviewAdmin(admin.ModelAdmin):
    list_display = ("created_at", "lead", "customer", "best_score", "status", "decided_by")
    list_select_related = ("lead", "customer", "decided_by")
    list_filter = ("status", "created_at")
    search_fields = ("lead__code", "lead__company_name", "customer__code", "customer__name")
    readonly_fields = ("candidates", "best_score")
    autocomplete_fields = ("lead", "customer", "decided_by")
    actions = (merge_into_best, dismiss)
    ordering = ("-created_at",)
    show_full_result_count = False


@admin.register(MergeRecord)
class MergeRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "merged_code", "survivor_id", "by")
    list_select_related = ("by",)
    list_filter = ("kind",)
    search_fields = ("merged_code",)
    ordering = ("-at",)


@admin.register(LifecycleChange)
class LifecycleChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "customer", "from_stage", "to_stage", "event")
    list_select_related = ("customer",)
    list_filter = ("event", "to_stage")
    search_fields = ("customer__code", "customer__name")
    ordering = ("-at",)
    show_full_result_count = False


class NurtureSequenceForm(forms.ModelForm):
    class Meta:
        model = NurtureSequence
        fields = ("name", "is_default", "steps", "email_channel")

    def clean_steps(self) -> Any:
        from salesradar.crm.nurture import validate_steps

        steps = self.cleaned_data.get("steps")
        try:
            validate_steps(steps)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        return steps


@admin.register(NurtureSequence)
class NurtureSequenceAdmin(admin.ModelAdmin):
    form = NurtureSequenceForm
    list_display = ("name", "is_default", "email_channel")
    list_select_related = ("email_channel",)
    search_fields = ("name",)


@admin.register(NurtureEnrollment)
class NurtureEnrollmentAdmin(admin.ModelAdmin):
    list_display = ("lead", "sequence", "status", "next_step", "next_due_at", "started_at")
    list_select_related = ("lead", "sequence")
    list_filter = ("status", "sequence")
    search_fields = ("lead__code", "lead__company_name")
    autocomplete_fields = ("lead",)
    show_full_result_count = False
