"""Snapshot metrics: one value per entity as of ``at``, worked out by hand on tiny data sets.

Unless a test says otherwise, ``AT`` is Wednesday 2025-06-18 12:00 in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pytest import approx

from salesradar.crm.choices import DecisionRole
from salesradar.metrics.registry import Scope
from salesradar.pipeline.models import Opportunity, Stage
from salesradar.pipeline.services import move_stage
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    CustomerFactory,
    EvidenceFactory,
    InvoiceFactory,
    QuoteFactory,
    TeamFactory,
)
from tests.metrics import (
    enter,
    lead,
    local,
    monthly_targets,
    opportunity,
    rep,
    rows,
    target,
    values,
    won,
)

pytestmark = pytest.mark.django_db

AT = local(6, 18, 12)


# --------------------------------------------------------------------------- opportunity


def test_opportunity_days_since_last_activity_counts_from_the_newest_activity_by_at(stages):
    owner = rep()
    touched = opportunity(owner, created=local(6, 1))
    ActivityFactory(opportunity=touched, occurred_at=local(6, 10, 12))
    ActivityFactory(opportunity=touched, occurred_at=local(6, 19))  # after AT: not yet known
    untouched = opportunity(owner, created=local(6, 8))
    closes_after_at = opportunity(owner, created=local(6, 3, 12))
    enter(closes_after_at, "lost", local(6, 20))
    closed = opportunity(owner, created=local(6, 2))
    enter(closed, "lost", local(6, 15))
    opportunity(owner, created=local(6, 19))  # created after AT

    assert values("opportunity_days_since_last_activity", AT) == {
        touched.pk: 8.0,  # 06-10 12:00 -> 06-18 12:00
        untouched.pk: 10.5,  # no activity: from creation 06-08 00:00
        closes_after_at.pk: 15.0,  # still open as of AT; 06-03 12:00 -> 06-18 12:00
    }


def test_opportunity_hours_since_update_takes_the_latest_stage_activity_or_quote_event(stages):
    owner = rep()
    active = opportunity(owner, created=local(6, 10, 12))
    ActivityFactory(opportunity=active, occurred_at=local(6, 16, 12))
    ActivityFactory(opportunity=active, occurred_at=local(6, 18, 13))  # an hour after AT
    requested = opportunity(owner, created=local(6, 10))
    QuoteFactory(opportunity=requested, requested_at=local(6, 17), sent_at=local(6, 19))
    sent = opportunity(owner, created=local(6, 10))
    QuoteFactory(opportunity=sent, requested_at=local(6, 12), sent_at=local(6, 17, 18))
    moved = opportunity(owner, created=local(6, 1), stage="needs_confirmed", entered=local(6, 18))

    result = rows("opportunity_hours_since_update", AT)

    assert {row.entity_id: row.value for row in result} == {
        active.pk: 48.0,  # activity 06-16 12:00; the 13:00 one is after AT
        requested.pk: 36.0,  # requested 06-17 00:00; its sending on 06-19 is after AT
        sent.pk: 18.0,  # sent 06-17 18:00
        moved.pk: 12.0,  # entered needs_confirmed 06-18 00:00
    }
    assert {row.context["stage"] for row in result} == {"initial_contact", "needs_confirmed"}


def proposal_moved_to_negotiation_after_at() -> Opportunity:
    """Walk an opportunity through the gates: proposal on 06-08 12:00, negotiation on 06-19."""
    owner = rep()
    deal = opportunity(owner, created=local(6, 1))
    EvidenceFactory(opportunity=deal, kind="pain_points")
    ContactFactory(customer=deal.customer, decision_role=DecisionRole.DECISION_MAKER)
    deal.amount, deal.expected_close_date = Decimal("300000"), dt.date(2025, 9, 30)
    deal.save()
    move_stage(deal, "proposal", by=owner, at=local(6, 8, 12))
    QuoteFactory(opportunity=deal, requested_at=local(6, 9), sent_at=local(6, 10))
    EvidenceFactory(opportunity=deal, kind="nda")
    move_stage(deal, "negotiation", by=owner, at=local(6, 19))
    return deal


def test_opportunity_days_in_stage_and_stage_scope_read_the_stage_as_of_at(stages):
    deal = proposal_moved_to_negotiation_after_at()
    owner = deal.owner
    needs = opportunity(owner, created=local(6, 1), stage="needs_confirmed", entered=local(6, 11))
    opportunity(owner, created=local(6, 1), stage="won", entered=local(6, 12))  # terminal

    result = {row.entity_id: row for row in rows("opportunity_days_in_stage", AT)}

    assert deal.stage.key == "negotiation"  # today's stage ...
    assert result[deal.pk].value == 10.0  # ... but as of AT: proposal since 06-08 12:00
    assert result[deal.pk].context == {"stage": "proposal", "sla_days": 14}
    assert result[needs.pk].value == 7.5  # 06-11 00:00 -> 06-18 12:00
    assert result[needs.pk].context == {"stage": "needs_confirmed", "sla_days": 21}
    assert set(result) == {deal.pk, needs.pk}  # the won deal has no dwell time
    # one day later the negotiation clock has run for a day (06-19 00:00 -> 06-20 00:00)
    assert values("opportunity_days_in_stage", local(6, 20))[deal.pk] == 1.0
    # a stage scope, too, means the stage as of AT
    proposal_only, negotiation_only = Scope(stages=("proposal",)), Scope(stages=("negotiation",))
    assert set(values("opportunity_days_in_stage", AT, scope=proposal_only)) == {deal.pk}
    assert values("opportunity_days_in_stage", AT, scope=negotiation_only) == {}


def test_opportunity_stage_sla_ratio_divides_days_in_stage_by_the_stage_sla(stages):
    deal = proposal_moved_to_negotiation_after_at()
    needs = opportunity(
        deal.owner, created=local(6, 1), stage="needs_confirmed", entered=local(6, 11)
    )

    assert values("opportunity_stage_sla_ratio", AT) == {
        deal.pk: approx(10 / 14),  # 10 days in proposal, SLA 14
        needs.pk: approx(7.5 / 21),  # 7.5 days in needs_confirmed, SLA 21
    }
    # a stage without an SLA has nothing to measure against
    Stage.objects.filter(key="needs_confirmed").update(dwell_sla_days=None)
    assert set(values("opportunity_stage_sla_ratio", AT)) == {deal.pk}


# --------------------------------------------------------------------------- customer


def test_customer_days_since_last_activity_skips_churned_unowned_and_future_customers(db):
    owner = rep()
    key_account = CustomerFactory(owner=owner, tier="A", created_at=local(5, 1))
    ActivityFactory(customer=key_account, owner=owner, occurred_at=local(6, 8, 12))
    ActivityFactory(customer=key_account, owner=owner, occurred_at=local(6, 19))  # after AT
    quiet = CustomerFactory(owner=owner, tier="C", created_at=local(6, 13))
    CustomerFactory(owner=owner, tier="A", lifecycle="churned", created_at=local(5, 1))
    CustomerFactory(owner=None, tier="A", created_at=local(5, 1))  # in the public pool
    CustomerFactory(owner=owner, created_at=local(6, 19))  # created after AT

    result = rows("customer_days_since_last_activity", AT)

    assert {row.entity_id: row.value for row in result} == {
        key_account.pk: 10.0,  # 06-08 12:00 -> 06-18 12:00
        quiet.pk: 5.5,  # never touched: from creation 06-13 00:00
    }
    assert {row.entity_id: row.context["tier"] for row in result} == {
        key_account.pk: "A",
        quiet.pk: "C",
    }
    assert set(values("customer_days_since_last_activity", AT, scope=Scope(tiers=("A",)))) == {
        key_account.pk
    }


def test_team_scope_covers_the_subtree_and_owner_scope_the_named_reps(db):
    region = TeamFactory()
    east = TeamFactory(parent=region)
    west = TeamFactory()
    east_rep, other_east_rep, west_rep = rep(east), rep(east), rep(west)
    east_customer = CustomerFactory(owner=east_rep, created_at=local(6, 1))
    other_east_customer = CustomerFactory(owner=other_east_rep, created_at=local(6, 1))
    west_customer = CustomerFactory(owner=west_rep, created_at=local(6, 1))

    def scoped(scope: Scope) -> set[int]:
        return set(values("customer_days_since_last_activity", AT, scope=scope))

    assert scoped(Scope(team_ids=(region.pk,))) == {east_customer.pk, other_east_customer.pk}
    assert scoped(Scope(team_ids=(west.pk,))) == {west_customer.pk}
    assert scoped(Scope(team_ids=(region.pk,), owner_ids=(east_rep.pk,))) == {east_customer.pk}
    assert scoped(Scope()) == {east_customer.pk, other_east_customer.pk, west_customer.pk}


def test_customer_followups_in_cadence_counts_activities_in_the_tier_window(db):
    owner = rep()
    tier_a = CustomerFactory(owner=owner, tier="A", created_at=local(5, 1))
    # A: 7-day window (06-11 12:00, 06-18 12:00]; the first is on the open edge, the last after AT
    for moment in (local(6, 11, 12), local(6, 12), local(6, 17, 12), local(6, 19)):
        ActivityFactory(customer=tier_a, owner=owner, occurred_at=moment)
    tier_b = CustomerFactory(owner=owner, tier="B", created_at=local(5, 1))
    # B: 14-day window; 06-05 12:00 is 13 days back (in), 06-01 00:00 is 17.5 (out)
    for moment in (local(6, 5, 12), local(6, 1)):
        ActivityFactory(customer=tier_b, owner=owner, occurred_at=moment)
    tier_c = CustomerFactory(owner=owner, tier="C", created_at=local(5, 1))

    result = {row.entity_id: row for row in rows("customer_followups_in_cadence", AT)}

    assert {pk: row.value for pk, row in result.items()} == {
        tier_a.pk: 2.0,
        tier_b.pk: 1.0,
        tier_c.pk: 0.0,
    }
    assert result[tier_a.pk].context == {"tier": "A", "window_days": 7, "days_since_last": 1.0}
    assert result[tier_b.pk].context["days_since_last"] == 13.0
    # C never touched: 05-01 00:00 -> 06-18 12:00 is 31 + 17.5 days
    assert result[tier_c.pk].context == {"tier": "C", "window_days": 30, "days_since_last": 48.5}
    # a 3-day cadence for A keeps only 06-17 12:00
    tight = Scope(params={"cadence_days": {"A": 3}})
    assert values("customer_followups_in_cadence", AT, scope=tight)[tier_a.pk] == 1.0


# --------------------------------------------------------------------------- quote, lead, invoice


def test_quote_hours_unanswered_treats_a_quote_sent_after_at_as_unanswered(stages):
    owner = rep()
    deal = opportunity(owner, created=local(6, 1))
    waiting = QuoteFactory(opportunity=deal, requested_at=local(6, 17))
    sent_late = QuoteFactory(opportunity=deal, requested_at=local(6, 16, 12), sent_at=local(6, 19))
    QuoteFactory(opportunity=deal, requested_at=local(6, 16), sent_at=local(6, 17))  # answered
    QuoteFactory(opportunity=deal, requested_at=local(6, 18, 13))  # requested after AT
    lost = opportunity(owner, created=local(6, 1))
    QuoteFactory(opportunity=lost, requested_at=local(6, 10))
    enter(lost, "lost", local(6, 15))  # closed deals wait for nothing

    result = rows("quote_hours_unanswered", AT)

    assert {row.entity_id: row.value for row in result} == {
        waiting.pk: 36.0,  # 06-17 00:00 -> 06-18 12:00
        sent_late.pk: 48.0,  # 06-16 12:00 -> 06-18 12:00; sent only on 06-19
    }
    assert {row.context["opportunity_id"] for row in result} == {deal.pk}


def test_lead_hours_without_first_contact_counts_contacts_after_at_as_missing(db):
    owner = rep()
    waiting = lead(owner, assigned_at=local(6, 17, 12))
    contacted_late = lead(owner, assigned_at=local(6, 17), first_contact_at=local(6, 18, 13))
    lead(owner, assigned_at=local(6, 17), first_contact_at=local(6, 17, 9))  # contacted in time
    lead(owner, assigned_at=local(6, 18, 13))  # assigned after AT
    lead(owner, assigned_at=local(6, 10), status="disqualified")
    lead(None, status="new")  # still in the pool

    assert values("lead_hours_without_first_contact", AT) == {
        waiting.pk: 24.0,  # 06-17 12:00 -> 06-18 12:00
        contacted_late.pk: 36.0,  # 06-17 00:00 -> 06-18 12:00; contacted an hour after AT
    }


def test_invoice_days_overdue_counts_whole_days_in_the_local_calendar(db):
    customer = CustomerFactory(owner=rep())
    contract = ContractFactory(opportunity=None, customer=customer)
    unpaid = InvoiceFactory(contract=contract, due_on=dt.date(2025, 6, 10), amount=Decimal("5000"))
    paid_late = InvoiceFactory(contract=contract, due_on=dt.date(2025, 6, 8), paid_at=local(6, 20))
    yesterday = InvoiceFactory(contract=contract, due_on=dt.date(2025, 6, 17))
    InvoiceFactory(contract=contract, due_on=dt.date(2025, 6, 5), paid_at=local(6, 12))
    InvoiceFactory(contract=contract, due_on=dt.date(2025, 6, 18))  # due today: not overdue yet
    # 2025-06-17 20:00 UTC is 06-18 04:00 in Shanghai: the local date is the 18th
    at = dt.datetime(2025, 6, 17, 20, tzinfo=dt.UTC)

    result = {row.entity_id: row for row in rows("invoice_days_overdue", at)}

    assert {pk: row.value for pk, row in result.items()} == {
        unpaid.pk: 8.0,  # 06-10 -> 06-18
        paid_late.pk: 10.0,  # 06-08 -> 06-18; paid only on 06-20
        yesterday.pk: 1.0,  # 06-17 -> 06-18 (a UTC date would say 0 and drop it)
    }
    assert result[unpaid.pk].context == {"amount": 5000.0, "customer_id": customer.pk}


def test_contract_days_to_end_without_renewal_skips_contracts_with_a_renewal_in_hand(stages):
    owner = rep()

    def contract(ends_on: dt.date, **fields):
        fields.setdefault("signed_at", local(9, 18, 12, year=2024))
        fields.setdefault("starts_on", dt.date(2024, 10, 1))
        if "customer" not in fields:
            fields["customer"] = CustomerFactory(owner=owner)
        return ContractFactory(opportunity=None, ends_on=ends_on, **fields)

    quiet = contract(dt.date(2025, 7, 31))
    ActivityFactory(customer=quiet.customer, owner=owner, occurred_at=local(6, 8, 12))
    renewed = contract(dt.date(2025, 8, 31))
    contract(
        dt.date(2026, 8, 31),
        customer=renewed.customer,
        renewal_of=renewed,
        signed_at=local(6, 10),
        starts_on=dt.date(2025, 9, 1),
    )
    renewed_after_at = contract(dt.date(2025, 8, 31))
    contract(
        dt.date(2026, 8, 31),
        customer=renewed_after_at.customer,
        renewal_of=renewed_after_at,
        signed_at=local(6, 20),
        starts_on=dt.date(2025, 9, 1),
    )
    # ends 09-30: the renewal window opens 120 days earlier, on 06-02 00:00 local time
    in_window = contract(dt.date(2025, 9, 30))
    opportunity(owner, created=local(6, 2, 7), customer=in_window.customer)
    before_window = contract(dt.date(2025, 9, 30))
    opportunity(owner, created=local(6, 1, 23), customer=before_window.customer)
    contract(dt.date(2025, 12, 31), status="terminated")
    contract(dt.date(2025, 6, 17))  # already ended

    result = {row.entity_id: row for row in rows("contract_days_to_end_without_renewal", AT)}

    assert {pk: row.value for pk, row in result.items()} == {
        quiet.pk: 43.0,  # 06-18 -> 07-31: 12 + 31
        renewed_after_at.pk: 74.0,  # 06-18 -> 08-31: 12 + 31 + 31; renewal signed after AT
        before_window.pk: 104.0,  # 06-18 -> 09-30: 12 + 31 + 31 + 30; its deal is too old
    }
    assert result[quiet.pk].context["days_since_last_touch"] == 10.0  # 06-08 12:00
    # no follow-up ever: from signing, 2024-09-18 12:00 -> 2025-06-18 12:00
    # = 12 + 31 + 30 + 31 + 31 + 28 + 31 + 30 + 31 + 18 = 273 days
    assert result[renewed_after_at.pk].context["days_since_last_touch"] == 273.0


# --------------------------------------------------------------------------- targets

# Q2 2025 runs from 04-01 to 07-01: 30 + 31 + 30 = 91 days. At 05-16 12:00, 30 + 15.5 = 45.5
# days have gone by: exactly half the quarter.
MID_QUARTER = local(5, 16, 12)


def test_rep_target_attainment_projection_extrapolates_the_quarter_run_rate(stages):
    monthly, quarterly, both, untargeted = rep(), rep(), rep(), rep()
    monthly_targets(monthly, 100_000)  # 300,000 for the quarter
    target(monthly, dt.date(2025, 4, 1), 5, measure="new_customers")  # another measure
    target(monthly, dt.date(2025, 7, 1), 900_000)  # next quarter
    won(monthly, 60_000, local(4, 20))
    won(monthly, 50_000, local(5, 17))  # won after MID_QUARTER
    won(monthly, 40_000, local(3, 30))  # won last quarter
    target(quarterly, dt.date(2025, 4, 1), 200_000, period="quarter")
    won(quarterly, 120_000, local(4, 10))
    # a quarterly target replaces the monthly ones; a yearly one is not a quarter's target
    monthly_targets(both, 50_000)
    target(both, dt.date(2025, 4, 1), 400_000, period="quarter")
    target(both, dt.date(2025, 4, 1), 1_000_000, period="year")
    won(both, 100_000, local(5, 1))
    won(untargeted, 10_000, local(4, 2))

    result = {row.entity_id: row for row in rows("rep_target_attainment_projection", MID_QUARTER)}

    assert {pk: row.value for pk, row in result.items()} == {
        monthly.pk: approx(0.4),  # 60,000 / 300,000 = 0.2 attained; / 0.5 elapsed
        quarterly.pk: approx(1.2),  # 120,000 / 200,000 = 0.6; / 0.5
        both.pk: approx(0.5),  # 100,000 / 400,000 = 0.25; / 0.5
    }
    assert result[monthly.pk].context == approx(
        {"attained": 0.2, "elapsed": 0.5, "target": 300_000.0}
    )


def test_rep_target_attainment_projection_is_unknown_in_the_first_week_of_a_quarter(stages):
    user = rep()
    monthly_targets(user, 100_000)
    won(user, 30_000, local(4, 2))

    [row] = rows("rep_target_attainment_projection", local(4, 5))

    assert row.value is None  # 4 days into the quarter: too early to extrapolate
    assert row.context == approx({"attained": 0.1, "elapsed": 4 / 91, "target": 300_000.0})


def test_rep_pipeline_coverage_divides_open_pipeline_by_the_target_left(stages):
    behind, met, untargeted = rep(), rep(), rep()
    monthly_targets(behind, 100_000)  # 300,000
    won(behind, 60_000, local(4, 20))  # 240,000 left
    opportunity(behind, created=local(4, 1), amount=Decimal(300_000))
    closes_later = opportunity(behind, created=local(4, 1), amount=Decimal(180_000))
    enter(closes_later, "lost", local(5, 20))  # still open at MID_QUARTER
    lost = opportunity(behind, created=local(4, 1), amount=Decimal(100_000))
    enter(lost, "lost", local(5, 1))
    target(met, dt.date(2025, 4, 1), 100_000, period="quarter")
    won(met, 100_000, local(5, 2))
    opportunity(met, created=local(4, 1), amount=Decimal(500_000))
    opportunity(untargeted, created=local(4, 1), amount=Decimal(500_000))

    [row] = rows("rep_pipeline_coverage", MID_QUARTER)

    assert row.entity_id == behind.pk  # met has nothing left to cover; untargeted no target
    assert row.value == 2.0  # (300,000 + 180,000) / 240,000
    assert row.context == {"pipeline": 480_000.0, "remaining": 240_000.0}


# --------------------------------------------------------------------------- team health


def test_team_high_value_touch_density_counts_touches_per_active_a_customer(db):
    region = TeamFactory()
    east, west = TeamFactory(parent=region), TeamFactory()
    first, second, west_rep = rep(east), rep(east), rep(west)
    a1 = CustomerFactory(owner=first, tier="A", created_at=local(5, 1))
    a2 = CustomerFactory(owner=second, tier="A", created_at=local(5, 1))
    churned = CustomerFactory(owner=first, tier="A", lifecycle="churned", created_at=local(5, 1))
    tier_b = CustomerFactory(owner=first, tier="B", created_at=local(5, 1))
    CustomerFactory(owner=west_rep, tier="A", created_at=local(5, 1))
    # window (06-11 12:00, 06-18 12:00]: the first a1 touch is on the open edge, the last after AT
    for customer, moment in [
        (a1, local(6, 11, 12)),
        (a1, local(6, 12)),
        (a1, local(6, 15)),
        (a1, AT),
        (a1, local(6, 19)),
        (a2, local(6, 17)),
        (churned, local(6, 16)),
        (churned, local(6, 16)),
        (tier_b, local(6, 16)),
    ]:
        ActivityFactory(customer=customer, owner=customer.owner, occurred_at=moment)

    assert values("team_high_value_touch_density", AT) == {
        east.pk: 2.0,  # (3 touches with a1 + 1 with a2) / 2 A customers; churned left out
        west.pk: 0.0,  # 0 touches / 1 A customer
    }
    assert set(values("team_high_value_touch_density", AT, scope=Scope(team_ids=(region.pk,)))) == {
        east.pk
    }


def test_team_days_since_activity_logged_uses_logging_time_not_occurrence(db):
    east, west = TeamFactory(), TeamFactory()
    first, second = rep(east), rep(east)
    rep(west)
    # occurred long ago but logged 06-16 12:00: the source was alive then
    ActivityFactory(owner=first, occurred_at=local(6, 1), created_at=local(6, 16, 12))
    ActivityFactory(owner=second, occurred_at=local(6, 17), created_at=local(6, 19))  # after AT

    assert values("team_days_since_activity_logged", AT) == {
        east.pk: 2.0,  # 06-16 12:00 -> 06-18 12:00
        west.pk: 365.0,  # nothing ever logged
    }
