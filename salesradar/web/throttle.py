"""Login throttling: lock a user name from one address after repeated failed sign-ins.

Counting per user name *and* address means an attacker guessing one person's password is
stopped, while the same person signing in from another place (or a colleague behind the same
office NAT) is not locked out. Counters live in Django's cache; with several web processes
configure a shared cache so they agree.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()
    return f"salesradar:login-failures:{digest}"


def lock_seconds() -> int:
    return int(settings.LOGIN_LOCK_MINUTES) * 60


def is_locked(username: str, address: str) -> bool:
    """Return whether sign-ins for ``username`` from ``address`` are refused for now."""
    return int(cache.get(_key(username, address), 0)) >= int(settings.LOGIN_MAX_FAILURES)


def record_failure(username: str, address: str) -> int:
    """Count one failed sign-in and return the count; the lock lasts from the last failure."""
    key = _key(username, address)
    failures = int(cache.get(key, 0)) + 1
    cache.set(key, failures, timeout=lock_seconds())
    return failures


def clear(username: str, address: str) -> None:
    """Forget the failures after a successful sign-in."""
    cache.delete(_key(username, address))
