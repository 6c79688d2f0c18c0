"""Evaluation on Celery: one pass shared among workers, by rule and team, then finished once.

``evaluate_all`` cuts every enabled rule into chunks (one per top-level team subtree plus
the owners outside them; team, org, invoice and contract rules whole), opens the pass's
notification batch with the number of chunks, and sends one task per chunk. Each chunk
signs off on the batch; the last one sends ``finish_pass``, which clears what no chunk
observed, sets each rule's status, retires switched-off rules, applies inhibitions and plans
the notifications, once. A counter in the database rather than a Celery chord, so any
broker works without a result backend. Tasks take ids and ISO times and expire: a pass that
could not start in time is skipped, the next one covers it; the planner takes over a pass
abandoned half-way after an hour.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)

CHUNK_EXPIRES = 15 * 60  # seconds; a chunk that has not started by then is dropped


@shared_task(name="salesradar.alerts.tasks.evaluate_all", ignore_result=True)
def evaluate_all(at: str | None = None) -> int:
    """Fan the enabled rules out over the workers by rule and team; return the chunk count."""
    from salesradar.alerts.engine import (
        owners_outside,
        refuse_going_back,
        rule_chunks,
        top_level_teams,
    )
    from salesradar.alerts.models import Rule
    from salesradar.alerts.rules import ensure_default_rules
    from salesradar.notify.services import open_pass

    ensure_default_rules()
    moment = dt.datetime.fromisoformat(at) if at else timezone.now()
    rules = list(Rule.objects.filter(enabled=True).order_by("key"))
    refuse_going_back(rules, moment)
    top_teams = top_level_teams()
    outside = owners_outside(top_teams)
    work = [(rule.pk, chunk) for rule in rules for chunk in rule_chunks(rule, top_teams, outside)]
    keys = [chunk_key(rule_id, chunk.key) for rule_id, chunk in work]
    if not open_pass(moment, keys):
        logger.warning("a pass at %s ran already; not evaluating it again", moment.isoformat())
        return 0
    if not work:
        finish_pass.delay(moment.isoformat())
    for rule_id, chunk in work:
        evaluate_chunk.apply_async(
            (rule_id, chunk.as_dict(), moment.isoformat()), expires=CHUNK_EXPIRES
        )
    return len(work)


def chunk_key(rule_id: int, key: str) -> str:
    return f"{rule_id}:{key}"


@shared_task(name="salesradar.alerts.tasks.evaluate_chunk", ignore_result=True)
def evaluate_chunk(rule_id: int, chunk: dict[str, object], at: str) -> str:
    """Evaluate one rule for one chunk of entities; the last chunk in finishes the pass."""
    from salesradar.alerts.choices import CheckOutcome
    from salesradar.alerts.engine import Chunk
    from salesradar.alerts.engine import evaluate_chunk as evaluate_one
    from salesradar.alerts.models import Rule
    from salesradar.notify.services import sign_off_chunk

    moment = dt.datetime.fromisoformat(at)
    part = Chunk.from_dict(chunk)
    rule = Rule.objects.filter(pk=rule_id).first()
    error = ""
    if rule is not None:
        outcome = evaluate_one(rule, part, moment)
        # a chunk's check records its failure; the finishing step reads the rule's faults
        failed = outcome.outcome == CheckOutcome.RULE_ERROR
        error = outcome.error if failed and not part.whole else ""
    if sign_off_chunk(moment, chunk_key(rule_id, part.key), rule_id=rule_id, error=error):
        finish_pass.delay(at)
    return error or "ok"


@shared_task(name="salesradar.alerts.tasks.finish_pass", ignore_result=True)
def finish_pass(at: str) -> None:
    """Close the pass once: unobserved alerts, rule status, retirement, inhibition, planning."""
    from salesradar.alerts.engine import (
        SPLIT_GRAINS,
        apply_inhibitions,
        finish_split_rules,
        retire_disabled_rules,
    )
    from salesradar.alerts.grouping import group_alerts
    from salesradar.alerts.models import Rule
    from salesradar.notify.models import NotificationBatch
    from salesradar.notify.services import pass_errors, plan_evaluation

    moment = dt.datetime.fromisoformat(at)
    batch = NotificationBatch.objects.filter(evaluation_at=moment).first()
    done = batch.chunks_done if batch is not None else []
    split_ids = {int(key.split(":")[0]) for key in done if not key.endswith(":whole")}
    split_rules = [
        rule for rule in Rule.objects.filter(pk__in=split_ids) if rule.grain in SPLIT_GRAINS
    ]
    finish_split_rules(split_rules, moment, pass_errors(moment))
    retire_disabled_rules(moment)
    apply_inhibitions(list(Rule.objects.filter(enabled=True)), moment)
    group_alerts(moment)
    plan_evaluation(moment)
