"""Global search: customers, contacts, deals and leads the signed-in person may see."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from salesradar.accounts.visibility import visible
from salesradar.crm.models import Contact, Customer
from salesradar.crm.pool import leads_for
from salesradar.pipeline.models import Opportunity

PER_KIND = 10


@login_required
def search(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").strip()[:100]
    found: dict[str, list[Any]] = {"customers": [], "contacts": [], "deals": [], "leads": []}
    if term:
        user = request.user
        found["customers"] = list(
            visible(user, Customer)
            .filter(Q(name__icontains=term) | Q(code__istartswith=term))
            .order_by("name")[:PER_KIND]
        )
        found["contacts"] = list(
            visible(user, Contact)
            .filter(
                Q(name__icontains=term) | Q(phone__startswith=term) | Q(email__istartswith=term)
            )
            .select_related("customer")
            .order_by("name")[:PER_KIND]
        )
        found["deals"] = list(
            visible(user, Opportunity)
            .filter(Q(name__icontains=term) | Q(code__istartswith=term))
            .select_related("customer", "stage")
            .order_by("-updated_at")[:PER_KIND]
        )
        found["leads"] = list(
            leads_for(user)
            .filter(Q(company_name__icontains=term) | Q(code__istartswith=term))
            .order_by("-created_at")[:PER_KIND]
        )
    return render(request, "web/search.html", {"q": term, **found})
