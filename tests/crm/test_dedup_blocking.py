"""The duplicate guard's blocking: crowded name prefixes narrow the comparison, never widen it."""

from __future__ import annotations

import pytest

from salesradar.crm import dedup
from salesradar.crm.dedup import Incoming, guard_duplicates
from salesradar.crm.models import Customer
from tests.crm.factories import LeadFactory
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_blocks(monkeypatch):
    """Make a block 'crowded' beyond 3 names, so a test needs a handful of rows, not 300."""
    monkeypatch.setattr(dedup, "BLOCK_LIMIT", 3)


def test_stored_records_carry_the_six_character_sub_block():
    customer = CustomerFactory(name="上海星云数据科技有限公司")
    lead = LeadFactory(company_name="星云数据科技发展有限公司")

    assert Customer.objects.get(pk=customer.pk).name_subblock == "星云数据科技"
    lead.refresh_from_db()
    assert lead.name_subblock == "星云数据科技"


def test_crowded_block_compares_within_the_sub_block_only(small_blocks):
    near = CustomerFactory(name="基准测试客户甲乙有限公司")
    for index in range(4):
        CustomerFactory(name=f"基准其他公司{index}号")

    [check] = guard_duplicates([Incoming("基准测试客户甲丙")])

    assert [(c.kind, c.record_id) for c in check.similar] == [("customer", near.pk)]
    assert check.similar[0].score == pytest.approx(0.875)


def test_crowded_block_and_sub_block_still_find_the_same_name_key(small_blocks):
    for index in range(5):
        CustomerFactory(name=f"基准测试客户{index}有限公司")
    same = CustomerFactory(name="上海基准测试客户7有限公司")

    [check] = guard_duplicates([Incoming("基准测试客户7（北京）")])

    assert [(c.record_id, c.score) for c in check.similar] == [(same.pk, pytest.approx(0.95))]


def test_crowded_sub_block_does_not_propose_names_that_differ_inside_it(small_blocks):
    for index in range(5):
        CustomerFactory(name=f"基准测试客户{index}有限公司")

    [check] = guard_duplicates([Incoming("基准测试客户9有限公司")])

    assert check.similar == []  # every one scores 0.93, but comparing all of them is quadratic


def test_a_small_block_is_compared_whole_with_rapidfuzz_scores():
    exact = CustomerFactory(name="星云数据科技有限公司")
    near = LeadFactory(company_name="星云数据科技发展有限公司")

    [check] = guard_duplicates([Incoming("星云数据科技")])

    assert [(c.kind, c.record_id) for c in check.similar] == [
        ("customer", exact.pk),
        ("lead", near.pk),
    ]
    assert check.similar[0].score == 1.0
    assert check.similar[1].score == pytest.approx(12 / 14)
