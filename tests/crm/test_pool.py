"""Claiming from the pool: limits, the re-claim interval, releasing, and one winner under a race."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import translation

from salesradar.crm.choices import AssignmentKind, LeadStatus
from salesradar.crm.models import Assignment, Lead
from salesradar.crm.pool import (
    PoolRefusal,
    assign,
    claim,
    default_pool,
    record_lead_contact,
    release,
)
from tests.crm.factories import LeadFactory
from tests.factories import CustomerFactory, UserFactory, days_after_creation

AT = days_after_creation(30)


@pytest.mark.django_db
def test_rep_claims_an_ownerless_lead_and_the_claim_is_recorded():
    rep, lead = UserFactory(), LeadFactory()

    claim(lead, by=rep, at=AT)

    assert (lead.owner, lead.status, lead.assigned_at) == (rep, LeadStatus.ASSIGNED, AT)
    assert lead.response_due_at == AT + dt.timedelta(hours=24)
    assert Assignment.objects.get(lead=lead).kind == AssignmentKind.CLAIMED


@pytest.mark.django_db
def test_claim_over_the_open_lead_limit_is_refused_and_changes_nothing():
    pool = default_pool()
    pool.max_open_per_rep = 1
    pool.save()
    rep = UserFactory()
    claim(LeadFactory(), by=rep, at=AT)
    second = LeadFactory()

    with pytest.raises(PoolRefusal, match="limit of pool"):
        claim(second, by=rep, at=AT)

    second.refresh_from_db()
    assert second.owner is None
    assert Assignment.objects.filter(lead=second).count() == 0


@pytest.mark.django_db
def test_claims_per_day_are_limited_and_the_limit_resets_the_next_day():
    pool = default_pool()
    pool.claims_per_day = 1
    pool.save()
    rep = UserFactory()
    claim(LeadFactory(), by=rep, at=AT)

    with pytest.raises(PoolRefusal, match="allows 1 a day"):
        claim(LeadFactory(), by=rep, at=AT + dt.timedelta(hours=1))
    claim(LeadFactory(), by=rep, at=AT + dt.timedelta(days=1))

    assert Lead.objects.filter(owner=rep).count() == 2


@pytest.mark.django_db
def test_previous_owner_must_wait_before_claiming_a_released_lead_back():
    rep, lead = UserFactory(), LeadFactory()
    claim(lead, by=rep, at=AT)
    release(lead, by=rep, at=AT + dt.timedelta(hours=1))

    with pytest.raises(PoolRefusal, match="may claim it again from"):
        claim(lead, by=rep, at=AT + dt.timedelta(days=2))
    claim(lead, by=UserFactory(), at=AT + dt.timedelta(days=2))

    assert lead.owner != rep


@pytest.mark.django_db
def test_deactivated_rep_cannot_claim_or_be_assigned():
    rep = UserFactory(is_active=False)

    with pytest.raises(PoolRefusal, match="deactivated"):
        claim(LeadFactory(), by=rep, at=AT)
    with pytest.raises(PoolRefusal, match="deactivated"):
        assign(LeadFactory(), to=rep, by=None, at=AT)


@pytest.mark.django_db
def test_a_rep_can_claim_a_pool_customer_which_starts_its_countdown():
    rep = UserFactory()
    customer = CustomerFactory(owner=None)

    claim(customer, by=rep, at=AT)

    assert (customer.owner, customer.owned_since) == (rep, AT)


@pytest.mark.django_db
def test_claiming_an_owned_lead_names_its_owner():
    owner = UserFactory(first_name="伟", last_name="张")
    lead = LeadFactory()
    claim(lead, by=owner, at=AT)

    with pytest.raises(PoolRefusal, match="张伟"):
        claim(lead, by=UserFactory(), at=AT)


@pytest.mark.django_db
def test_first_contact_stops_the_response_clock_and_later_ones_move_the_countdown():
    lead = LeadFactory()
    claim(lead, by=UserFactory(), at=AT)

    record_lead_contact(lead, at=AT + dt.timedelta(hours=2))
    record_lead_contact(lead, at=AT + dt.timedelta(days=3))

    assert lead.first_contact_at == AT + dt.timedelta(hours=2)
    assert lead.last_followup_at == AT + dt.timedelta(days=3)
    assert lead.status == LeadStatus.CONTACTED


@pytest.mark.django_db(transaction=True)
def test_two_reps_claiming_one_lead_at_once_exactly_one_wins():
    """Two threads, two real database connections, released together at a barrier."""
    lead = LeadFactory()
    reps = [UserFactory(), UserFactory()]
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def attempt(rep):  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):  # a new thread starts in the default language
                claim(Lead.objects.get(pk=lead.pk), by=rep, at=AT)
            outcomes[rep.pk] = "won"
        except PoolRefusal as refusal:
            outcomes[rep.pk] = f"refused: {refusal.messages[0]}"
        except Exception as error:  # SQLite may report its write lock instead
            outcomes[rep.pk] = f"error: {error}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(rep,)) for rep in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    lead.refresh_from_db()
    winners = [pk for pk, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    assert lead.owner_id == winners[0]
    assert Assignment.objects.filter(lead=lead, kind=AssignmentKind.CLAIMED).count() == 1
    loser = next(outcome for pk, outcome in outcomes.items() if pk != winners[0])
    if connection.vendor == "postgresql":
        assert loser.startswith("refused:")
        assert "claimed by" in loser or "owned by" in loser


@pytest.mark.django_db
def test_countdown_shows_when_an_owned_lead_expires_and_turns_red_under_three_days():
    from salesradar.crm.models import TierPolicy
    from salesradar.crm.pool import with_countdown

    TierPolicy.objects.create(tier="C", ownership_days=10)
    safe, urgent = LeadFactory(tier="C"), LeadFactory(tier="C")
    rep = UserFactory()
    claim(safe, by=rep, at=AT)
    claim(urgent, by=rep, at=AT)
    record_lead_contact(safe, at=AT + dt.timedelta(days=5))

    rows = {
        lead.pk: (lead.expires_at, lead.red)
        for lead in with_countdown(Lead.objects.all(), at=AT + dt.timedelta(days=8))
    }

    assert rows[safe.pk] == (AT + dt.timedelta(days=15), False)
    assert rows[urgent.pk] == (AT + dt.timedelta(days=10), True)


@pytest.mark.django_db
def test_due_for_followup_lists_customers_past_their_tier_cadence(default_process):
    from salesradar.crm.pool import due_for_followup
    from tests.factories import ActivityFactory

    rep = UserFactory()
    fresh = CustomerFactory(owner=rep, tier="B")
    stale = CustomerFactory(owner=rep, tier="B")
    ActivityFactory(customer=fresh, owner=rep, occurred_at=AT - dt.timedelta(days=3))
    ActivityFactory(customer=stale, owner=rep, occurred_at=AT - dt.timedelta(days=20))

    assert [due.customer for due in due_for_followup(rep, at=AT)] == [stale]


@pytest.mark.django_db
def test_manual_assignment_records_who_did_it_and_the_previous_owner():
    ops, first, second = UserFactory(role="ops"), UserFactory(), UserFactory()
    lead = LeadFactory()
    claim(lead, by=first, at=AT)

    assign(lead, to=second, by=ops, at=AT + dt.timedelta(hours=1), note="vacation cover")

    last = Assignment.objects.filter(lead=lead).latest("pk")
    assert (lead.owner, last.kind, last.by, last.previous_owner) == (
        second,
        AssignmentKind.MANUAL,
        ops,
        first,
    )


@pytest.mark.django_db
def test_rep_sees_own_leads_and_the_claimable_pool_but_not_a_colleagues_leads():
    from salesradar.crm.pool import leads_for

    rep, colleague, ops = UserFactory(), UserFactory(), UserFactory(role="ops")
    pooled, mine, theirs = LeadFactory(), LeadFactory(), LeadFactory()
    claim(mine, by=rep, at=AT)
    claim(theirs, by=colleague, at=AT)

    assert set(leads_for(rep)) == {pooled, mine}
    assert set(leads_for(ops)) == {pooled, mine, theirs}
