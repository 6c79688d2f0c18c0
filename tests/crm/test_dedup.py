"""The duplicate guard: exact matches on code, phone and e-mail, fuzzy names, merging."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from salesradar.activities.models import Activity, Task
from salesradar.crm.choices import AssignmentKind, LeadSource
from salesradar.crm.dedup import Incoming, guard_duplicates, keys_of, merge
from salesradar.crm.models import Assignment, Contact, Customer, Lead, MergeRecord
from salesradar.crm.normalize import company_match_key, normalize_phone
from tests.crm.factories import VALID_CREDIT_CODE, LeadFactory
from tests.factories import ActivityFactory, ContactFactory, CustomerFactory, days_after_creation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "variant",
    [
        "某某科技（上海）",
        "上海某某科技有限公司",
        "某某科技(上海)有限公司",
        "上海市某某科技股份有限公司",
    ],
)
def test_place_name_in_front_or_in_brackets_gives_one_name_key(variant):
    assert company_match_key(variant) == company_match_key("某某科技有限公司")


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "１３８００１３８０００"]
)
def test_chinese_mobile_numbers_normalise_to_e164_whatever_the_spelling(raw):
    assert normalize_phone(raw) == "+8613800138000"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_phone_normalisation_is_idempotent(number):
    try:
        once = normalize_phone(number)
    except ValueError:
        return  # an unallocated prefix is refused, which is the point
    assert normalize_phone(once) == once


def test_malformed_phone_email_and_credit_code_are_each_refused_with_a_message():
    with pytest.raises(ValidationError) as caught:
        keys_of(Incoming("某某科技", credit_code="91310000MA1FL4XQ8A", phone="12", email="a@"))

    errors = caught.value.message_dict
    assert set(errors) == {"credit_code", "phone", "email"}
    assert "12" in errors["phone"][0]
    assert "a@" in errors["email"][0]


def test_exact_phone_match_names_the_lead_it_collides_with():
    existing = LeadFactory(company_name="甲公司", phone="13800138000")

    [check] = guard_duplicates([Incoming("乙公司", phone="+86 13800138000")])

    assert [(c.kind, c.record_id, c.field) for c in check.exact] == [("lead", existing.pk, "phone")]
    assert existing.code in check.exact[0].message


def test_exact_email_of_a_customer_contact_collides_with_the_customer():
    customer = CustomerFactory(name="丙有限公司")
    ContactFactory(customer=customer, email="Boss@Example.com")

    [check] = guard_duplicates([Incoming("丁公司", email=" boss@example.COM ")])

    assert [(c.kind, c.record_id) for c in check.exact] == [("customer", customer.pk)]


def test_exact_credit_code_match_on_a_customer():
    customer = CustomerFactory(credit_code=VALID_CREDIT_CODE)

    [check] = guard_duplicates([Incoming("戊公司", credit_code=VALID_CREDIT_CODE.lower())])

    assert [(c.kind, c.record_id, c.field) for c in check.exact] == [
        ("customer", customer.pk, "credit_code")
    ]


def test_similar_names_are_flagged_with_candidates_and_scores_not_refused():
    same = CustomerFactory(name="上海星云数据科技有限公司")
    near = LeadFactory(company_name="星云数据科技发展有限公司")
    CustomerFactory(name="北京完全不同贸易有限公司")

    [check] = guard_duplicates([Incoming("星云数据科技（上海）")])

    assert check.exact == []
    assert check.needs_review
    scored = {(c.kind, c.record_id): c.score for c in check.similar}
    assert scored[("customer", same.pk)] == pytest.approx(0.95)
    assert 0.85 <= scored[("lead", near.pk)] < 0.95
    assert len(scored) == 2


def test_two_rows_of_one_batch_with_the_same_phone_collide():
    first, second = guard_duplicates(
        [Incoming("一号公司", phone="13900139000"), Incoming("二号公司", phone="139-0013-9000")]
    )

    assert first.exact == []
    assert [(c.kind, c.field) for c in second.exact] == [("batch", "phone")]


def test_merging_customers_keeps_every_activity_contact_and_history_of_both(default_process):
    survivor = CustomerFactory(name="合并保留有限公司", industry="")
    duplicate = CustomerFactory(name="合并保留公司", industry="manufacturing")
    ActivityFactory(customer=survivor, owner=survivor.owner)
    ActivityFactory(customer=duplicate, owner=duplicate.owner, occurred_at=days_after_creation(2))
    ContactFactory(customer=duplicate, name="王五")
    Task.objects.create(
        title="跟进", assignee=duplicate.owner, due_at=days_after_creation(3), customer=duplicate
    )
    Assignment.objects.create(
        customer=duplicate,
        kind=AssignmentKind.CLAIMED,
        owner=duplicate.owner,
        at=days_after_creation(1),
    )

    record = merge(survivor, duplicate, at=days_after_creation(5))

    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    assert Activity.objects.filter(customer=survivor).count() == 2
    assert Contact.objects.filter(customer=survivor, name="王五").exists()
    assert Task.objects.filter(customer=survivor).count() == 1
    assert set(Assignment.objects.filter(customer=survivor).values_list("kind", flat=True)) == {
        AssignmentKind.CLAIMED,
        AssignmentKind.MERGED,
    }
    survivor.refresh_from_db()
    assert survivor.industry == "manufacturing"
    assert record.snapshot["name"] == "合并保留公司"
    assert record.moved["activities.activity"] == 1
    assert MergeRecord.objects.filter(survivor_id=survivor.pk, kind="customer").count() == 1


def test_merging_a_lead_with_a_customer_is_refused():
    with pytest.raises(ValidationError, match="two leads or two customers"):
        merge(LeadFactory(), CustomerFactory())


def test_merging_leads_keeps_the_earliest_first_contact():
    survivor = LeadFactory(source=LeadSource.API)
    duplicate = LeadFactory(first_contact_at=days_after_creation(1), phone="13700137000")

    merge(survivor, duplicate, at=days_after_creation(2))

    survivor.refresh_from_db()
    assert survivor.first_contact_at == days_after_creation(1)
    assert survivor.phone == "13700137000"
    assert not Lead.objects.filter(pk=duplicate.pk).exists()


def test_admin_refuses_a_lead_whose_phone_is_already_known(admin_client):
    from django.urls import reverse

    existing = LeadFactory(company_name="已知公司", phone="13800138000")

    response = admin_client.post(
        reverse("admin:crm_lead_add"),
        {
            "code": "L-NEW",
            "company_name": "别的公司",
            "phone": "138-0013-8000",
            "source": "manual",
            "status": "new",
            "tier": "C",
            "recycle_count": 0,
            "ladder_step": 0,
            "created_at_0": "2024-03-01",
            "created_at_1": "09:00:00",
        },
    )

    assert response.status_code == 200
    assert existing.code in response.content.decode()
    assert not Lead.objects.filter(code="L-NEW").exists()
