"""Channels, personal preferences, the delivery outbox, the in-app inbox and rate buckets."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField
from salesradar.notify.choices import DeliveryStatus


def channel_kind_choices() -> list[tuple[str, str]]:
    from salesradar.notify.channels.base import CHANNELS

    return [(kind, str(cls.label)) for kind, cls in sorted(CHANNELS.items())]


class Channel(models.Model):
    """A configured destination: a group robot, a webhook, the SMTP server, the inbox."""

    name = models.SlugField(_("name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16)
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    secret = models.CharField(
        _("secret"), max_length=500, blank=True, help_text=_("Signing key, token or password.")
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
        help_text=_("A team channel receives the team's alerts; empty for personal channels."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.TextField(_("why disabled"), blank=True)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from salesradar.notify.channels.base import CHANNELS, ChannelConfigError

        kind = CHANNELS.get(self.kind)
        if kind is None:
            raise ValidationError(
                {"kind": _("Unknown channel kind {kind!r}.").format(kind=self.kind)}
            )
        try:
            kind.validate(self.config or {}, self.secret)
        except ChannelConfigError as error:
            target = "secret" if error.field == "secret" else "config"
            raise ValidationError({target: f"{error.field}: {error.message}"}) from None


# Identities the IM providers mention people by; checked when a preference is saved.
MOBILE = RegexValidator(
    r"^\+?[0-9]{6,15}$",
    _("A mobile number is 6 to 15 digits, optionally after a +, without spaces or dashes."),
)
IM_USER_ID = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$",
    _(
        "An IM user id is 1 to 64 letters, digits or the characters _ . @ - and starts with a "
        "letter or digit."
    ),
)


class Preference(models.Model):
    """How one person wants to hear about alerts, and who they are on the IM platforms."""

    user = models.OneToOneField(
        "accounts.User",
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    channels = models.ManyToManyField(
        Channel, verbose_name=_("personal channels"), blank=True, related_name="+"
    )
    quiet_from = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_until = models.TimeField(_("quiet hours until"), null=True, blank=True)
    danger_breaks_quiet = models.BooleanField(_("danger alerts break quiet hours"), default=True)
    muted_rules = models.ManyToManyField(
        "alerts.Rule", verbose_name=_("muted rules"), blank=True, related_name="+"
    )
    daily_briefing = models.BooleanField(_("morning briefing"), default=True)
    weekly_summary = models.BooleanField(_("weekly team summary"), default=True)
    mobile = models.CharField(
        _("mobile for @-mentions"),
        max_length=16,
        blank=True,
        validators=[MOBILE],
        help_text=_("Used by DingTalk and WeCom when no user id is given; else the profile's."),
    )
    wecom_user_id = models.CharField(
        _("WeCom user id"), max_length=64, blank=True, validators=[IM_USER_ID]
    )
    dingtalk_user_id = models.CharField(
        _("DingTalk user id"), max_length=64, blank=True, validators=[IM_USER_ID]
    )
    feishu_user_id = models.CharField(
        _("Feishu user id or open_id"), max_length=64, blank=True, validators=[IM_USER_ID]
    )

    owner_path: ClassVar[str] = "user"

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)


class Delivery(models.Model):
    """One message to one recipient over one channel: the outbox row the dispatcher drains."""

    idempotency_id = models.UUIDField(_("idempotency id"), default=uuid.uuid4, unique=True)
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        "accounts.User",
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    evaluation_at = AwareDateTimeField(_("evaluation time"))
    alert_events = models.JSONField(_("alert events"), default=list)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=8)
    next_attempt_at = AwareDateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = AwareDateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=80, blank=True)
    last_status = models.IntegerField(_("last response status"), null=True, blank=True)
    last_response = models.TextField(_("last response"), blank=True)
    sent_at = AwareDateTimeField(_("sent at"), null=True, blank=True)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    owner_path: ClassVar[str] = "recipient"

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["recipient", "created_at"]),
            models.Index(fields=["channel", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient or self.channel.team} ({self.status})"


class InboxMessage(models.Model):
    user = models.ForeignKey(
        "accounts.User", verbose_name=_("user"), on_delete=models.CASCADE, related_name="inbox"
    )
    delivery = models.OneToOneField(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="inbox_message"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    items = models.JSONField(_("items"), default=list)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)
    read_at = AwareDateTimeField(_("read at"), null=True, blank=True)

    owner_path: ClassVar[str] = "user"

    class Meta:
        verbose_name = _("inbox message")
        verbose_name_plural = _("inbox messages")
        indexes = [models.Index(fields=["user", "read_at", "created_at"])]

    def __str__(self) -> str:
        return self.subject


class RateBucket(models.Model):
    """A token bucket per destination, shared by every worker through the database."""

    destination = models.CharField(_("destination"), max_length=500, unique=True)
    tokens = models.JSONField(_("tokens per limit"), default=dict)
    updated_at = AwareDateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("rate bucket")
        verbose_name_plural = _("rate buckets")

    def __str__(self) -> str:
        return self.destination


class BatchState(models.TextChoices):
    EVALUATING = "evaluating", _("Evaluation running on the workers")
    PLANNED = "planned", _("Planned")


class NotificationBatch(models.Model):
    """The notifications of one evaluation moment: planned once, after the evaluation ended.

    A pass fanned out over Celery workers opens its batch ``evaluating`` with the number of
    chunks; each chunk signs off in ``chunks_done`` (by key, so a redelivered task counts
    once) and the last one triggers the finishing task, which plans the batch. Until then
    the periodic planner leaves the moment alone, so it never announces half a pass.
    """

    evaluation_at = AwareDateTimeField(_("evaluation time"), unique=True)
    state = models.CharField(
        _("state"), max_length=12, choices=BatchState.choices, default=BatchState.PLANNED
    )
    chunks = models.PositiveIntegerField(_("evaluation chunks"), default=0)
    chunks_done = models.JSONField(_("evaluation chunks done"), default=list, blank=True)
    rule_errors = models.JSONField(_("rule errors in this pass"), default=dict, blank=True)
    opened_at = AwareDateTimeField(_("opened at"), default=timezone.now)
    planned_at = AwareDateTimeField(_("planned at"), default=timezone.now)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)

    class Meta:
        verbose_name = _("notification batch")
        verbose_name_plural = _("notification batches")

    def __str__(self) -> str:
        return self.evaluation_at.isoformat()


class AlertRecipient(models.Model):
    """Someone (a person or a team channel) told about one episode of an alert.

    Reminders and the "resolved" notice go to exactly these, not to whoever the routing
    would pick on the day: an owner change or an escalation in between adds or drops nobody.
    An episode is named by the alert's ``started_at``.
    """

    alert = models.ForeignKey(
        "alerts.Alert", verbose_name=_("alert"), on_delete=models.CASCADE, related_name="+"
    )
    episode = AwareDateTimeField(_("episode started at"))
    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("team channel"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    first_told_at = AwareDateTimeField(_("first told at"))

    class Meta:
        verbose_name = _("alert recipient")
        verbose_name_plural = _("alert recipients")
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "episode", "user"],
                condition=models.Q(user__isnull=False),
                name="alert_recipient_person_once",
            ),
            models.UniqueConstraint(
                fields=["alert", "episode", "channel"],
                condition=models.Q(channel__isnull=False),
                name="alert_recipient_channel_once",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=True) ^ models.Q(channel__isnull=True),
                name="alert_recipient_person_or_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.user_id or self.channel_id}"


class DigestKind(models.TextChoices):
    DAILY_BRIEFING = "daily_briefing", _("Morning briefing")
    WEEKLY_SUMMARY = "weekly_summary", _("Weekly team summary")


class PeriodicDigest(models.Model):
    """A briefing or summary sent for one period, so running the job twice sends once."""

    kind = models.CharField(_("kind"), max_length=16, choices=DigestKind.choices)
    period_start = models.DateField(_("period start"))
    recipient = models.ForeignKey(
        "accounts.User", verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("periodic digest")
        verbose_name_plural = _("periodic digests")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start", "recipient"],
                condition=models.Q(team__isnull=True),
                name="periodic_digest_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["kind", "period_start", "recipient", "team"],
                condition=models.Q(team__isnull=False),
                name="periodic_digest_once_per_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.period_start} {self.recipient_id}"


__all__: list[Any] = [
    "AlertRecipient",
    "Channel",
    "Delivery",
    "InboxMessage",
    "NotificationBatch",
    "PeriodicDigest",
    "Preference",
    "RateBucket",
]


class SmsOptOut(models.Model):
    """A number that asked for no more SMS (退订, TD, STOP): never sent to again."""

    number = models.CharField(_("mobile number"), max_length=16, unique=True)
    opted_out_at = AwareDateTimeField(_("opted out at"), default=timezone.now)
    source = models.CharField(
        _("how"),
        max_length=40,
        help_text=_("A reply to a message, the admin, or an import."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("SMS opt-out")
        verbose_name_plural = _("SMS opt-outs")

    def __str__(self) -> str:
        return self.number
