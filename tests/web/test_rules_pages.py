"""The rules page: admins and ops read, switch and re-threshold rules; nobody else may."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesradar.alerts.models import Rule
from salesradar.web.rules_views import numeric_fields, with_values
from tests.web.support import Company, build_company, default_rule, english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def company() -> Company:
    return build_company()


@pytest.mark.parametrize("who", ["east_rep", "manager", "director"])
def test_rules_are_forbidden_to_everyone_but_admins_and_ops(company: Company, who: str) -> None:
    rule = default_rule()
    client = english_client(getattr(company, who))

    assert client.get(reverse("web:rule_list")).status_code == 403
    assert client.get(reverse("web:rule_edit", args=[rule.pk])).status_code == 403
    assert client.post(reverse("web:rule_toggle", args=[rule.pk])).status_code == 403
    assert Rule.objects.get(pk=rule.pk).enabled


@pytest.mark.parametrize("who", ["ops", "admin"])
def test_admins_and_ops_read_every_rule_with_its_thresholds(company: Company, who: str) -> None:
    default_rule()

    response = english_client(getattr(company, who)).get(reverse("web:rule_list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "A-tier customer not followed up for 7 days" in html
    assert "warning = 7" in html
    assert "danger = 14" in html
    assert len(response.context["rows"]) == Rule.objects.count()


def test_rules_link_is_shown_to_ops_only_in_the_navigation(company: Company) -> None:
    default_rule()

    ops_page = english_client(company.ops).get(reverse("web:alert_list")).content.decode()
    manager_page = english_client(company.manager).get(reverse("web:alert_list")).content.decode()

    assert reverse("web:rule_list") in ops_page
    assert reverse("web:rule_list") not in manager_page


def test_switching_a_rule_off_and_on(company: Company) -> None:
    rule = default_rule()
    client = english_client(company.ops)

    client.post(reverse("web:rule_toggle", args=[rule.pk]), {"enabled": "0"})
    assert not Rule.objects.get(pk=rule.pk).enabled
    response = client.post(
        reverse("web:rule_toggle", args=[rule.pk]), {"enabled": "1"}, follow=True
    )

    assert Rule.objects.get(pk=rule.pk).enabled
    assert "switched on" in response.content.decode()


def test_editing_thresholds_saves_the_new_levels(company: Company) -> None:
    rule = default_rule()

    response = english_client(company.ops).post(
        reverse("web:rule_edit", args=[rule.pk]),
        {"condition__warning": "10", "condition__danger": "21"},
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.condition == {"kind": "threshold", "op": ">", "warning": 10, "danger": 21}


def test_a_danger_level_below_warning_is_refused_on_the_danger_field(company: Company) -> None:
    rule = default_rule()

    response = english_client(company.ops).post(
        reverse("web:rule_edit", args=[rule.pk]),
        {"condition__warning": "10", "condition__danger": "5"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["condition__danger"] == [
        "must be at or above the warning level 10 for op >"
    ]
    assert "is-invalid" in response.content.decode()
    assert Rule.objects.get(pk=rule.pk).condition["danger"] == 14


def test_removing_both_levels_is_refused(company: Company) -> None:
    rule = default_rule()

    response = english_client(company.ops).post(
        reverse("web:rule_edit", args=[rule.pk]),
        {"condition__warning": "", "condition__danger": ""},
    )

    assert response.status_code == 400
    assert "give warning or danger" in response.content.decode()
    assert Rule.objects.get(pk=rule.pk).condition["warning"] == 7


def test_a_value_that_is_not_a_number_is_refused(company: Company) -> None:
    rule = default_rule()

    response = english_client(company.ops).post(
        reverse("web:rule_edit", args=[rule.pk]),
        {"condition__warning": "seven", "condition__danger": "14"},
    )

    assert response.status_code == 400
    assert "Enter a number" in response.content.decode()


def test_nested_condition_numbers_are_editable(company: Company) -> None:
    rule = default_rule("new-customers-below-average")
    paths = dict(numeric_fields(rule.condition))

    response = english_client(company.admin).post(
        reverse("web:rule_edit", args=[rule.pk]),
        {
            "condition__periods": "3",
            "condition__when__window": str(paths["when.window"]),
            "condition__when__warning_pct": "40",
        },
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.condition["periods"] == 3
    assert rule.condition["when"]["warning_pct"] == 40


def test_with_values_replaces_and_removes_numbers_without_touching_the_original() -> None:
    condition = {"kind": "threshold", "op": ">=", "warning": 48, "danger": 72}

    updated = with_values(condition, {"warning": None, "danger": 96.5})

    assert updated == {"kind": "threshold", "op": ">=", "danger": 96.5}
    assert condition["warning"] == 48
