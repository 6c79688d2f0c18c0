from django.db import models
from django.utils.translation import gettext_lazy as _


class Pillar(models.TextChoices):
    POTENTIAL = "potential", _("Commercial potential")
    DEPTH = "depth", _("Depth")
    RELATIONSHIP = "relationship", _("Relationship")
    RISK = "risk", _("Risk signals (100 = none)")


class HealthTier(models.TextChoices):
    BLUE = "blue", _("Blue: healthy")
    YELLOW = "yellow", _("Yellow: watch")
    RED = "red", _("Red: at risk")


class HealthActionKind(models.TextChoices):
    NURTURE = "nurture", _("Nurture content sent to the owner")
    JOINT_VISIT = "joint_visit", _("Joint visit with a presales colleague")
    ESCALATION = "escalation", _("Escalated to the director, new opportunities blocked")
