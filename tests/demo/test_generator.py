"""The demo organisation: realistic, deterministic, consistent with the process, and its
ground truth describes problems that really are in the data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Count, Max, Min, Sum

from salesradar.activities.models import Activity
from salesradar.crm.models import Customer
from salesradar.demo.generator import DemoResult
from salesradar.demo.services import build_demo
from salesradar.pipeline.models import (
    Contract,
    Evidence,
    Invoice,
    Opportunity,
    Quote,
    StageChange,
)

TODAY = dt.date(2026, 11, 30)
ANCHOR = dt.datetime(2026, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
KINDS = {
    "followup_decline",
    "conversion_drop",
    "quote_unanswered",
    "a_tier_untouched",
    "stuck_negotiation",
    "new_customers_low",
    "overdue_invoice",
    "renewal_at_risk",
}


def fingerprint() -> tuple[object, ...]:
    """Summarise the generated data so two builds can be compared exactly."""
    return (
        Opportunity.objects.aggregate(n=Count("id"), amount=Sum("amount"))["amount"],
        Activity.objects.count(),
        Activity.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))["last"],
        StageChange.objects.count(),
        tuple(Customer.objects.order_by("id").values_list("name", flat=True)[:20]),
    )


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker) -> Iterator[DemoResult]:
    """Build the small demo once for the module, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        result = build_demo(seed=7, size="small", today=TODAY, truth_path=None)
        yield result
        transaction.set_rollback(True)


def truths(demo: DemoResult, kind: str) -> list:
    return [item for item in demo.ground_truth if item.kind == kind]


pytestmark = pytest.mark.django_db


def test_demo_has_the_requested_shape(demo: DemoResult) -> None:
    assert Customer.objects.count() == 300
    assert set(Customer.objects.values_list("tier", flat=True)) == {"A", "B", "C"}
    assert 500 <= Opportunity.objects.count() <= 1000
    assert Activity.objects.count() >= 6_000
    assert Opportunity.objects.filter(stage__is_won=True).exists()
    assert Opportunity.objects.filter(stage__is_lost=True).exists()
    assert Opportunity.objects.open().exists()
    assert Quote.objects.exists() and Contract.objects.exists() and Invoice.objects.exists()


def test_every_kind_of_problem_is_planted(demo: DemoResult) -> None:
    planted = {item.kind for item in demo.ground_truth if item.planted}
    assert planted == KINDS


def test_history_stays_within_eighteen_months_before_today(demo: DemoResult) -> None:
    span = Activity.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert span["last"] < ANCHOR
    assert span["first"] >= ANCHOR - dt.timedelta(days=550)
    assert not StageChange.objects.filter(changed_at__gte=ANCHOR).exists()


def test_stage_history_agrees_with_each_opportunity(demo: DemoResult) -> None:
    last_changes = StageChange.objects.values("opportunity").annotate(at=Max("changed_at"))
    entered = dict(Opportunity.objects.values_list("id", "stage_entered_at"))
    assert {row["opportunity"]: row["at"] for row in last_changes} == entered
    for opportunity in Opportunity.objects.filter(closed_at__isnull=False)[:200]:
        assert opportunity.stage.is_terminal
        assert opportunity.closed_at == opportunity.stage_entered_at


def test_generated_deals_respect_the_stage_gates(demo: DemoResult) -> None:
    reached_negotiation = StageChange.objects.filter(to_stage__key="negotiation")
    for change in reached_negotiation.select_related("opportunity")[:300]:
        opportunity = change.opportunity
        assert Evidence.objects.filter(
            opportunity=opportunity, kind="nda", added_at__lte=change.changed_at
        ).exists()
        assert opportunity.quotes.filter(sent_at__lte=change.changed_at).exists()
    won = Opportunity.objects.filter(stage__is_won=True)
    assert not won.filter(contracts__isnull=True).exists()
    lost = Opportunity.objects.filter(stage__is_lost=True)
    assert not lost.filter(lost_reason="").exists()


def test_planted_unanswered_quotes_are_open_requests_days_old(demo: DemoResult) -> None:
    for item in truths(demo, "quote_unanswered"):
        quote = Quote.objects.select_related("opportunity").get(pk=item.entity_id)
        assert quote.sent_at is None
        assert quote.requested_at.isoformat() == item.starts_at
        assert ANCHOR - quote.requested_at > dt.timedelta(days=2)
        assert quote.opportunity.closed_at is None


