"""Routing rules: first match assigns, round-robin and load balance, capacity, absences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from salesradar.crm.choices import AssignmentKind, LeadStatus, RoutingStrategy
from salesradar.crm.models import Assignment, Lead, OutOfOffice
from salesradar.crm.routing import route_leads, save_routing_rule, unrouted_count
from tests.crm.factories import LeadFactory, routing_rule
from tests.factories import UserFactory, days_after_creation

pytestmark = pytest.mark.django_db
AT = days_after_creation(30)


def owners(leads: list[Lead]) -> list[int | None]:
    return [Lead.objects.get(pk=lead.pk).owner_id for lead in leads]


def test_first_matching_rule_assigns_and_unmatched_leads_stay_in_the_pool_counted():
    east, any_web = UserFactory(), UserFactory()
    first = routing_rule("Shanghai", [east], order=1, regions=["上海"])
    routing_rule("Web", [any_web], order=2, sources=["web_form"])
    shanghai = LeadFactory(region="上海", source="web_form")
    beijing_web = LeadFactory(region="北京", source="web_form")
    beijing_fair = LeadFactory(region="北京", source="exhibition")

    result = route_leads(at=AT)

    assert owners([shanghai, beijing_web, beijing_fair]) == [east.pk, any_web.pk, None]
    assert (result.assigned, result.unrouted) == (2, 1)
    assert unrouted_count() == 1
    assert Assignment.objects.get(lead=shanghai).rule == first


def test_round_robin_takes_turns_and_remembers_its_place_between_runs():
    reps = [UserFactory(), UserFactory(), UserFactory()]
    routing_rule("All", reps)
    first = [LeadFactory() for _ in range(4)]
    route_leads(at=AT)
    second = [LeadFactory() for _ in range(2)]
    route_leads(at=AT)

    assert owners(first + second) == [r.pk for r in reps] + [reps[0].pk, reps[1].pk, reps[2].pk]


def test_load_balanced_rule_gives_the_lead_to_the_rep_with_fewest_open_leads():
    busy, idle = UserFactory(), UserFactory()
    for _ in range(3):
        LeadFactory(owner=busy, status=LeadStatus.ASSIGNED, assigned_at=AT)
    routing_rule("Balanced", [busy, idle], strategy=RoutingStrategy.LOAD_BALANCED)
    leads = [LeadFactory() for _ in range(4)]

    route_leads(at=AT)

    assert owners(leads) == [idle.pk, idle.pk, idle.pk, busy.pk]


def test_capacity_cap_and_out_of_office_are_skipped_and_the_next_rule_is_tried():
    full, away, fallback = UserFactory(), UserFactory(), UserFactory()
    LeadFactory(owner=full, status=LeadStatus.ASSIGNED, assigned_at=AT)
    OutOfOffice.objects.create(
        user=away, starts_at=AT - dt.timedelta(days=1), ends_at=AT + dt.timedelta(days=1)
    )
    routing_rule("Capped", [full, away], order=1, capacity=1)
    fallback_rule = routing_rule("Fallback", [fallback], order=2)
    lead = LeadFactory()

    route_leads(at=AT)

    assert owners([lead]) == [fallback.pk]
    assert Assignment.objects.get(lead=lead).rule == fallback_rule


def test_recalled_lead_is_not_routed_back_to_the_rep_who_let_it_lapse():
    lapsed, other = UserFactory(), UserFactory()
    routing_rule("Pair", [lapsed, other])
    lead = LeadFactory(status=LeadStatus.RECYCLED)

    route_leads([lead.pk], at=AT, exclude={lead.pk: lapsed.pk})

    assert owners([lead]) == [other.pk]
    assert Assignment.objects.get(lead=lead, kind=AssignmentKind.ROUTED).previous_owner == lapsed


def test_rule_pointing_at_a_deactivated_rep_or_unknown_region_is_refused():
    gone = UserFactory(is_active=False, first_name="明", last_name="李")

    with pytest.raises(ValidationError) as caught:
        save_routing_rule(name="Bad", members=[gone], regions=["火星"], sources=["pigeon"])

    errors = caught.value.message_dict
    assert "李明" in errors["members"][0]
    assert "火星" in errors["regions"][0]
    assert "pigeon" in errors["sources"][0]


def test_routing_many_leads_uses_a_fixed_number_of_queries(django_assert_max_num_queries):
    routing_rule("All", [UserFactory(), UserFactory()])
    Lead.objects.bulk_create(
        [
            Lead(code=f"B{n}", company_name=f"批量{n}", source="import", created_at=AT)
            for n in range(300)
        ]
    )

    with django_assert_max_num_queries(20):
        result = route_leads(at=AT)

    assert result.assigned == 300


def test_a_lead_that_expired_from_a_rep_is_not_routed_back_to_that_rep():
    lost, other = UserFactory(), UserFactory()
    routing_rule("Pair", [lost, other])
    lead = LeadFactory(status=LeadStatus.RECYCLED, previous_owner=lost)

    route_leads(at=AT)

    assert owners([lead]) == [other.pk]
