"""The deal board: one column per stage with its totals, cards that move by drag and drop or by
a menu, and the missing-evidence form opened in place when a gate refuses the move.

The board reads with a fixed number of queries whatever the number of deals: one grouped
query for the column totals, one per column for its largest cards (through the stage index),
one for the cards' next steps and one for their open alerts. Every move goes through
``pipeline.services.move_stage``; evidence added from a refusal goes through
``records.services.add_evidence`` and the move is tried again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import in_team_subtree, visible
from salesradar.activities.models import Activity
from salesradar.alerts.models import Alert
from salesradar.alerts.wording import format_amount
from salesradar.crm.models import Customer
from salesradar.pipeline.models import Opportunity, Process, Stage
from salesradar.pipeline.services import (
    StageMoveRefused,
    move_stage,
    requirements_for_move,
)
from salesradar.web.records import services
from salesradar.web.records.forms import EvidenceForm

CARDS_PER_COLUMN = 30
SEVERITY_RANK = {"danger": 0, "warning": 1}


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    cards: list[Opportunity] = field(default_factory=list)

    @property
    def amount_text(self) -> str:
        return format_amount(self.amount)

    @property
    def weighted_text(self) -> str:
        return format_amount(self.weighted)


def board_filters(user: Any, params: QueryDict) -> dict[str, Any]:
    """Read the board's filters (owner, team, amount range, close date range) from ``params``."""

    def number(name: str) -> Decimal | None:
        raw = params.get(name, "").strip()
        try:
            return Decimal(raw) if raw else None
        except ArithmeticError:
            return None

    def day(name: str) -> dt.date | None:
        try:
            return parse_date(params.get(name, "").strip())
        except ValueError:
            return None

    owner, team = params.get("owner", "").strip(), params.get("team", "").strip()
    return {
        "owner": int(owner) if owner.isdigit() else None,
        "team": int(team) if team.isdigit() else None,
        "min_amount": number("min_amount"),
        "max_amount": number("max_amount"),
        "close_from": day("close_from"),
        "close_to": day("close_to"),
    }


def filtered_deals(user: Any, filters: dict[str, Any]) -> QuerySet[Opportunity]:
    """The open deals ``user`` may see, narrowed by the board's filters."""
    deals = visible(user, Opportunity).filter(stage__is_won=False, stage__is_lost=False)
    if filters["owner"]:
        deals = deals.filter(owner_id=filters["owner"])
    if filters["team"]:
        team = Team.objects.filter(pk=filters["team"]).first()
        deals = deals.filter(in_team_subtree("owner__team", [team.path])) if team else deals.none()
    if filters["min_amount"] is not None:
        deals = deals.filter(amount__gte=filters["min_amount"])
    if filters["max_amount"] is not None:
        deals = deals.filter(amount__lte=filters["max_amount"])
    if filters["close_from"]:
        deals = deals.filter(expected_close_date__gte=filters["close_from"])
    if filters["close_to"]:
        deals = deals.filter(expected_close_date__lte=filters["close_to"])
    return deals


def annotate_cards(cards: list[Opportunity], at: dt.datetime) -> None:
    """Set days in stage, the next step and the worst open alert on each card (two queries)."""
    ids = [card.pk for card in cards]
    latest_step = (
        Activity.objects.filter(opportunity=OuterRef("pk"))
        .exclude(next_step="")
        .order_by("-occurred_at", "-pk")
    )
    steps = dict(
        Opportunity.objects.filter(pk__in=ids)
        .annotate(step=Subquery(latest_step.values("next_step")[:1]))
        .values_list("pk", "step")
    )
    risks: dict[int, str] = {}
    for entity_id, severity in (
        Alert.objects.open()
        .filter(entity_type="opportunity", entity_id__in=ids)
        .exclude(severity="")
        .values_list("entity_id", "severity")
    ):
        if SEVERITY_RANK.get(severity, 9) < SEVERITY_RANK.get(risks.get(entity_id, ""), 9):
            risks[entity_id] = severity
    for card in cards:
        card.days_in_stage = max(0, (at - card.stage_entered_at).days)  # type: ignore[attr-defined]
        card.next_step = steps.get(card.pk) or ""  # type: ignore[attr-defined]
        card.risk = risks.get(card.pk, "")  # type: ignore[attr-defined]
        card.amount_text = format_amount(card.amount, card.currency)  # type: ignore[attr-defined]


def board_columns(user: Any, filters: dict[str, Any], at: dt.datetime) -> list[Column]:
    """The stages of the default process as columns, with totals over every filtered deal."""
    process = Process.objects.filter(is_default=True).first() or Process.objects.first()
    if process is None:
        return []
    stages = list(process.stages.order_by("order"))
    deals = filtered_deals(user, filters).filter(process=process)
    totals = {
        row["stage_id"]: row
        for row in deals.values("stage_id").annotate(count=Count("pk"), total=Sum("amount"))
    }
    columns = []
    cards: list[Opportunity] = []
    for stage in stages:
        if stage.is_lost:
            continue  # moving to lost asks for a reason: done from the deal page or the menu
        column = Column(stage)
        row = totals.get(stage.pk)
        if row:
            column.count, column.amount = row["count"], row["total"] or Decimal("0")
            column.weighted = column.amount * stage.probability / 100
            column.cards = list(
                deals.filter(stage=stage)
                .select_related("customer", "owner", "stage")
                .order_by("-amount", "pk")[:CARDS_PER_COLUMN]
            )
            cards += column.cards
        columns.append(column)
    annotate_cards(cards, at)
    return columns


