from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Write")


class EventType(models.TextChoices):
    """Domain events an outbound webhook subscription can ask for."""

    LEAD_CREATED = "lead.created", _("Lead created")
    LEAD_ASSIGNED = "lead.assigned", _("Lead assigned")
    LEAD_RECALLED = "lead.recalled", _("Lead recalled to the pool")
    STAGE_CHANGED = "opportunity.stage_changed", _("Opportunity stage changed")
    DEAL_WON = "deal.won", _("Deal won")
    DEAL_LOST = "deal.lost", _("Deal lost")
    ALERT_FIRED = "alert.fired", _("Alert fired")
    ALERT_ACKNOWLEDGED = "alert.acknowledged", _("Alert acknowledged")
    ALERT_RESOLVED = "alert.resolved", _("Alert resolved")


class InboundOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    IGNORED = "ignored", _("Ignored")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed, will be retried")
