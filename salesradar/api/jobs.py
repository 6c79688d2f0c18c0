"""The API's share of the periodic work, run by the notify job and by its Celery task."""

from __future__ import annotations

import datetime as dt


def run_periodic(*, now: dt.datetime) -> int:
    """Announce bulk-written alert transitions and forget expired idempotency keys.

    Return how many webhook events were queued.
    """
    from salesradar.api.events import emit_alert_events
    from salesradar.api.idempotency import purge_expired

    queued = emit_alert_events(until=now)
    purge_expired(now=now)
    return queued
