"""Builders for the lead pool's records, on top of the shared factories."""

from __future__ import annotations

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from salesradar.crm.choices import LeadSource, LeadStatus
from salesradar.crm.models import Lead, LeadPool, RoutingRule
from tests.factories import CREATED_AT

VALID_CREDIT_CODE = "91310000MA1FL4XQ8R"


class LeadPoolFactory(DjangoModelFactory):
    class Meta:
        model = LeadPool

    code = factory.Sequence(lambda n: f"pool-{n}")
    name = factory.Sequence(lambda n: f"Pool {n}")


class LeadFactory(DjangoModelFactory):
    """An ownerless new lead in the default pool."""

    class Meta:
        model = Lead

    code = factory.Sequence(lambda n: f"L{n:06d}")
    company_name = factory.Sequence(lambda n: f"测试线索{n}号科技有限公司")
    source = LeadSource.WEB_FORM
    status = LeadStatus.NEW
    owner = None
    created_at = CREATED_AT


def routing_rule(name: str, members: list, order: int = 100, **criteria: object) -> RoutingRule:
    rule = RoutingRule.objects.create(name=name, order=order, **criteria)
    rule.members.set(members)
    return rule


def hours(count: float) -> dt.timedelta:
    return dt.timedelta(hours=count)
