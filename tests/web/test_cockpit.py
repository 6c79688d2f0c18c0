"""The manager cockpit: scoped to what the user may see, with numbers from a known data set."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from salesradar.accounts.models import User
from salesradar.activities.choices import ActivityKind
from salesradar.alerts.choices import AlertState
from salesradar.alerts.models import Alert
from salesradar.health.models import CustomerHealth
from salesradar.pipeline.models import Opportunity, Stage, StageChange, Target
from salesradar.web.cockpit import baseline_band, progress_status, warm_trend_cache
from tests.factories import ActivityFactory, CustomerFactory, OpportunityFactory
from tests.web.support import Company, alert_on, build_company, default_rule, english_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    cache.clear()  # trends are cached per day; each test computes its own


@pytest.fixture
def company() -> Company:
    return build_company()


def opportunity(owner: User, *, days_ago: float, **fields: Any) -> Opportunity:
    created = timezone.now() - dt.timedelta(days=days_ago)
    return OpportunityFactory(
        owner=owner, created_at=created, updated_at=created, stage_entered_at=created, **fields
    )


def move(opp: Opportunity, to_stage: Stage, *, days_ago: float, **fields: Any) -> StageChange:
    previous = opp.stage_changes.order_by("-changed_at").first()
    change = StageChange.objects.create(
        opportunity=opp,
        from_stage=previous.to_stage if previous else None,
        to_stage=to_stage,
        changed_at=timezone.now() - dt.timedelta(days=days_ago),
        **fields,
    )
    Opportunity.objects.filter(pk=opp.pk).update(stage=to_stage, stage_entered_at=change.changed_at)
    return change


def cockpit(client: Any, **params: Any) -> Any:
    response = client.get(reverse("web:cockpit"), params)
    assert response.status_code == 200
    return response


def test_rep_is_sent_to_their_workspace_instead(company: Company) -> None:
    response = english_client(company.east_rep).get(reverse("web:cockpit"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")


def test_board_shows_only_the_alerts_of_the_managers_team_most_severe_first(
    company: Company,
) -> None:
    rule = default_rule()
    east_customer = CustomerFactory(owner=company.east_rep, name="Eastern Star")
    west_customer = CustomerFactory(owner=company.west_rep, name="Western Wind")
    warning = alert_on(
        rule, owner=company.east_rep, entity_id=east_customer.pk + 1000, severity="warning"
    )
    danger = alert_on(rule, owner=company.east_rep, entity_id=east_customer.pk)
    alert_on(rule, owner=company.west_rep, entity_id=west_customer.pk)
    alert_on(rule, owner=company.east_rep, entity_id=77, state=AlertState.RESOLVED)

    response = cockpit(english_client(company.manager))

    board = response.context["data"]["board"]
    html = response.content.decode()
    assert [row["alert"] for row in board["rows"]] == [danger, warning]
    assert board["by_severity"] == {"danger": 1, "warning": 1}
    assert "Eastern Star" in html
    assert "Western Wind" not in html
    assert f'id="alert-{danger.pk}"' in html  # the row htmx replaces in place
    assert "Acknowledge" in html and "Snooze" in html and "Assign a task" in html


def test_every_severity_is_shown_with_a_word_and_an_icon(company: Company) -> None:
    alert_on(default_rule(), owner=company.east_rep)

    html = cockpit(english_client(company.manager)).content.decode()

    badge = html.split('class="badge bg-red-lt sr-badge">', 1)[1].split("</span>", 1)[0]
    assert "<svg" in badge
    assert "Danger" in badge


def test_team_picker_offers_only_visible_teams_and_refuses_others(company: Company) -> None:
    client = english_client(company.manager)

    response = cockpit(client)

    assert [team.code for team in response.context["teams"]] == ["east"]
    assert client.get(reverse("web:cockpit"), {"team": company.west.pk}).status_code == 404
    assert client.get(reverse("web:cockpit"), {"team": "x"}).status_code == 404


def test_director_narrows_the_cockpit_to_one_team(company: Company) -> None:
    rule = default_rule()
    east = alert_on(rule, owner=company.east_rep, entity_id=1)
    west = alert_on(rule, owner=company.west_rep, entity_id=2)
    client = english_client(company.director)

    everything = cockpit(client).context["data"]["board"]["rows"]
    west_only = cockpit(client, team=company.west.pk).context["data"]["board"]["rows"]

    assert {row["alert"] for row in everything} == {east, west}
    assert [row["alert"] for row in west_only] == [west]


def test_funnel_counts_entries_conversion_dwell_and_losses_of_visible_deals(
    company: Company, stages: dict[str, Stage]
) -> None:
    first, second = stages["initial_contact"], stages["needs_confirmed"]
    advanced = opportunity(company.east_rep, days_ago=20)
    move(advanced, first, days_ago=20)
    move(advanced, second, days_ago=10)
    lost = opportunity(company.east_rep, days_ago=15, lost_reason="price")
    move(lost, first, days_ago=15)
    move(lost, stages["lost"], days_ago=5)
    elsewhere = opportunity(company.west_rep, days_ago=12)
    move(elsewhere, first, days_ago=12)
    earlier = opportunity(company.east_rep, days_ago=45)
    move(earlier, first, days_ago=45)

    response = cockpit(english_client(company.manager), period="month")

    rows = {row["key"]: row for row in response.context["data"]["funnel"]["rows"]}
    assert rows["initial_contact"]["entered"] == 2
    assert rows["initial_contact"]["entered_before"] == 1
    assert rows["initial_contact"]["entered_change"] == 1
    assert rows["needs_confirmed"]["entered"] == 1
    assert rows["initial_contact"]["conversion"] == pytest.approx(0.5)
    assert rows["initial_contact"]["dwell_days"] == pytest.approx(10, abs=0.01)
    assert rows["initial_contact"]["losses"] == [{"reason": "Price", "count": 1}]
    assert "lost" not in rows
    charts = json.loads(
        response.content.decode()
        .split('id="cockpit-charts" type="application/json">')[1]
        .split("</script>")[0]
    )
    assert charts["funnel"]["entered"][:2] == [2, 1]


def test_a_regression_counts_against_the_stage_it_left(
    company: Company, stages: dict[str, Stage]
) -> None:
    deal = opportunity(company.east_rep, days_ago=20)
    move(deal, stages["initial_contact"], days_ago=20)
    move(deal, stages["needs_confirmed"], days_ago=15)
    move(deal, stages["initial_contact"], days_ago=5, is_regression=True)

    data = cockpit(english_client(company.manager)).context["data"]

    funnel = {row["key"]: row for row in data["funnel"]["rows"]}
    bottlenecks = {row["label"]: row for row in data["bottlenecks"]["rows"]}
    assert funnel["needs_confirmed"]["regression_rate"] == pytest.approx(1.0)
    assert funnel["initial_contact"]["entered"] == 1  # the move back is no new entry
    assert bottlenecks[str(stages["needs_confirmed"])]["regression_rate"] == pytest.approx(1.0)


def test_leaderboard_counts_visits_calls_and_won_amount_per_rep(
    company: Company, stages: dict[str, Stage]
) -> None:
    now = timezone.now()
    customer = CustomerFactory(owner=company.east_rep)
    for kind in (ActivityKind.VISIT, ActivityKind.VISIT, ActivityKind.CALL, ActivityKind.EMAIL):
        ActivityFactory(
            owner=company.east_rep,
            customer=customer,
            kind=kind,
            occurred_at=now - dt.timedelta(days=2),
            created_at=now - dt.timedelta(days=2),
        )
    ActivityFactory(
        owner=company.east_rep,
        customer=customer,
        kind=ActivityKind.VISIT,
        occurred_at=now - dt.timedelta(days=60),
        created_at=now - dt.timedelta(days=60),
    )
    opportunity(
        company.east_rep,
        days_ago=40,
        stage=stages["won"],
        amount=Decimal("12000"),
        closed_at=now - dt.timedelta(days=3),
    )

    data = cockpit(english_client(company.manager), period="week").context["data"]

    rows = {row["rep"]: row for row in data["leaderboard"]["rows"]}
    assert list(rows) == [str(company.east_rep)]
    assert rows[str(company.east_rep)] == {
        "rep": str(company.east_rep),
        "team": "East",
        "won_amount": 12000.0,
        "deals": 1,
        "visits": 2,
        "calls": 1,
        "followups": 4,
    }


def test_target_progress_compares_attainment_with_time_elapsed(
    company: Company, stages: dict[str, Stage]
) -> None:
    now = timezone.now()
    local = timezone.localtime(now).date()
    quarter_start = dt.date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
    Target.objects.create(
        user=company.east_rep,
        period="quarter",
        period_start=quarter_start,
        measure="won_amount",
        value=Decimal("1000"),
    )
    opportunity(
        company.east_rep,
        days_ago=1,
        stage=stages["won"],
        amount=Decimal("500"),
        closed_at=now - dt.timedelta(minutes=1),
    )

    targets = cockpit(english_client(company.manager)).context["data"]["targets"]

    [rep] = targets["reps"]
    assert rep["attained"] == pytest.approx(0.5)
    assert rep["status"] == progress_status(rep["projection"])
    if targets["elapsed"] * 92 >= 7:  # a projection needs a week of the quarter
        assert rep["projection"] == pytest.approx(0.5 / targets["elapsed"])
    [team] = targets["teams"]
    assert (team["team"], team["attained"]) == ("East", pytest.approx(0.5))


@pytest.mark.parametrize(
    ("projection", "status"),
    [(None, "no_data"), (1.3, "on_track"), (1.0, "on_track"), (0.9, "behind"), (0.5, "at_risk")],
)
def test_progress_has_three_states(projection: float | None, status: str) -> None:
    assert progress_status(projection) == status


def test_baseline_band_is_the_trailing_mean_plus_minus_one_deviation() -> None:
    band = baseline_band([10, 12, 14, 30, None, 20], window=3)

    assert band[:3] == [[None, None]] * 3  # fewer than three earlier values: no band
    assert band[3] == pytest.approx([10.367, 13.633], abs=0.001)  # 12 ± 1.633
    assert band[5] == [None, None]  # 14, 30 and a missing period: only two values


def test_trends_cover_the_five_measures_with_their_bands(company: Company) -> None:
    customer = CustomerFactory(owner=company.east_rep)
    now = timezone.now()
    for weeks_ago in range(1, 15):
        ActivityFactory(
            owner=company.east_rep,
            customer=customer,
            occurred_at=now - dt.timedelta(weeks=weeks_ago),
            created_at=now - dt.timedelta(weeks=weeks_ago),
        )

    trends = cockpit(english_client(company.manager)).context["data"]["trends"]

    assert [trend["key"] for trend in trends] == [
        "followups",
        "new_customers",
        "win_rate",
        "sales_cycle",
        "quote_response",
    ]
    followups = trends[0]
    assert len(followups["values"]) == 12
    assert followups["values"][-6:] == [1.0] * 6
    assert followups["low"][-1] == followups["high"][-1] == 1.0  # a steady week has no spread


def scored(owner: User, *, potential: int, depth: int, tier: str = "blue", **fields: Any) -> Any:
    customer = CustomerFactory(owner=owner, **fields)
    CustomerHealth.objects.create(
        customer=customer,
        computed_at=timezone.now(),
        potential=potential,
        depth=depth,
        relationship=50,
        risk=100,
        score=50,
        tier=tier,
        tier_since=timezone.now(),
        weakest="depth",
    )
    return customer


def test_customer_matrix_counts_customers_by_health_potential_and_depth_with_risk(
    company: Company,
) -> None:
    scored(company.east_rep, potential=80, depth=75)  # high × deep, healthy
    alerted = scored(company.east_rep, potential=60, depth=10)  # high × shallow, open alert
    scored(company.east_rep, potential=59, depth=30, tier="red")  # medium × established, red
    scored(company.east_rep, potential=5, depth=0, lifecycle="at_risk")  # low × shallow
    scored(company.west_rep, potential=5, depth=0)  # another team: not in the manager's view
    CustomerFactory(owner=company.east_rep)  # never scored (no contract): left out
    alert_on(default_rule(), owner=company.east_rep, entity_id=alerted.pk)

    matrix = cockpit(english_client(company.manager)).context["data"]["matrix"]

    cells = {row["potential"]: row["cells"] for row in matrix["grid"]}
    high, medium, low = (
        cells["High potential (60+)"],
        cells["Medium potential (30-59)"],
        cells["Low potential (0-29)"],
    )
    assert (high[0]["total"], high[0]["at_risk"], high[0]["severity"]) == (1, 1, "danger")
    assert (high[2]["total"], high[2]["at_risk"]) == (1, 0)
    assert (medium[1]["total"], medium[1]["at_risk"]) == (1, 1)
    assert (low[0]["total"], low[0]["at_risk"]) == (1, 1)
    assert sum(cell["total"] for row in matrix["grid"] for cell in row["cells"]) == 4


def test_cockpit_query_count_does_not_grow_with_reps_or_alerts(company: Company) -> None:
    rule = default_rule()
    client = english_client(company.director)
    first = CustomerFactory(owner=company.east_rep)
    alert_on(rule, owner=company.east_rep, entity_id=first.pk)
    cockpit(client)  # warm the trend cache and the content types
    with CaptureQueriesContext(connection) as few:
        cockpit(client)
    for index in range(6):
        rep = User.objects.create_user(
            username=f"extra{index}", role="rep", team=company.east if index % 2 else company.west
        )
        customer = CustomerFactory(owner=rep)
        alert_on(rule, owner=rep, entity_id=customer.pk)
        ActivityFactory(owner=rep, customer=customer, occurred_at=timezone.now())
    cache.clear()
    cockpit(client)

    with CaptureQueriesContext(connection) as many:
        response = cockpit(client)

    assert len(response.context["data"]["board"]["rows"]) == 7
    assert len(response.context["data"]["leaderboard"]["rows"]) == 8
    assert len(many) == len(few)


def test_demo_lands_on_the_cockpit_with_its_alerts_showing() -> None:
    call_command("demo", "--no-serve", "--size", "small", "--seed", "3", stdout=_Sink())

    admin = User.objects.get(username="admin")
    response = cockpit(english_client(admin))

    board = response.context["data"]["board"]
    assert Alert.objects.filter(state=AlertState.FIRING).exists()
    assert board["total"] > 0
    assert len(board["rows"]) > 0
    assert english_client(admin).get(reverse("web:home"))["Location"] == reverse("web:cockpit")


class _Sink:
    """A stdout that keeps what the command printed."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        return None


