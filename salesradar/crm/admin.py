"""Admin for customers, contacts and leads: tables that grow to hundreds of thousands of rows.

Every foreign key to a big table is an autocomplete widget (never a full ``<select>``), every
related object shown in a list is joined up front, and the unfiltered total count is skipped.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from salesradar.crm.models import Contact, Customer, Lead


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


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
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
        (_("Account management"), {"fields": ("tier", "lifecycle", "owner")}),
        (_("Dates"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ContactInline,)
    show_full_result_count = False


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
    readonly_fields = ("normalized_name",)
    fieldsets = (
        (None, {"fields": ("code", "company_name", "normalized_name")}),
        (_("Contact"), {"fields": ("contact_name", "phone", "email", "region", "industry")}),
        (_("Handling"), {"fields": ("source", "status", "owner", "customer", "recycle_count")}),
        (_("Dates"), {"fields": ("created_at", "assigned_at", "first_contact_at")}),
    )
    show_full_result_count = False
