"""Domain events, announced by the verbs themselves inside their own transaction.

A verb that changes something other systems care about (a lead taken in, assigned or
recalled; a deal moved to another stage; an alert acknowledged) calls ``announce`` with the
event kind and the ids of the rows it wrote, once per batch, in the transaction that wrote
them. Every writer registered for the kind (the outbound webhooks register theirs in
``api.apps``) stores its outbox rows in that same transaction: the event exists exactly when
the change does, and a bulk write (intake of a whole file, a routing pass, a recall, an
import) announces all its rows with a few set-based statements. No model signal is used, so
``bulk_create`` and ``.update()`` are covered like single saves.

Kinds and the rows their ids name:

- ``lead.created``, ``lead.assigned``, ``lead.recalled``: ``crm.Lead``;
- ``stage_change``: ``pipeline.StageChange`` (a move, or a won/lost close);
- ``alert_event``: ``alerts.AlertEvent`` (a transition made by a person; the rule engine's
  bulk transitions are picked up from the append-only alert history by ``api.jobs``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

LEAD_CREATED = "lead.created"
LEAD_ASSIGNED = "lead.assigned"
LEAD_RECALLED = "lead.recalled"
STAGE_CHANGE = "stage_change"
ALERT_EVENT = "alert_event"
KINDS = (LEAD_CREATED, LEAD_ASSIGNED, LEAD_RECALLED, STAGE_CHANGE, ALERT_EVENT)

Writer = Callable[[str, list[int], dt.datetime], None]
_writers: list[Writer] = []


def register(writer: Writer) -> None:
    """Add a writer of outbox rows (called once per app at ``ready()``)."""
    if not callable(writer):
        raise TypeError(f"an outbox writer must be callable, not {writer!r}")
    if writer not in _writers:
        _writers.append(writer)


def announce(kind: str, ids: Iterable[int], *, at: dt.datetime) -> None:
    """Record that the rows ``ids`` changed as ``kind`` at ``at``, in the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown domain event kind {kind!r}; known: {', '.join(KINDS)}")
    wanted = sorted({int(pk) for pk in ids if pk is not None})
    if not wanted:
        return
    for writer in _writers:
        writer(kind, wanted, at)
