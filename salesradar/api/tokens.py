"""Issue, find and revoke personal API tokens; only a SHA-256 digest is ever stored.

A token is ``sr_`` followed by 43 URL-safe characters (256 random bits). A digest without salt
is enough for a secret of that strength and lets a request find its token with one indexed
lookup instead of trying a slow hash against every row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.models import User
from salesradar.api.choices import Scope
from salesradar.api.models import ApiToken

TOKEN_PREFIX = "sr_"
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; never stored


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_scopes(scopes: Sequence[str]) -> list[str]:
    """Return the scopes in a stable order, refusing unknown ones; write implies nothing else."""
    cleaned = sorted({scope.strip().lower() for scope in scopes if scope.strip()})
    unknown = [scope for scope in cleaned if scope not in Scope.values]
    if unknown or not cleaned:
        raise ValidationError(
            _("Unknown or missing scopes {unknown}; choose from: {known}.").format(
                unknown=", ".join(unknown) or "-", known=", ".join(Scope.values)
            ),
            code="invalid_scopes",
        )
    return cleaned


def issue_token(
    user: User,
    *,
    name: str,
    scopes: Sequence[str],
    expires_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> IssuedToken:
    """Create a token for ``user``; the returned secret is the only copy."""
    now = at or timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ValidationError(_("A token must expire in the future."), code="expired")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or _("API token"),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        digest=digest_of(secret),
        scopes=normalise_scopes(scopes),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedToken(token=token, secret=secret)


def find_token(secret: str, *, at: dt.datetime | None = None) -> ApiToken | None:
    """Return the usable token for ``secret`` (recording its use), or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    now = at or timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest_of(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke_token(token: ApiToken, *, at: dt.datetime | None = None) -> bool:
    """Revoke ``token``; return False when it was already revoked."""
    now = at or timezone.now()
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
    token.refresh_from_db(fields=["revoked_at"])
    return bool(changed)
