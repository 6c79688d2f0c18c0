from django.db import models
from django.utils.translation import gettext_lazy as _


class LostReason(models.TextChoices):
    PRICE = "price", _("Price")
    COMPETITOR = "competitor", _("Lost to a competitor")
    NO_BUDGET = "no_budget", _("No budget")
    NO_DECISION = "no_decision", _("No decision / project stopped")
    PRODUCT_FIT = "product_fit", _("Product does not fit")
    TIMING = "timing", _("Timing")
    OTHER = "other", _("Other")


class QuoteStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested by customer")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded by a newer version")


class ContractStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    RENEWED = "renewed", _("Renewed")
    TERMINATED = "terminated", _("Terminated")


class TargetPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class TargetMeasure(models.TextChoices):
    WON_AMOUNT = "won_amount", _("Won amount")
    NEW_CUSTOMERS = "new_customers", _("New customers")
    NEW_PIPELINE = "new_pipeline", _("New pipeline amount")
    ACTIVITIES = "activities", _("Follow-ups")
    COLLECTED = "collected", _("Payments collected")
