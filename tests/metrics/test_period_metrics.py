"""Per-period metrics: one row per entity and complete period before ``at``, oldest first.

Weeks start on Monday and months on the 1st, both at midnight in Asia/Shanghai, so an event at
00:30 local time (16:30 UTC the day before) belongs to the local day's period.
``WEEK_AT`` is Wednesday 2025-06-18 12:00: with periods=3 the weeks of 05-26, 06-02 and 06-09
count and the running week of 06-16 does not. ``MONTH_AT`` is 2025-07-10 12:00: with periods=2
May and June count and July does not.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pytest import approx

from salesradar.metrics.registry import Scope
from tests.factories import (
    ActivityFactory,
    ContractFactory,
    CustomerFactory,
    OpportunityFactory,
    QuoteFactory,
    TeamFactory,
)
from tests.metrics import enter, lead, local, opportunity, rep, rows, series

pytestmark = pytest.mark.django_db

WEEK_AT = local(6, 18, 12)
WEEKS = [dt.date(2025, 5, 26), dt.date(2025, 6, 2), dt.date(2025, 6, 9)]
MONTH_AT = local(7, 10, 12)
MAY, JUNE = dt.date(2025, 5, 1), dt.date(2025, 6, 1)


@pytest.fixture
def org(db):
    """East (under region) has two reps, west one; region itself has none."""
    region = TeamFactory()
    east, west = TeamFactory(parent=region), TeamFactory()
    return {
        "region": region,
        "east": east,
        "west": west,
        "first": rep(east),
        "second": rep(east),
        "third": rep(west),
    }


def periods(starts: list[dt.date], values: list) -> list[tuple[dt.date, object]]:
    return list(zip(starts, values, strict=True))


# --------------------------------------------------------------------------- counts


def test_followups_count_per_local_week_with_zero_for_quiet_weeks(org):
    first, second = org["first"], org["second"]
    for moment in (
        local(6, 9, 0, 30),  # Monday 00:30 local, still Sunday in UTC: week of 06-09
        local(6, 15, 23, 30),  # Sunday night: week of 06-09
        local(6, 16, 9),  # the running week: not complete yet
        local(6, 2, 10),  # week of 06-02
        local(5, 25, 23),  # week of 05-19: older than the three weeks asked for
    ):
        ActivityFactory(owner=first, occurred_at=moment)
    ActivityFactory(owner=second, occurred_at=local(6, 3))
    rep(org["east"], date_joined=local(6, 19))  # joined after WEEK_AT: no row
    rep(org["east"], is_active=False)  # inactive: no row

    by_rep = series("rep_followups", WEEK_AT, periods=3)
    by_team = series("team_followups", WEEK_AT, periods=3)

    assert by_rep == {
        first.pk: periods(WEEKS, [0.0, 1.0, 2.0]),
        second.pk: periods(WEEKS, [0.0, 1.0, 0.0]),
        org["third"].pk: periods(WEEKS, [0.0, 0.0, 0.0]),
    }
    assert by_team == {
        org["east"].pk: periods(WEEKS, [0.0, 2.0, 2.0]),  # first + second
        org["west"].pk: periods(WEEKS, [0.0, 0.0, 0.0]),
    }


def test_followups_rows_name_the_rep_and_team(org):
    only_first = Scope(owner_ids=(org["first"].pk,))

    [row] = rows("rep_followups", WEEK_AT, periods=1, scope=only_first)

    assert (row.period, row.value) == (dt.date(2025, 6, 9), 0.0)  # periods=1: the last week
    assert (row.entity_id, row.owner_id, row.team_id) == (
        org["first"].pk,
        org["first"].pk,
        org["east"].pk,
    )


def test_new_customers_count_per_local_month_within_scope(org):
    first, second = org["first"], org["second"]
    for created in (
        local(6, 1, 0, 30),  # 00:30 on the 1st local, still May 31 in UTC: June
        local(6, 20),  # June
        local(5, 31, 23, 30),  # May
        local(7, 1, 9),  # July is still running
        local(4, 30),  # before the two months asked for
    ):
        CustomerFactory(owner=first, created_at=created)
    CustomerFactory(owner=second, created_at=local(6, 15))

    def by_month(key: str, scope: Scope | None = None) -> dict:
        return series(key, MONTH_AT, period="month", periods=2, scope=scope or Scope())

    assert by_month("rep_new_customers") == {
        first.pk: periods([MAY, JUNE], [1.0, 2.0]),
        second.pk: periods([MAY, JUNE], [0.0, 1.0]),
        org["third"].pk: periods([MAY, JUNE], [0.0, 0.0]),
    }
    assert by_month("team_new_customers") == {
        org["east"].pk: periods([MAY, JUNE], [1.0, 3.0]),
        org["west"].pk: periods([MAY, JUNE], [0.0, 0.0]),
    }
    assert set(by_month("team_new_customers", Scope(team_ids=(org["region"].pk,)))) == {
        org["east"].pk
    }
    assert set(by_month("rep_new_customers", Scope(owner_ids=(second.pk,)))) == {second.pk}


def test_new_pipeline_sums_the_amount_created_per_week(org):
    first, second = org["first"], org["second"]
    for created, amount in [
        (local(6, 10), 100_000),
        (local(6, 12), 50_000),
        (local(6, 16), 200_000),  # the running week
        (local(6, 2), 30_000),  # Monday 00:00 local: week of 06-02
    ]:
        OpportunityFactory(owner=first, created_at=created, amount=Decimal(amount))
    OpportunityFactory(owner=second, created_at=local(6, 9), amount=Decimal(20_000))
    last_two = WEEKS[1:]

    assert series("rep_new_pipeline", WEEK_AT, periods=2) == {
        first.pk: periods(last_two, [30_000.0, 150_000.0]),  # 100,000 + 50,000
        second.pk: periods(last_two, [0.0, 20_000.0]),
        org["third"].pk: periods(last_two, [0.0, 0.0]),
    }
    assert series("team_new_pipeline", WEEK_AT, periods=2) == {
        org["east"].pk: periods(last_two, [30_000.0, 170_000.0]),
        org["west"].pk: periods(last_two, [0.0, 0.0]),
    }


# --------------------------------------------------------------------------- stage moves


@pytest.fixture
def stage_moves(org, stages):
    """Stage histories, every deal created 05-01:

    deal 1 (first):  initial -> proposal 05-20 -> negotiation 06-05 -> won 06-20
    deal 2 (first):  initial -> proposal 05-21 -> lost 06-10
    deal 3 (second): initial -> proposal 05-22 -> needs_confirmed 06-12 (backwards)
    deal 4 (second): initial -> proposal 06-01 00:30 local (May in UTC) -> negotiation 07-02
    """
    first, second = org["first"], org["second"]
    plans = [
        (first, [("proposal", local(5, 20)), ("negotiation", local(6, 5)), ("won", local(6, 20))]),
        (first, [("proposal", local(5, 21)), ("lost", local(6, 10))]),
        (second, [("proposal", local(5, 22)), ("needs_confirmed", local(6, 12))]),
        (second, [("proposal", local(6, 1, 0, 30)), ("negotiation", local(7, 2))]),
    ]
    for owner, moves in plans:
        deal = opportunity(owner, created=local(5, 1))
        for stage_key, moment in moves:
            enter(deal, stage_key, moment)
    return org


def monthly(key: str, **options) -> dict:
    return series(key, MONTH_AT, periods=2, **options)


def test_team_stage_conversion_is_the_share_of_forward_exits_to_the_next_stage(stage_moves):
    east, west = stage_moves["east"].pk, stage_moves["west"].pk

    assert monthly("team_stage_conversion") == {
        # May: nothing left proposal -> None. June: deal 1 to negotiation, deal 2 to lost;
        # deal 3 went backwards and is left out: 1 / 2
        east: periods([MAY, JUNE], [None, 0.5]),
        west: periods([MAY, JUNE], [None, None]),
    }
    # from negotiation: June has deal 1 -> won (deal 4's move on 07-02 is in July): 1 / 1
    assert monthly("team_stage_conversion", scope=Scope(params={"stage": "negotiation"}))[
        east
    ] == periods([MAY, JUNE], [None, 1.0])


def test_rep_stage_conversion_splits_by_the_deal_owner(stage_moves):
    assert monthly("rep_stage_conversion") == {
        stage_moves["first"].pk: periods([MAY, JUNE], [None, 0.5]),  # deals 1 and 2
        stage_moves["second"].pk: periods([MAY, JUNE], [None, None]),  # only a regression
        stage_moves["third"].pk: periods([MAY, JUNE], [None, None]),
    }


def test_team_stage_regression_rate_counts_backward_moves_among_all_exits(stage_moves):
    # May: deals 1-3 left initial_contact (entering the first stage is no exit): 0 / 3.
    # June: deal 4 initial->proposal (00:30 local on 06-01), deal 1 proposal->negotiation and
    # negotiation->won, deal 2 proposal->lost, deal 3 proposal->needs_confirmed: 1 / 5.
    # Bucketed in UTC it would read May 0 / 4 and June 1 / 4.
    assert monthly("team_stage_regression_rate")[stage_moves["east"].pk] == periods(
        [MAY, JUNE], [0.0, 0.2]
    )


# --------------------------------------------------------------------------- closed deals


@pytest.fixture
def closed_deals(org, stages):
    """Closed deals; quotes count only if sent by MONTH_AT.

    first:  lost 05-15 (quote sent), won 06-05 (created 05-06, quote sent), lost 06-20 (quote
            sent), lost 06-22 (quote sent only on 08-01), won 07-02 (July, still running)
    second: won 06-01 00:30 local (created 05-22 00:30, no quote)
    third:  won 06-25 (created 06-15, no quote)
    """
    first, second, third = org["first"], org["second"], org["third"]
    plans = [
        (first, local(5, 1), "lost", local(5, 15), local(5, 10)),
        (first, local(5, 6), "won", local(6, 5), local(5, 20)),
        (first, local(5, 1), "lost", local(6, 20), local(6, 1)),
        (first, local(5, 1), "lost", local(6, 22), local(8, 1)),
        (first, local(5, 1), "won", local(7, 2), None),
        (second, local(5, 22, 0, 30), "won", local(6, 1, 0, 30), None),
        (third, local(6, 15), "won", local(6, 25), None),
    ]
    for owner, created, outcome, closed, quote_sent in plans:
        deal = opportunity(owner, created=created)
        if quote_sent:
            QuoteFactory(opportunity=deal, requested_at=created, sent_at=quote_sent)
        enter(deal, outcome, closed)
    return org


def test_win_rates_divide_won_by_closed_per_month(closed_deals):
    first, second, third = (closed_deals[name].pk for name in ("first", "second", "third"))
    east, west = closed_deals["east"].pk, closed_deals["west"].pk

    assert monthly("team_win_rate") == {
        east: periods([MAY, JUNE], [0.0, 0.5]),  # May 0 / 1; June 2 won / 4 closed
        west: periods([MAY, JUNE], [None, 1.0]),  # nothing closed in May
    }
    assert monthly("rep_win_rate") == {
        first: periods([MAY, JUNE], [0.0, approx(1 / 3)]),  # June: won 1 of 3
        second: periods([MAY, JUNE], [None, 1.0]),
        third: periods([MAY, JUNE], [None, 1.0]),
    }
    assert monthly("org_win_rate") == {0: periods([MAY, JUNE], [0.0, 0.6])}  # June 3 / 5


def test_quote_hit_rate_counts_only_deals_with_a_quote_sent_by_at(closed_deals):
    # east June: won 06-05 and lost 06-20 had quotes sent; the won 06-01 deal had none and the
    # 06-22 loss's quote went out after MONTH_AT: 1 / 2. May: the 05-15 loss: 0 / 1.
    assert monthly("team_quote_hit_rate") == {
        closed_deals["east"].pk: periods([MAY, JUNE], [0.0, 0.5]),
        closed_deals["west"].pk: periods([MAY, JUNE], [None, None]),  # no quoted deal closed
    }


def test_sales_cycle_days_averages_creation_to_close_of_won_deals(closed_deals):
    # east June: 05-06 -> 06-05 is 30 days, 05-22 00:30 -> 06-01 00:30 is 10: mean 20.
    # west June: 06-15 -> 06-25 is 10. No wins in May: None.
    assert monthly("team_sales_cycle_days") == {
        closed_deals["east"].pk: periods([MAY, JUNE], [None, 20.0]),
        closed_deals["west"].pk: periods([MAY, JUNE], [None, 10.0]),
    }
    assert monthly("org_sales_cycle_days") == {
        0: periods([MAY, JUNE], [None, approx((30 + 10 + 10) / 3)])
    }


# --------------------------------------------------------------------------- churn


def test_org_churn_rate_counts_contracts_ending_without_a_renewal_signed_by_at(org):
    customer = CustomerFactory(owner=org["first"])

    def contract(ends_on: dt.date, renewal_signed: dt.datetime | None = None) -> None:
        ending = ContractFactory(
            opportunity=None, customer=customer, starts_on=dt.date(2024, 7, 1), ends_on=ends_on
        )
        if renewal_signed:
            ContractFactory(
                opportunity=None,
                customer=customer,
                renewal_of=ending,
                signed_at=renewal_signed,
                starts_on=ends_on,
                ends_on=dt.date(2026, 6, 30),
            )

    contract(dt.date(2025, 5, 31), renewal_signed=local(5, 20))  # May: renewed
    contract(dt.date(2025, 6, 10), renewal_signed=local(6, 1))  # June: renewed
    contract(dt.date(2025, 6, 30))  # June: churned
    contract(dt.date(2025, 6, 15), renewal_signed=local(7, 20))  # renewed only after MONTH_AT
    contract(dt.date(2025, 7, 5))  # July is still running

    # May 0 / 1; June 2 / 3
    assert monthly("org_churn_rate") == {0: periods([MAY, JUNE], [0.0, approx(2 / 3)])}
    # by week (MONTH_AT is Thursday 07-10): Monday 06-30 and Saturday 07-05 end in the week of
    # 06-30, both unrenewed: 2 / 2; Sunday 06-15 belongs to the week of 06-09
    weeks = [dt.date(2025, 6, 16), dt.date(2025, 6, 23), dt.date(2025, 6, 30)]
    assert series("org_churn_rate", MONTH_AT, period="week", periods=3) == {
        0: periods(weeks, [None, None, 1.0])
    }
    # no contract of west's customers ended: no rate rather than zero
    west_only = Scope(team_ids=(org["west"].pk,))
    assert monthly("org_churn_rate", scope=west_only) == {0: periods([MAY, JUNE], [None, None])}


# --------------------------------------------------------------------------- rep and org variants


def test_org_stage_conversion_pools_every_team(stage_moves):
    # June: deal 1 proposal -> negotiation, deal 2 proposal -> lost, deal 3 backwards (left
    # out): 1 / 2. Nothing left proposal in May.
    assert monthly("org_stage_conversion") == {0: periods([MAY, JUNE], [None, 0.5])}


def test_stage_regression_rate_per_rep_and_for_the_org(stage_moves):
    first, second, third = (stage_moves[name].pk for name in ("first", "second", "third"))
    assert monthly("rep_stage_regression_rate") == {
        # first: May 2 exits from initial, June 3 forward exits, none backwards
        first: periods([MAY, JUNE], [0.0, 0.0]),
        # second: May deal 3 leaves initial (0 / 1); June deal 4 leaves initial at 00:30
        # local and deal 3 goes back to needs_confirmed: 1 / 2
        second: periods([MAY, JUNE], [0.0, 0.5]),
        third: periods([MAY, JUNE], [None, None]),
    }
    assert monthly("org_stage_regression_rate") == {0: periods([MAY, JUNE], [0.0, 0.2])}


def test_quote_hit_rate_per_rep_and_for_the_org(closed_deals):
    first, second, third = (closed_deals[name].pk for name in ("first", "second", "third"))
    assert monthly("rep_quote_hit_rate") == {
        first: periods([MAY, JUNE], [0.0, 0.5]),  # May 0 / 1; June won 06-05 of 2 quoted
        second: periods([MAY, JUNE], [None, None]),  # won without a quote
        third: periods([MAY, JUNE], [None, None]),
    }
    assert monthly("org_quote_hit_rate") == {0: periods([MAY, JUNE], [0.0, 0.5])}


def test_rep_sales_cycle_days_averages_each_reps_won_deals(closed_deals):
    first, second, third = (closed_deals[name].pk for name in ("first", "second", "third"))
    assert monthly("rep_sales_cycle_days") == {
        first: periods([MAY, JUNE], [None, 30.0]),  # 05-06 -> 06-05; the 07-02 win is July
        second: periods([MAY, JUNE], [None, 10.0]),  # 05-22 00:30 -> 06-01 00:30 local
        third: periods([MAY, JUNE], [None, 10.0]),  # 06-15 -> 06-25
    }


def test_quote_response_hours_average_sent_quotes_by_the_month_they_went_out(closed_deals):
    first, second, third = (closed_deals[name].pk for name in ("first", "second", "third"))
    east, west = closed_deals["east"].pk, closed_deals["west"].pk
    # first's quotes: 05-01 -> 05-10 is 216 h and 05-06 -> 05-20 is 336 h (May, mean 276);
    # 05-01 -> 06-01 is 744 h (June); the one sent 08-01 is after MONTH_AT and not counted
    assert monthly("rep_quote_response_hours", period="month") == {
        first: periods([MAY, JUNE], [276.0, 744.0]),
        second: periods([MAY, JUNE], [None, None]),
        third: periods([MAY, JUNE], [None, None]),
    }
    assert monthly("team_quote_response_hours", period="month") == {
        east: periods([MAY, JUNE], [276.0, 744.0]),
        west: periods([MAY, JUNE], [None, None]),
    }


def test_lead_first_response_hours_average_first_contacts_per_rep(org):
    first, second = org["first"], org["second"]
    lead(first, assigned_at=local(6, 2, 9), first_contact_at=local(6, 2, 15))  # 6 h
    lead(first, assigned_at=local(6, 10, 10), first_contact_at=local(6, 11, 10))  # 24 h
    lead(first, assigned_at=local(6, 20, 10), first_contact_at=local(7, 20, 10))  # after at
    lead(
        second,
        created_at=local(5, 1),
        assigned_at=local(5, 5, 10),
        first_contact_at=local(5, 5, 12),
    )  # 2 h, in May
    lead(second, assigned_at=local(6, 25, 10))  # never contacted: not a response yet

    assert monthly("rep_lead_first_response_hours", period="month") == {
        first.pk: periods([MAY, JUNE], [None, 15.0]),
        second.pk: periods([MAY, JUNE], [2.0, None]),
        org["third"].pk: periods([MAY, JUNE], [None, None]),
    }
