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


EVIDENCE_LABELS = {
    # evidence kinds the shipped playbooks' gates name; a process may name others (shown as is)
    "pain_points": _("Pain-point list"),
    "nda": _("NDA"),
    "proposal": _("Proposal document"),
    "requirements": _("Requirements document"),
    "budget": _("Budget confirmation"),
    "poc_report": _("Proof-of-concept report"),
    "purchase_order": _("Purchase order"),
}


def evidence_label(kind: str) -> str:
    """The evidence kind by its label in the active language, or the key made readable."""
    label = EVIDENCE_LABELS.get(kind)
    return str(label) if label is not None else kind.replace("_", " ")
