"""Convert the BPI Challenge 2012 event log (a Dutch bank's loan applications) into a pipeline.

The XES log (``BPI_Challenge_2012.xes.zip``, 13,087 applications, 262,200 events from
October 2011 to March 2012) is streamed with ``iterparse`` straight out of the zip, one
application at a time, and written with bulk inserts. The mapping:

- an **application** (trace) is a deal: amount = ``AMOUNT_REQ`` (EUR), created at
  ``REG_DATE``, owned by the resource with the most events on it (the automatic resource
  ``112`` only when no person touched it), for an applicant customer of its own;
- the application and offer **sub-process states** (``A_*`` and ``O_*`` events) are the
  stages of the process ``bpi2012``, in order: submitted (``initial_contact``), pre-accepted
  or accepted (``needs_confirmed``), offer sent (``proposal``), offer returned and in
  validation (``negotiation``), keyed like the default process so the default rule pack's
  stage scopes apply; a move to an earlier stage is a regression;
- **approval** (``A_APPROVED``, ``A_REGISTERED``, ``A_ACTIVATED`` or ``O_ACCEPTED``,
  whichever comes first) is won; **decline or cancellation** (``A_DECLINED``,
  ``A_CANCELLED``) is lost; later events of a closed application are ignored;
- every completed **work item** (``W_*`` with lifecycle ``COMPLETE``) is an activity at its
  real timestamp, by its resource (else the owner): calling back (``W_Nabellen …``) and
  handling leads are calls, the others notes. Activities are backfilled (known from when
  they occurred);
- every **resource** is a rep of the team ``bpi2012``, whose account is created now: such
  reps count as active from their first record (issue 11 §2).
"""

from __future__ import annotations

import datetime as dt
import gzip
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.activities.models import Activity
from salesradar.core.tables import next_id, reset_sequences
from salesradar.crm.models import Customer
from salesradar.pipeline.models import Opportunity, Process, Stage, StageChange
from salesradar.quality.datasets import SHARED_DATASETS, Built, Dataset

XES = "{http://www.xes-standard.org/}"
DEFAULT_SOURCE = SHARED_DATASETS / "bpi_challenge_2012" / "BPI_Challenge_2012.xes.zip"
PROCESS_KEY = "bpi2012"
SYSTEM_RESOURCE = "112"  # the bank's automatic step, not a person
BATCH = 5000

# Stage keys are the default process's, so the default rule pack's stage scopes apply;
# the labels say what the bank calls them.
# key, English and Chinese label, default win probability, dwell SLA in days, won, lost
STAGES = (
    ("initial_contact", "Submitted", "已提交", 10, 1, False, False),
    ("needs_confirmed", "Pre-accepted or accepted", "预受理/已受理", 25, 7, False, False),
    ("proposal", "Offer sent", "已发报价", 50, 14, False, False),
    ("negotiation", "Offer returned, in validation", "报价已回签（审核中）", 75, 7, False, False),
    ("won", "Approved", "已批准", 100, None, True, False),
    ("lost", "Declined or cancelled", "拒绝或取消", 0, None, False, True),
)
STAGE_OF_EVENT = {
    "A_SUBMITTED": "initial_contact",
    "A_PARTLYSUBMITTED": "initial_contact",
    "A_PREACCEPTED": "needs_confirmed",
    "A_ACCEPTED": "needs_confirmed",
    "A_FINALIZED": "proposal",
    "O_SELECTED": "proposal",
    "O_CREATED": "proposal",
    "O_SENT": "proposal",
    "O_SENT_BACK": "negotiation",
    "A_APPROVED": "won",
    "A_REGISTERED": "won",
    "A_ACTIVATED": "won",
    "O_ACCEPTED": "won",
    "A_DECLINED": "lost",
    "A_CANCELLED": "lost",
}
CALL_WORK = ("W_Nabellen offertes", "W_Nabellen incomplete dossiers", "W_Afhandelen leads")


@dataclass(frozen=True)
class Event:
    name: str
    transition: str
    at: dt.datetime
    resource: str


@dataclass
class Application:
    case_id: str
    registered_at: dt.datetime
    amount: str
    events: list[Event] = field(default_factory=list)


