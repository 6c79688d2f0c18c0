"""The follow-up form filled from the rep's note: proposed, shown, saved only when confirmed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from salesradar.accounts.visibility import visible
from salesradar.capture.parser import NoteProposal
from salesradar.capture.services import NoteRefused, proposal_as_json, propose_followup
from salesradar.crm.models import Customer
from salesradar.web.records import queries
from salesradar.web.records.forms import FollowupForm


def _initial(proposal: NoteProposal, note: str) -> dict[str, Any]:
    initial: dict[str, Any] = {"summary": note}
    if proposal.customer is not None:
        initial["customer"] = proposal.customer.value
    if proposal.deal is not None:
        initial["opportunity"] = proposal.deal.value
    if proposal.kind is not None:
        initial["kind"] = proposal.kind.value
    if proposal.todo is not None:
        initial["next_step"] = proposal.todo.value[:200]
    if proposal.due is not None:
        initial["next_step_due"] = proposal.due.value
    return initial


@login_required
@require_POST
def followup_from_note(request: HttpRequest) -> HttpResponse:
    """Re-show the follow-up form with the fields the note suggests; nothing is saved here."""
    note = request.POST.get("summary", "")
    fixed = None
    if request.POST.get("fixed_customer") == "1" and request.POST.get("customer", "").isdigit():
        fixed = visible(request.user, Customer).filter(pk=int(request.POST["customer"])).first()
    context: dict[str, Any] = {}
    try:
        proposal = propose_followup(note, by=request.user, at=timezone.now())
    except NoteRefused as refused:
        form = FollowupForm(user=request.user, customer=fixed, initial={"summary": note})
        context.update(form=form, note_refused=str(refused))
    else:
        initial = _initial(proposal, note)
        if fixed is not None:
            initial["customer"] = fixed.pk
        form = FollowupForm(user=request.user, customer=fixed, initial=initial)
        context.update(form=form, proposal=proposal_as_json(proposal))
    if request.headers.get("HX-Request") == "true":
        return render(request, "web/records/_followup_form.html", context)
    context["workspace"] = queries.workspace(request.user, timezone.now())
    return render(request, "web/records/workspace.html", context)
