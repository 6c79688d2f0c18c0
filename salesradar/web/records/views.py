"""Rep workspace and the customer, contact and opportunity pages.

Views are thin: they find the object through ``visible`` (so a URL to an object the user may
not see answers 404), validate with a form and call a service. HTMX requests get the
fragment they asked for; the same URLs work as plain form posts without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesradar.accounts.models import User
from salesradar.accounts.visibility import visible
from salesradar.activities.models import Task
from salesradar.activities.services import log_followup
from salesradar.crm.choices import DecisionRole, Lifecycle, Tier
from salesradar.crm.models import Contact, Customer
from salesradar.crm.services import save_customer
from salesradar.pipeline.models import Opportunity, Stage
from salesradar.pipeline.services import StageMoveRefused, move_stage, open_opportunity
from salesradar.web.records import queries, services
from salesradar.web.records.forms import (
    ContactForm,
    CustomerForm,
    EvidenceForm,
    FollowupForm,
    OpportunityForm,
    StageMoveForm,
)

PER_PAGE = 25


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Return the ``next`` address of a POST when it stays on this site, else ``fallback``.

    An address off-site (``https://evil.example/``, ``//evil.example``) is never followed.
    """
    wanted = request.POST.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback


def visible_or_404(request: HttpRequest, model: type[Model], pk: int) -> Any:
    return get_object_or_404(visible(request.user, model), pk=pk)


def list_context(request: HttpRequest, queryset: QuerySet[Any], sort: queries.Sort) -> dict:
    page = queries.page_of(queryset, queries.int_param(request.GET, "page"), PER_PAGE)
    params = request.GET.copy()
    params.pop("page", None)
    return {"page": page, "sort": sort, "query": params.urlencode(), "params": request.GET}


def owner_filter_choices(request: HttpRequest) -> list[User]:
    return list(
        visible(request.user, User).filter(is_active=True).order_by("last_name", "first_name")[:300]
    )


# --------------------------------------------------------------------------- workspace


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    """The rep's day: alerts, tasks, customers due a follow-up, deals, and the quick form."""
    now = timezone.now()
    context = {
        "workspace": queries.workspace(request.user, now),
        "form": FollowupForm(user=request.user, initial=followup_initial(request)),
    }
    return render(request, "web/records/workspace.html", context)


def followup_initial(request: HttpRequest) -> dict[str, Any]:
    """Prefill the follow-up form from the query string (a "Log" link, a changed customer)."""
    initial: dict[str, Any] = {
        name: value
        for name, value in request.GET.items()
        if name in FollowupForm.base_fields and name not in ("customer", "opportunity")
    }
    for name in ("customer", "opportunity"):
        value = request.GET.get(name, "")
        if value.isdigit():
            initial[name] = int(value)
    return initial


@login_required
def followup(request: HttpRequest) -> HttpResponse:
    """Show (GET) or save (POST) the quick follow-up form; HTMX swaps just the form card."""
    if request.method != "POST":
        form = FollowupForm(user=request.user, initial=followup_initial(request))
        return render(request, "web/records/_followup_form.html", {"form": form})
    fixed = None
    if request.POST.get("fixed_customer") == "1" and request.POST.get("customer", "").isdigit():
        fixed = visible(request.user, Customer).filter(pk=int(request.POST["customer"])).first()
    form = FollowupForm(request.POST, user=request.user, customer=fixed)
    saved = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = log_followup(
                data["customer"],
                by=request.user,
                kind=data["kind"],
                occurred_at=timezone.now(),
                summary=data["summary"],
                outcome=data["outcome"],
                opportunity=data["opportunity"],
                decision_maker_present=data["decision_maker_present"],
                next_step=data["next_step"],
                next_step_due=data["next_step_due"],
            )
        except ValidationError as error:
            form.add_error(None, error)
    if saved is not None:
        note = _("Follow-up with {customer} logged.").format(customer=saved.customer)
        if not is_htmx(request):
            messages.success(request, note)
            return redirect(safe_next(request, reverse("web:workspace")))
        form = FollowupForm(user=request.user, customer=fixed)
        return render(request, "web/records/_followup_form.html", {"form": form, "saved": note})
    if not is_htmx(request):
        context = {"workspace": queries.workspace(request.user, timezone.now()), "form": form}
        return render(request, "web/records/workspace.html", context, status=400)
    return render(request, "web/records/_followup_form.html", {"form": form}, status=200)


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = visible_or_404(request, Task, pk)
    services.complete_task(task, by=request.user, at=timezone.now())
    if is_htmx(request):
        return render(request, "web/records/_task_row.html", {"task": task})
    return redirect("web:workspace")