@contextmanager
def open_xes(path: Path) -> Iterator[Any]:
    """Open an ``.xes`` file, gzipped or not, or the first ``.xes`` inside a zip."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if name.endswith(".xes")]
            if not members:
                raise ValidationError(f"{path} holds no .xes file")
            with archive.open(members[0]) as stream:
                yield stream
    elif path.suffix == ".gz":
        with gzip.open(path, "rb") as stream:
            yield stream
    else:
        with path.open("rb") as stream:
            yield stream


def attributes(element: ET.Element) -> dict[str, str]:
    return {
        child.get("key", ""): child.get("value", "")
        for child in element
        if child.tag != f"{XES}event"
    }


def parse_time(raw: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValidationError(f"timestamp {raw!r} has no time zone")
    return moment.astimezone(dt.UTC)


def read_applications(path: Path) -> Iterator[Application]:
    """Stream the log's traces one by one; memory stays flat however long the log is."""
    with open_xes(path) as stream:
        context = ET.iterparse(stream, events=("start", "end"))
        _event, root = next(context)
        for kind, element in context:
            if kind != "end":
                continue
            if element.tag == f"{XES}event":
                values = attributes(element)
                element.clear()
                element.attrib["parsed"] = "|".join(
                    (
                        values.get("concept:name", ""),
                        values.get("lifecycle:transition", ""),
                        values.get("time:timestamp", ""),
                        values.get("org:resource", ""),
                    )
                )
            elif element.tag == f"{XES}trace":
                values = attributes(element)
                application = Application(
                    case_id=values.get("concept:name", ""),
                    registered_at=parse_time(values["REG_DATE"]),
                    amount=values.get("AMOUNT_REQ", "0"),
                )
                for child in element:
                    if child.tag == f"{XES}event":
                        name, transition, at, resource = child.attrib["parsed"].split("|")
                        application.events.append(Event(name, transition, parse_time(at), resource))
                application.events.sort(key=lambda event: event.at)
                yield application
                root.clear()  # drop the finished trace


@dataclass
class Converted:
    """One application as rows: its owner, stage moves and activities."""

    case_id: str
    owner: str
    registered_at: dt.datetime
    amount: Decimal
    moves: list[tuple[str, dt.datetime, str]]  # (stage key, at, resource)
    activities: list[tuple[str, dt.datetime, str, str]]  # (kind, at, resource, work item)
    last_event: dt.datetime


def convert(application: Application) -> Converted:
    """Map one application's events to stage moves and activities (module docstring)."""
    people = Counter(
        event.resource
        for event in application.events
        if event.resource and event.resource != SYSTEM_RESOURCE
    )
    owner = people.most_common(1)[0][0] if people else SYSTEM_RESOURCE
    order = {key: index for index, (key, *_rest) in enumerate(STAGES)}
    moves: list[tuple[str, dt.datetime, str]] = []
    activities: list[tuple[str, dt.datetime, str, str]] = []
    current = ""
    for event in application.events:
        stage = STAGE_OF_EVENT.get(event.name)
        if stage is not None and current not in ("won", "lost") and stage != current:
            moves.append((stage, event.at, event.resource))
            current = stage
        elif event.name.startswith("W_") and event.transition == "COMPLETE":
            kind = "call" if event.name in CALL_WORK else "note"
            activities.append((kind, event.at, event.resource or owner, event.name))
    if not moves or order[moves[0][0]] != 0:
        moves.insert(0, ("initial_contact", application.registered_at, ""))
    try:
        amount = Decimal(application.amount)
    except InvalidOperation:
        amount = Decimal(0)
    return Converted(
        case_id=application.case_id,
        owner=owner,
        registered_at=min(application.registered_at, moves[0][1]),
        amount=max(amount, Decimal(0)),
        moves=moves,
        activities=activities,
        last_event=max([application.registered_at, *(event.at for event in application.events)]),
    )


def ensure_process() -> dict[str, Stage]:
    """Create the ``bpi2012`` process and its stages (once); return the stages by key."""
    process, created = Process.objects.get_or_create(
        key=PROCESS_KEY,
        defaults={"names": {"en": "BPI 2012 loan application", "zh-hans": "BPI 2012 贷款申请"}},
    )
    if created:
        Stage.objects.bulk_create(
            Stage(
                process=process,
                key=key,
                labels={"en": english, "zh-hans": chinese},
                order=index + 1,
                probability=probability,
                dwell_sla_days=sla,
                is_won=won,
                is_lost=lost,
            )
            for index, (key, english, chinese, probability, sla, won, lost) in enumerate(STAGES)
        )
    return {stage.key: stage for stage in process.stages.all()}


def build_bpi2012(source: Path | None, progress: Callable[[str], None]) -> Built:
    """Build the BPI 2012 pipeline into an empty database; return what was written."""
    path = Path(source) if source else DEFAULT_SOURCE
    if not path.exists():
        raise ValidationError(f"the BPI 2012 event log is not at {path}")
    if Opportunity.objects.exists():
        raise ValidationError(
            "the database already holds opportunities; a data set is only built into an empty one"
        )
    now = timezone.now()
    converted = []
    for count, application in enumerate(read_applications(path), start=1):
        converted.append(convert(application))
        if count % 2000 == 0:
            progress(f"read {count} applications")
    progress(f"read {len(converted)} applications; writing")
    with transaction.atomic():
        counts = write(converted, now)
    first = min(item.registered_at for item in converted)
    last = max(item.last_event for item in converted)
    return Built(first, last, counts)


