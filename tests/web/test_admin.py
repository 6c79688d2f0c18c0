"""The admin works for every model, keeps stage history read-only and does not N+1 its lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.activities.choices import ActivityKind
from salesradar.activities.models import ActionCard, Activity, Task
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.models import (
    Alert,
    AlertCheck,
    AlertEvent,
    AlertGroup,
    Concern,
    Rule,
    Silence,
)
from salesradar.capture.models import Competitor
from salesradar.crm.choices import LeadSource, Tier
from salesradar.crm.models import Contact, Customer, Lead
from salesradar.notify.models import (
    AlertRecipient,
    Channel,
    Delivery,
    InboxMessage,
    NotificationBatch,
    PeriodicDigest,
    Preference,
    RateBucket,
    SmsOptOut,
)
from salesradar.pipeline.admin import money_column
from salesradar.pipeline.choices import TargetMeasure
from salesradar.pipeline.models import (
    Contract,
    Evidence,
    Invoice,
    Opportunity,
    Process,
    Quote,
    Stage,
    StageChange,
    Target,
)
from salesradar.quality.models import BacktestRun
from tests.api.factories import admin_samples as api_admin_samples

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)
SALESRADAR_APPS = ("accounts", "crm", "pipeline", "activities", "alerts", "notify")
REGISTERED_MODELS = sorted(model._meta.label for model in admin.site._registry)


def admin_url(obj_or_model: Model | type[Model], view: str, *args: object) -> str:
    meta = obj_or_model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def build_process() -> tuple[Process, dict[str, Stage]]:
    process = Process.objects.create(
        key="default", names={"en": "Default", "zh-hans": "默认流程"}, loaded_at=AT
    )
    specs = [
        ("initial", "Initial contact", 10, [], False, False),
        ("needs", "Needs confirmed", 30, ["pain_points"], False, False),
        ("won", "Won", 100, [], True, False),
        ("lost", "Lost", 0, [], False, True),
    ]
    stages = {
        key: Stage.objects.create(
            process=process,
            key=key,
            labels={"en": label},
            order=order,
            probability=probability,
            gate=gate,
            is_won=is_won,
            is_lost=is_lost,
        )
        for order, (key, label, probability, gate, is_won, is_lost) in enumerate(specs, 1)
    }
    return process, stages


def build_opportunity(number: int, process: Process, stage: Stage) -> Opportunity:
    """Create an opportunity with its own customer and owner, so a missing join shows up."""
    owner = User.objects.create_user(username=f"rep{number}", first_name=f"Rep {number}")
    customer = Customer.objects.create(code=f"C-{number:04}", name=f"客户 {number} 有限公司")
    return Opportunity.objects.create(
        code=f"O-{number:04}",
        name=f"Deal {number}",
        customer=customer,
        owner=owner,
        process=process,
        stage=stage,
        amount=Decimal("120000.00"),
        created_at=AT,
        updated_at=AT,
        stage_entered_at=AT,
    )


@pytest.fixture
def sample() -> dict[str, Model]:
    """One row of every registered model, keyed by model label."""
    team = Team.objects.create(code="east", name="East")
    manager = User.objects.create_user(username="manager", role=Role.MANAGER, team=team)
    team.manager = manager
    team.save()
    rep = User.objects.create_user(
        username="rep", first_name="Li", last_name="Wei", role=Role.REP, team=team
    )
    process, stages = build_process()
    customer = Customer.objects.create(
        code="C-0001", name="上海示例科技有限公司", tier=Tier.A, owner=rep, created_at=AT
    )
    contact = Contact.objects.create(customer=customer, name="Zhang San", phone="13800000000")
    lead = Lead.objects.create(
        code="L-0001", company_name="示例线索有限公司", source=LeadSource.WEB_FORM, created_at=AT
    )
    opportunity = Opportunity.objects.create(
        code="O-0001",
        name="CRM rollout",
        customer=customer,
        owner=rep,
        process=process,
        stage=stages["needs"],
        amount=Decimal("250000.00"),
        created_at=AT,
        updated_at=AT,
        stage_entered_at=AT,
    )
    stage_change = StageChange.objects.create(
        opportunity=opportunity,
        from_stage=stages["initial"],
        to_stage=stages["needs"],
        changed_at=AT,
        changed_by=rep,
    )
    evidence = Evidence.objects.create(
        opportunity=opportunity, kind="pain_points", title="Pain points", added_by=rep, added_at=AT
    )
    quote = Quote.objects.create(opportunity=opportunity, requested_at=AT, amount=Decimal("1"))
    contract = Contract.objects.create(
        code="K-0001",
        customer=customer,
        opportunity=opportunity,
        signed_at=AT,
        starts_on=dt.date(2025, 4, 1),
        ends_on=dt.date(2026, 3, 31),
        amount=Decimal("250000.00"),
    )
    invoice = Invoice.objects.create(
        code="I-0001",
        contract=contract,
        customer=customer,
        issued_on=dt.date(2025, 4, 1),
        due_on=dt.date(2025, 5, 1),
        amount=Decimal("125000.00"),
    )
    target = Target.objects.create(
        user=rep,
        period_start=dt.date(2025, 3, 1),
        measure=TargetMeasure.WON_AMOUNT,
        value=Decimal("1e6"),
    )
    activity = Activity.objects.create(
        kind=ActivityKind.VISIT,
        customer=customer,
        opportunity=opportunity,
        contact=contact,
        owner=rep,
        occurred_at=AT,
    )
    task = Task.objects.create(
        title="Send proposal", assignee=rep, created_by=manager, due_at=AT, customer=customer
    )
    action_card = ActionCard.objects.create(
        owner=rep,
        what="Confirm budget",
        deliverable="Signed budget memo",
        due_at=AT,
        opportunity=opportunity,
        created_by=manager,
    )
    group = Group.objects.create(name="Sales ops")
    rule = Rule.objects.create(
        key="quote-0001",
        names={"en": "Quote not answered"},
        metric="quote_hours_unanswered",
        grain="quote",
        condition={"kind": "threshold", "op": ">=", "warning": 48},
    )
    alert = Alert.objects.create(
        rule=rule,
        fingerprint=f"quote-0001:quote:{quote.pk}",
        entity_type="quote",
        entity_id=quote.pk,
        state=AlertState.FIRING,
        severity="warning",
        value=50.0,
        threshold=48.0,
        owner=rep,
        team=team,
        started_at=AT,
        firing_since=AT,
        last_true_at=AT,
        last_evaluated_at=AT,
        created_at=AT,
    )
    alert_event = AlertEvent.objects.create(
        alert=alert, at=AT, kind=EventKind.FIRING, from_state="pending", to_state="firing"
    )
    silence = Silence.objects.create(
        rule=rule, starts_at=AT, ends_at=AT + dt.timedelta(days=1), created_by=manager
    )
    channel = Channel.objects.create(name="inbox-0001", kind="inapp")
    preference = Preference.objects.create(user=rep)
    delivery = Delivery.objects.create(
        channel=channel, recipient=rep, evaluation_at=AT, payload={"subject": "0001"}
    )
    inbox_message = InboxMessage.objects.create(
        user=rep, delivery=delivery, subject="SalesRadar: 1 alert 0001", body="..."
    )
    bucket = RateBucket.objects.create(destination="https://robot.example/0001", tokens={})
    batch = NotificationBatch.objects.create(evaluation_at=AT, deliveries=1)
    told = AlertRecipient.objects.create(alert=alert, episode=AT, user=rep, first_told_at=AT)
    digest = PeriodicDigest.objects.create(
        kind="daily_briefing", period_start=AT.date(), recipient=rep
    )
    objects: list[Model] = [
        *lead_pool_sample(rep, customer, lead, channel),
        bucket,
        batch,
        told,
        digest,
        channel,
        preference,
        delivery,
        inbox_message,
        rule,
        alert,
        alert_event,
        silence,
        team,
        rep,
        process,
        stages["needs"],
        customer,
        contact,
        lead,
        opportunity,
        stage_change,
        evidence,
        quote,
        contract,
        invoice,
        target,
        activity,
        task,
        action_card,
        group,
    ]
    objects.extend(api_admin_samples(rep))
    objects.extend(health_samples(customer, manager))
    objects.append(Competitor.objects.create(name="Competitor 0001"))
    objects.extend(handover_samples(rep, manager))
    objects.append(
        SmsOptOut.objects.create(number="+8613800000001", opted_out_at=AT, source="reply")
    )
    objects.append(
        AlertCheck.objects.create(rule=rule, evaluated_at=AT, rule_version=1, condition={})
    )
    objects.append(
        BacktestRun.objects.create(label="backtest 0001", start=AT, end=AT, horizon_days=60)
    )
    concern = Concern.objects.create(
        key="deal-0001", names={"en": "Deal at risk"}, entity_type="opportunity"
    )
    objects.append(concern)
    objects.append(
        AlertGroup.objects.create(
            fingerprint=f"deal-0001:opportunity:{opportunity.pk}",
            concern=concern,
            entity_type="opportunity",
            entity_id=opportunity.pk,
            owner=rep,
            severity="warning",
            since=AT,
            opened_at=AT,
            updated_at=AT,
        )
    )
    return {obj._meta.label: obj for obj in objects}


def handover_samples(rep: User, manager: User) -> list[Model]:
    """One handover and one of the records it moved."""
    from salesradar.handover.models import Handover, HandoverItem

    handover = Handover.objects.create(
        leaving=rep, successors=[manager.pk], split="one", effective_at=AT, note="0001"
    )
    item = HandoverItem.objects.create(
        handover=handover, kind="customer", object_id=1, label="0001", to_owner=manager
    )
    return [handover, item]


def health_samples(customer: Customer, manager: User) -> list[Model]:
    """One row of each customer-health model."""
    from salesradar.health.models import (
        CustomerHealth,
        HealthAction,
        HealthCalibration,
        OpportunityBlock,
    )

    return [
        CustomerHealth.objects.create(
            customer=customer,
            computed_at=AT,
            potential=50,
            depth=40,
            relationship=30,
            risk=90,
            score=53,
            tier="yellow",
            tier_since=AT,
            weakest="relationship",
        ),
        HealthCalibration.objects.create(
            computed_at=AT, samples=10, renewals=5, applied=False, pillar_auc={}
        ),
        OpportunityBlock.objects.create(
            customer=customer, opened_at=AT, score=20, reason="red", clearable_by=manager
        ),
        HealthAction.objects.create(customer=customer, tier="red", kind="escalation", taken_at=AT),
    ]


def lead_pool_sample(rep: User, customer: Customer, lead: Lead, channel: Channel) -> list[Model]:
    """One row of each lead-pool model (crm, issue 6)."""
    from salesradar.crm import models as crm

    pool = crm.LeadPool.objects.create(code="pool-0001", name="Pool 0001", is_default=True)
    rule = crm.RoutingRule.objects.create(name="Rule 0001")
    rule.members.set([rep])
    sequence = crm.NurtureSequence.objects.create(
        name="Nurture 0001", steps=[{"day": 1, "kind": "task", "title": "0001"}]
    )
    return [
        pool,
        rule,
        sequence,
        crm.SourcePolicy.objects.create(source=LeadSource.WEB_FORM, pool=pool),
        crm.TierPolicy.objects.create(tier=Tier.A),
        crm.OutOfOffice.objects.create(
            user=rep, starts_at=AT, ends_at=AT + dt.timedelta(days=1), note="0001"
        ),
        crm.WorkingDayOverride.objects.create(day=dt.date(2027, 2, 20), is_working_day=True),
        crm.Assignment.objects.create(lead=lead, kind="claimed", owner=rep, at=AT, note="0001"),
        crm.DuplicateReview.objects.create(lead=lead, candidates=[], best_score=0.9),
        crm.MergeRecord.objects.create(
            kind="lead", survivor_id=lead.pk, merged_id=0, merged_code="L-0001", snapshot={}, at=AT
        ),
        crm.LifecycleChange.objects.create(
            customer=customer, from_stage="prospect", to_stage="new", event="manual", at=AT
        ),
        crm.NurtureEnrollment.objects.create(lead=lead, sequence=sequence, started_at=AT),
    ]


def test_every_salesradar_model_is_registered_in_the_admin():
    unregistered = [
        model._meta.label
        for label in SALESRADAR_APPS
        for model in apps.get_app_config(label).get_models()
        if not admin.site.is_registered(model)
    ]

    assert unregistered == []


@pytest.mark.parametrize("label", REGISTERED_MODELS)
def test_changelist_and_change_page_render(admin_client, sample, label):
    obj = sample[label]

    changelist = admin_client.get(admin_url(obj, "changelist"))
    change = admin_client.get(admin_url(obj, "change", obj.pk))

    assert changelist.status_code == 200
    assert obj in changelist.context["cl"].result_list
    assert change.status_code == 200


@pytest.mark.parametrize(
    "label",
    sorted(
        set(REGISTERED_MODELS)
        # written by the engine
        - {"pipeline.StageChange", "alerts.Alert", "alerts.AlertEvent", "alerts.AlertCheck"}
        - {"alerts.AlertGroup", "alerts.Concern"}  # written by the engine and the pack loader
        - {"notify.AlertRecipient", "notify.PeriodicDigest"}  # written by the planner
        - {"quality.BacktestRun"}  # written by salesradar backtest --save
        - {"api.OutboundEvent", "api.InboundEvent"}  # written by the webhooks
        - {"crm.Assignment", "crm.MergeRecord", "crm.LifecycleChange"}  # lead pool history
        - {"handover.Handover", "handover.HandoverItem"}  # written by the handover verb
    ),
)
def test_add_page_renders(admin_client, sample, label):
    response = admin_client.get(admin_url(sample[label], "add"))

    assert response.status_code == 200


@pytest.mark.parametrize("label", REGISTERED_MODELS)
def test_changelist_search_runs(admin_client, sample, label):
    response = admin_client.get(admin_url(sample[label], "changelist"), {"q": "0001"})

    assert response.status_code == 200


def test_stage_change_admin_refuses_to_edit(admin_client, sample):
    stage_change = sample["pipeline.StageChange"]

    response = admin_client.post(
        admin_url(stage_change, "change", stage_change.pk), {"note": "rewritten history"}
    )

    assert response.status_code == 403
    stage_change.refresh_from_db()
    assert stage_change.note == ""


def test_stage_change_admin_refuses_to_add_or_delete(admin_client, sample, rf, admin_user):
    stage_change = sample["pipeline.StageChange"]
    request = rf.get("/")
    request.user = admin_user
    model_admin = admin.site.get_model_admin(StageChange)

    add = admin_client.get(admin_url(StageChange, "add"))
    delete = admin_client.post(admin_url(stage_change, "delete", stage_change.pk), {"post": "yes"})

    assert add.status_code == 403
    assert delete.status_code == 403
    assert "delete_selected" not in model_admin.get_actions(request)
    assert StageChange.objects.filter(pk=stage_change.pk).exists()


def test_opportunity_page_shows_stage_history_read_only(admin_client, sample):
    opportunity = sample["pipeline.Opportunity"]

    response = admin_client.get(admin_url(opportunity, "change", opportunity.pk))

    inlines = {formset.opts.model: formset for formset in response.context["inline_admin_formsets"]}
    assert set(inlines) == {StageChange, Quote, Evidence}
    history = inlines[StageChange]
    assert not history.has_add_permission
    assert not history.has_change_permission
    assert not history.has_delete_permission
    assert [form.original for form in history] == [sample["pipeline.StageChange"]]


def test_invoice_overdue_filter_lists_only_unpaid_invoices_past_due(admin_client, sample):
    today = timezone.localdate()
    contract = sample["pipeline.Contract"]

    def invoice(code: str, due_on: dt.date, *, paid: bool = False) -> Invoice:
        return Invoice.objects.create(
            code=code,
            contract=contract,
            customer=contract.customer,
            issued_on=due_on - dt.timedelta(days=30),
            due_on=due_on,
            amount=Decimal("100.00"),
            paid_amount=Decimal("100.00") if paid else Decimal("0"),
            paid_at=AT if paid else None,
        )

    overdue = invoice("I-LATE", today - dt.timedelta(days=30))
    paid = invoice("I-PAID", today - dt.timedelta(days=30), paid=True)
    not_due = invoice("I-LATER", today + dt.timedelta(days=30))

    response = admin_client.get(admin_url(Invoice, "changelist"), {"overdue": "yes"})
    complement = admin_client.get(admin_url(Invoice, "changelist"), {"overdue": "no"})

    assert overdue in response.context["cl"].result_list
    assert paid not in response.context["cl"].result_list
    assert not_due not in response.context["cl"].result_list
    assert overdue not in complement.context["cl"].result_list
    assert {paid, not_due} <= set(complement.context["cl"].result_list)


def test_opportunity_changelist_query_count_does_not_grow_with_rows(admin_client):
    process, stages = build_process()
    url = admin_url(Opportunity, "changelist")
    build_opportunity(1, process, stages["initial"])
    admin_client.get(url)  # warm the session and content-type caches

    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(url).status_code == 200
    for number, stage in enumerate(stages.values(), 2):
        build_opportunity(number, process, stage)
    with CaptureQueriesContext(connection) as five_rows:
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == 5
    assert len(five_rows) == len(one_row)


def test_amount_column_shows_localised_amount_with_currency():
    column = money_column("amount", "amount")
    opportunity = Opportunity(amount=Decimal("1234567.5"), currency="USD")

    with translation.override("en"):
        assert column(opportunity) == "1,234,567.50 USD"
    assert column(Quote(amount=None)) is None


def test_rule_admin_refuses_a_rule_the_engine_could_not_run(admin_client, sample):
    rule = sample["alerts.Rule"]
    response = admin_client.post(
        admin_url(rule, "change", rule.pk),
        {
            "key": rule.key,
            "pack": "",
            "names": '{"en": "Quote not answered"}',
            "descriptions": "{}",
            "metric": "quote_hours_unanswered",
            "grain": "quote",
            "scope": "{}",
            "condition": '{"kind": "threshold", "op": "=>", "warning": 48}',
            "for_clause": "",
            "routing": "{}",
            "notify": "{}",
            "labels": "{}",
            "inhibits": "[]",
            "depends_on": "[]",
            "enabled": "on",
            "version": "1",
        },
    )

    assert response.status_code == 200
    assert "condition.op" in response.content.decode()
    rule.refresh_from_db()
    assert rule.condition["op"] == ">="
