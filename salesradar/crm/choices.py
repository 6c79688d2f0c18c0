from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    A = "A", _("A (key account)")
    B = "B", _("B (growth)")
    C = "C", _("C (long tail)")


class Lifecycle(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    NEW = "new", _("New customer")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")


class CompanySize(models.TextChoices):
    MICRO = "micro", _("1-19 employees")
    SMALL = "small", _("20-99 employees")
    MEDIUM = "medium", _("100-499 employees")
    LARGE = "large", _("500-1999 employees")
    ENTERPRISE = "enterprise", _("2000+ employees")


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    FINANCE = "finance", _("Finance")


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    MANUAL = "manual", _("Manual entry")
    REFERRAL = "referral", _("Referral")
    EXHIBITION = "exhibition", _("Exhibition")
    ADVERTISING = "advertising", _("Advertising")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    DISQUALIFIED = "disqualified", _("Disqualified")
    RECYCLED = "recycled", _("Recycled to pool")
    NURTURING = "nurturing", _("Not now: in a nurture sequence")
    MERGED = "merged", _("Merged into another lead")


class RoutingStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LOAD_BALANCED = "load_balanced", _("Load balanced (fewest open leads)")


class AssignmentKind(models.TextChoices):
    ROUTED = "routed", _("Routed by a rule")
    CLAIMED = "claimed", _("Claimed from the pool")
    MANUAL = "manual", _("Assigned by hand")
    RECALLED = "recalled", _("Recalled: first response deadline missed")
    EXPIRED = "expired", _("Returned: ownership countdown ran out")
    ESCALATED = "escalated", _("Taken away by the escalation ladder")
    RELEASED = "released", _("Released by the owner")
    MERGED = "merged", _("Merged into another record")


class LadderAction(models.TextChoices):
    RECALL = "recall", _("Return to the pool")
    REASSIGN = "reassign", _("Reassign through the routing rules")


class DuplicatePolicy(models.TextChoices):
    REFUSE = "refuse", _("Refuse the new record")
    MERGE = "merge", _("Merge into the existing record")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Waiting for review")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class LifecycleEvent(models.TextChoices):
    FIRST_CONTRACT = "first_contract", _("First contract signed")
    REPEAT_CONTRACT = "repeat_contract", _("Further contract signed")
    RENEWAL_MISSED = "renewal_missed", _("Renewal missed")
    NO_ORDER = "no_order", _("No order for months")
    CHURNED = "churned", _("No order long after being at risk")
    WON_BACK = "won_back", _("Won back with a new contract")
    MANUAL = "manual", _("Changed by hand")


class NurtureStepKind(models.TextChoices):
    TASK = "task", _("Task for a rep")
    EMAIL = "email", _("Email to the lead")
    SMS = "sms", _("SMS to the lead")


class NurtureStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RESPONDED = "responded", _("Responded")
    FINISHED = "finished", _("Sequence finished")