def test_warmed_trends_spare_the_first_visit_their_queries(company: Company) -> None:
    client = english_client(company.director)
    with CaptureQueriesContext(connection) as cold:
        cockpit(client)
    cache.clear()

    computed = warm_trend_cache(at=timezone.now())
    with CaptureQueriesContext(connection) as warm:
        response = cockpit(client)

    assert computed == 5 * (1 + 3)  # five trends for the organisation and each of 3 teams
    assert len(warm) < len(cold)
    assert len(response.context["data"]["trends"]) == 5


def test_acting_on_the_board_updates_the_cockpits_tiles_too(company: Company) -> None:
    rule = default_rule()
    first = alert_on(rule, owner=company.east_rep, entity_id=1)
    alert_on(rule, owner=company.east_rep, entity_id=2, severity="warning")
    client = english_client(company.manager)
    cockpit_url = "http://testserver" + reverse("web:cockpit") + f"?team={company.east.pk}"

    response = client.post(
        reverse("web:alert_acknowledge", args=[first.pk]),
        headers={"HX-Request": "true", "HX-Current-URL": cockpit_url},
    )
    elsewhere = client.post(
        reverse("web:alert_snooze", args=[first.pk]),
        {f"snooze-{first.pk}-hours": "4"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/alerts/"},
    )

    html = response.content.decode()
    assert 'id="count-unhandled" hx-swap-oob="true">1<' in html  # only the warning is left
    assert 'id="count-danger" hx-swap-oob="true">1<' in html  # acknowledged is still open
    assert "hx-swap-oob" not in elsewhere.content.decode()
