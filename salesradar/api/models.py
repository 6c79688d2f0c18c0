"""API tokens, idempotency records, outbound webhook subscriptions and the inbound event log."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.api.choices import EventType, InboundOutcome, Scope
from salesradar.core.fields import AwareDateTimeField


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 digest is stored, the token is shown once."""

    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for."))
    prefix = models.CharField(
        _("prefix"),
        max_length=16,
        editable=False,
        help_text=_("Start of the token, to tell it apart"),
    )
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    expires_at = AwareDateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = AwareDateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = AwareDateTimeField(_("revoked at"), null=True, blank=True)

    owner_path: ClassVar[str] = "user"

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        unknown = [scope for scope in self.scopes or [] if scope not in Scope.values]
        if not isinstance(self.scopes, list) or not self.scopes or unknown:
            raise ValidationError(
                {
                    "scopes": _("Give a list of scopes out of: {known}.").format(
                        known=", ".join(Scope.values)
                    )
                }
            )


class IdempotencyRecord(models.Model):
    """The stored answer to one write sent with an ``Idempotency-Key``, per user."""

    user = models.ForeignKey(
        "accounts.User", verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(
        _("request fingerprint"), max_length=64, help_text=_("SHA-256 of method, path and body.")
    )
    status_code = models.PositiveSmallIntegerField(_("response status"))
    response = models.JSONField(_("response body"), null=True, blank=True)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    expires_at = AwareDateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return self.key


class WebhookSubscription(models.Model):
    """Send chosen domain events to a webhook channel of the notification outbox."""

    name = models.CharField(_("name"), max_length=100)
    channel = models.ForeignKey(
        "notify.Channel",
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("A channel of kind “event webhook”: its URL and signing key."),
    )
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from salesradar.api.channel import EVENT_WEBHOOK_KIND

        errors: dict[str, Any] = {}
        if self.channel_id and self.channel.kind != EVENT_WEBHOOK_KIND:
            errors["channel"] = _("Choose a channel of kind “event webhook”.")
        events = self.events
        if not isinstance(events, list) or not events:
            errors["events"] = _("Choose at least one event.")
        elif unknown := [event for event in events if event not in EventType.values]:
            errors["events"] = _("Unknown events {unknown}; known: {known}.").format(
                unknown=", ".join(map(str, unknown)), known=", ".join(EventType.values)
            )
        if errors:
            raise ValidationError(errors)


class OutboundEvent(models.Model):
    """A domain event as sent to subscribers; one per source row, so it is never sent twice."""

    event_type = models.CharField(_("event type"), max_length=40, choices=EventType.choices)
    occurred_at = AwareDateTimeField(_("occurred at"))
    data = models.JSONField(_("data"), default=dict)
    source_key = models.CharField(
        _("source"),
        max_length=80,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The row the event comes from, e.g. alert_event:42."),
    )
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("outbound event")
        verbose_name_plural = _("outbound events")
        indexes = [models.Index(fields=["event_type", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.occurred_at.isoformat()}"


class InboundSource(models.Model):
    """An external CRM allowed to post signed events, and how its states map onto ours."""

    key = models.SlugField(
        _("key"), max_length=60, unique=True, help_text=_("Part of the URL: /api/inbound/<key>/")
    )
    system = models.SlugField(
        _("external system"),
        max_length=64,
        help_text=_("Name external ids are kept under, e.g. salesforce or hubspot."),
    )
    secret = models.CharField(
        _("signing key"),
        max_length=200,
        help_text=_("Standard Webhooks key: base64, optionally prefixed with whsec_."),
    )
    process = models.ForeignKey(
        "pipeline.Process",
        verbose_name=_("process"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Process of new opportunities; empty for the default process."),
    )
    stage_mapping = models.JSONField(
        _("stage mapping"),
        default=dict,
        blank=True,
        help_text=_(
            'Their stage name to our stage key, e.g. {"Closed Won": "won"}; "won" and '
            '"lost" also mean the process\'s won and lost stages.'
        ),
    )
    default_owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("default owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Owner of new records when the event names nobody we know."),
    )
    tolerance_seconds = models.PositiveIntegerField(_("timestamp tolerance (seconds)"), default=300)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("inbound source")
        verbose_name_plural = _("inbound sources")

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        from salesradar.api.inbound import MappingError, validate_mapping
        from salesradar.notify.channels.webhook import WebhookChannel

        try:
            WebhookChannel.validate({"url": "https://example.com/"}, self.secret)
        except ValueError as error:
            raise ValidationError({"secret": getattr(error, "message", str(error))}) from None
        try:
            validate_mapping(self.stage_mapping, self.process)
        except MappingError as error:
            raise ValidationError({"stage_mapping": str(error)}) from None


class InboundEvent(models.Model):
    """Every verified event an external CRM sent, with what SalesRadar did about it."""

    source = models.ForeignKey(
        InboundSource, verbose_name=_("source"), on_delete=models.CASCADE, related_name="events"
    )
    event_id = models.CharField(_("event id"), max_length=255)
    event_type = models.CharField(_("event type"), max_length=80, blank=True)
    payload = models.JSONField(_("payload"), null=True, blank=True)
    received_at = AwareDateTimeField(_("received at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=12, choices=InboundOutcome.choices)
    message = models.TextField(_("message"), blank=True)
    object_type = models.CharField(_("object type"), max_length=40, blank=True)
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)

    class Meta:
        verbose_name = _("inbound event")
        verbose_name_plural = _("inbound events")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_id"], name="inbound_event_unique_per_source"
            )
        ]
        indexes = [models.Index(fields=["source", "received_at"])]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.event_id} {self.outcome}"
