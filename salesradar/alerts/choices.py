from django.db import models
from django.utils.translation import gettext_lazy as _


class Grain(models.TextChoices):
    """What one alert of a rule is about: the entity its metric is computed per."""

    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    QUOTE = "quote", _("Quote")
    LEAD = "lead", _("Lead")
    INVOICE = "invoice", _("Invoice")
    CONTRACT = "contract", _("Contract")
    REP = "rep", _("Sales rep")
    TEAM = "team", _("Team")
    ORG = "org", _("Whole organisation")


class RuleStatus(models.TextChoices):
    OK = "ok", _("OK")
    ERROR = "error", _("Error")


class CheckOutcome(models.TextChoices):
    """How one evaluation of one rule in one pass ended."""

    OK = "ok", _("Evaluated")
    RULE_ERROR = "rule_error", _("Rule failed")
    TRANSIENT = "transient", _("Skipped: database unavailable")


class AlertState(models.TextChoices):
    PENDING = "pending", _("Pending")
    FIRING = "firing", _("Firing")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    SNOOZED = "snoozed", _("Snoozed")
    RESOLVED = "resolved", _("Resolved")
    NO_DATA = "no_data", _("No data")
    ERROR = "error", _("Error")


# An alert in one of these states has a true condition and so a severity.
TRUE_STATES = frozenset(
    {AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED}
)


class Severity(models.TextChoices):
    WARNING = "warning", _("Warning")
    DANGER = "danger", _("Danger")


class EventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    PENDING = "pending", _("Pending")
    FIRING = "firing", _("Firing")
    SEVERITY_CHANGED = "severity_changed", _("Severity changed")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    SNOOZED = "snoozed", _("Snoozed")
    UNSNOOZED = "unsnoozed", _("Snooze ended")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    ESCALATED = "escalated", _("Escalated")
    REMINDED = "reminded", _("Reminder due")
    NO_DATA = "no_data", _("No data")
    ERROR = "error", _("Error")
    INHIBITED = "inhibited", _("Inhibited")
    UNINHIBITED = "uninhibited", _("No longer inhibited")
    SILENCED = "silenced", _("Silenced")
