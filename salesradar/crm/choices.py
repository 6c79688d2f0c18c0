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
