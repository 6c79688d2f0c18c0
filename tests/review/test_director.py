"""Director views worked out by hand: new-hire survival and top-3 customers' depth."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.activities.choices import ActivityKind
from salesradar.review.director import new_hire_survival, top_customer_depth
from tests.factories import (
    SHANGHAI,
    ActivityFactory,
    ContractFactory,
    CustomerFactory,
    OpportunityFactory,
    UserFactory,
)
from tests.web.support import english_client

pytestmark = pytest.mark.django_db

AT = dt.datetime(2024, 9, 1, 0, 0, tzinfo=SHANGHAI)


def on(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 10, 0, tzinfo=SHANGHAI)


def test_survival_counts_reps_old_enough_and_the_median_days_to_a_first_win(stages) -> None:
    early = UserFactory(hired_on=dt.date(2023, 1, 1))
    UserFactory(hired_on=dt.date(2023, 6, 1), is_active=False)
    recent = UserFactory(hired_on=dt.date(2024, 5, 1))  # 4 months: in no cohort yet
    for owner, closed in ((early, on(2023, 3, 2)), (recent, on(2024, 6, 10))):
        OpportunityFactory(
            owner=owner, stage=stages["won"], created_at=on(2023, 1, 2), closed_at=closed
        )

    result = new_hire_survival(at=AT)

    assert [(c.months, c.hired, c.still_active, c.survival) for c in result["cohorts"]] == [
        (6, 2, 1, 0.5),
        (12, 2, 1, 0.5),
    ]
    # 2023-01-01 → 2023-03-02 is 60 days, 2024-05-01 → 2024-06-10 is 40: median 50
    assert result["median_days_to_first_order"] == 50.0
    assert result["with_first_order"] == 2


def test_depth_reads_the_top_three_customers_by_revenue_and_their_follow_ups() -> None:
    rep = UserFactory(username="rep-a")
    named = {}
    for name, amount in (("X", 300000), ("Y", 200000), ("Z", 100000), ("W", 50000)):
        named[name] = CustomerFactory(owner=rep, name=name)
        ContractFactory(
            opportunity=None, customer=named[name], signed_at=on(2024, 3, 1), amount=Decimal(amount)
        )
    for day, dm in ((10, True), (20, False)):
        ActivityFactory(
            owner=rep,
            customer=named["X"],
            kind=ActivityKind.VISIT,
            occurred_at=on(2024, 8, day),
            decision_maker_present=dm,
        )
    ActivityFactory(
        owner=rep, customer=named["X"], kind=ActivityKind.EMAIL, occurred_at=on(2024, 8, 2)
    )
    for day in range(1, 6):
        ActivityFactory(owner=rep, customer=named["W"], occurred_at=on(2024, 8, day))

    [row] = top_customer_depth(at=AT, reps=User.objects.filter(pk=rep.pk))

    assert [
        (c["customer"], c["followups"], c["decision_maker_touches"]) for c in row["customers"]
    ] == [
        ("X", 2, 1),
        ("Y", 0, 0),
        ("Z", 0, 0),
    ]
    assert row["followups"] == 2


def test_the_page_is_for_managers_and_up() -> None:
    director = UserFactory(role=Role.DIRECTOR)
    rep = UserFactory(role=Role.REP)

    assert english_client(director).get(reverse("review:director")).status_code == 200
    assert english_client(rep).get(reverse("review:director")).status_code == 302


def test_proposal_funnel_counts_each_step_and_its_rate(stages) -> None:
    from salesradar.review.director import proposal_funnel
    from tests.factories import QuoteFactory

    won = OpportunityFactory(stage=stages["won"], closed_at=on(2024, 8, 20))
    QuoteFactory(
        opportunity=won, requested_at=on(2024, 8, 1), sent_at=on(2024, 8, 2), status="accepted"
    )
    QuoteFactory(requested_at=on(2024, 8, 3), sent_at=on(2024, 8, 5), status="sent")
    QuoteFactory(requested_at=on(2024, 8, 4))
    QuoteFactory(requested_at=on(2024, 1, 4))  # outside the 90 days

    steps = proposal_funnel(at=AT)

    assert [(s["step"], s["count"], s["rate_from_previous"]) for s in steps] == [
        ("requested", 3, None),
        ("sent", 2, 0.667),
        ("accepted", 1, 0.5),
        ("won", 1, 1.0),
    ]


def test_heat_map_compares_each_rep_with_the_median_rep_of_the_stage(stages) -> None:
    from salesradar.pipeline.models import StageChange
    from salesradar.review.director import capability_heat_map

    a, b = UserFactory(username="a-rep"), UserFactory(username="b-rep")
    for owner, to, days in ((a, "needs_confirmed", 10), (a, "lost", 4), (b, "needs_confirmed", 2)):
        deal = OpportunityFactory(owner=owner)
        StageChange.objects.create(
            opportunity=deal, to_stage=stages["initial_contact"], changed_at=on(2024, 7, 1)
        )
        StageChange.objects.create(
            opportunity=deal,
            from_stage=stages["initial_contact"],
            to_stage=stages[to],
            changed_at=on(2024, 7, 1) + dt.timedelta(days=days),
        )

    heat = capability_heat_map(at=AT)

    assert heat["stages"] == ["Initial contact"]
    [a_row, b_row] = heat["rows"]
    # a: 1 of 2 exits forward, 7 days on average; b: 1 of 1, 2 days; medians 0.75 and 4.5
    assert a_row["cells"][0] == {
        "conversion": 0.5,
        "conversion_vs_median": -0.25,
        "dwell_days": 7.0,
        "dwell_vs_median": 2.5,
    }
    assert b_row["cells"][0]["conversion_vs_median"] == 0.25
    assert b_row["cells"][0]["dwell_vs_median"] == -2.5
