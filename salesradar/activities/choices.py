from django.db import models
from django.utils.translation import gettext_lazy as _


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    IM = "im", _("Instant message")
    DEMO = "demo", _("Product demo")
    NOTE = "note", _("Note")


class Outcome(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    NO_RESPONSE = "no_response", _("No response")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class TaskOrigin(models.TextChoices):
    ALERT = "alert", _("Alert")
    ACTION_CARD = "action_card", _("Action card")
    MANUAL = "manual", _("Manual")
    HEALTH = "health", _("Customer health")


class ActionCardStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DELIVERED = "delivered", _("Delivered, awaiting verification")
    VERIFIED = "verified", _("Verified")
    MISSED = "missed", _("Missed")


class ActionCardOrigin(models.TextChoices):
    PROBE = "probe", _("Root-cause probe")
    ALERT = "alert", _("Alert")
    MANUAL = "manual", _("By hand")
