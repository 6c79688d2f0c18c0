"""Admin for the sales organisation: teams and the people in them."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from salesradar.accounts.models import Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "parent", "manager", "region", "path")
    list_select_related = ("parent", "manager")
    list_filter = ("region",)
    search_fields = ("code", "name")
    ordering = ("path",)
    # ``path`` is derived from ``parent`` in ``Team.save``; editing it by hand would cut the
    # subtree prefix match that visibility relies on.
    readonly_fields = ("path",)
    fields = ("code", "name", "parent", "manager", "region", "path")
    autocomplete_fields = ("parent", "manager")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            _("Sales organisation"),
            {"fields": ("role", "team", "phone", "time_zone", "language", "hired_on")},
        ),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Sales organisation"), {"classes": ("wide",), "fields": ("role", "team")}),
    )
    list_display = (
        "username",
        "first_name",
        "last_name",
        "email",
        "role",
        "team",
        "phone",
        "hired_on",
        "is_active",
        "is_staff",
    )
    list_select_related = ("team",)
    list_filter = ("role", "team", "is_active", "is_staff", "is_superuser", "language", "hired_on")
    search_fields = ("username", "first_name", "last_name", "email", "phone")
    autocomplete_fields = ("team",)
    ordering = ("username",)
