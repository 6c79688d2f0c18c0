"""The API's share of the periodic work, run by the notify job and by its Celery task."""

from __future__ import annotations

import datetime as dt


def run_periodic(*, now: dt.datetime) -> int:
    """Announce bulk-written alert transitions; return how many webhook events were queued."""
    from salesradar.api.events import emit_alert_events

    return emit_alert_events(until=now)


def housekeep(*, now: dt.datetime) -> int:
    """Forget expired idempotency keys (a replay already ignores them, so this only frees
    space, and belongs with the other housekeeping, not the every-few-seconds job)."""
    from salesradar.api.idempotency import purge_expired

    return purge_expired(now=now)
