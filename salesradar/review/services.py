"""Action cards: who does what by when with a verifiable deliverable, and the manager's check.

One verb per step, called by the pages, the API and the job:
``create_action_card`` (by hand, from a probe or from an alert with ``card_from_alert``),
``deliver_card`` (the owner hands in the deliverable), ``verify_card`` (the owner's manager
accepts it or sends it back), and ``remind_and_flag_overdue`` (the periodic job: a reminder a
day before the deadline, an overdue alert to the owner and their manager once it passed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.activities.choices import ActionCardOrigin, ActionCardStatus
from salesradar.activities.models import ActionCard
from salesradar.alerts.models import Alert
from salesradar.core.errors import CONFLICT, FORBIDDEN, DomainError, Invalid
from salesradar.core.fields import require_aware
from salesradar.crm.models import Customer
from salesradar.health.services import manager_for
from salesradar.notify.models import Delivery
from salesradar.notify.services import (
    default_inbox,
    personal_deliveries,
    preferences_of,
    render_payload,
    summary_item,
)
from salesradar.pipeline.models import Opportunity

REMIND_BEFORE = dt.timedelta(hours=24)


def leads(manager: User, owner: User) -> bool:
    """Return whether ``manager`` manages a team that contains ``owner``'s team."""
    if owner.team_id is None:
        return False
    path = Team.objects.filter(pk=owner.team_id).values_list("path", flat=True).first() or ""
    return any(
        path.startswith(led)
        for led in Team.objects.filter(manager=manager).values_list("path", flat=True)
    )


def oversees(user: User, owner: User) -> bool:
    """A director, ops, admin, or a manager above the owner oversees the owner's cards."""
    if user.is_superuser or user.role in (Role.DIRECTOR, Role.OPS, Role.ADMIN):
        return True
    return user.role == Role.MANAGER and leads(user, owner)


def create_action_card(
    *,
    owner: User,
    what: str,
    deliverable: str,
    due_at: dt.datetime,
    by: User,
    at: dt.datetime,
    origin: str = ActionCardOrigin.MANUAL,
    origin_ref: str = "",
    customer: Customer | None = None,
    opportunity: Opportunity | None = None,
) -> ActionCard:
    """Write a card for ``owner``; a manager writes them for the team, anyone for themself."""
    require_aware(at, "at")
    require_aware(due_at, "due_at")
    errors: dict[str, list[str]] = {}
    if not (what or "").strip():
        errors["what"] = [_("Say what is to be done.")]
    if not (deliverable or "").strip():
        errors["deliverable"] = [_("Name the deliverable the manager can check.")]
    if due_at <= at:
        errors["due_at"] = [_("The deadline must lie in the future.")]
    if not owner.is_active:
        errors["owner"] = [_("{person} is not active.").format(person=owner)]
    if errors:
        message = " ".join(text for texts in errors.values() for text in texts)
        raise Invalid(message, code="invalid_action_card", fields=errors)
    if by.pk != owner.pk and not oversees(by, owner):
        raise DomainError(
            _("Only {person}'s manager can give them an action card.").format(person=owner),
            code="not_your_team",
            kind=FORBIDDEN,
        )
    if opportunity is not None and customer is None:
        customer = opportunity.customer
    return ActionCard.objects.create(
        owner=owner,
        what=what.strip()[:200],
        deliverable=deliverable.strip()[:200],
        due_at=due_at,
        created_by=by,
        created_at=at,
        origin=origin,
        origin_ref=origin_ref[:64],
        customer=customer,
        opportunity=opportunity,
    )


def card_from_alert(
    alert: Alert, *, what: str, deliverable: str, due_at: dt.datetime, by: User, at: dt.datetime
) -> ActionCard:
    """Turn an alert into a card for its owner, tied to the alert's customer or deal."""
    if alert.owner is None:
        raise Invalid(_("The alert has no owner to give the card to."), code="alert_unowned")
    customer = opportunity = None
    if alert.entity_type == "customer":
        customer = Customer.objects.filter(pk=alert.entity_id).first()
    elif alert.entity_type == "opportunity":
        opportunity = Opportunity.objects.filter(pk=alert.entity_id).first()
    return create_action_card(
        owner=alert.owner,
        what=what,
        deliverable=deliverable,
        due_at=due_at,
        by=by,
        at=at,
        origin=ActionCardOrigin.ALERT,
        origin_ref=f"alert:{alert.pk}",
        customer=customer,
        opportunity=opportunity,
    )


