"""Read a note against what the user may see, and hand back fields to confirm.

Proposing never writes: the rep confirms or corrects the fields and the follow-up is then
saved by the one follow-up verb, like any other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from salesradar.accounts.visibility import visible
from salesradar.capture.parser import (
    ContactEntry,
    CustomerEntry,
    DealEntry,
    NoteProposal,
    OrgDictionary,
    Proposed,
    parse_note,
)

MAX_NOTE_LENGTH = 2000


class NoteRefused(ValueError):
    """A note that cannot be read; the message says why."""


def build_dictionary(user: Any) -> OrgDictionary:
    """Collect, in four queries, the names the user's notes can refer to."""
    from salesradar.capture.models import Competitor
    from salesradar.crm.models import Contact, Customer
    from salesradar.pipeline.models import Opportunity

    customers = [
        CustomerEntry(pk, name, owner_id)
        for pk, name, owner_id in visible(user, Customer).values_list("pk", "name", "owner_id")
    ]
    contacts = [
        ContactEntry(pk, customer_id, name, title)
        for pk, customer_id, name, title in visible(user, Contact).values_list(
            "pk", "customer_id", "name", "title"
        )
    ]
    deals = [
        DealEntry(pk, customer_id, name, product_line)
        for pk, customer_id, name, product_line in visible(
            user, Opportunity.objects.open()
        ).values_list("pk", "customer_id", "name", "product_line")
    ]
    competitors = [
        name for competitor in Competitor.objects.filter(active=True) for name in competitor.names()
    ]
    return OrgDictionary(
        customers=customers,
        contacts=contacts,
        deals=deals,
        products=sorted({deal.product_line for deal in deals if deal.product_line}),
        competitors=competitors,
    )


def propose_followup(note: str, *, by: Any, at: dt.datetime) -> NoteProposal:
    """Return the fields the note suggests for a follow-up logged by ``by`` at ``at``."""
    text = (note or "").strip()
    if not text:
        raise NoteRefused(_("The note is empty: type or dictate what happened first."))
    if len(text) > MAX_NOTE_LENGTH:
        raise NoteRefused(
            _("The note has {length} characters; at most {limit} can be read.").format(
                length=len(text), limit=MAX_NOTE_LENGTH
            )
        )
    from django.utils import timezone

    note_day = timezone.localtime(at).date()
    return parse_note(text, dictionary=build_dictionary(by), note_day=note_day, owner_id=by.pk)


def _field(proposed: Proposed | None, label: str | None = None) -> dict[str, Any] | None:
    if proposed is None:
        return None
    value = proposed.value
    if isinstance(value, dt.date):
        value = value.isoformat()
    elif not isinstance(value, int | str):
        value = str(value)
    answer: dict[str, Any] = {
        "value": value,
        "evidence": proposed.evidence,
        "confidence": proposed.confidence,
    }
    if label is not None:
        answer["label"] = label
    if proposed.alternatives and all(isinstance(a, int) for a in proposed.alternatives):
        answer["alternatives"] = list(proposed.alternatives)
    return answer


def proposal_as_json(proposal: NoteProposal) -> dict[str, Any]:
    """Render a proposal with the names of the records it points at, for the API and the form."""
    from salesradar.activities.choices import ActivityKind
    from salesradar.crm.models import Contact, Customer
    from salesradar.pipeline.models import Opportunity

    def name_of(model: Any, proposed: Proposed | None) -> str | None:
        if proposed is None:
            return None
        return model.objects.filter(pk=proposed.value).values_list("name", flat=True).first()

    kind_label = dict(ActivityKind.choices).get(proposal.kind.value) if proposal.kind else None
    return {
        "customer": _field(proposal.customer, name_of(Customer, proposal.customer)),
        "contact": _field(proposal.contact, name_of(Contact, proposal.contact)),
        "opportunity": _field(proposal.deal, name_of(Opportunity, proposal.deal)),
        "kind": _field(proposal.kind, str(kind_label) if kind_label else None),
        "next_step": _field(proposal.todo),
        "next_step_due": _field(proposal.due),
        "amount": _field(proposal.amount),
        "objections": [
            {"kind": o.value, "evidence": o.evidence, "label": str(OBJECTION_LABELS[o.value])}
            for o in proposal.objections
        ],
        "competitors": proposal.competitors,
        "keywords": proposal.keywords,
    }


def _objection_labels() -> dict[str, Any]:
    from django.utils.translation import gettext_lazy

    return {
        "competitor": gettext_lazy("Competitor"),
        "price": gettext_lazy("Price"),
        "budget": gettext_lazy("Budget"),
        "timeline": gettext_lazy("Timeline"),
        "implementation": gettext_lazy("Implementation time"),
        "quality": gettext_lazy("Quality or reliability"),
        "decision": gettext_lazy("Decision or approval"),
    }


OBJECTION_LABELS = _objection_labels()