def write(converted: list[Converted], now: dt.datetime) -> dict[str, int]:
    """Write users, customers, opportunities, stage history and activities in bulk."""
    stages = ensure_process()
    team, _created = Team.objects.get_or_create(code=PROCESS_KEY, defaults={"name": "BPI 2012"})
    resources = sorted(
        {item.owner for item in converted}
        | {resource for item in converted for _k, _at, resource, _w in item.activities}
        | {resource for item in converted for _s, _at, resource in item.moves if resource}
    )
    existing = dict(
        User.objects.filter(username__in=[f"bpi-{r}" for r in resources]).values_list(
            "username", "pk"
        )
    )
    first_user = next_id(User)
    new_users = [
        User(
            pk=first_user + index,
            username=f"bpi-{resource}",
            first_name=resource,
            role=Role.REP,
            team=team,
            date_joined=now,  # the account is made now; its history is older
        )
        for index, resource in enumerate(r for r in resources if f"bpi-{r}" not in existing)
    ]
    User.objects.bulk_create(new_users, batch_size=BATCH)
    user_of = {**existing, **{user.username: user.pk for user in new_users}}

    def user(resource: str) -> int:
        return user_of[f"bpi-{resource}"]

    first_customer, first_opportunity = next_id(Customer), next_id(Opportunity)
    customers, opportunities, changes, activities = [], [], [], []
    next_change, next_activity = next_id(StageChange), next_id(Activity)
    for index, item in enumerate(converted):
        customer_id, opportunity_id = first_customer + index, first_opportunity + index
        owner = user(item.owner)
        customers.append(
            Customer(
                pk=customer_id,
                code=f"BPI-C{item.case_id}",
                name=f"Applicant {item.case_id}",
                normalized_name=f"applicant {item.case_id}",
                owner_id=owner,
                created_at=item.registered_at,
                updated_at=item.registered_at,
            )
        )
        final_key, entered_at, _resource = item.moves[-1]
        final = stages[final_key]
        opportunities.append(
            Opportunity(
                pk=opportunity_id,
                code=f"BPI-{item.case_id}",
                name=f"Loan application {item.case_id}",
                customer_id=customer_id,
                owner_id=owner,
                process_id=final.process_id,
                stage=final,
                amount=item.amount,
                currency="EUR",
                created_at=item.registered_at,
                updated_at=item.last_event,
                stage_entered_at=entered_at,
                closed_at=entered_at if final.is_terminal else None,
                lost_reason="other" if final.is_lost else "",
            )
        )
        previous: Stage | None = None
        for key, at, resource in item.moves:
            stage = stages[key]
            changes.append(
                StageChange(
                    pk=next_change,
                    opportunity_id=opportunity_id,
                    from_stage=previous,
                    to_stage=stage,
                    changed_at=at,
                    changed_by_id=user(resource) if resource else None,
                    is_regression=bool(
                        previous and stage.order < previous.order and not stage.is_terminal
                    ),
                )
            )
            next_change += 1
            previous = stage
        for kind, at, resource, work in item.activities:
            activities.append(
                Activity(
                    pk=next_activity,
                    kind=kind,
                    customer_id=customer_id,
                    opportunity_id=opportunity_id,
                    owner_id=user(resource),
                    occurred_at=at,
                    summary=work,
                    created_at=now,
                    backfilled=True,
                )
            )
            next_activity += 1
    Customer.objects.bulk_create(customers, batch_size=BATCH)
    Opportunity.objects.bulk_create(opportunities, batch_size=BATCH)
    StageChange.objects.bulk_create(changes, batch_size=BATCH)
    Activity.objects.bulk_create(activities, batch_size=BATCH)
    reset_sequences([User, Customer, Opportunity, StageChange, Activity])
    return {
        "reps": len(user_of),
        "opportunities": len(opportunities),
        "stage_changes": len(changes),
        "activities": len(activities),
        "won": sum(1 for o in opportunities if o.stage.is_won),
        "lost": sum(1 for o in opportunities if o.stage.is_lost),
    }


DATASET = Dataset(
    key="bpi2012",
    title="BPI Challenge 2012 (loan applications)",
    build=build_bpi2012,
    horizon_days=30,
    step_days=7,
    warmup_days=14,
    default_source=DEFAULT_SOURCE,
    description=(
        "13,087 real loan applications of a Dutch bank, Oct 2011 to Mar 2012: application = "
        "deal, sub-process states = stages, approval = won, decline or cancellation = lost, "
        "completed work items = activities, resources = reps"
    ),
)
