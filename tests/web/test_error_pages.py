"""Error pages in the app's layout and the reader's language, the favicon, and the wording
fixes of issue 14 (未读 for an unread message, 筛选 for filtering, industries translated)."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from salesradar.accounts.choices import Role
from tests.factories import CustomerFactory, UserFactory
from tests.web.test_inbox import message

pytestmark = pytest.mark.django_db


def chinese_client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if user is not None:
        client.force_login(user)
    return client


def test_a_missing_page_answers_404_in_the_layout_with_navigation_in_chinese() -> None:
    rep = UserFactory(role=Role.REP)

    response = chinese_client(rep).get("/customers/999999/")

    html = response.content.decode()
    assert response.status_code == 404
    assert 'id="error-404"' in html and "页面不存在" in html
    assert reverse("web:workspace") in html  # the navigation is there


def test_a_page_the_role_may_not_open_answers_403_in_the_layout() -> None:
    rep = UserFactory(role=Role.REP)

    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("web:rule_list"), follow=False)
    signed_in = Client(HTTP_ACCEPT_LANGUAGE="en")
    signed_in.force_login(rep)
    refused = signed_in.get(reverse("web:rule_list"))

    assert response.status_code == 302  # signed out: to the sign-in page
    assert refused.status_code == 403
    assert 'id="error-403"' in refused.content.decode()


def test_the_server_error_page_renders_without_a_request_in_the_active_language() -> None:
    with translation.override("zh-hans"):
        html = render_to_string("500.html")

    assert 'id="error-500"' in html and "出错了" in html


def test_the_favicon_is_served() -> None:
    response = Client().get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("web/favicon.svg")


def test_unread_filter_and_industry_read_right_in_chinese() -> None:
    manager = UserFactory(role=Role.MANAGER)
    customer = CustomerFactory(owner=manager, industry="manufacturing")
    message(manager, "测试")
    client = chinese_client(manager)

    inbox = client.get(reverse("web:inbox")).content.decode()
    alerts = client.get(reverse("web:alert_list")).content.decode()
    detail = client.get(reverse("web:customer_detail", args=[customer.pk])).content.decode()

    assert "未读" in inbox and ">新建<" not in inbox
    assert "筛选" in alerts and "过滤器" not in alerts
    assert "制造业" in detail


def test_the_bell_opens_the_latest_notifications_with_the_unread_count() -> None:
    manager = UserFactory(role=Role.MANAGER)
    message(manager, "Two new alerts")
    message(manager, "Yesterday's digest", read=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager)

    page = client.get(reverse("web:workspace")).content.decode()
    bell = client.get(reverse("web:inbox_latest"), HTTP_HX_REQUEST="true").content.decode()

    assert reverse("web:inbox_latest") in page and 'id="bell"' in page
    assert "1 unread" in bell
    assert "Two new alerts" in bell and "Yesterday" in bell
    assert bell.count(">Unread<") == 1  # only the unread one is marked


def test_global_search_finds_only_what_the_person_may_see_across_kinds() -> None:
    from tests.factories import ContactFactory, OpportunityFactory

    rep, other = UserFactory(role=Role.REP), UserFactory(role=Role.REP)
    mine = OpportunityFactory(owner=rep, name="Spruce ERP")
    ContactFactory(customer=mine.customer, name="Spruce buyer")
    OpportunityFactory(owner=other, name="Spruce CRM")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(rep)

    html = client.get(reverse("web:search"), {"q": "Spruce"}).content.decode()
    page = client.get(reverse("web:workspace")).content.decode()

    assert "Spruce ERP" in html and "Spruce buyer" in html
    assert "Spruce CRM" not in html
    assert 'id="global-search"' in page and 'aria-keyshortcuts="/"' in page
