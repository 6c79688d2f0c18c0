"""Metrics as of ``at`` count a fact from the moment it became known (issue 11 §2).

Live entry is known from when it was logged; backfilled history (an import, the demo) from
when it occurred; the data-health metric keeps reading arrival time; reps whose accounts
were created after the fact count from their first record.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from salesradar.activities.models import Activity
from tests.factories import ActivityFactory, CustomerFactory, TeamFactory, UserFactory
from tests.imports.helpers import import_file, write_csv
from tests.metrics import local, opportunity, rep, series, values

pytestmark = pytest.mark.django_db

AT = local(6, 18, 12)
IMPORTED = local(11, 30, 9)  # long after AT: the day the history was imported


def test_live_entry_is_known_from_when_it_was_logged(stages):
    deal = opportunity(rep(), created=local(6, 1))
    # Occurred on 06-10 but only logged on 06-20: on 06-18 nobody knew about it yet.
    ActivityFactory(opportunity=deal, occurred_at=local(6, 10), created_at=local(6, 20))

    assert values("opportunity_days_since_last_activity", AT) == {deal.pk: pytest.approx(17.5)}


def test_backfilled_activity_is_known_from_when_it_occurred(stages):
    deal = opportunity(rep(), created=local(6, 1))
    ActivityFactory(
        opportunity=deal, occurred_at=local(6, 10), created_at=IMPORTED, backfilled=True
    )
    ActivityFactory(  # occurred after AT: unknown at AT even though backfilled
        opportunity=deal, occurred_at=local(6, 19), created_at=IMPORTED, backfilled=True
    )

    assert values("opportunity_days_since_last_activity", AT) == {deal.pk: pytest.approx(8.5)}


def test_customer_metrics_see_backfilled_follow_ups():
    owner = rep()
    customer = CustomerFactory(owner=owner, tier="A", created_at=local(5, 1))
    ActivityFactory(
        owner=owner,
        customer=customer,
        occurred_at=local(6, 16),
        created_at=IMPORTED,
        backfilled=True,
    )

    assert values("customer_days_since_last_activity", AT) == {customer.pk: pytest.approx(2.5)}


def test_data_health_reads_arrival_time_not_occurrence(stages):
    team = TeamFactory()
    owner = rep(team)
    # A sync that stopped on 06-01 and then delivered old history only after AT: as of AT
    # nothing has arrived for 17.5 days, however recently the activities occurred.
    ActivityFactory(owner=owner, occurred_at=local(5, 30), created_at=local(6, 1))
    ActivityFactory(owner=owner, occurred_at=local(6, 17), created_at=local(6, 25), backfilled=True)

    assert values("team_days_since_activity_logged", AT) == {team.pk: pytest.approx(17.5)}


def test_rep_created_after_the_fact_counts_from_the_first_record():
    team = TeamFactory()
    late_account = UserFactory(team=team, date_joined=IMPORTED)  # account made at import
    ActivityFactory(
        owner=late_account, occurred_at=local(6, 3, 10), created_at=IMPORTED, backfilled=True
    )
    never_worked = UserFactory(team=team, date_joined=IMPORTED)  # no record before AT

    by_rep = series("rep_followups", AT, periods=3)

    assert late_account.pk in by_rep
    assert [value for _start, value in by_rep[late_account.pk]] == [0.0, 1.0, 0.0]
    assert never_worked.pk not in by_rep


def test_imported_activities_are_backfilled(tmp_path: Path):
    rep_user = UserFactory(username="li")
    CustomerFactory(code="KH-1", owner=rep_user)
    path = write_csv(
        tmp_path / "activities.csv",
        [
            ["Activity type", "Customer", "Owner", "Occurred at"],
            ["Visit", "KH-1", "li", "2025-06-10 14:00"],
        ],
    )

    result = import_file(path, "activities")

    assert result.committed, result.errors
    activity = Activity.objects.get()
    assert activity.backfilled
    assert activity.created_at > activity.occurred_at
