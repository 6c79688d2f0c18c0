"""``salesradar handover``: hand a leaving rep's book to successors (``--preview`` first)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from salesradar.accounts.models import User
from salesradar.core.errors import DomainError
from salesradar.handover.models import Split
from salesradar.handover.services import KINDS, hand_over, plan_handover


class Command(BaseCommand):
    help = (
        "Hand every customer, open deal, lead, open task, action card and open alert of a "
        "leaving rep to one or more successors, deactivate the rep at the date and revoke "
        "their API tokens. --preview lists what would move and writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("leaving", help="username of the rep who leaves")
        parser.add_argument(
            "--to", dest="successors", action="append", required=True, help="a successor's username"
        )
        parser.add_argument("--split", choices=Split.values, default=Split.ONE)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            help="tier or region split: KEY=USERNAME, e.g. A=zhang or 华东=li",
        )
        parser.add_argument("--at", help="effective date or time (default: now)")
        parser.add_argument("--as", dest="actor", required=True, help="who hands over")
        parser.add_argument("--preview", action="store_true", help="list, change nothing")
        parser.add_argument("--note", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        leaving = self._user(options["leaving"])
        successors = [self._user(name) for name in options["successors"]]
        actor = self._user(options["actor"])
        mapping: dict[str, int] = {}
        for item in options["map"]:
            key, _sep, name = item.partition("=")
            if not key or not name:
                raise CommandError(f"--map {item!r}: write KEY=USERNAME")
            mapping[key] = self._user(name).pk
        now = timezone.now()
        effective = self._moment(options["at"]) if options["at"] else now
        try:
            if options["preview"]:
                plan = plan_handover(
                    leaving, successors=successors, split=options["split"], mapping=mapping,
                    by=actor,
                )  # fmt: skip
                names = {s.pk: s.username for s in successors}
                self.stdout.write(
                    json.dumps(
                        {
                            "leaving": leaving.username,
                            "counts": {names[k]: v for k, v in plan.counts().items()},
                            "moves": [
                                {"kind": m.kind, "id": m.object_id, "record": m.label,
                                 "to": names[m.to_id]}
                                for m in plan.moves
                            ],
                        },
                        ensure_ascii=False,
                        indent=1,
                    )
                )  # fmt: skip
                return
            handover = hand_over(
                leaving, successors=successors, split=options["split"], mapping=mapping,
                effective_at=effective, by=actor, at=now, note=options["note"],
            )  # fmt: skip
        except DomainError as refused:
            raise CommandError(refused.message_text) from None
        moved = ", ".join(f"{kind} {handover.moved.get(kind, 0)}" for kind in KINDS)
        self.stdout.write(f"handover #{handover.pk} {handover.status}: {moved or 'scheduled'}")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user

    def _moment(self, text: str) -> dt.datetime:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is None:
                raise CommandError(f"--at {text!r}: write YYYY-MM-DD or an ISO date and time")
            moment = dt.datetime.combine(day, dt.time(0, 0))
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
