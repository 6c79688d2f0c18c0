"""Health pages: the customer list by tier, a customer's brief, clearing a block, calibration."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesradar.accounts.visibility import visible
from salesradar.crm.models import Customer
from salesradar.health.brief import health_brief
from salesradar.health.choices import HealthTier, Pillar
from salesradar.health.models import CustomerHealth, HealthCalibration, OpportunityBlock
from salesradar.health.pillars import PILLARS
from salesradar.health.services import clear_block, current_weights, may_clear

PER_PAGE = 50


@login_required
def health_list(request: HttpRequest) -> HttpResponse:
    """Customers the user may see, weakest first, with the count per tier."""
    rows = visible(request.user, CustomerHealth).select_related("customer", "customer__owner")
    counts = dict(rows.values_list("tier").annotate(n=Count("pk")).values_list("tier", "n"))
    tier = request.GET.get("tier", "")
    if tier in HealthTier.values:
        rows = rows.filter(tier=tier)
    page = Paginator(rows.order_by("score", "customer_id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "tiers": [
            {"key": key, "label": label, "count": counts.get(key, 0)}
            for key, label in HealthTier.choices
        ],
        "tier": tier,
        "pillars": [(name, Pillar(name).label) for name in PILLARS],
        "weights": current_weights(),
        "calibration": HealthCalibration.objects.first(),
    }
    return render(request, "health/list.html", context)


@login_required
def customer_brief(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """The health brief of one customer: pillars, trend, last interaction, next actions."""
    customer = get_object_or_404(
        visible(request.user, Customer).select_related("owner"), pk=customer_pk
    )
    brief = health_brief(customer, at=timezone.now())
    pillars = []
    if brief.health is not None:
        pillars = [
            {"key": name, "label": Pillar(name).label, "value": getattr(brief.health, name)}
            for name in PILLARS
        ]
    context = {
        "customer": customer,
        "brief": brief,
        "pillars": pillars,
        "may_clear": brief.block is not None and may_clear(request.user, brief.block),
        "chart": {
            "dates": [point["date"] for point in brief.trend],
            "score": [point["score"] for point in brief.trend],
            "series": {
                str(Pillar(name).label): [point[name] for point in brief.trend] for name in PILLARS
            },
            "score_label": _("Health score"),
        },
    }
    return render(request, "health/brief.html", context)


@login_required
@require_POST
def block_clear(request: HttpRequest, pk: int) -> HttpResponse:
    block = get_object_or_404(
        visible(request.user, OpportunityBlock).select_related("customer", "customer__owner"), pk=pk
    )
    try:
        clear_block(block, by=request.user, note=request.POST.get("note", ""), at=timezone.now())
    except (ValidationError, PermissionDenied) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        messages.error(request, text)
    else:
        messages.success(request, _("The block is cleared: new opportunities may be opened."))
    return redirect("health:brief", customer_pk=block.customer_id)


@login_required
def calibration_report(request: HttpRequest) -> HttpResponse:
    """The monthly calibrations: sample size, base rate, AUC per pillar and of the weights."""
    calibrations = list(HealthCalibration.objects.all()[:12])
    rows = []
    for calibration in calibrations:
        rows.append(
            {
                "calibration": calibration,
                "base_rate": calibration.renewals / calibration.samples
                if calibration.samples
                else None,
                "pillars": [
                    {
                        "label": Pillar(name).label,
                        "auc": calibration.pillar_auc.get(name),
                        "weight": calibration.weights.get(name),
                    }
                    for name in PILLARS
                ],
            }
        )
    return render(request, "health/calibration.html", {"rows": rows})
