"""One alert per problem: the live alerts of a concern about one entity read as one group.

The organisation of ``test_engine``: one rep whose deal waits for a quote requested on
2 June 2025 and whose deal was last updated long before. The quote rule and the stale-deal
rule belong to one "deal at risk" concern.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesradar.alerts.grouping import overshoot, priority_of
from salesradar.alerts.models import Alert, AlertGroup
from salesradar.alerts.rules import RulePackError, parse_rule_pack
from salesradar.pipeline.models import Opportunity
from tests.alerts.test_engine import Org, build_org, hours, run
from tests.alerts.test_rules import pack
from tests.factories import ActivityFactory, OpportunityFactory, QuoteFactory

QUOTE_RULE = """
- id: quote-slow
  metric: quote_hours_unanswered
  condition: {kind: threshold, op: ">=", warning: 48, danger: 96}
"""
STALE_RULE = """
- id: deal-stale
  metric: opportunity_hours_since_update
  condition: {kind: threshold, op: ">=", warning: 48, danger: 2000}
"""
DEAL_AT_RISK = """
concerns:
  - id: deal-at-risk
    name: {en: Deal at risk, zh-hans: 商机有风险}
    entity: opportunity
    rules: [quote-slow, deal-stale]
"""


def load_grouped(*extra: str) -> dict[str, object]:
    from salesradar.alerts.models import Rule
    from salesradar.alerts.rules import load_rule_pack

    load_rule_pack(parse_rule_pack(pack(QUOTE_RULE, STALE_RULE, *extra) + DEAL_AT_RISK))
    return {rule.key: rule for rule in Rule.objects.all()}


@pytest.fixture
def org(db: None) -> Org:
    return build_org()


@pytest.mark.django_db
def test_a_stale_deal_waiting_for_a_quote_is_one_deal_at_risk_alert_listing_both_reasons(
    org: Org,
) -> None:
    rules = load_grouped()

    run(rules, hours(50))

    group = AlertGroup.objects.open().get()
    deal = org.quote.opportunity
    assert (group.entity_type, group.entity_id, group.concern.key) == (
        "opportunity",
        deal.pk,
        "deal-at-risk",
    )
    assert sorted(reason["rule"] for reason in group.reasons) == ["deal-stale", "quote-slow"]
    assert set(Alert.objects.values_list("group_id", flat=True)) == {group.pk}
    assert group.owner == org.rep and group.since == min(
        alert.condition_since for alert in Alert.objects.all()
    )


@pytest.mark.django_db
def test_the_group_keeps_its_remaining_reason_and_resolves_with_the_last(org: Org) -> None:
    rules = load_grouped()
    run(rules, hours(50))
    opened = AlertGroup.objects.get()
    ActivityFactory(opportunity=org.quote.opportunity, occurred_at=hours(51), created_at=hours(51))

    run(rules, hours(52))

    group = AlertGroup.objects.open().get()
    assert group.pk == opened.pk
    assert [reason["rule"] for reason in group.reasons] == ["quote-slow"]
    org.quote.sent_at = hours(53)
    org.quote.save()

    run(rules, hours(54))

    assert not AlertGroup.objects.open().exists()
    assert AlertGroup.objects.get().resolved_at == hours(54)


@pytest.mark.django_db
def test_a_rule_outside_every_concern_is_a_problem_of_its_own(org: Org) -> None:
    rules = load_grouped(
        """
        - id: quote-very-slow
          metric: quote_hours_unanswered
          condition: {kind: threshold, op: ">=", warning: 49}
        """
    )

    run(rules, hours(50))

    alone = AlertGroup.objects.get(rule__key="quote-very-slow")
    assert (alone.entity_type, alone.entity_id, alone.concern) == ("quote", org.quote.pk, None)
    assert AlertGroup.objects.open().count() == 2


@pytest.mark.django_db
def test_a_bigger_deal_further_past_its_threshold_ranks_higher(org: Org) -> None:
    rules = load_grouped()
    small = org.quote.opportunity
    Opportunity.objects.filter(pk=small.pk).update(amount=Decimal("10000"))
    big = OpportunityFactory(owner=org.rep, customer=small.customer, amount=Decimal("900000"))
    QuoteFactory(opportunity=big, requested_at=hours(-60))

    run(rules, hours(50))

    ranked = list(AlertGroup.objects.open().order_by("-priority"))
    assert [group.entity_id for group in ranked] == [big.pk, small.pk]
    assert ranked[0].severity == "danger" and ranked[0].amount == Decimal("900000")


def test_overshoot_is_how_far_past_the_threshold_in_either_direction_capped() -> None:
    assert overshoot(96, 48, ">=") == 2
    assert overshoot(0.25, 0.5, "<") == 2
    assert overshoot(10_000, 48, ">") == 4
    assert overshoot(40, 48, ">=") == 1
    assert overshoot(5, None, ">=") == 1


def test_priority_weighs_severity_stake_and_breadth() -> None:
    warning = priority_of("warning", 1.0, None, 1)
    assert priority_of("danger", 1.0, None, 1) == 3 * warning
    assert priority_of("warning", 1.0, Decimal("90000"), 1) == pytest.approx(2 * warning)
    assert priority_of("warning", 1.0, None, 3) == pytest.approx(1.5 * warning)


# --- Concerns in the rule pack are validated like the rest --------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("concerns", "message"),
    [
        (
            "  - {id: deal-at-risk, entity: opportunity, rules: [quote-slow, nowhere]}",
            "concern deal-at-risk.rules: no rule 'nowhere' in this pack",
        ),
        (
            "  - {id: a, entity: opportunity, rules: [quote-slow]}\n"
            "  - {id: b, entity: opportunity, rules: [quote-slow]}",
            "rule 'quote-slow' already belongs to concern 'a'",
        ),
        (
            "  - {id: about-customers, entity: lead, rules: [quote-slow]}",
            "rule 'quote-slow' is about a quote, which is not part of a lead",
        ),
        (
            "  - {id: deal-at-risk, entity: planet, rules: [quote-slow]}",
            "concern deal-at-risk.entity: one of opportunity",
        ),
        (
            "  - {id: deal-at-risk, entity: opportunity, rules: [quote-slow], colour: red}",
            "concern deal-at-risk.colour: unknown field",
        ),
    ],
)
def test_a_faulty_concern_refuses_the_pack_naming_the_concern_and_field(
    concerns: str, message: str
) -> None:
    with pytest.raises(RulePackError) as caught:
        parse_rule_pack(
            pack(QUOTE_RULE, STALE_RULE) + "concerns:\n" + concerns + "\n", source="team.yaml"
        )

    assert message in str(caught.value)
    assert "team.yaml" in str(caught.value)


# --- The board and bulk actions -------------------------------------------------------------


@pytest.mark.django_db
def test_board_shows_each_reps_top_problems_and_piles_the_rest_by_concern(org: Org) -> None:
    from salesradar.alerts.board import problem_board

    rules = load_grouped()
    for _index in range(4):
        deal = OpportunityFactory(owner=org.rep, customer=org.quote.opportunity.customer)
        QuoteFactory(opportunity=deal, requested_at=hours(0))
    run(rules, hours(50))

    board = problem_board(AlertGroup.objects.open().select_related("concern", "rule"), top=3)

    assert board.total == 5
    assert len(board.top[org.rep.pk]) == 3
    priorities = [group.priority for group in board.top[org.rep.pk]]
    assert priorities == sorted(priorities, reverse=True)
    (pile,) = board.piles
    assert (pile.key, pile.count, len(pile.group_ids)) == ("deal-at-risk", 2, 2)


@pytest.mark.django_db
def test_bulk_acknowledge_and_snooze_go_through_the_lifecycle_for_every_member(org: Org) -> None:
    from salesradar.alerts.board import acknowledge_groups, snooze_groups
    from salesradar.alerts.choices import AlertState, EventKind
    from salesradar.alerts.models import AlertEvent

    rules = load_grouped()
    other = OpportunityFactory(owner=org.rep, customer=org.quote.opportunity.customer)
    QuoteFactory(opportunity=other, requested_at=hours(0))
    run(rules, hours(50))
    first, second = AlertGroup.objects.open().order_by("entity_id")

    acknowledged = acknowledge_groups([first], by=org.rep, note="on it", at=hours(51))
    snoozed = snooze_groups([second], by=org.rep, until=hours(90), at=hours(51))

    assert (acknowledged.done, snoozed.done) == (2, 2)
    assert set(first.members.values_list("state", flat=True)) == {AlertState.ACKNOWLEDGED}
    assert set(second.members.values_list("state", flat=True)) == {AlertState.SNOOZED}
    kinds = AlertEvent.objects.filter(at=hours(51)).values_list("kind", flat=True)
    assert sorted(kinds) == [EventKind.ACKNOWLEDGED] * 2 + [EventKind.SNOOZED] * 2
    again = acknowledge_groups([first], by=org.rep, at=hours(52))
    assert (again.done, again.refused) == (0, [])


@pytest.mark.django_db
def test_bulk_assign_gives_one_task_per_problem_on_its_worst_alert(org: Org) -> None:
    from salesradar.web.alert_actions import assign_groups

    rules = load_grouped()
    run(rules, hours(50))
    group = AlertGroup.objects.open().get()

    tasks = assign_groups(
        [group], assignee=org.colleague, due_at=hours(60), by=org.rep, at=hours(51)
    )

    (task,) = tasks
    assert task.assignee == org.colleague
    assert task.opportunity_id == org.quote.opportunity_id
    assert int(task.origin_ref) in set(group.members.values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_problem_back_within_two_weeks_reopens_its_group_instead_of_a_new_one(org: Org) -> None:
    rules = load_grouped()
    run(rules, hours(50))
    opened = AlertGroup.objects.get()
    org.quote.sent_at = hours(51)
    org.quote.save()
    ActivityFactory(opportunity=org.quote.opportunity, occurred_at=hours(51), created_at=hours(51))
    run(rules, hours(52))
    assert not AlertGroup.objects.open().exists()
    QuoteFactory(opportunity=org.quote.opportunity, requested_at=hours(60))

    run(rules, hours(110))

    group = AlertGroup.objects.get()
    assert (group.pk, group.opened_at, group.resolved_at) == (opened.pk, hours(50), None)
    assert [reason["rule"] for reason in group.reasons] == ["deal-stale", "quote-slow"]
