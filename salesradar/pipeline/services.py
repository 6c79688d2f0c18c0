"""Pipeline services: opening deals, moving stages, quotes, contracts, invoices, payments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.activities.choices import ActivityKind
from salesradar.core import outbox
from salesradar.core.codes import save_with_new_code
from salesradar.core.errors import CONFLICT, UNPROCESSABLE, DomainError, Invalid
from salesradar.core.fields import DEFAULT_CURRENCY, require_aware
from salesradar.crm.choices import DecisionRole
from salesradar.crm.models import Customer
from salesradar.pipeline.choices import QuoteStatus, evidence_label
from salesradar.pipeline.models import (
    Contract,
    Invoice,
    Opportunity,
    Process,
    Quote,
    Stage,
    StageChange,
)

CLOCK_SKEW = dt.timedelta(minutes=5)


class StageMoveRefused(DomainError):
    """A stage move that is not allowed; ``missing`` names each unmet gate requirement.

    A missing gate requirement is ``unprocessable`` (the API answers 422), any other refusal
    a ``conflict`` with the opportunity's state (409).
    """

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        self.missing = missing or []
        super().__init__(
            message,
            code="gate_not_met" if self.missing else "stage_move_refused",
            kind=UNPROCESSABLE if self.missing else CONFLICT,
            fields={"stage": [str(message)]},
            extra={"missing": self.missing} if self.missing else None,
        )


def default_process(process: Process | None = None) -> Process:
    """Return ``process``, else the default process (else the first), refusing when none exists."""
    if process is not None:
        return process
    found = Process.objects.filter(is_default=True).first() or Process.objects.first()
    if found is None:
        message = _("No sales process is loaded yet; load a playbook first.")
        raise Invalid(message, code="no_process", fields={"process": [message]})
    return found


def first_open_stage(process: Process) -> Stage:
    """Return the stage a new deal of ``process`` starts in: its first open stage."""
    stage = process.stages.filter(is_won=False, is_lost=False).order_by("order").first()
    if stage is None:
        message = _("This process has no open stage.")
        raise Invalid(message, code="no_open_stage", fields={"process": [message]})
    return stage


def open_opportunity(
    customer: Customer,
    *,
    owner: Any,
    name: str,
    by: Any,
    at: dt.datetime,
    amount: Decimal | int = Decimal("0"),
    currency: str = DEFAULT_CURRENCY,
    product_line: str = "",
    expected_close_date: dt.date | None = None,
    process: Process | None = None,
    stage: Stage | None = None,
    code: str = "",
    lost_reason: str = "",
    lost_note: str = "",
    note: str = "",
) -> Opportunity:
    """Open a deal and start its stage history; the one way an opportunity comes to exist.

    A new deal enters its process's first open stage unless ``stage`` says otherwise (an
    inbound event or an import reporting a deal already further on, or already closed, as
    its source knew it). Without ``code`` the deal gets a fresh number. Nothing is written
    when the deal is refused, also when a red customer-health block is open on the customer
    (a deal reported as already closed is history, not a new deal, and passes).
    """
    from salesradar.health.services import ensure_can_open_opportunity

    require_aware(at, "at")
    chosen = default_process(process)
    entered = stage or first_open_stage(chosen)
    if not entered.is_terminal:
        ensure_can_open_opportunity(customer)
    if entered.process_id != chosen.pk:
        raise Invalid(
            _("The stage {stage} belongs to another process.").format(stage=entered),
            code="stage_of_another_process",
            fields={"stage": [_("not a stage of the process")]},
        )
    with transaction.atomic():
        opportunity = Opportunity(
            code=code,
            name=name,
            customer=customer,
            owner=owner,
            process=chosen,
            stage=entered,
            amount=amount,
            currency=currency,
            product_line=product_line,
            expected_close_date=expected_close_date,
            created_at=at,
            updated_at=at,
            stage_entered_at=at,
            closed_at=at if entered.is_terminal else None,
            lost_reason=lost_reason if entered.is_lost else "",
            lost_note=lost_note,
        )
        opportunity.full_clean(exclude=["customer", "owner", "process", "stage", "code"])
        if code:
            opportunity.save()
        else:
            save_with_new_code(opportunity, "O", at)
        StageChange.objects.create(
            opportunity=opportunity,
            to_stage=entered,
            changed_at=at,
            changed_by=by,
            note=note,
        )
    return opportunity


@dataclass(frozen=True)
class Requirement:
    kind: str
    target: str

    def describe(self) -> str:
        if self.kind == "field":
            model_field = Opportunity._meta.get_field(self.target)
            return _("the field “{field}”").format(
                field=getattr(model_field, "verbose_name", self.target)
            )
        if self.kind == "evidence":
            return _("evidence “{kind}”").format(kind=evidence_label(self.target))
        if self.kind == "contact_role":
            return _("a contact who is {role}").format(role=DecisionRole(self.target).label)
        if self.kind == "quote":
            return _("a sent quote")
        if self.kind == "contract":
            return _("a signed contract")
        return _("a logged {kind}").format(kind=ActivityKind(self.target).label)


def is_regression(from_stage: Stage | None, to_stage: Stage) -> bool:
    """Whether a move from ``from_stage`` to ``to_stage`` goes backwards (跨阶段退回).

    Backwards means to an earlier open stage; closing a deal (won or lost) never is, and the
    opening entry of a history (no from-stage) is not a move. The one definition, used by
    ``move_stage``, ``record_stage_moves`` and the imports.
    """
    return bool(from_stage is not None and to_stage.order < from_stage.order) and not (
        to_stage.is_terminal
    )


def record_stage_moves(moves: list[StageChange], *, at: dt.datetime) -> list[StageChange]:
    """Append many stage changes at once (an import), flagging regressions and announcing them.

    The caller has already updated the opportunities' stages; ``from_stage`` and ``to_stage``
    must be set on each row (ids are enough when ``stages`` are cached by the caller, but the
    regression flag needs the objects, so pass them).
    """
    require_aware(at, "at")
    for move in moves:
        move.is_regression = is_regression(move.from_stage, move.to_stage)
    with transaction.atomic():
        created = StageChange.objects.bulk_create(moves, batch_size=2000)
        outbox.announce(outbox.STAGE_CHANGE, [move.pk for move in created], at=at)
    return created


def requirements_for_move(from_stage: Stage, to_stage: Stage) -> list[Requirement]:
    """Return the gate requirements a move must meet.

    Moving forward passes every gate between the two stages, so skipping a stage never skips
    its proof. Moving to won also passes the gates of the open stages still ahead; moving to
    lost needs only the lost gate; moving backwards needs nothing.
    """
    if to_stage.is_lost:
        gates = [to_stage.gate]
    elif to_stage.order <= from_stage.order and not to_stage.is_won:
        gates = []
    else:
        passed = Stage.objects.filter(
            process_id=to_stage.process_id,
            order__gt=from_stage.order,
            order__lte=to_stage.order,
            is_lost=False,
        ).order_by("order")
        gates = [stage.gate for stage in passed]
    seen: dict[tuple[str, str], Requirement] = {}
    for gate in gates:
        for item in gate:
            for kind, target in item.items():
                seen.setdefault((kind, str(target)), Requirement(kind, str(target)))
    return list(seen.values())


def missing_requirements(opportunity: Opportunity, requirements: list[Requirement]) -> list[str]:
    """Return a description of each requirement the opportunity does not meet yet."""
    missing: list[str] = []
    for requirement in requirements:
        if not _is_met(opportunity, requirement):
            missing.append(requirement.describe())
    return missing


def _is_met(opportunity: Opportunity, requirement: Requirement) -> bool:
    kind, target = requirement.kind, requirement.target
    if kind == "field":
        value: Any = getattr(opportunity, target)
        return value not in (None, "") and not (target == "amount" and value <= 0)
    if kind == "evidence":
        return opportunity.evidence.filter(kind=target).exists()
    if kind == "contact_role":
        return opportunity.customer.contacts.filter(decision_role=target).exists()
    if kind == "quote":
        return opportunity.quotes.filter(sent_at__isnull=False).exists()
    if kind == "contract":
        return opportunity.contracts.exists()
    return opportunity.activities.filter(kind=target).exists()


def move_stage(
    opportunity: Opportunity,
    to_stage: Stage | str,
    *,
    by: Any,
    at: dt.datetime,
    note: str = "",
    lost_reason: str = "",
    backfill: bool = False,
) -> StageChange:
    """Move an opportunity to another stage of its process and append the change to history.

    The move is refused, with nothing written, when the target is unknown, the opportunity is
    already closed, ``at`` is naive or out of order, or a gate requirement is missing.
    ``backfill`` records history that happened elsewhere (an import from another CRM): the
    gates are not checked, since their evidence was never kept, and the change's note says so.
    """
    require_aware(at, "at")
    with transaction.atomic():
        current = (
            Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
        )
        target = _resolve_stage(current, to_stage)
        if target.pk == current.stage_id:
            raise StageMoveRefused(_("The opportunity is already in {stage}.").format(stage=target))
        if current.stage.is_terminal:
            raise StageMoveRefused(
                _("The opportunity is closed ({stage}); open a new opportunity instead.").format(
                    stage=current.stage
                )
            )
        if at < current.stage_entered_at:
            raise StageMoveRefused(
                _("The move at {at} would come before the last stage change at {last}.").format(
                    at=at.isoformat(), last=current.stage_entered_at.isoformat()
                )
            )
        if at > timezone.now() + CLOCK_SKEW:
            raise StageMoveRefused(_("A stage move cannot be recorded in the future."))
        if lost_reason:
            current.lost_reason = lost_reason
        missing = (
            []
            if backfill
            else missing_requirements(current, requirements_for_move(current.stage, target))
        )
        if backfill:
            relaxed = _("backfilled history: gates not checked")
            note = f"{note} ({relaxed})" if note else relaxed
        if missing:
            raise StageMoveRefused(
                _("Cannot move to {stage}: missing {missing}.").format(
                    stage=target, missing=_(", ").join(missing)
                ),
                missing=missing,
            )
        change = StageChange.objects.create(
            opportunity=current,
            from_stage=current.stage,
            to_stage=target,
            changed_at=at,
            changed_by=by,
            is_regression=is_regression(current.stage, target),
            note=note,
        )
        current.stage = target
        current.stage_entered_at = at
        current.updated_at = at
        if target.is_terminal:
            current.closed_at = at
        current.full_clean(exclude=["customer", "owner", "process", "stage"])
        current.save(
            update_fields=["stage", "stage_entered_at", "updated_at", "closed_at", "lost_reason"]
        )
        outbox.announce(outbox.STAGE_CHANGE, [change.pk], at=at)  # with the deal as it is now
    for name in ("stage", "stage_id", "stage_entered_at", "updated_at", "closed_at", "lost_reason"):
        setattr(opportunity, name, getattr(current, name))
    return change


def _resolve_stage(opportunity: Opportunity, to_stage: Stage | str) -> Stage:
    key = to_stage if isinstance(to_stage, str) else to_stage.key
    if not isinstance(to_stage, str) and to_stage.process_id != opportunity.process_id:
        raise StageMoveRefused(
            _("The stage {stage} belongs to another process.").format(stage=to_stage)
        )
    try:
        return Stage.objects.get(process_id=opportunity.process_id, key=key)
    except Stage.DoesNotExist:
        known = ", ".join(
            Stage.objects.filter(process_id=opportunity.process_id).values_list("key", flat=True)
        )
        raise StageMoveRefused(
            _("Unknown stage {key!r}; this process has: {known}.").format(key=key, known=known)
        ) from None


# --------------------------------------------------------------------------- quotes, contracts,
# invoices and payments: what the won gate and the receivables metrics read. Each verb owns its
# transaction and counts as an update of the deal (the "no update in 48 hours" warning reads it).


def _touch(opportunity_id: int | None, at: dt.datetime) -> None:
    if opportunity_id is not None:
        Opportunity.objects.filter(pk=opportunity_id, updated_at__lt=at).update(updated_at=at)


def _not_in_future(at: dt.datetime, field: str) -> None:
    require_aware(at, field)
    if at > timezone.now() + CLOCK_SKEW:
        message = _("This cannot be recorded in the future.")
        raise Invalid(message, code="in_the_future", fields={field: [message]})


def _amount(amount: Decimal | int | None, field: str = "amount") -> Decimal:
    if amount is None or Decimal(amount) < 0:
        message = _("Enter an amount of zero or more.")
        raise Invalid(message, code="negative_amount", fields={field: [message]})
    return Decimal(amount)


def _open_deal(opportunity: Opportunity) -> Opportunity:
    current = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    if current.stage.is_terminal:
        raise DomainError(
            _("The opportunity is closed ({stage}); open a new opportunity instead.").format(
                stage=current.stage
            ),
            code="opportunity_closed",
            kind=CONFLICT,
        )
    return current


def create_quote(
    opportunity: Opportunity,
    *,
    amount: Decimal | int,
    by: Any,
    at: dt.datetime,
    requested_at: dt.datetime | None = None,
) -> Quote:
    """Start the next version of the deal's quote; earlier unsent or sent ones are superseded.

    ``requested_at`` is when the customer asked for it (the quote response clock starts
    there), ``at`` by default. Refused for a closed deal.
    """
    _not_in_future(at, "at")
    asked = requested_at or at
    _not_in_future(asked, "requested_at")
    value = _amount(amount)
    with transaction.atomic():
        deal = _open_deal(opportunity)
        version = (deal.quotes.aggregate(top=Max("version"))["top"] or 0) + 1
        deal.quotes.filter(status__in=[QuoteStatus.REQUESTED, QuoteStatus.SENT]).update(
            status=QuoteStatus.SUPERSEDED
        )
        quote = Quote.objects.create(
            opportunity=deal,
            version=version,
            status=QuoteStatus.REQUESTED,
            requested_at=asked,
            amount=value,
            currency=deal.currency,
        )
        _touch(deal.pk, at)
    return quote


def update_quote(quote: Quote, *, amount: Decimal | int, by: Any, at: dt.datetime) -> Quote:
    """Change the amount of a quote not sent yet; a sent quote is changed by a new version."""
    _not_in_future(at, "at")
    value = _amount(amount)
    with transaction.atomic():
        current = Quote.objects.select_for_update().get(pk=quote.pk)
        if current.sent_at is not None:
            raise DomainError(
                _("Quote v{version} was sent already; make a new version instead.").format(
                    version=current.version
                ),
                code="quote_sent",
                kind=CONFLICT,
            )
        current.amount = value
        current.save(update_fields=["amount"])
        _touch(current.opportunity_id, at)
    quote.amount = value
    return current


def send_quote(quote: Quote, *, by: Any, at: dt.datetime) -> Quote:
    """Record that the quote went to the customer: what the negotiation gate asks for."""
    _not_in_future(at, "at")
    with transaction.atomic():
        current = Quote.objects.select_for_update().get(pk=quote.pk)
        if current.sent_at is not None:
            raise DomainError(
                _("Quote v{version} was sent already.").format(version=current.version),
                code="quote_sent",
                kind=CONFLICT,
            )
        if current.status == QuoteStatus.SUPERSEDED:
            raise DomainError(
                _("Quote v{version} was superseded by a newer version.").format(
                    version=current.version
                ),
                code="quote_superseded",
                kind=CONFLICT,
            )
        if at < current.requested_at:
            message = _("A quote cannot be sent before it was requested.")
            raise Invalid(message, code="sent_before_requested", fields={"at": [message]})
        current.sent_at, current.status = at, QuoteStatus.SENT
        current.save(update_fields=["sent_at", "status"])
        _touch(current.opportunity_id, at)
    quote.sent_at, quote.status = current.sent_at, current.status
    return current


def _contract_terms(
    amount: Decimal | int, starts_on: dt.date, ends_on: dt.date
) -> tuple[Decimal, dt.date, dt.date]:
    value = _amount(amount)
    if ends_on < starts_on:
        message = _("The contract cannot end before it starts.")
        raise Invalid(message, code="ends_before_start", fields={"ends_on": [message]})
    return value, starts_on, ends_on


def sign_contract(
    opportunity: Opportunity,
    *,
    amount: Decimal | int,
    signed_at: dt.datetime,
    starts_on: dt.date,
    ends_on: dt.date,
    by: Any,
    at: dt.datetime,
) -> Contract:
    """Record the deal's signed contract (what the won gate asks for) under a fresh number."""
    _not_in_future(signed_at, "signed_at")
    value, starts_on, ends_on = _contract_terms(amount, starts_on, ends_on)
    with transaction.atomic():
        deal = _open_deal(opportunity)
        contract = Contract(
            customer_id=deal.customer_id,
            opportunity=deal,
            signed_at=signed_at,
            starts_on=starts_on,
            ends_on=ends_on,
            amount=value,
            currency=deal.currency,
        )
        save_with_new_code(contract, "HT", at)
        _touch(deal.pk, at)
    return contract


