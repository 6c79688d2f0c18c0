"""Deal features as of a date, worked out by hand; facts stamped after ``at`` must not count.

``AT`` is Wednesday 2025-06-18 12:00 in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from pytest import approx

from salesradar.crm.choices import DecisionRole
from salesradar.forecast.features import deal_features
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    EvidenceFactory,
    InvoiceFactory,
    QuoteFactory,
)
from tests.metrics import enter, local, opportunity, rep

pytestmark = pytest.mark.django_db

AT = local(6, 18, 12)


def test_features_of_a_deal_count_only_what_was_known_at_the_moment(stages):
    owner = rep()
    deal = opportunity(owner, created=local(5, 1), amount=Decimal(99999))
    enter(deal, "needs_confirmed", local(5, 10))
    enter(deal, "proposal", local(6, 4))  # in proposal since 06-04 00:00: 14.5 days at AT
    enter(deal, "needs_confirmed", local(6, 25))  # a regression after AT: not known yet
    ActivityFactory(opportunity=deal, kind="call", occurred_at=local(6, 1))
    ActivityFactory(opportunity=deal, kind="visit", occurred_at=local(6, 8, 12))
    ActivityFactory(
        opportunity=deal, kind="meeting", occurred_at=local(6, 10), decision_maker_present=True
    )
    ActivityFactory(opportunity=deal, kind="email", occurred_at=local(5, 2))  # older than 30 d
    ActivityFactory(opportunity=deal, kind="call", occurred_at=local(6, 19))  # after AT
    # occurred before AT but logged after it: not known at AT
    ActivityFactory(
        opportunity=deal, kind="demo", occurred_at=local(6, 17), created_at=local(6, 20)
    )
    QuoteFactory(opportunity=deal, version=1, requested_at=local(5, 12), sent_at=local(5, 13))
    QuoteFactory(opportunity=deal, version=2, requested_at=local(6, 5))
    QuoteFactory(opportunity=deal, version=3, requested_at=local(6, 20))  # after AT
    EvidenceFactory(opportunity=deal, kind="pain_points", added_at=local(5, 9))
    ContactFactory(customer=deal.customer, decision_role=DecisionRole.DECISION_MAKER)
    contract = ContractFactory(opportunity=None, customer=deal.customer)
    InvoiceFactory(contract=contract, due_on=dt.date(2025, 4, 1), paid_at=local(3, 30))
    late = InvoiceFactory(contract=contract, due_on=dt.date(2025, 5, 1), paid_at=local(6, 20))
    InvoiceFactory(contract=contract, due_on=dt.date(2025, 7, 1))  # not due yet at AT

    frame = deal_features(AT)

    assert list(frame.ids) == [deal.pk]
    features = frame.row(deal.pk)
    assert features["stage_order"] == stages["proposal"].order
    assert features["stage_probability"] == approx(0.5)
    assert features["days_in_stage"] == approx(14.5)
    assert features["stage_sla_ratio"] == approx(14.5 / 14)
    assert features["age_days"] == approx(48.5)  # 05-01 00:00 -> 06-18 12:00
    assert features["days_since_activity"] == approx(8.5)  # the meeting on 06-10 00:00
    assert features["activities_30d"] == 3  # call 06-01, visit 06-08, meeting 06-10
    assert features["calls_30d"] == 1
    assert features["visits_meetings_30d"] == 2
    assert features["messages_30d"] == 0
    assert features["demos_30d"] == 0  # logged only after AT
    assert features["decision_maker_meetings_60d"] == 1
    assert features["decision_maker_contact"] == 1.0
    assert features["customer_initiated_30d"] == 1  # v2 requested 06-05
    assert features["quote_count"] == 2
    assert features["quote_revisions"] == 1
    assert features["quote_sent"] == 1.0
    assert features["regressions"] == 0
    assert features["log_amount"] == approx(math.log1p(99999))
    assert features["tier"] == 1.0  # tier C
    assert features["owner_win_rate"] == approx(0.5)  # no closed deals: the Laplace prior
    # two invoices due by AT: one paid early; one paid after AT, so overdue at AT
    assert features["on_time_payment_share"] == approx(0.5)
    assert features["log_overdue_amount"] == approx(math.log1p(float(late.amount)))
    assert features["gate_evidence_share"] == 1.0  # pain_points is all proposal's gates need


def test_deals_closed_by_the_moment_are_left_out_and_feed_the_owner_win_rate(stages):
    owner = rep()
    for closed_day, outcome in ((3, "won"), (5, "won"), (7, "lost")):
        closed = opportunity(owner, created=local(2, 1))
        enter(closed, outcome, local(6, closed_day))
    open_deal = opportunity(owner, created=local(6, 1))
    later_loss = opportunity(owner, created=local(6, 1))
    enter(later_loss, "lost", local(6, 25))  # still open at AT

    frame = deal_features(AT)

    assert sorted(frame.ids.tolist()) == sorted([open_deal.pk, later_loss.pk])
    # two won of three closed within the year: (2 + 1) / (3 + 2)
    assert frame.row(open_deal.pk)["owner_win_rate"] == approx(0.6)
    assert frame.row(open_deal.pk)["quote_count"] == 0
    assert math.isnan(frame.row(open_deal.pk)["on_time_payment_share"])


def test_regressions_and_missing_gate_evidence_as_of_the_moment(stages):
    owner = rep()
    deal = opportunity(owner, created=local(4, 1), stage="negotiation", entered=local(5, 1))
    enter(deal, "proposal", local(5, 20))  # back one stage: a regression
    EvidenceFactory(opportunity=deal, kind="nda", added_at=local(6, 1))  # not needed for proposal

    features = deal_features(AT).row(deal.pk)

    assert features["regressions"] == 1
    assert features["gate_evidence_share"] == 0.0  # pain_points is missing
    assert features["stage_probability"] == approx(0.5)