# --------------------------------------------------------------------------- customers


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    rows, sort = queries.customer_rows(request.user, request.GET)
    context = list_context(request, rows, sort)
    queries.attach_last_activity(context["page"].rows)
    context.update(
        sorts=queries.customer_sorts(),
        tiers=Tier.choices,
        lifecycles=Lifecycle.choices,
        owners=owner_filter_choices(request),
    )
    template = "web/records/_customer_rows.html" if is_htmx(request) else None
    return render(request, template or "web/records/customer_list.html", context)


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(visible(request.user, Customer).select_related("owner"), pk=pk)
    context = {
        "customer": customer,
        "contacts": list(customer.contacts.order_by("name")),
        "opportunities": list(
            visible(request.user, Opportunity)
            .filter(customer=customer)
            .select_related("stage", "owner")
            .order_by("closed_at", "-updated_at")
        ),
        "timeline": queries.customer_timeline(customer),
        "form": FollowupForm(user=request.user, customer=customer),
        "countdown": ownership_countdown(customer),
    }
    return render(request, "web/records/customer_detail.html", context)


def ownership_countdown(customer: Customer) -> dict[str, Any] | None:
    """When a customer taken from the pool returns to it without a follow-up (red under 3 days)."""
    from salesradar.crm.pool import customers_with_countdown
    from salesradar.web.pool_views import countdown

    now = timezone.now()
    found = customers_with_countdown(Customer.objects.filter(pk=customer.pk), at=now).first()
    return countdown(found.expires_at, now) if found is not None else None


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    return customer_form(request, Customer())


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return customer_form(request, visible_or_404(request, Customer, pk))


