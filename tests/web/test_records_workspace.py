"""The rep workspace: alerts, tasks, customers due by cadence, deals, the quick follow-up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from salesradar.activities.choices import ActivityKind, TaskStatus
from salesradar.activities.models import Activity, Task
from salesradar.crm.choices import Tier
from tests.factories import ActivityFactory, CustomerFactory, OpportunityFactory
from tests.web.records_fixtures import Org, build_org, firing_alert, make_rule
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return build_org()


def days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def test_workspace_shows_my_alerts_and_tasks_due_today_and_overdue(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep, name="Cloud ERP")
    firing_alert(make_rule(), "opportunity", deal.pk, owner=org.rep, message="Stuck 9 days")
    Task.objects.create(title="Send the revised quote", assignee=org.rep, due_at=days_ago(2))
    Task.objects.create(title="Call the CFO", assignee=org.rep, due_at=timezone.now())
    Task.objects.create(title="Next month's review", assignee=org.rep, due_at=days_ago(-30))
    Task.objects.create(title="Someone else's task", assignee=org.other_rep, due_at=days_ago(1))

    response = english_client(org.rep).get(reverse("web:workspace"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Stuck 9 days" in html and "Danger" in html  # the severity has a word, not only colour
    assert reverse("web:opportunity_detail", args=[deal.pk]) in html
    assert "Send the revised quote" in html and "Overdue" in html
    assert "Call the CFO" in html
    assert "Next month&#x27;s review" not in html and "Next month's review" not in html
    assert "Someone else" not in html


def test_customers_past_their_tier_cadence_are_due_and_the_others_are_not(org: Org) -> None:
    overdue_a = CustomerFactory(owner=org.rep, tier=Tier.A, name="Tier A quiet for 8 days")
    # tier A's cadence counts visits and meetings only (the tier policy's default)
    ActivityFactory(owner=org.rep, customer=overdue_a, kind="visit", occurred_at=days_ago(8))
    recent_a = CustomerFactory(owner=org.rep, tier=Tier.A, name="Tier A touched 3 days ago")
    ActivityFactory(owner=org.rep, customer=recent_a, kind="visit", occurred_at=days_ago(3))
    called_a = CustomerFactory(owner=org.rep, tier=Tier.A, name="Tier A only phoned 3 days ago")
    ActivityFactory(owner=org.rep, customer=called_a, kind="call", occurred_at=days_ago(3))
    within_c = CustomerFactory(owner=org.rep, tier=Tier.C, name="Tier C touched 20 days ago")
    ActivityFactory(owner=org.rep, customer=within_c, occurred_at=days_ago(20))
    never = CustomerFactory(owner=org.rep, tier=Tier.B, name="Tier B never followed up")
    CustomerFactory(owner=org.other_rep, tier=Tier.A, name="Not mine")

    response = english_client(org.rep).get(reverse("web:workspace"))

    due = [item.customer for item in response.context["workspace"].due_customers]
    assert overdue_a in due and never in due and called_a in due
    assert recent_a not in due and within_c not in due
    assert all(customer.owner_id == org.rep.pk for customer in due)
    assert "Not mine" not in response.content.decode()


def test_my_deals_are_grouped_by_stage(org: Org, stages: dict) -> None:
    first = OpportunityFactory(owner=org.rep, name="Deal in contact")
    second = OpportunityFactory(owner=org.rep, name="Deal in proposal", stage=stages["proposal"])
    OpportunityFactory(owner=org.other_rep, name="Other rep's deal")

    response = english_client(org.rep).get(reverse("web:workspace"))

    columns = {
        str(col.stage.key): col.opportunities
        for col in response.context["workspace"].deals_by_stage
    }
    assert columns == {"initial_contact": [first], "proposal": [second]}


def test_workspace_queries_do_not_grow_with_the_number_of_records(
    org: Org, django_assert_max_num_queries: object
) -> None:
    client = english_client(org.rep)
    for _ in range(3):
        customer = CustomerFactory(owner=org.rep, tier=Tier.A)
        OpportunityFactory(owner=org.rep, customer=customer)
        Task.objects.create(title="t", assignee=org.rep, due_at=days_ago(1), customer=customer)
    client.get(reverse("web:workspace"))  # warm the session and caches
    with django_assert_max_num_queries(25) as few:  # type: ignore[operator]
        client.get(reverse("web:workspace"))
    for _ in range(20):
        customer = CustomerFactory(owner=org.rep, tier=Tier.A)
        OpportunityFactory(owner=org.rep, customer=customer)
        Task.objects.create(title="t", assignee=org.rep, due_at=days_ago(1), customer=customer)
    with django_assert_max_num_queries(len(few.captured_queries)):  # type: ignore[operator]
        client.get(reverse("web:workspace"))


def test_logging_a_follow_up_with_htmx_saves_it_and_returns_a_fresh_form(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)
    before = deal.updated_at

    response = english_client(org.rep).post(
        reverse("web:followup"),
        {
            "customer": deal.customer_id,
            "kind": ActivityKind.VISIT,
            "outcome": "positive",
            "summary": "Met the IT director",
            "opportunity": deal.pk,
            "next_step": "Send the proposal",
            "next_step_due": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Follow-up with" in response.content.decode()
    activity = Activity.objects.get(customer=deal.customer)
    assert (activity.owner, activity.kind, activity.opportunity) == (org.rep, "visit", deal)
    assert activity.next_step == "Send the proposal"
    deal.refresh_from_db()
    assert deal.updated_at > before
    assert 'name="customer"' in response.content.decode()  # a fresh form for the next one


def test_follow_up_without_htmx_redirects_back(org: Org) -> None:
    customer = CustomerFactory(owner=org.rep)

    response = english_client(org.rep).post(
        reverse("web:followup"),
        {"customer": customer.pk, "kind": "call", "outcome": "neutral"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("web:workspace")
    assert Activity.objects.filter(customer=customer, owner=org.rep).count() == 1


def test_follow_up_about_another_customers_deal_is_refused_and_nothing_saved(org: Org) -> None:
    customer = CustomerFactory(owner=org.rep)
    other_deal = OpportunityFactory(owner=org.rep)

    response = english_client(org.rep).post(
        reverse("web:followup"),
        {
            "customer": customer.pk,
            "kind": "call",
            "outcome": "neutral",
            "opportunity": other_deal.pk,
        },
        HTTP_HX_REQUEST="true",
    )

    assert "This opportunity belongs to another customer." in response.content.decode()
    assert not Activity.objects.exists()


def test_follow_up_with_a_customer_the_rep_may_not_see_is_refused(org: Org) -> None:
    hidden = CustomerFactory(owner=org.other_rep)

    response = english_client(org.rep).post(
        reverse("web:followup"),
        {"customer": hidden.pk, "kind": "call", "outcome": "neutral"},
        HTTP_HX_REQUEST="true",
    )

    assert "Select a valid choice" in response.content.decode()
    assert not Activity.objects.exists()


def test_follow_up_form_has_a_label_for_every_input(org: Org) -> None:
    CustomerFactory(owner=org.rep)

    html = english_client(org.rep).get(reverse("web:followup")).content.decode()

    for name in ("customer", "summary", "next_step", "next_step_due", "opportunity"):
        assert f'for="id_{name}"' in html, name
    assert '<legend class="form-label">How</legend>' in html


def test_marking_a_task_done_closes_it_and_others_tasks_answer_404(org: Org) -> None:
    mine = Task.objects.create(title="Mine", assignee=org.rep, due_at=days_ago(1))
    theirs = Task.objects.create(title="Theirs", assignee=org.other_rep, due_at=days_ago(1))
    client = english_client(org.rep)

    done = client.post(reverse("web:task_done", args=[mine.pk]), HTTP_HX_REQUEST="true")
    hidden = client.post(reverse("web:task_done", args=[theirs.pk]))

    assert done.status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == TaskStatus.DONE and mine.completed_at is not None
    assert hidden.status_code == 404
    assert theirs.status == TaskStatus.OPEN


def test_choosing_a_customer_offers_only_that_customers_open_deals(org: Org, stages: dict) -> None:
    deal = OpportunityFactory(owner=org.rep, name="Warehouse WMS")
    OpportunityFactory(owner=org.rep, name="Someone else's customer deal")
    OpportunityFactory(
        owner=org.rep,
        customer=deal.customer,
        name="Closed deal",
        stage=stages["lost"],
        closed_at=timezone.now(),
    )

    response = english_client(org.rep).get(
        reverse("web:followup"), {"customer": deal.customer_id, "kind": "visit"}
    )

    html = response.content.decode()
    assert "Warehouse WMS" in html
    assert "Someone else" not in html and "Closed deal" not in html
    assert 'value="visit" checked' in html  # what was already chosen is kept


def test_most_overdue_customers_come_first_across_tiers(org: Org) -> None:
    slightly = CustomerFactory(owner=org.rep, tier=Tier.C, name="C, 2 days past")
    ActivityFactory(owner=org.rep, customer=slightly, occurred_at=days_ago(32))
    badly = CustomerFactory(owner=org.rep, tier=Tier.A, name="A, 13 days past")
    ActivityFactory(owner=org.rep, customer=badly, kind="meeting", occurred_at=days_ago(20))

    response = english_client(org.rep).get(reverse("web:workspace"))

    due = response.context["workspace"].due_customers
    assert [item.customer for item in due] == [badly, slightly]
    assert [item.days_overdue for item in due] == [13, 2]


def test_upcoming_tasks_of_the_next_week_are_listed_apart_from_today(org: Org) -> None:
    Task.objects.create(title="Prepare the board deck", assignee=org.rep, due_at=days_ago(-3))
    Task.objects.create(title="Quarterly review", assignee=org.rep, due_at=days_ago(-30))

    html = english_client(org.rep).get(reverse("web:workspace")).content.decode()

    upcoming = html.split('id="upcoming-tasks"', 1)[1]
    assert "Prepare the board deck" in upcoming
    assert "Quarterly review" not in html