def owner_and_team_choices(user: Any) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    people = visible(user, User).filter(is_active=True).order_by("last_name", "first_name")
    teams = Team.objects.filter(
        pk__in=visible(user, User).exclude(team=None).values("team_id")
    ).order_by("path")
    return [(p.pk, str(p)) for p in people[:300]], [(t.pk, str(t)) for t in teams]


@login_required
def deal_board(request: HttpRequest) -> HttpResponse:
    filters = board_filters(request.user, request.GET)
    owners, teams = owner_and_team_choices(request.user)
    columns = board_columns(request.user, filters, timezone.now())
    context = {
        "columns": columns,
        "filters": filters,
        "owners": owners,
        "teams": teams,
        "stage_menu": [(column.stage.key, str(column.stage)) for column in columns],
        "totals": {
            "count": sum(column.count for column in columns),
            "amount": format_amount(sum((c.amount for c in columns), Decimal("0"))),
            "weighted": format_amount(sum((c.weighted for c in columns), Decimal("0"))),
        },
    }
    return render(request, "web/records/board.html", context)


def _deal(request: HttpRequest, pk: int) -> Opportunity:
    return get_object_or_404(
        visible(request.user, Opportunity).select_related("customer", "owner", "stage", "process"),
        pk=pk,
    )


def _missing_evidence(deal: Opportunity, target: Stage) -> list[str]:
    have = set(deal.evidence.values_list("kind", flat=True))
    return [
        requirement.target
        for requirement in requirements_for_move(deal.stage, target)
        if requirement.kind == "evidence" and requirement.target not in have
    ]


def _try_move(request: HttpRequest, deal: Opportunity, to_stage: str) -> HttpResponse:
    """Move and answer the refreshed card, or the refusal with the evidence form in place."""
    try:
        move_stage(deal, to_stage, by=request.user, at=timezone.now())
    except StageMoveRefused as refused:
        target = Stage.objects.filter(process_id=deal.process_id, key=to_stage).first()
        missing = _missing_evidence(deal, target) if target else []
        form = EvidenceForm(opportunity=deal, initial={"kind": missing[0]} if missing else None)
        context = {
            "deal": deal,
            "refused": refused,
            "to_stage": to_stage,
            "target": target,
            "evidence_form": form if missing else None,
            "stage_menu": _menu(deal),
        }
        response = render(request, "web/records/_board_refusal.html", context)
        response["HX-Retarget"] = f"#card-{deal.pk}"
        response["HX-Reswap"] = "outerHTML"
        return response
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"  # the column totals changed: show the board again
    return response


def _menu(deal: Opportunity) -> list[tuple[str, str]]:
    return [
        (stage.key, str(stage))
        for stage in Stage.objects.filter(process_id=deal.process_id, is_lost=False).order_by(
            "order"
        )
    ]


@login_required
@require_POST
def board_move(request: HttpRequest, pk: int) -> HttpResponse:
    """A card dropped on a column, or moved with its menu."""
    deal = _deal(request, pk)
    return _try_move(request, deal, request.POST.get("to_stage", "").strip())


@login_required
@require_POST
def board_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the evidence a refusal asked for, then try the same move again."""
    deal = _deal(request, pk)
    form = EvidenceForm(request.POST, opportunity=deal)
    to_stage = request.POST.get("to_stage", "").strip()
    if not form.is_valid():
        target = Stage.objects.filter(process_id=deal.process_id, key=to_stage).first()
        context = {
            "deal": deal,
            "refused": StageMoveRefused(_("Check the evidence below.")),
            "to_stage": to_stage,
            "target": target,
            "evidence_form": form,
            "stage_menu": _menu(deal),
        }
        response = render(request, "web/records/_board_refusal.html", context, status=400)
        response["HX-Retarget"] = f"#card-{deal.pk}"
        response["HX-Reswap"] = "outerHTML"
        return response
    data = form.cleaned_data
    services.add_evidence(
        deal,
        kind=data["kind"],
        title=data["title"],
        url=data["url"],
        by=request.user,
        at=timezone.now(),
    )
    return _try_move(request, deal, to_stage)


@login_required
def opportunity_new(request: HttpRequest) -> HttpResponse:
    """The deal list's "New deal": pick the customer, then fill in the deal's form."""
    chosen = request.GET.get("customer", "").strip()
    if chosen.isdigit() and visible(request.user, Customer).filter(pk=int(chosen)).exists():
        return redirect("web:opportunity_create", customer_pk=int(chosen))
    term = request.GET.get("q", "").strip()
    customers = visible(request.user, Customer).order_by("name")
    if term:
        customers = customers.filter(Q(name__icontains=term) | Q(code__istartswith=term))
    elif not request.user.is_superuser and request.user.role == "rep":
        customers = customers.filter(owner=request.user)
    context = {"customers": list(customers.values_list("pk", "code", "name")[:50]), "q": term}
    return render(request, "web/records/opportunity_new.html", context)