def customer_form(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = CustomerForm(request.POST or None, instance=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_customer(form.save(commit=False), at=timezone.now())
        except ValidationError as refused:  # a duplicate saved meanwhile
            form.add_error(None, refused)
        else:
            messages.success(request, _("Customer {name} saved.").format(name=saved.name))
            return redirect("web:customer_detail", pk=saved.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/records/customer_form.html",
        {"form": form, "customer": customer},
        status=status,
    )


# --------------------------------------------------------------------------- contacts


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    rows, sort = queries.contact_rows(request.user, request.GET)
    context = list_context(request, rows, sort)
    context.update(sorts=queries.contact_sorts(), roles=DecisionRole.choices)
    template = "web/records/_contact_rows.html" if is_htmx(request) else None
    return render(request, template or "web/records/contact_list.html", context)


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(visible(request.user, Contact).select_related("customer"), pk=pk)
    context = {"contact": contact, "timeline": queries.contact_timeline(contact)}
    return render(request, "web/records/contact_detail.html", context)


@login_required
def contact_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = visible_or_404(request, Customer, customer_pk)
    return contact_form(request, Contact(customer=customer))


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(visible(request.user, Contact).select_related("customer"), pk=pk)
    return contact_form(request, contact)


def contact_form(request: HttpRequest, contact: Contact) -> HttpResponse:
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        saved = services.save_contact(form.save(commit=False))
        messages.success(request, _("Contact {name} saved.").format(name=saved.name))
        return redirect("web:customer_detail", pk=saved.customer_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/records/contact_form.html", {"form": form, "contact": contact}, status=status
    )


# --------------------------------------------------------------------------- opportunities


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    rows, sort = queries.opportunity_rows(request.user, request.GET)
    context = list_context(request, rows, sort)
    context.update(
        sorts=queries.opportunity_sorts(),
        stages=queries.stage_choices(),
        tiers=Tier.choices,
        owners=owner_filter_choices(request),
    )
    template = "web/records/_opportunity_rows.html" if is_htmx(request) else None
    return render(request, template or "web/records/opportunity_list.html", context)


def opportunity_context(
    request: HttpRequest, opportunity: Opportunity, **bound: Any
) -> dict[str, Any]:
    """What the deal page shows; ``bound`` carries a refused document form to show again."""
    from salesradar.web.records.documents import document_forms

    stages = list(Stage.objects.filter(process_id=opportunity.process_id).order_by("order"))
    return {
        **document_forms(opportunity, **bound),
        "opportunity": opportunity,
        "stages": stages,
        "timeline": queries.opportunity_timeline(opportunity),
        "move_form": StageMoveForm(opportunity=opportunity, wanted=request.GET.get("move_to")),
        "evidence_form": EvidenceForm(opportunity=opportunity),
        "form": FollowupForm(
            user=request.user,
            customer=opportunity.customer,
            initial={"opportunity": opportunity.pk},
        ),
        "days_in_stage": (timezone.now() - opportunity.stage_entered_at).days,
    }


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_object_or_404(
        visible(request.user, Opportunity).select_related("customer", "owner", "stage", "process"),
        pk=pk,
    )
    return render(
        request, "web/records/opportunity_detail.html", opportunity_context(request, opportunity)
    )


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move through ``pipeline.services.move_stage``; a refusal shows what the gate misses."""
    opportunity = get_object_or_404(
        visible(request.user, Opportunity).select_related("customer", "owner", "stage", "process"),
        pk=pk,
    )
    form = StageMoveForm(request.POST, opportunity=opportunity)
    refused: StageMoveRefused | None = None
    if form.is_valid():
        try:
            move_stage(
                opportunity,
                form.cleaned_data["to_stage"],
                by=request.user,
                at=timezone.now(),
                note=form.cleaned_data["note"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except StageMoveRefused as error:
            refused = error
        else:
            messages.success(
                request,
                _("{code} moved to {stage}.").format(
                    code=opportunity.code, stage=Stage.objects.get(pk=opportunity.stage_id)
                ),
            )
            target = reverse("web:opportunity_detail", args=[opportunity.pk])
            if is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return HttpResponseRedirect(target)
    context = {"opportunity": opportunity, "move_form": form, "refused": refused}
    if is_htmx(request):
        return render(request, "web/records/_stage_move.html", context)
    full = opportunity_context(request, opportunity)
    full.update(context)
    return render(request, "web/records/opportunity_detail.html", full, status=400)


@login_required
@require_POST
def opportunity_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach evidence a gate asks for; the page then shows it in the timeline."""
    opportunity = get_object_or_404(
        visible(request.user, Opportunity).select_related("customer", "owner", "stage", "process"),
        pk=pk,
    )
    form = EvidenceForm(request.POST, opportunity=opportunity)
    if form.is_valid():
        data = form.cleaned_data
        services.add_evidence(
            opportunity,
            kind=data["kind"],
            title=data["title"],
            url=data["url"],
            by=request.user,
            at=timezone.now(),
        )
        messages.success(request, _("Evidence “{title}” added.").format(title=data["title"]))
        return redirect("web:opportunity_detail", pk=opportunity.pk)
    context = opportunity_context(request, opportunity)
    context["evidence_form"] = form
    return render(request, "web/records/opportunity_detail.html", context, status=400)


@login_required
def opportunity_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = visible_or_404(request, Customer, customer_pk)
    form = OpportunityForm(
        request.POST or None, instance=Opportunity(customer=customer), user=request.user
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = open_opportunity(
                customer,
                owner=data["owner"],
                name=data["name"],
                by=request.user,
                at=timezone.now(),
                amount=data["amount"],
                product_line=data["product_line"],
                expected_close_date=data["expected_close_date"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Opportunity {code} opened.").format(code=created.code))
            return redirect("web:opportunity_detail", pk=created.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "customer": customer, "opportunity": None}
    return render(request, "web/records/opportunity_form.html", context, status=status)


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_object_or_404(
        visible(request.user, Opportunity).select_related("customer"), pk=pk
    )
    form = OpportunityForm(request.POST or None, instance=opportunity, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.update_opportunity(form.save(commit=False), at=timezone.now())
        messages.success(request, _("Opportunity {code} saved.").format(code=opportunity.code))
        return redirect("web:opportunity_detail", pk=opportunity.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "customer": opportunity.customer, "opportunity": opportunity}
    return render(request, "web/records/opportunity_form.html", context, status=status)
