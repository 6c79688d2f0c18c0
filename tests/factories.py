"""factory_boy factories for the core records, with fixed, aware, past timestamps.

Every datetime is aware (AwareDateTimeField refuses naive ones) and lies in the past, so a
test can pass ``at=`` to ``move_stage`` without tripping the "no future moves" rule.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from factory.django import DjangoModelFactory

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.activities.choices import ActivityKind
from salesradar.activities.models import Activity
from salesradar.crm.models import Contact, Customer
from salesradar.pipeline.models import (
    Contract,
    Evidence,
    Invoice,
    Opportunity,
    Process,
    Quote,
)
from salesradar.pipeline.playbook import ensure_default_process

SHANGHAI = ZoneInfo("Asia/Shanghai")
CREATED_AT = dt.datetime(2024, 3, 1, 9, 0, tzinfo=SHANGHAI)
"""When factory records come into being; later ``at=`` values are after it and in the past."""


def days_after_creation(days: float) -> dt.datetime:
    """Return an aware time ``days`` after CREATED_AT, for ordered ``at=`` arguments."""
    return CREATED_AT + dt.timedelta(days=days)


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    code = factory.Sequence(lambda n: f"team-{n}")
    name = factory.Sequence(lambda n: f"Team {n}")
    parent = None
    manager = None


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "芳"
    last_name = factory.Sequence(lambda n: f"王{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")
    role = Role.REP
    team = None
    is_active = True


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Sequence(lambda n: f"上海客户{n}科技有限公司")
    owner = factory.SubFactory(UserFactory)
    created_at = CREATED_AT
    updated_at = CREATED_AT


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"李{n}")
    title = "IT 总监"
    decision_role = ""
    created_at = CREATED_AT


class ProcessFactory(DjangoModelFactory):
    """Return the process of the shipped default playbook, loading it on first use."""

    class Meta:
        model = Process

    @classmethod
    def _create(cls, model_class: type[Process], *args: object, **kwargs: object) -> Process:
        return model_class.objects.get(pk=ensure_default_process())


class OpportunityFactory(DjangoModelFactory):
    """An open opportunity in the first stage of the default process, with no gate met."""

    class Meta:
        model = Opportunity

    code = factory.Sequence(lambda n: f"O{n:06d}")
    name = factory.Sequence(lambda n: f"ERP 升级项目 {n}")
    owner = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory, owner=factory.SelfAttribute("..owner"))
    process = factory.SubFactory(ProcessFactory)
    stage = factory.LazyAttribute(lambda opp: opp.process.stages.order_by("order").first())
    amount = Decimal("0")
    created_at = CREATED_AT
    updated_at = CREATED_AT
    stage_entered_at = CREATED_AT


class ActivityFactory(DjangoModelFactory):
    """A logged call; given an opportunity, it belongs to that opportunity's customer and owner."""

    class Meta:
        model = Activity

    opportunity = None
    owner = factory.Maybe(
        "opportunity",
        yes_declaration=factory.SelfAttribute("opportunity.owner"),
        no_declaration=factory.SubFactory(UserFactory),
    )
    customer = factory.Maybe(
        "opportunity",
        yes_declaration=factory.SelfAttribute("opportunity.customer"),
        no_declaration=factory.SubFactory(CustomerFactory, owner=factory.SelfAttribute("..owner")),
    )
    kind = ActivityKind.CALL
    occurred_at = CREATED_AT
    created_at = CREATED_AT
    summary = "电话沟通需求"


class QuoteFactory(DjangoModelFactory):
    """A quote the customer asked for and that has not been sent yet."""

    class Meta:
        model = Quote

    opportunity = factory.SubFactory(OpportunityFactory)
    version = factory.Sequence(lambda n: n + 1)
    requested_at = CREATED_AT
    sent_at = None
    amount = Decimal("100000.00")


class EvidenceFactory(DjangoModelFactory):
    class Meta:
        model = Evidence

    opportunity = factory.SubFactory(OpportunityFactory)
    kind = "pain_points"
    title = factory.LazyAttribute(lambda evidence: f"{evidence.kind} document")
    added_by = factory.SelfAttribute("opportunity.owner")
    added_at = CREATED_AT


class ContractFactory(DjangoModelFactory):
    class Meta:
        model = Contract

    code = factory.Sequence(lambda n: f"HT{n:06d}")
    opportunity = factory.SubFactory(OpportunityFactory)
    customer = factory.Maybe(
        "opportunity",
        yes_declaration=factory.SelfAttribute("opportunity.customer"),
        no_declaration=factory.SubFactory(CustomerFactory),
    )
    signed_at = CREATED_AT
    starts_on = dt.date(2024, 4, 1)
    ends_on = dt.date(2025, 3, 31)
    amount = Decimal("120000.00")


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = Invoice

    code = factory.Sequence(lambda n: f"FP{n:06d}")
    contract = factory.SubFactory(ContractFactory)
    customer = factory.SelfAttribute("contract.customer")
    issued_on = dt.date(2024, 4, 1)
    due_on = dt.date(2024, 5, 1)
    amount = Decimal("60000.00")
