"""An alert read by a person: the entity in words, the value with units, the app's own link,
in the reader's language, and the same wording on every channel that carries it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from salesradar.accounts.choices import Role
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.models import Alert, AlertEvent, Rule
from salesradar.alerts.wording import describe_alert, format_amount, format_value
from salesradar.notify import dispatch
from salesradar.notify.channels import wecom
from salesradar.notify.channels.base import Message
from salesradar.notify.models import Delivery
from salesradar.notify.services import plan_notifications
from tests.factories import CustomerFactory, OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2025, 6, 2, 2, 0, tzinfo=dt.UTC)


def rule(metric: str, key: str, names: dict[str, str]) -> Rule:
    return Rule.objects.create(
        key=key, names=names, metric=metric, grain="customer", routing={"to": ["owner"]}
    )


def raise_alert(
    rule_: Rule, entity_type: str, entity: Any, value: float, threshold: float
) -> Alert:
    alert = Alert.objects.create(
        rule=rule_,
        fingerprint=Alert.fingerprint_for(rule_.key, entity_type, entity.pk),
        entity_type=entity_type,
        entity_id=entity.pk,
        state=AlertState.FIRING,
        severity="danger",
        value=value,
        threshold=threshold,
        message="665.56 (>= 336)",  # what the engine stored, in its own language
        owner=entity.owner,
        started_at=T0,
        firing_since=T0,
        last_evaluated_at=T0,
    )
    AlertEvent.objects.create(
        alert=alert,
        at=T0,
        kind=EventKind.FIRING,
        from_state="pending",
        to_state="firing",
        to_severity="danger",
        reason=alert.message,
    )
    return alert


@pytest.fixture
def neglected_customer() -> Alert:
    team = TeamFactory()
    owner = UserFactory(username="wangfang", role=Role.REP, team=team, language="zh-hans")
    customer = CustomerFactory(owner=owner, name="上海云杉科技有限公司", tier="A")
    neglect = rule(
        "customer_days_since_last_activity",
        "a-tier-neglected",
        {"en": "A-tier customer not followed up", "zh-hans": "A类客户未跟进"},
    )
    return raise_alert(neglect, "customer", customer, 46.8, 7)


@pytest.fixture
def stale_deal(default_process: Any) -> Alert:
    owner = UserFactory(username="lilei", role=Role.REP, language="en")
    deal = OpportunityFactory(
        owner=owner,
        name="ERP upgrade",
        amount=Decimal("1234567"),
        customer=CustomerFactory(owner=owner, name="Hangzhou Spruce Trading"),
    )
    stale = rule(
        "opportunity_hours_since_update",
        "stale-deal",
        {"en": "Opportunity not updated for 48 hours", "zh-hans": "商机48小时无更新"},
    )
    return raise_alert(stale, "opportunity", deal, 665.56, 336)


def test_a_customer_alert_says_how_many_days_without_follow_up_in_each_language(
    neglected_customer,
):
    chinese = describe_alert(neglected_customer, "zh-hans")
    english = describe_alert(neglected_customer, "en")

    assert chinese.measure == "46.8 天未跟进（阈值 7 天）"
    assert english.measure == "46.8 days without follow-up (limit 7 days)"
    assert chinese.title == "A类客户未跟进"
    assert "上海云杉科技有限公司" in chinese.entity and chinese.entity.startswith("客户")
    assert chinese.path == f"/customers/{neglected_customer.entity_id}/"


def test_a_deal_alert_names_deal_customer_owner_stage_and_amount_and_shows_hours_as_days(
    stale_deal,
):
    wording = describe_alert(stale_deal, "en")
    deal = stale_deal.rule.alerts.get().entity_id

    assert wording.measure == "27.7 days without an update (limit 14 days)"
    assert "ERP upgrade" in wording.entity and "Hangzhou Spruce Trading" in wording.entity
    assert wording.facts[0] == f"Owner {stale_deal.owner}"
    assert wording.facts[1].startswith("Stage ")
    assert wording.facts[2] == "Amount ¥1,234,567"
    assert wording.path == f"/opportunities/{deal}/"
    assert "665.56" not in wording.detail


def test_large_amounts_read_in_wan_and_yi_in_chinese_and_grouped_in_english():
    with translation.override("zh-hans"):
        assert format_amount(Decimal("1234567")) == "¥123.5万"
        assert format_amount(Decimal("250000000"), "USD") == "$2.5亿"
        assert format_amount(Decimal("8500")) == "¥8,500"
        assert format_value(0.853, "ratio") == "85%"
    with translation.override("en"):
        assert format_amount(Decimal("1234567")) == "¥1,234,567"
        assert format_value(18.4, "hours") == "18.4 hours"
        assert format_value(12345.6, "count") == "12,345.6"


def test_each_recipient_reads_the_digest_in_their_own_language_with_links_into_the_app(
    neglected_customer, stale_deal
):
    plan_notifications(until=T0)

    chinese = Delivery.objects.get(recipient__username="wangfang").payload
    english = Delivery.objects.get(recipient__username="lilei").payload

    assert "46.8 天未跟进（阈值 7 天）" in chinese["text"]
    assert "上海云杉科技有限公司" in chinese["markdown"]
    assert f"/customers/{neglected_customer.entity_id}/" in chinese["html"]
    assert "27.7 days without an update" in english["text"]
    assert "Hangzhou Spruce Trading" in english["html"]
    for payload in (chinese, english):
        assert "/admin/" not in str(payload)
        assert "665.56 (>= 336)" not in str(payload)
        assert "customer " + str(neglected_customer.entity_id) not in str(payload)


def test_the_im_robot_message_carries_the_wording_and_the_deal_link(stale_deal):
    plan_notifications(until=T0)
    payload = Delivery.objects.get(recipient__username="lilei").payload
    message = Message(
        idempotency_id="x",
        language=str(payload["language"]),
        subject=str(payload["subject"]),
        text=str(payload["text"]),
        markdown=str(payload["markdown"]),
        html=str(payload["html"]),
    )

    content = wecom.document(message)["markdown"]["content"]

    assert "27.7 days without an update (limit 14 days)" in content
    assert f"http://127.0.0.1:8000/opportunities/{stale_deal.entity_id}/" in content


def test_my_alerts_the_alert_list_and_the_inbox_show_the_same_wording_in_the_readers_language(
    neglected_customer,
):
    owner = neglected_customer.owner
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(owner)
    plan_notifications(until=T0)
    dispatch.dispatch_due(now=T0)
    inbox_message = owner.inbox.get()
    customer_page = f"/customers/{neglected_customer.entity_id}/"

    for page in (
        reverse("web:workspace"),
        reverse("web:alert_list"),
        reverse("web:inbox_message", args=[inbox_message.pk]),
    ):
        html = client.get(page).content.decode()
        assert "46.8 天未跟进（阈值 7 天）" in html, page
        assert customer_page in html, page
        assert "上海云杉科技有限公司" in html, page
        assert "/admin/" not in html.split("<main", 1)[-1], page
