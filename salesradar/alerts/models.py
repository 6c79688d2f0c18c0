"""Rules, the alerts they raise, the append-only history of every alert, and silences.

How an alert moves between states is decided in ``alerts.lifecycle``; these models only hold
the result and refuse rows that no transition could produce.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.alerts.choices import (
    AlertState,
    CheckOutcome,
    EventKind,
    Grain,
    RuleStatus,
    Severity,
)
from salesradar.core.fields import AwareDateTimeField
from salesradar.core.history import AppendOnlyModel
from salesradar.pipeline.models import localized

SEVERITY_CHOICES = [("", _("None")), *Severity.choices]
ZERO = dt.timedelta(0)


def positive_duration(field: str) -> models.CheckConstraint:
    """Return a check constraint that keeps an optional duration unset or above zero."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__isnull": True}) | models.Q(**{f"{field}__gt": ZERO}),
        name=f"rule_{field}_positive",
    )


class Concern(models.Model):
    """What several rules are about together, per entity: "deal at risk", "customer neglected".

    Declared in a rule pack (``concerns``); the open alerts of its rules about one entity
    make one ``AlertGroup``, the one alert a person reads, with each rule's result as its
    evidence. A rule outside every concern is a concern of its own.
    """

    key = models.SlugField(_("key"), max_length=80, unique=True)
    pack = models.SlugField(_("rule pack"), max_length=60, blank=True)
    names = models.JSONField(_("name per language"), default=dict)
    entity_type = models.CharField(_("entity type"), max_length=40)

    class Meta:
        verbose_name = _("concern")
        verbose_name_plural = _("concerns")
        ordering = ["key"]

    def __str__(self) -> str:
        return localized(self.names, self.key)


