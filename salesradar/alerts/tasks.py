"""Evaluation on Celery: one task per rule, then one task that finishes the pass.

Tasks take ids and ISO times, never model instances, and expire: a pass that could not
start in time is skipped, the next one covers it.
"""

from __future__ import annotations

import datetime as dt

from celery import chord, shared_task
from django.utils import timezone


@shared_task(name="salesradar.alerts.tasks.evaluate_all", ignore_result=True)
def evaluate_all(at: str | None = None) -> None:
    """Fan the enabled rules out over the workers, then apply inhibitions and plan."""
    from salesradar.alerts.models import Rule
    from salesradar.alerts.rules import ensure_default_rules

    ensure_default_rules()
    moment = at or timezone.now().isoformat()
    rule_ids = list(Rule.objects.filter(enabled=True).values_list("pk", flat=True))
    chord(evaluate_rule.s(rule_id, moment) for rule_id in rule_ids)(finish_pass.si(moment))


@shared_task(name="salesradar.alerts.tasks.evaluate_rule")
def evaluate_rule(rule_id: int, at: str) -> str:
    from salesradar.alerts.engine import evaluate_rule as evaluate_one
    from salesradar.alerts.models import Rule

    rule = Rule.objects.get(pk=rule_id)
    outcome = evaluate_one(rule, dt.datetime.fromisoformat(at))
    return outcome.error or "ok"


@shared_task(name="salesradar.alerts.tasks.finish_pass", ignore_result=True)
def finish_pass(at: str) -> None:
    from salesradar.alerts.engine import apply_inhibitions, retire_disabled_rules
    from salesradar.alerts.models import Rule

    moment = dt.datetime.fromisoformat(at)
    retire_disabled_rules(moment)
    apply_inhibitions(list(Rule.objects.filter(enabled=True)), moment)
