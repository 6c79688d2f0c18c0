"""The lead pool's environment settings, documented here and registered with ``core.env``."""

from __future__ import annotations

LEAD_SETTINGS = {
    "LEAD_DUPLICATES": "what an exact duplicate (credit code, phone, e-mail) of an incoming lead "
    "does: refuse or merge (default: refuse)",
    "WORKING_HOURS": "working hours for deadlines counted in working hours (default: 09:00-18:00)",
    "LEAD_JOBS_MINUTES": "minutes between runs of the lead pool's periodic work: recall, "
    "countdown, ladder, lifecycle, nurture (default: 5)",
    "RENEWAL_GRACE_DAYS": "days after a contract ends without renewal before the customer is at "
    "risk (default: 30)",
    "NO_ORDER_MONTHS": "months without a new contract before a customer is at risk (default: 12)",
    "CHURN_MONTHS": "months without a new contract before an at-risk customer has churned "
    "(default: 18)",
}


def register() -> None:
    from salesradar.core import env

    for name, text in LEAD_SETTINGS.items():
        env.DOCUMENTED.setdefault(name, text)


def lead_jobs_seconds() -> float:
    """Seconds between runs of the lead pool's periodic work (for the scheduler and beat)."""
    from salesradar.core import env

    register()  # Celery reads the schedule before Django's apps are ready
    return float(env.get("LEAD_JOBS_MINUTES", "5")) * 60