def test_planted_untouched_key_accounts_have_no_activity_for_weeks(demo: DemoResult) -> None:
    for item in truths(demo, "a_tier_untouched"):
        customer = Customer.objects.get(pk=item.entity_id)
        last = customer.activities.aggregate(last=Max("occurred_at"))["last"]
        assert customer.tier == "A"
        assert last is not None and last.isoformat() == item.starts_at
        assert ANCHOR - last > dt.timedelta(days=14)


def test_planted_stuck_negotiations_have_no_update(demo: DemoResult) -> None:
    for item in truths(demo, "stuck_negotiation"):
        opportunity = Opportunity.objects.get(pk=item.entity_id)
        assert opportunity.stage.key == "negotiation" and opportunity.closed_at is None
        assert opportunity.updated_at.isoformat() == item.starts_at
        assert ANCHOR - opportunity.updated_at > dt.timedelta(days=7)
        assert not opportunity.activities.filter(occurred_at__gt=opportunity.updated_at).exists()


def test_planted_overdue_invoices_are_unpaid_past_due(demo: DemoResult) -> None:
    for item in truths(demo, "overdue_invoice"):
        invoice = Invoice.objects.get(pk=item.entity_id)
        assert invoice.paid_at is None
        assert (TODAY - invoice.due_on).days > 15


def test_planted_renewals_at_risk_end_soon_with_a_quiet_customer(demo: DemoResult) -> None:
    for item in truths(demo, "renewal_at_risk"):
        contract = Contract.objects.get(pk=item.entity_id)
        assert contract.status == "active"
        assert (contract.ends_on - TODAY).days <= 60
        assert not contract.renewals.exists()
        quiet_since = dt.datetime.fromisoformat(item.starts_at)
        assert not contract.customer.activities.filter(occurred_at__gt=quiet_since).exists()
        assert ANCHOR - quiet_since > dt.timedelta(days=30)


def weekly_activities(owner_id: int, start: dt.datetime, weeks: int) -> float:
    end = start + dt.timedelta(weeks=weeks)
    count = Activity.objects.filter(
        owner_id=owner_id, occurred_at__gte=start, occurred_at__lt=end
    ).count()
    return count / weeks


def test_planted_follow_up_decline_is_visible_week_over_week(demo: DemoResult) -> None:
    (item,) = truths(demo, "followup_decline")
    since = dt.datetime.fromisoformat(item.starts_at)
    before = weekly_activities(item.entity_id, since - dt.timedelta(weeks=8), 8)
    after = weekly_activities(item.entity_id, since, 6)
    assert before > 0 and after < 0.5 * before


def test_planted_hunter_wins_no_new_customers_after_the_date(demo: DemoResult) -> None:
    (item,) = truths(demo, "new_customers_low")
    since = dt.datetime.fromisoformat(item.starts_at)
    mine = Customer.objects.filter(owner_id=item.entity_id)
    assert not mine.filter(created_at__gte=since).exists()
    assert mine.filter(created_at__gte=since - dt.timedelta(days=180)).exists()


def proposal_conversion(team_id: int, start: dt.datetime, end: dt.datetime) -> float:
    entered = StageChange.objects.filter(
        to_stage__key="proposal",
        opportunity__owner__team_id=team_id,
        changed_at__gte=start,
        changed_at__lt=end,
    ).values_list("opportunity_id", flat=True)
    left = StageChange.objects.filter(
        from_stage__key="proposal", opportunity_id__in=list(entered), is_regression=False
    )
    decided = left.count()
    advanced = left.filter(to_stage__key="negotiation").count()
    return advanced / decided if decided else float("nan")


def test_planted_conversion_drop_falls_below_the_teams_own_average(demo: DemoResult) -> None:
    (item,) = truths(demo, "conversion_drop")
    since = dt.datetime.fromisoformat(item.starts_at)
    before = proposal_conversion(item.entity_id, since - dt.timedelta(days=300), since)
    after = proposal_conversion(item.entity_id, since, ANCHOR)
    assert before > 0.5
    assert after < before - 0.2
