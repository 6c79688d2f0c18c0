"""Quotes, contracts, invoices and payments on the deal page.

The forms parse, ``pipeline.services`` writes (``create_quote``, ``send_quote``,
``update_quote``, ``sign_contract``, ``issue_invoice``, ``record_payment``); a refusal is
shown on the deal page beside the form that caused it, with what was typed kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesradar.accounts.visibility import visible
from salesradar.core.errors import DomainError
from salesradar.pipeline.models import Contract, Invoice, Opportunity, Quote
from salesradar.pipeline.services import (
    create_quote,
    issue_invoice,
    record_payment,
    send_quote,
    sign_contract,
    update_quote,
)
from salesradar.web.records.forms import StyledForm

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def money_field(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, min_value=Decimal("0"), max_digits=16, decimal_places=2, localize=False
    )


class QuoteForm(StyledForm):
    amount = money_field(gettext_lazy("Quoted amount"))


class ContractForm(StyledForm):
    amount = money_field(gettext_lazy("Contract amount"))
    signed_on = forms.DateField(label=gettext_lazy("Signed on"), widget=DATE)
    starts_on = forms.DateField(label=gettext_lazy("Starts on"), widget=DATE)
    ends_on = forms.DateField(label=gettext_lazy("Ends on"), widget=DATE)


class InvoiceForm(StyledForm):
    amount = money_field(gettext_lazy("Invoice amount"))
    issued_on = forms.DateField(label=gettext_lazy("Issued on"), widget=DATE)
    due_on = forms.DateField(label=gettext_lazy("Due on"), widget=DATE)


class PaymentForm(StyledForm):
    amount = money_field(gettext_lazy("Amount received"))
    paid_on = forms.DateField(label=gettext_lazy("Received on"), widget=DATE)


def moment(day: dt.date) -> dt.datetime:
    """A date typed in a form as a moment: now for today, else noon local time that day."""
    now = timezone.localtime()
    if day == now.date():
        return now
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def document_forms(opportunity: Opportunity, **bound: forms.Form) -> dict[str, Any]:
    """The deal's quotes, contracts with their invoices, and the forms to add to them."""
    today = timezone.localdate()
    latest = opportunity.quotes.order_by("-version").first()
    suggested = latest.amount if latest and latest.amount is not None else opportunity.amount
    invoices = Invoice.objects.order_by("issued_on", "pk")
    contracts = list(
        opportunity.contracts.order_by("signed_at", "pk").prefetch_related(
            Prefetch("invoices", queryset=invoices)
        )
    )
    for contract in contracts:
        invoiced = sum((invoice.amount for invoice in contract.invoices.all()), Decimal("0"))
        contract.uninvoiced = contract.amount - invoiced  # type: ignore[attr-defined]
        for invoice in contract.invoices.all():
            invoice.outstanding = invoice.amount - invoice.paid_amount  # type: ignore[attr-defined]
    year_later = today.replace(year=today.year + 1) - dt.timedelta(days=1)
    return {
        "quotes": list(opportunity.quotes.order_by("-version")),
        "contracts": contracts,
        "quote_form": bound.get("quote_form") or QuoteForm(initial={"amount": suggested}),
        "contract_form": bound.get("contract_form")
        or ContractForm(
            initial={
                "amount": opportunity.amount,
                "signed_on": today,
                "starts_on": today,
                "ends_on": year_later,
            }
        ),
        "invoice_form": bound.get("invoice_form")
        or InvoiceForm(initial={"issued_on": today, "due_on": today + dt.timedelta(days=30)}),
        "payment_form": bound.get("payment_form") or PaymentForm(initial={"paid_on": today}),
        "bound_for": bound.get("bound_for"),
        "receivables": Invoice.objects.filter(contract__opportunity=opportunity).aggregate(
            invoiced=Sum("amount"), paid=Sum("paid_amount")
        ),
    }


def _deal(request: HttpRequest, pk: int) -> Opportunity:
    return get_object_or_404(
        visible(request.user, Opportunity).select_related("customer", "owner", "stage", "process"),
        pk=pk,
    )


