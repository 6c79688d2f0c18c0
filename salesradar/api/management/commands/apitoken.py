"""salesradar apitoken create USER --scope read --scope write | list [USER] | revoke ID"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.models import User
from salesradar.api.choices import Scope
from salesradar.api.models import ApiToken
from salesradar.api.tokens import issue_token, revoke_token


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="")
        create.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            help="read or write; repeat for both (default: read)",
        )
        create.add_argument("--days", type=int, help="expire after this many days")
        listing = commands.add_parser("list", help="list tokens (never their secrets)")
        listing.add_argument("username", nargs="?")
        revoke = commands.add_parser("revoke", help="revoke a token by id or prefix")
        revoke.add_argument("token")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self.create(options)
        elif action == "list":
            self.list(options.get("username"))
        else:
            self.revoke(options["token"])

    def create(self, options: dict[str, Any]) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(_("No user named {name}.").format(name=options["username"]))
        days = options.get("days")
        if days is not None and days <= 0:
            raise CommandError(_("--days must be a positive number."))
        expires = timezone.now() + dt.timedelta(days=days) if days else None
        try:
            issued = issue_token(
                user,
                name=options["name"],
                scopes=options.get("scope") or [Scope.READ],
                expires_at=expires,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            _("Token {id} for {user} ({scopes}); it is shown only now:").format(
                id=issued.token.pk, user=user.username, scopes=", ".join(issued.token.scopes)
            )
        )
        self.stdout.write(issued.secret)

    def list(self, username: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("id")
        if username:
            tokens = tokens.filter(user__username=username)
        for token in tokens:
            state = _("revoked") if token.revoked_at else _("active")
            self.stdout.write(
                f"{token.pk}\t{token.prefix}…\t{token.user.username}\t{','.join(token.scopes)}"
                f"\t{token.name}\t{state}"
            )

    def revoke(self, reference: str) -> None:
        query = (
            ApiToken.objects.filter(pk=int(reference))
            if reference.isdigit()
            else ApiToken.objects.filter(prefix=reference.rstrip("…"))
        )
        tokens = list(query)
        if len(tokens) != 1:
            raise CommandError(_("No single token matches {ref}.").format(ref=reference))
        if revoke_token(tokens[0]):
            self.stdout.write(_("Token {id} revoked.").format(id=tokens[0].pk))
        else:
            self.stdout.write(_("Token {id} was already revoked.").format(id=tokens[0].pk))