def deliver_card(card: ActionCard, *, by: User, note: str, at: dt.datetime) -> ActionCard:
    """The owner hands in the deliverable; it waits for the manager's verification."""
    require_aware(at, "at")
    if by.pk != card.owner_id:
        raise DomainError(_("Only the card's owner delivers it."), code="not_owner", kind=FORBIDDEN)
    if not (note or "").strip():
        raise Invalid(
            _("Describe what was delivered."), code="empty_delivery", fields={"note": ["required"]}
        )
    with transaction.atomic():
        changed = ActionCard.objects.filter(
            pk=card.pk, status__in=[ActionCardStatus.OPEN, ActionCardStatus.MISSED]
        ).update(status=ActionCardStatus.DELIVERED, delivered_at=at, delivery_note=note.strip())
    if not changed:
        raise DomainError(
            _("The card is {status}; only an open or missed card can be delivered.").format(
                status=card.get_status_display()
            ),
            code="card_not_open",
            kind=CONFLICT,
        )
    card.refresh_from_db()
    return card


def verify_card(
    card: ActionCard, *, by: User, accepted: bool, note: str, at: dt.datetime
) -> ActionCard:
    """The owner's manager accepts the deliverable, or sends the card back open with a note."""
    require_aware(at, "at")
    owner = card.owner
    if by.pk == owner.pk or not oversees(by, owner):
        raise DomainError(
            _("Only {person}'s manager verifies their cards.").format(person=owner),
            code="not_your_team",
            kind=FORBIDDEN,
        )
    if card.status != ActionCardStatus.DELIVERED:
        raise DomainError(
            _("Only a delivered card can be verified."), code="card_not_delivered", kind=CONFLICT
        )
    if not accepted and not (note or "").strip():
        raise Invalid(
            _("Say what is missing when sending a card back."),
            code="empty_review",
            fields={"note": ["required"]},
        )
    card.review_note = (note or "").strip()
    if accepted:
        card.status, card.verified_at, card.verified_by = ActionCardStatus.VERIFIED, at, by
    else:
        card.status = ActionCardStatus.OPEN
    card.save(update_fields=["status", "verified_at", "verified_by", "review_note"])
    return card


def remind_and_flag_overdue(*, at: dt.datetime) -> dict[str, int]:
    """Remind owners of cards due within a day; mark passed ones missed and tell owner + manager.

    Each card is reminded once and flagged once; one digest per person per run.
    """
    require_aware(at, "at")
    due_soon = list(
        ActionCard.objects.filter(
            status=ActionCardStatus.OPEN,
            reminded_at__isnull=True,
            due_at__gt=at,
            due_at__lte=at + REMIND_BEFORE,
        ).select_related("owner")
    )
    overdue = list(
        ActionCard.objects.filter(
            status=ActionCardStatus.OPEN, overdue_notified_at__isnull=True, due_at__lte=at
        ).select_related("owner")
    )
    teams = {team.pk: team for team in Team.objects.all()}
    lines: dict[int, list[tuple[str, ActionCard]]] = defaultdict(list)
    for card in due_soon:
        lines[card.owner_id].append(("reminder", card))
    for card in overdue:
        lines[card.owner_id].append(("overdue", card))
        manager = manager_for(card.owner.team_id, teams)
        if manager is not None and manager != card.owner_id:
            lines[manager].append(("team_overdue", card))
    with transaction.atomic():
        ActionCard.objects.filter(pk__in=[card.pk for card in due_soon]).update(reminded_at=at)
        ActionCard.objects.filter(pk__in=[card.pk for card in overdue]).update(
            overdue_notified_at=at, status=ActionCardStatus.MISSED
        )
        sent = _notify(lines, at)
    return {"reminded": len(due_soon), "overdue": len(overdue), "messages": sent}


def _notify(lines: dict[int, list[tuple[str, ActionCard]]], at: dt.datetime) -> int:
    if not lines:
        return 0
    people = User.objects.in_bulk(list(lines))
    preferences = preferences_of(list(lines))
    inbox = default_inbox()
    deliveries: list[Delivery] = []
    for pk, entries in lines.items():
        person = people.get(pk)
        if person is None or not person.is_active:
            continue
        language = person.language or "zh-hans"
        with translation.override(language):
            items = []
            for kind, card in entries:
                due = timezone.localtime(card.due_at).strftime("%Y-%m-%d %H:%M")
                if kind == "reminder":
                    text = _("Due {due}: {what} (deliver: {deliverable})")
                elif kind == "overdue":
                    text = _("Overdue since {due}: {what} (deliver: {deliverable})")
                else:
                    text = _("{owner}'s card is overdue since {due}: {what}")
                items.append(
                    summary_item(
                        text.format(
                            due=due,
                            what=card.what,
                            deliverable=card.deliverable,
                            owner=card.owner,
                        )
                    )
                )
            urgent = any(kind != "reminder" for kind, _card in entries)
            subject = (
                _("SalesRadar: action cards overdue")
                if urgent
                else _("SalesRadar: action cards due")
            )
            payload = render_payload(items, language, person, subject=subject)
        deliveries += personal_deliveries(
            person, preferences.get(pk), inbox, payload, at, alert_events=[], urgent=urgent
        )
    Delivery.objects.bulk_create(deliveries, batch_size=1000)
    return len(deliveries)
