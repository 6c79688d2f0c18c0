"""Celery tasks of the lead pool; thin wrappers around ``salesradar.crm.periodic``."""

from __future__ import annotations

import datetime as dt

from celery import shared_task


@shared_task(name="salesradar.crm.tasks.run_lead_jobs", ignore_result=True)
def run_lead_jobs(at: str | None = None) -> None:
    """Run every periodic lead-pool job once (recall, countdown, ladder, lifecycle, nurture)."""
    from salesradar.crm.periodic import run_all

    run_all(at=dt.datetime.fromisoformat(at) if at else None)