def update_contract(
    contract: Contract,
    *,
    amount: Decimal | int,
    starts_on: dt.date,
    ends_on: dt.date,
    by: Any,
    at: dt.datetime,
) -> Contract:
    """Correct a contract's amount or term."""
    require_aware(at, "at")
    value, starts_on, ends_on = _contract_terms(amount, starts_on, ends_on)
    with transaction.atomic():
        current = Contract.objects.select_for_update().get(pk=contract.pk)
        current.amount, current.starts_on, current.ends_on = value, starts_on, ends_on
        current.save(update_fields=["amount", "starts_on", "ends_on"])
        _touch(current.opportunity_id, at)
    return current


def issue_invoice(
    contract: Contract,
    *,
    amount: Decimal | int,
    issued_on: dt.date,
    due_on: dt.date,
    by: Any,
    at: dt.datetime,
) -> Invoice:
    """Invoice part or all of a contract; the overdue-receivables metric reads ``due_on``."""
    require_aware(at, "at")
    value = _amount(amount)
    if due_on < issued_on:
        message = _("An invoice cannot fall due before it is issued.")
        raise Invalid(message, code="due_before_issue", fields={"due_on": [message]})
    with transaction.atomic():
        current = Contract.objects.select_for_update().get(pk=contract.pk)
        invoiced = current.invoices.aggregate(total=Sum("amount"))["total"] or Decimal("0")
        if invoiced + value > current.amount:
            message = _("Invoices would total {total}, more than the contract's {amount}.").format(
                total=invoiced + value, amount=current.amount
            )
            raise Invalid(message, code="over_invoiced", fields={"amount": [message]})
        invoice = Invoice(
            contract=current,
            customer_id=current.customer_id,
            issued_on=issued_on,
            due_on=due_on,
            amount=value,
            currency=current.currency,
        )
        save_with_new_code(invoice, "FP", at)
        _touch(current.opportunity_id, at)
    return invoice


def record_payment(
    invoice: Invoice, *, amount: Decimal | int, paid_at: dt.datetime, by: Any
) -> Invoice:
    """Add a payment to an invoice; the invoice counts as paid when the payments cover it."""
    _not_in_future(paid_at, "paid_at")
    value = _amount(amount)
    if value == 0:
        message = _("Enter the amount received.")
        raise Invalid(message, code="zero_payment", fields={"amount": [message]})
    with transaction.atomic():
        current = Invoice.objects.select_for_update().select_related("contract").get(pk=invoice.pk)
        outstanding = current.amount - current.paid_amount
        if value > outstanding:
            message = _("Only {outstanding} is outstanding on invoice {code}.").format(
                outstanding=outstanding, code=current.code
            )
            raise Invalid(message, code="overpaid", fields={"amount": [message]})
        current.paid_amount += value
        if current.paid_amount >= current.amount:
            current.paid_at = paid_at
        current.save(update_fields=["paid_amount", "paid_at"])
        _touch(current.contract.opportunity_id, paid_at)
    return current