def _act(
    request: HttpRequest,
    opportunity: Opportunity,
    form: forms.Form,
    name: str,
    call: Callable[[dict[str, Any]], str],
    bound_for: int | None = None,
) -> HttpResponse:
    """Validate ``form``, run ``call`` (a service) and go back to the deal; refusals stay."""
    if form.is_valid():
        try:
            notice = call(form.cleaned_data)
        except DomainError as error:
            for field, problems in error.fields.items():
                target = field if field in form.fields else None
                for problem in problems:
                    form.add_error(target, problem)
            if not error.fields:
                form.add_error(None, error.message_text)
        else:
            messages.success(request, notice)
            return redirect("web:opportunity_detail", pk=opportunity.pk)
    from salesradar.web.records.views import opportunity_context

    context = opportunity_context(request, opportunity, **{name: form, "bound_for": bound_for})
    return render(request, "web/records/opportunity_detail.html", context, status=400)


@login_required
@require_POST
def quote_create(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = _deal(request, pk)

    def call(data: dict[str, Any]) -> str:
        quote = create_quote(opportunity, amount=data["amount"], by=request.user, at=timezone.now())
        return _("Quote v{version} created.").format(version=quote.version)

    return _act(request, opportunity, QuoteForm(request.POST), "quote_form", call)


def _quote(request: HttpRequest, pk: int) -> Quote:
    return get_object_or_404(visible(request.user, Quote).select_related("opportunity"), pk=pk)


@login_required
@require_POST
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote(request, pk)
    try:
        send_quote(quote, by=request.user, at=timezone.now())
    except DomainError as error:
        messages.error(request, error.message_text)
    else:
        messages.success(request, _("Quote v{version} sent.").format(version=quote.version))
    return redirect("web:opportunity_detail", pk=quote.opportunity_id)


@login_required
@require_POST
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote(request, pk)
    opportunity = _deal(request, quote.opportunity_id)

    def call(data: dict[str, Any]) -> str:
        update_quote(quote, amount=data["amount"], by=request.user, at=timezone.now())
        return _("Quote v{version} saved.").format(version=quote.version)

    return _act(request, opportunity, QuoteForm(request.POST), "quote_form", call, quote.pk)


@login_required
@require_POST
def contract_create(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = _deal(request, pk)

    def call(data: dict[str, Any]) -> str:
        contract = sign_contract(
            opportunity,
            amount=data["amount"],
            signed_at=moment(data["signed_on"]),
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            by=request.user,
            at=timezone.now(),
        )
        return _("Contract {code} recorded.").format(code=contract.code)

    return _act(request, opportunity, ContractForm(request.POST), "contract_form", call)


@login_required
@require_POST
def invoice_create(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(visible(request.user, Contract), pk=pk)
    if contract.opportunity_id is None:
        return redirect("web:customer_detail", pk=contract.customer_id)
    opportunity = _deal(request, contract.opportunity_id)

    def call(data: dict[str, Any]) -> str:
        invoice = issue_invoice(
            contract,
            amount=data["amount"],
            issued_on=data["issued_on"],
            due_on=data["due_on"],
            by=request.user,
            at=timezone.now(),
        )
        return _("Invoice {code} issued.").format(code=invoice.code)

    form = InvoiceForm(request.POST)
    return _act(request, opportunity, form, "invoice_form", call, contract.pk)


@login_required
@require_POST
def payment_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(visible(request.user, Invoice).select_related("contract"), pk=pk)
    if invoice.contract.opportunity_id is None:
        return redirect("web:customer_detail", pk=invoice.customer_id)
    opportunity = _deal(request, invoice.contract.opportunity_id)

    def call(data: dict[str, Any]) -> str:
        record_payment(
            invoice, amount=data["amount"], paid_at=moment(data["paid_on"]), by=request.user
        )
        return _("Payment recorded on invoice {code}.").format(code=invoice.code)

    form = PaymentForm(request.POST)
    return _act(request, opportunity, form, "payment_form", call, invoice.pk)
