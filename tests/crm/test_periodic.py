"""The periodic jobs: recall, countdown with notice, escalation ladder, all set-based."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from salesradar.accounts.models import Team
from salesradar.crm.choices import AssignmentKind, LadderAction, LeadSource, LeadStatus
from salesradar.crm.models import Assignment, Lead, SourcePolicy, TierPolicy
from salesradar.crm.periodic import expire_ownership, recall_overdue_leads, run_ladder
from salesradar.crm.pool import claim, record_lead_contact, tier_policies
from salesradar.notify.models import Delivery
from tests.crm.factories import LeadFactory, routing_rule
from tests.factories import ActivityFactory, CustomerFactory, UserFactory, days_after_creation

pytestmark = pytest.mark.django_db
AT = days_after_creation(30)


def team_with_reps(count: int):  # type: ignore[no-untyped-def]
    manager = UserFactory(role="manager")
    team = Team.objects.create(code=f"t{manager.pk}", name="East", manager=manager)
    reps = [UserFactory(team=team) for _ in range(count)]
    return manager, reps


def inbox_of(user) -> list[str]:  # type: ignore[no-untyped-def]
    return list(Delivery.objects.filter(recipient=user).values_list("payload__subject", flat=True))


def test_lead_not_contacted_in_24h_is_recalled_rerouted_and_rep_and_manager_told():
    manager, (lapsed, other) = team_with_reps(2)
    routing_rule("Team", [lapsed, other])
    lead = LeadFactory()
    claim(lead, by=lapsed, at=AT)

    assert recall_overdue_leads(at=AT + dt.timedelta(hours=23)) == 0
    assert recall_overdue_leads(at=AT + dt.timedelta(hours=24, minutes=1)) == 1

    lead.refresh_from_db()
    assert (lead.owner, lead.previous_owner, lead.recycle_count) == (other, lapsed, 1)
    kinds = list(Assignment.objects.filter(lead=lead).order_by("pk").values_list("kind", flat=True))
    assert kinds == [AssignmentKind.CLAIMED, AssignmentKind.RECALLED, AssignmentKind.ROUTED]
    assert any(lead.code in subject for subject in inbox_of(lapsed))
    assert any(lead.code in subject for subject in inbox_of(manager))


def test_contacted_lead_is_not_recalled_and_per_source_deadline_applies():
    SourcePolicy.objects.create(source=LeadSource.REFERRAL, response_hours=2)
    rep = UserFactory()
    contacted, referral = LeadFactory(), LeadFactory(source=LeadSource.REFERRAL)
    claim(contacted, by=rep, at=AT)
    claim(referral, by=rep, at=AT)
    record_lead_contact(contacted, at=AT + dt.timedelta(hours=1))

    recalled = recall_overdue_leads(at=AT + dt.timedelta(hours=3))

    assert recalled == 1
    referral.refresh_from_db()
    assert (referral.owner, referral.status) == (None, LeadStatus.RECYCLED)


def test_owned_lead_returns_to_its_pool_when_the_tier_countdown_runs_out_after_a_notice():
    TierPolicy.objects.create(tier="C", ownership_days=10)
    assert tier_policies()["C"].ownership_days == 10
    rep = UserFactory()
    lead = LeadFactory(tier="C")
    claim(lead, by=rep, at=AT)
    record_lead_contact(lead, at=AT + dt.timedelta(hours=1))

    early = expire_ownership(at=AT + dt.timedelta(days=6))
    notice = expire_ownership(at=AT + dt.timedelta(days=8))
    again = expire_ownership(at=AT + dt.timedelta(days=9))
    end = expire_ownership(at=AT + dt.timedelta(days=10, hours=2))

    assert (early["notices"], notice["notices"], again["notices"]) == (0, 1, 0)
    assert end["leads_expired"] == 1
    lead.refresh_from_db()
    assert (lead.owner, lead.pool_id, lead.previous_owner) == (None, lead.pool_id, rep)
    assert Assignment.objects.filter(lead=lead, kind=AssignmentKind.EXPIRED).count() == 1


def test_a_real_follow_up_restarts_a_pool_customers_countdown(default_process):
    TierPolicy.objects.create(tier="B", ownership_days=10, cadence_days=14)
    rep = UserFactory()
    customer = CustomerFactory(owner=None, tier="B")
    claim(customer, by=rep, at=AT)
    ActivityFactory(
        customer=customer, owner=rep, occurred_at=AT + dt.timedelta(days=8), kind="visit"
    )

    kept = expire_ownership(at=AT + dt.timedelta(days=12))
    gone = expire_ownership(at=AT + dt.timedelta(days=18, hours=1))

    assert (kept["customers_expired"], gone["customers_expired"]) == (0, 1)
    customer.refresh_from_db()
    assert (customer.owner, customer.previous_owner) == (None, rep)


def test_escalation_ladder_reminds_owner_then_copies_manager_then_recalls():
    TierPolicy.objects.create(
        tier="B",
        cadence_days=14,
        ownership_days=90,
        remind_owner_day=3,
        copy_manager_day=5,
        high_risk_day=7,
        ladder_action=LadderAction.RECALL,
    )
    manager, (rep,) = team_with_reps(1)
    lead = LeadFactory(tier="B")
    claim(lead, by=rep, at=AT)
    record_lead_contact(lead, at=AT)
    stale = AT + dt.timedelta(days=14)

    day2 = run_ladder(at=stale + dt.timedelta(days=2))
    day3 = run_ladder(at=stale + dt.timedelta(days=3))
    day5 = run_ladder(at=stale + dt.timedelta(days=5))
    manager_subjects = inbox_of(manager)
    day7 = run_ladder(at=stale + dt.timedelta(days=7))

    assert (day2.reminded, day3.reminded, day5.manager_copied, day7.high_risk) == (0, 1, 1, 1)
    assert len(manager_subjects) == 1
    lead.refresh_from_db()
    assert (lead.owner, lead.high_risk, lead.status) == (None, True, LeadStatus.RECYCLED)
    assert Assignment.objects.filter(lead=lead, kind=AssignmentKind.ESCALATED).exists()


def test_ladder_reassigns_when_configured_and_a_follow_up_resets_it():
    TierPolicy.objects.create(tier="A", cadence_days=7, ladder_action=LadderAction.REASSIGN)
    first, second = UserFactory(), UserFactory()
    routing_rule("Pair", [first, second])
    stale_lead, fresh_lead = LeadFactory(tier="A"), LeadFactory(tier="A")
    for lead in (stale_lead, fresh_lead):
        claim(lead, by=first, at=AT)
        record_lead_contact(lead, at=AT)
    run_ladder(at=AT + dt.timedelta(days=10))
    record_lead_contact(fresh_lead, at=AT + dt.timedelta(days=11))
    run_ladder(at=AT + dt.timedelta(days=12))

    result = run_ladder(at=AT + dt.timedelta(days=14, hours=1))

    stale_lead.refresh_from_db()
    fresh_lead.refresh_from_db()
    assert result.reassigned == 1
    assert (stale_lead.owner, stale_lead.high_risk) == (second, False)
    assert (fresh_lead.owner, fresh_lead.ladder_step) == (first, 0)


def test_leads_run_command_runs_every_job(capsys):
    lead = LeadFactory()
    claim(lead, by=UserFactory(), at=AT)

    call_command("leads", "run", "--at", (AT + dt.timedelta(days=2)).isoformat())

    out = capsys.readouterr().out
    assert '"recalled": 1' in out
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_leads_loaded_with_an_owner_outside_the_pool_are_not_swept_back_by_the_countdown():
    TierPolicy.objects.create(tier="C", ownership_days=10)
    rep = UserFactory()
    loaded = LeadFactory(
        owner=rep, status=LeadStatus.ASSIGNED, assigned_at=days_after_creation(0), tier="C"
    )

    result = expire_ownership(at=AT + dt.timedelta(days=100))

    loaded.refresh_from_db()
    assert (result["leads_expired"], loaded.owner) == (0, rep)
