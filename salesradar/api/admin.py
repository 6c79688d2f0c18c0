from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from salesradar.api.choices import Scope
from salesradar.api.models import (
    ApiToken,
    InboundEvent,
    InboundSource,
    OutboundEvent,
    WebhookSubscription,
)
from salesradar.api.tokens import issue_token, revoke_token
from salesradar.core.admin import ReadOnlyAdminMixin


class ApiTokenForm(forms.ModelForm):
    scope_choices = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.READ],
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "expires_at"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.instance.scopes = sorted(cleaned.get("scope_choices") or [])
        return cleaned


@admin.action(description=_("Revoke the selected tokens"))
def revoke_tokens(
    modeladmin: admin.ModelAdmin[ApiToken], request: HttpRequest, queryset: QuerySet[ApiToken]
) -> None:
    revoked = sum(1 for token in queryset if revoke_token(token))
    modeladmin.message_user(
        request,
        ngettext("{count} token revoked.", "{count} tokens revoked.", revoked).format(
            count=revoked
        ),
        messages.SUCCESS,
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created here once (the secret is shown in a message) and only revoked after."""

    list_display = ("name", "user", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    raw_id_fields = ("user",)
    actions = (revoke_tokens,)
    form = ApiTokenForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "user",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        )

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return
        issued = issue_token(
            obj.user,
            name=obj.name,
            scopes=form.cleaned_data["scope_choices"],
            expires_at=obj.expires_at,
        )
        form.instance = issued.token
        obj.pk = issued.token.pk
        self.message_user(
            request,
            _("Token created. Copy it now, it is not shown again: {secret}").format(
                secret=issued.secret
            ),
            messages.WARNING,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "events", "active", "created_at")
    list_filter = ("active",)
    raw_id_fields = ("channel",)


@admin.register(OutboundEvent)
class OutboundEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_type", "occurred_at", "deliveries", "source_key")
    list_filter = ("event_type",)
    date_hierarchy = "occurred_at"


@admin.register(InboundSource)
class InboundSourceAdmin(admin.ModelAdmin):
    list_display = ("key", "system", "process", "default_owner", "enabled")
    raw_id_fields = ("default_owner",)


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "source", "event_type", "outcome", "received_at", "attempts")
    list_filter = ("outcome", "source", "event_type")
    search_fields = ("event_id", "message")
    date_hierarchy = "received_at"