class Rule(models.Model):
    """An early-warning rule as loaded from a YAML rule pack; the YAML is the source of truth."""

    key = models.SlugField(_("key"), max_length=80, unique=True)
    pack = models.SlugField(_("rule pack"), max_length=60, blank=True)
    names = models.JSONField(_("name per language"), default=dict)
    descriptions = models.JSONField(_("description per language"), default=dict, blank=True)
    metric = models.CharField(_("metric"), max_length=80)
    grain = models.CharField(_("grain"), max_length=16, choices=Grain.choices)
    scope = models.JSONField(_("scope"), default=dict, blank=True)
    condition = models.JSONField(_("condition"), default=dict)
    for_clause = models.CharField(
        _("for"),
        max_length=40,
        blank=True,
        help_text=_('How long the condition must hold before firing: "48h" or "3 of 4".'),
    )
    keep_firing_for = models.DurationField(_("keep firing for"), null=True, blank=True)
    escalate_after = models.DurationField(_("escalate after"), null=True, blank=True)
    repeat_interval = models.DurationField(_("repeat reminders every"), null=True, blank=True)
    routing = models.JSONField(_("routing"), default=dict, blank=True)
    notify = models.JSONField(_("notification policy"), default=dict, blank=True)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    inhibits = models.JSONField(
        _("inhibits"),
        default=list,
        blank=True,
        help_text=_("Keys of rules whose alerts in the same team this rule's alerts inhibit."),
    )
    depends_on = models.JSONField(
        _("depends on"),
        default=list,
        blank=True,
        help_text=_("Keys of data-health rules whose firing alerts inhibit this rule."),
    )
    concern = models.ForeignKey(
        Concern,
        verbose_name=_("concern"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rules",
        help_text=_("The alerts of the rules of one concern about one entity are read as one."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    status = models.CharField(
        _("status"), max_length=8, choices=RuleStatus.choices, default=RuleStatus.OK
    )
    last_error = models.TextField(_("last error"), blank=True)
    last_evaluated_at = AwareDateTimeField(_("last evaluated at"), null=True, blank=True)
    source = models.TextField(_("rule source (YAML)"), blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = AwareDateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["key"]
        constraints = [
            positive_duration("keep_firing_for"),
            positive_duration("escalate_after"),
            positive_duration("repeat_interval"),
        ]
        indexes = [models.Index(fields=["enabled", "status"])]

    def __str__(self) -> str:
        return localized(self.names, self.key)


class AlertCheck(models.Model):
    """One evaluation of one rule (or one chunk of it) in one pass: what it saw and did.

    The record a pass leaves whatever happens (PostHog's ``AlertCheck``): the rule's version
    and condition as they were judged, the counts, how long it took and the error if any.
    A check that failed for a transient reason (the database locked or gone) changed no
    alert; one that failed by the rule's own fault marks the rule errored and keeps its
    alerts as they were. ``new_failure`` is set on the first failing check after a good one,
    so ops hear about a broken rule once, not on every pass.
    """

    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="checks"
    )
    evaluated_at = AwareDateTimeField(_("evaluation time"))
    chunk = models.CharField(
        _("chunk"),
        max_length=40,
        blank=True,
        help_text=_("The share of a pass run on one worker; empty when the rule ran whole."),
    )
    rule_version = models.PositiveIntegerField(_("rule version"))
    condition = models.JSONField(
        _("condition as judged"),
        default=dict,
        help_text=_("The rule's condition, for clause and scope when this check ran."),
    )
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=CheckOutcome.choices, default=CheckOutcome.OK
    )
    evaluated = models.PositiveIntegerField(_("entities evaluated"), default=0)
    matched = models.PositiveIntegerField(_("entities matching the condition"), default=0)
    opened = models.PositiveIntegerField(_("alerts opened"), default=0)
    fired = models.PositiveIntegerField(_("alerts fired"), default=0)
    resolved = models.PositiveIntegerField(_("alerts resolved"), default=0)
    events = models.PositiveIntegerField(_("events written"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)
    new_failure = models.BooleanField(
        _("first failure"),
        default=False,
        help_text=_("The rule was fine before this check; ops are told once."),
    )
    observed = models.JSONField(
        _("alerts observed unchanged"),
        default=list,
        blank=True,
        help_text=_(
            "For one chunk of a shared pass: the open alerts it observed without changing "
            "them, so the finishing step knows they were seen."
        ),
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("alert check")
        verbose_name_plural = _("alert checks")
        ordering = ["-evaluated_at", "rule", "chunk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "evaluated_at", "chunk"], name="alert_check_once_per_pass"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=CheckOutcome.values),
                name="alert_check_outcome_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["evaluated_at", "outcome"]),
            models.Index(fields=["rule", "evaluated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.evaluated_at.isoformat()} {self.outcome}"


class AlertQuerySet(models.QuerySet["Alert"]):
    def open(self) -> AlertQuerySet:
        """Alerts whose episode has not been resolved yet."""
        return self.exclude(state=AlertState.RESOLVED)

    def needing_attention(self) -> AlertQuerySet:
        """Alerts that are firing and nobody has acknowledged or snoozed."""
        return self.filter(state=AlertState.FIRING)


class Alert(models.Model):
    """The one alert of a rule about one entity; each episode reuses the same row."""

    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="alerts"
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=200, unique=True)
    entity_type = models.CharField(_("entity type"), max_length=40)
    entity_id = models.BigIntegerField(_("entity id"))
    state = models.CharField(
        _("state"), max_length=16, choices=AlertState.choices, default=AlertState.PENDING
    )
    severity = models.CharField(_("severity"), max_length=8, choices=SEVERITY_CHOICES, blank=True)
    value = models.FloatField(_("value"), null=True, blank=True)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    reference = models.FloatField(
        _("reference"),
        null=True,
        blank=True,
        help_text=_("What the value was compared with: a baseline mean, last period, ..."),
    )
    message = models.TextField(_("message"), blank=True)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    started_at = AwareDateTimeField(
        _("started at"), help_text=_("When the condition first became true in this episode.")
    )
    condition_since = AwareDateTimeField(
        _("condition true since"),
        null=True,
        blank=True,
        help_text=_(
            "When the condition first held in this episode, from the data (a threshold on "
            "time elapsed was crossed then), else when an evaluation first found it true."
        ),
    )
    firing_since = AwareDateTimeField(
        _("firing since"),
        null=True,
        blank=True,
        help_text=_("When the current unacknowledged firing began; escalation counts from it."),
    )
    last_evaluated_at = AwareDateTimeField(_("last evaluated at"))
    last_true_at = AwareDateTimeField(_("condition last true at"), null=True, blank=True)
    resolved_at = AwareDateTimeField(_("resolved at"), null=True, blank=True)
    acknowledged_at = AwareDateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ack_note = models.TextField(_("acknowledgement note"), blank=True)
    snoozed_until = AwareDateTimeField(_("snoozed until"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    last_notified_at = AwareDateTimeField(_("last notified at"), null=True, blank=True)
    inhibited_by = models.ForeignKey(
        "self",
        verbose_name=_("inhibited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inhibited_alerts",
    )
    group = models.ForeignKey(
        "AlertGroup",
        verbose_name=_("alert group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        help_text=_("The one alert about this entity and concern that this result is evidence of."),
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    objects = AlertQuerySet.as_manager()
    owner_path: ClassVar[str] = "owner"
    team_path: ClassVar[str] = "team"

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__in=["", *Severity.values]),
                name="alert_severity_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=AlertState.values), name="alert_state_valid"
            ),
            # A condition that is true has a severity; only no_data and error (and a
            # resolved episode that was one of them) have none.
            models.CheckConstraint(
                condition=~models.Q(severity="")
                | models.Q(state__in=[AlertState.NO_DATA, AlertState.ERROR, AlertState.RESOLVED]),
                name="alert_true_state_has_severity",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=AlertState.FIRING) | models.Q(firing_since__isnull=False),
                name="alert_firing_has_firing_since",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=AlertState.ACKNOWLEDGED)
                | models.Q(acknowledged_at__isnull=False),
                name="alert_acknowledged_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=AlertState.SNOOZED)
                | models.Q(snoozed_until__isnull=False),
                name="alert_snoozed_has_end",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=AlertState.RESOLVED)
                | models.Q(resolved_at__isnull=False),
                name="alert_resolved_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "severity"]),
            models.Index(fields=["rule", "state"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["team", "state"]),
            models.Index(fields=["entity_type", "entity_id"]),
        ]

    def __str__(self) -> str:
        return self.fingerprint

    @property
    def since(self) -> dt.datetime:
        """When the problem began, as people read it: the condition's start, from the data."""
        return self.condition_since or self.firing_since or self.started_at

    @staticmethod
    def fingerprint_for(rule_key: str, entity_type: str, entity_id: int) -> str:
        """Return the identity of the one alert a rule keeps about one entity."""
        return f"{rule_key}:{entity_type}:{entity_id}"


class AlertGroupQuerySet(models.QuerySet["AlertGroup"]):
    def open(self) -> AlertGroupQuerySet:
        """Groups with at least one live member alert."""
        return self.filter(resolved_at__isnull=True)


class AlertGroup(models.Model):
    """One problem: the open alerts of one concern about one entity, read as one alert.

    A deal that is stale, over its stage SLA and waiting for a quote is one "deal at risk"
    group listing the three reasons; each rule's ``Alert`` stays as its evidence and carries
    the lifecycle (acknowledge, snooze). ``priority`` orders the board: severity, the amount
    at stake and how far past its threshold the worst reason is. A group is opened when its
    first member goes live and resolved when the last one clears; a later member opens a new
    group row, so the rows count the problems raised.
    """

    fingerprint = models.CharField(_("fingerprint"), max_length=200)
    concern = models.ForeignKey(
        Concern,
        verbose_name=_("concern"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="groups",
    )
    rule = models.ForeignKey(
        Rule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="groups",
        help_text=_("For a rule outside every concern: the rule."),
    )
    entity_type = models.CharField(_("entity type"), max_length=40)
    entity_id = models.BigIntegerField(_("entity id"))
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_groups",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_groups",
    )
    severity = models.CharField(_("severity"), max_length=8, choices=SEVERITY_CHOICES, blank=True)
    priority = models.FloatField(_("priority"), default=0)
    amount = models.DecimalField(
        _("amount at stake"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    since = AwareDateTimeField(_("problem since"))
    opened_at = AwareDateTimeField(_("opened at"))
    updated_at = AwareDateTimeField(_("updated at"))
    resolved_at = AwareDateTimeField(_("resolved at"), null=True, blank=True)

    objects = AlertGroupQuerySet.as_manager()
    owner_path: ClassVar[str] = "owner"
    team_path: ClassVar[str] = "team"

    class Meta:
        verbose_name = _("alert group")
        verbose_name_plural = _("alert groups")
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_group_one_open_per_fingerprint",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "resolved_at"]),
            models.Index(fields=["team", "resolved_at"]),
            models.Index(fields=["opened_at"]),
        ]

    def __str__(self) -> str:
        return self.fingerprint


class AlertEvent(AppendOnlyModel):
    """One transition of an alert, by whom and why; never edited, never deleted on its own."""

    alert = models.ForeignKey(
        Alert, verbose_name=_("alert"), on_delete=models.CASCADE, related_name="events"
    )
    at = AwareDateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    from_state = models.CharField(
        _("from state"), max_length=16, choices=AlertState.choices, blank=True
    )
    to_state = models.CharField(
        _("to state"), max_length=16, choices=AlertState.choices, blank=True
    )
    from_severity = models.CharField(
        _("from severity"), max_length=8, choices=SEVERITY_CHOICES, blank=True
    )
    to_severity = models.CharField(
        _("to severity"), max_length=8, choices=SEVERITY_CHOICES, blank=True
    )
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # history names its author; deactivate users instead
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    value = models.FloatField(_("value"), null=True, blank=True)

    owner_path: ClassVar[str] = "alert__owner"
    team_path: ClassVar[str] = "alert__team"

    class Meta:
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")
        ordering = ["alert", "at", "id"]
        indexes = [
            models.Index(fields=["alert", "at"]),
            models.Index(fields=["kind", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} {self.at.isoformat()}"


class SilenceQuerySet(models.QuerySet["Silence"]):
    def active(self, at: dt.datetime) -> SilenceQuerySet:
        """Silences in force at ``at`` (start inclusive, end exclusive)."""
        return self.filter(starts_at__lte=at, ends_at__gt=at)

    def matching(self, alert: Alert) -> SilenceQuerySet:
        """Silences whose every matcher matches ``alert``, whatever their time window."""
        team_ids = _team_ids_on_path(alert.team.path) if alert.team is not None else []
        return self.filter(
            models.Q(rule__isnull=True) | models.Q(rule_id=alert.rule_id),
            models.Q(team__isnull=True) | models.Q(team_id__in=team_ids),
            models.Q(entity_type__isnull=True)
            | models.Q(entity_type=alert.entity_type, entity_id=alert.entity_id),
        )


def _team_ids_on_path(path: str) -> list[int]:
    """Return the ids of a team and all its ancestors from its tree path ("/1/4/9/")."""
    return [int(part) for part in path.strip("/").split("/") if part]


class Silence(models.Model):
    """Mute notifications for alerts matching every given matcher, between two times."""

    rule = models.ForeignKey(
        Rule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="silences",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team (and the teams under it)"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="silences",
    )
    entity_type = models.CharField(_("entity type"), max_length=40, null=True, blank=True)
    entity_id = models.BigIntegerField(_("entity id"), null=True, blank=True)
    starts_at = AwareDateTimeField(_("starts at"), default=timezone.now)
    ends_at = AwareDateTimeField(_("ends at"))
    comment = models.TextField(_("comment"), blank=True)
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = AwareDateTimeField(_("created at"), default=timezone.now)

    objects = SilenceQuerySet.as_manager()
    owner_path: ClassVar[str] = "created_by"

    class Meta:
        verbose_name = _("silence")
        verbose_name_plural = _("silences")
        ordering = ["-starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="silence_ends_after_start",
                violation_error_message=_("A silence must end after it starts."),
            ),
            models.CheckConstraint(
                condition=models.Q(rule__isnull=False)
                | models.Q(team__isnull=False)
                | models.Q(entity_type__isnull=False),
                name="silence_has_matcher",
                violation_error_message=_(
                    "A silence needs a rule, a team or an entity; it would silence everything."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(entity_type__isnull=True, entity_id__isnull=True)
                | models.Q(entity_type__isnull=False, entity_id__isnull=False),
                name="silence_entity_type_and_id_together",
                violation_error_message=_("Give both the entity type and the entity id."),
            ),
        ]
        indexes = [models.Index(fields=["ends_at", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.pk}: {self.starts_at.isoformat()} – {self.ends_at.isoformat()}"

    def matches(self, alert: Alert, at: dt.datetime) -> bool:
        """Return whether this silence mutes ``alert`` at ``at``."""
        if not self.starts_at <= at < self.ends_at:
            return False
        if self.rule_id is not None and self.rule_id != alert.rule_id:
            return False
        if self.entity_type is not None and (
            self.entity_type != alert.entity_type or self.entity_id != alert.entity_id
        ):
            return False
        if self.team is not None:
            return alert.team is not None and alert.team.path.startswith(self.team.path)
        return True
