"""The action-card board: my cards, my team's cards, writing, delivering and verifying one."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesradar.accounts.models import User
from salesradar.accounts.visibility import visible
from salesradar.activities.choices import ActionCardStatus
from salesradar.activities.models import ActionCard
from salesradar.review.services import create_action_card, deliver_card, oversees, verify_card


class CardForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.none(), label=gettext_lazy("Who"))
    what = forms.CharField(max_length=200, label=gettext_lazy("What"))
    deliverable = forms.CharField(max_length=200, label=gettext_lazy("Verifiable deliverable"))
    due_on = forms.DateField(
        label=gettext_lazy("By when"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["owner"].queryset = (
            visible(user, User).filter(is_active=True).order_by("username")
        )
        self.fields["owner"].initial = user.pk


@login_required
def card_board(request: HttpRequest) -> HttpResponse:
    user = request.user
    cards = visible(user, ActionCard).select_related("owner", "customer").order_by("due_at")
    form = CardForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        due = timezone.make_aware(dt.datetime.combine(data["due_on"], dt.time(18, 0)))
        try:
            create_action_card(
                owner=data["owner"],
                what=data["what"],
                deliverable=data["deliverable"],
                due_at=due,
                by=user,
                at=timezone.now(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Action card written."))
            return redirect("review:cards")
    mine = [card for card in cards if card.owner_id == user.pk]
    team = [card for card in cards if card.owner_id != user.pk]
    context = {
        "form": form,
        "mine": mine,
        "team": team,
        "delivered": ActionCardStatus.DELIVERED,
        "open_states": [ActionCardStatus.OPEN, ActionCardStatus.MISSED],
        "may_verify": {card.pk for card in team if oversees(user, card.owner)},
    }
    return render(request, "review/cards.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def card_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_object_or_404(visible(request.user, ActionCard), pk=pk)
    try:
        deliver_card(card, by=request.user, note=request.POST.get("note", ""), at=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Delivered: your manager verifies it next."))
    return redirect("review:cards")


@login_required
@require_POST
def card_verify(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_object_or_404(visible(request.user, ActionCard).select_related("owner"), pk=pk)
    accepted = request.POST.get("decision") == "accept"
    try:
        verify_card(
            card,
            by=request.user,
            accepted=accepted,
            note=request.POST.get("note", ""),
            at=timezone.now(),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Verified.") if accepted else _("Sent back to the owner."))
    return redirect("review:cards")


@login_required
def director_views(request: HttpRequest) -> HttpResponse:
    """New-hire survival and top-3 customers' follow-up depth for the reps the user may see."""
    from salesradar.review.director import (
        capability_heat_map,
        new_hire_survival,
        proposal_funnel,
        top_customer_depth,
    )
    from salesradar.web.permissions import uses_cockpit

    if not uses_cockpit(request.user):
        return redirect("web:home")
    reps = visible(request.user, User).filter(role="rep")
    now = timezone.now()
    context = {
        "survival": new_hire_survival(at=now, reps=reps),
        "depth": top_customer_depth(at=now, reps=reps.filter(is_active=True)),
        "funnel": proposal_funnel(at=now, reps=reps),
        "heat": capability_heat_map(at=now, reps=reps),
        "step_labels": {
            "requested": _("Quotes requested"),
            "sent": _("Sent"),
            "accepted": _("Accepted"),
            "won": _("Deal won"),
        },
    }
    return render(request, "review/director.html", context)
