"""Who may use which web page beyond row visibility (that is ``accounts.visibility``)."""

from __future__ import annotations

from typing import Any

from salesradar.accounts.choices import Role

COCKPIT_ROLES = frozenset({Role.MANAGER, Role.DIRECTOR, Role.OPS, Role.ADMIN})
RULE_ROLES = frozenset({Role.OPS, Role.ADMIN})


def manages_rules(user: Any) -> bool:
    """Return whether ``user`` may read and change rules and see failed deliveries."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in RULE_ROLES))


def uses_cockpit(user: Any) -> bool:
    """Return whether ``user``'s home page is the manager cockpit (reps get their workspace)."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in COCKPIT_ROLES))
