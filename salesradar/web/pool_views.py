"""The lead pool (公海) on screen: claimable leads and customers, the limits that apply to the
signed-in rep, claim / release with a reason / assign, the ownership countdown, nurture.

Every change goes through ``crm.pool`` (``claim``, ``release``, ``assign``) and
``crm.nurture`` (``mark_not_now``, ``lead_responded``); a refusal is shown with the pool's own
message, which names the limit or the date the previous owner may claim again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.accounts.visibility import sees_everything, visible
from salesradar.crm import nurture
from salesradar.crm.choices import AssignmentKind, LeadStatus
from salesradar.crm.models import Assignment, Customer, Lead
from salesradar.crm.pool import (
    CLAIMABLE_LEAD_STATUSES,
    OPEN_LEAD_STATUSES,
    PoolRefusal,
    assign,
    claim,
    customers_with_countdown,
    default_pool,
    local_midnight,
    release,
    with_countdown,
)

ROWS = 50
RED_DAYS = 3


def assigns(user: Any) -> bool:
    """Managers and above hand pool records to reps; reps claim them."""
    return bool(user.is_superuser or user.role != Role.REP)


def countdown(expires_at: dt.datetime | None, at: dt.datetime) -> dict[str, Any] | None:
    """Days left before an owned record returns to the pool; red under three days."""
    if expires_at is None:
        return None
    left = (expires_at - at).total_seconds() / 86400
    return {"expires_at": expires_at, "days": max(0, int(left)), "red": left < RED_DAYS}


def limits_of(user: User, at: dt.datetime) -> dict[str, Any]:
    pool = default_pool()
    return {
        "pool": pool,
        "open_leads": Lead.objects.filter(owner=user, status__in=OPEN_LEAD_STATUSES).count(),
        "pool_customers": Customer.objects.filter(owner=user, owned_since__isnull=False).count(),
        "claimed_today": Assignment.objects.filter(
            by=user, kind=AssignmentKind.CLAIMED, at__gte=local_midnight(at), at__lte=at
        ).count(),
    }


def cooling(records: list[Any], user: User, reclaim_days: int) -> None:
    """Mark the records the user released lately with the moment they may claim them again."""
    for record in records:
        wait = None
        if record.previous_owner_id == user.pk and record.released_at is not None:
            allowed = record.released_at + dt.timedelta(days=reclaim_days)
            if allowed > timezone.now():
                wait = allowed
        record.claimable_from = wait


@login_required
def pool(request: HttpRequest) -> HttpResponse:
    at = timezone.now()
    user = request.user
    term = request.GET.get("q", "").strip()
    leads = Lead.objects.filter(owner__isnull=True, status__in=CLAIMABLE_LEAD_STATUSES)
    customers = Customer.objects.in_pool()
    if term:
        leads = leads.filter(company_name__icontains=term)
        customers = customers.filter(name__icontains=term)
    limits = limits_of(user, at)
    pool_leads = list(leads.order_by("-created_at", "pk")[:ROWS])
    pool_customers = list(customers.order_by("name", "pk")[:ROWS])
    cooling(pool_leads + pool_customers, user, limits["pool"].reclaim_after_days)
    mine_leads = list(
        with_countdown(Lead.objects.filter(owner=user), at=at).order_by("expires_at")[:ROWS]
    )
    mine_customers = list(
        customers_with_countdown(Customer.objects.filter(owner=user), at=at).order_by("expires_at")[
            :ROWS
        ]
    )
    for record in mine_leads + mine_customers:
        record.countdown = countdown(record.expires_at, at)
    nurturing = list(
        Lead.objects.filter(owner=user, status=LeadStatus.NURTURING).order_by("company_name")[:ROWS]
    )
    people = (
        list(visible(user, User).filter(is_active=True).order_by("last_name", "first_name")[:300])
        if assigns(user)
        else []
    )
    context = {
        "limits": limits,
        "leads": pool_leads,
        "customers": pool_customers,
        "mine_leads": mine_leads,
        "mine_customers": mine_customers,
        "nurturing": nurturing,
        "people": people,
        "can_assign": assigns(user),
        "q": term,
    }
    return render(request, "web/pool/index.html", context)


def _record(request: HttpRequest, kind: str, pk: int) -> Lead | Customer:
    if kind == "lead":
        return get_object_or_404(Lead, pk=pk)
    if kind == "customer":
        return get_object_or_404(Customer, pk=pk)
    raise Http404


def _refused(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(str(message) for message in error.messages))


@login_required
@require_POST
def pool_claim(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    record = _record(request, kind, pk)
    try:
        claim(record, by=request.user, at=timezone.now())
    except PoolRefusal as error:
        _refused(request, error)
    else:
        messages.success(request, _("{record} is yours now.").format(record=record))
    return redirect("web:pool")


def _owned(request: HttpRequest, record: Lead | Customer) -> None:
    """Only the owner, or someone who sees the owner's records, may release or nurture."""
    user = request.user
    if record.owner_id == user.pk or sees_everything(user):
        return
    model = type(record)
    if not visible(user, model).filter(pk=record.pk).exists():
        raise Http404


@login_required
@require_POST
def pool_release(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    record = _record(request, kind, pk)
    _owned(request, record)
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, _("Say why {record} goes back to the pool.").format(record=record))
        return redirect("web:pool")
    try:
        release(record, by=request.user, at=timezone.now(), note=reason[:500])
    except PoolRefusal as error:
        _refused(request, error)
    else:
        messages.success(request, _("{record} is back in the pool.").format(record=record))
    return redirect("web:pool")


@login_required
@require_POST
def pool_assign(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    if not assigns(request.user):
        return HttpResponse(status=403)
    record = _record(request, kind, pk)
    person = request.POST.get("to", "").strip()
    to = visible(request.user, User).filter(pk=int(person)).first() if person.isdigit() else None
    if to is None:
        messages.error(request, _("Choose the rep to hand {record} to.").format(record=record))
        return redirect("web:pool")
    try:
        assign(record, to=to, by=request.user, at=timezone.now())
    except PoolRefusal as error:
        _refused(request, error)
    else:
        messages.success(
            request, _("{record} assigned to {person}.").format(record=record, person=to)
        )
    return redirect("web:pool")


@login_required
@require_POST
def pool_nurture(request: HttpRequest, pk: int) -> HttpResponse:
    """Start ("not now") or stop a lead's nurture sequence."""
    lead = get_object_or_404(Lead, pk=pk)
    _owned(request, lead)
    try:
        if request.POST.get("action") == "stop":
            nurture.lead_responded(lead, at=timezone.now())
            messages.success(request, _("Nurture of {lead} stopped.").format(lead=lead))
        else:
            nurture.mark_not_now(lead, at=timezone.now())
            messages.success(request, _("{lead} is in a nurture sequence.").format(lead=lead))
    except ValidationError as error:
        _refused(request, error)
    return redirect("web:pool")
