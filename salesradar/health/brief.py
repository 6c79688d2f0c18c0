"""The health brief a rep reads before calling a customer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.activities.models import Activity
from salesradar.crm.choices import DecisionRole
from salesradar.crm.models import Customer
from salesradar.health.choices import Pillar
from salesradar.health.models import CustomerHealth, OpportunityBlock
from salesradar.health.pillars import compute_pillars
from salesradar.health.services import current_weights, tier_of, weighted_score

TREND_MONTHS = 12


@dataclass
class Brief:
    customer: Customer
    health: CustomerHealth | None
    last_interaction: Activity | None
    trend: list[dict[str, Any]]
    next_actions: list[str]
    block: OpportunityBlock | None


def month_ends(at: dt.datetime, months: int) -> list[dt.datetime]:
    """Return the local month starts before ``at`` (oldest first), then ``at`` itself."""
    local = timezone.localtime(at)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    points = []
    for back in range(months - 1, 0, -1):
        year, month = divmod(start.month - 1 - back, 12)
        points.append(start.replace(year=start.year + year, month=month + 1))
    return [*points, at]


def health_trend(customer: Customer, at: dt.datetime, months: int = TREND_MONTHS) -> list[dict]:
    """Return the customer's score and pillars at each month start of the last year."""
    weights = current_weights()
    trend = []
    for moment in month_ends(at, months):
        scores = compute_pillars(moment, [customer.pk]).get(customer.pk)
        if scores is None:
            continue  # not a customer yet at that time
        score = weighted_score(scores.as_dict(), weights)
        trend.append(
            {
                "date": timezone.localtime(moment).date().isoformat(),
                "score": score,
                "tier": tier_of(score),
                **scores.as_dict(),
            }
        )
    return trend


def next_actions(customer: Customer, health: CustomerHealth | None) -> list[str]:
    """Return three concrete next steps aimed at the weakest pillar."""
    if health is None:
        return [
            _("Sign a first contract: health is scored for customers with a contract."),
            _("Book a discovery meeting with the decision maker."),
            _("Log every call and visit so the relationship can be read."),
        ]
    facts = health.facts
    decision_maker = (
        customer.contacts.filter(decision_role=DecisionRole.DECISION_MAKER)
        .values_list("name", flat=True)
        .first()
    )
    dm = decision_maker or _("the decision maker")
    weakest = health.weakest
    if weakest == Pillar.POTENTIAL:
        return [
            _("Map the customer's budget for next year with {person}.").format(person=dm),
            _("Propose an upsell or a second product line in a short proposal."),
            _("Ask for a referral to a sister company or another business unit."),
        ]
    if weakest == Pillar.DEPTH:
        return [
            _("Present a product line the customer does not use yet ({lines} so far).").format(
                lines=facts.get("product_lines", 0)
            ),
            _("Start the renewal conversation early with {person}.").format(person=dm),
            _("Hold a business review showing the value delivered so far."),
        ]
    if weakest == Pillar.RELATIONSHIP:
        return [
            _("Book a visit with {person} ({count} decision-maker touches in 180 days).").format(
                person=dm, count=facts.get("decision_maker_touches", 0)
            ),
            _("Follow up unanswered calls and emails ({replied} of {outreach} answered).").format(
                replied=facts.get("replied", 0), outreach=facts.get("outreach", 0)
            ),
            _("Invite the customer's team to a workshop or user event."),
        ]
    steps = []
    if facts.get("late_invoices"):
        steps.append(
            _("Call finance about the {count} late or unpaid invoices.").format(
                count=facts["late_invoices"]
            )
        )
    if facts.get("complaint_surge"):
        steps.append(_("Escalate the recent complaints to service and call back within 48 hours."))
    if facts.get("cancelled_meetings_90"):
        steps.append(_("Reschedule the cancelled meetings with a clear agenda."))
    silent = facts.get("days_since_contact")
    if silent is None or silent >= 30:
        steps.append(_("Get in touch this week: no contact for a month or more."))
    steps += [
        _("Ask {person} directly what would make them renew.").format(person=dm),
        _("Agree a recovery plan with your manager."),
        _("Check the customer's open service requests."),
    ]
    return steps[:3]


def health_brief(customer: Customer, *, at: dt.datetime) -> Brief:
    health = CustomerHealth.objects.filter(customer=customer).first()
    last = (
        Activity.objects.filter(customer=customer, occurred_at__lt=at)
        .select_related("owner")
        .order_by("-occurred_at", "-pk")
        .first()
    )
    block = (
        OpportunityBlock.objects.filter(customer=customer, cleared_at__isnull=True)
        .select_related("clearable_by")
        .first()
    )
    return Brief(
        customer=customer,
        health=health,
        last_interaction=last,
        trend=health_trend(customer, at),
        next_actions=next_actions(customer, health),
        block=block,
    )
