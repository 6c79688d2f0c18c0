"""Read SalesRadar's configuration from environment variables, in one place.

Every setting the operator can change is an environment variable with the ``SALESRADAR_``
prefix; this module documents each default so a deployment never depends on a hidden value.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PREFIX = "SALESRADAR_"

DOCUMENTED = {
    "DATA_DIR": "folder for the SQLite file, the secret key and ground_truth.json "
    "(default: $XDG_DATA_HOME/salesradar or ~/.local/share/salesradar)",
    "DATABASE_URL": "database URL, e.g. postgres://user@127.0.0.1:5432/salesradar "
    "(default: sqlite file salesradar.sqlite3 in the data dir)",
    "SECRET_KEY": "Django secret key (default: generated once and kept in the data dir)",
    "DEBUG": "1 to turn on Django's debug mode (default: off)",
    "ALLOWED_HOSTS": "comma-separated host names (default: 127.0.0.1,localhost)",
    "TIME_ZONE": "zone shown to users who have not chosen one (default: Asia/Shanghai)",
    "LANGUAGE_CODE": "default language, zh-hans or en (default: zh-hans)",
    "BROKER_URL": "Celery broker for the scale mode, Redis or RabbitMQ "
    "(default: redis://127.0.0.1:6379/0)",
    "RESULT_BACKEND": "Celery result backend (default: the broker URL when it is Redis)",
    "DELIVERY_LEASE_SECONDS": "seconds a worker keeps a claimed delivery before another may "
    "take it over (default: 300)",
    "EVALUATE_MINUTES": "minutes between rule evaluations of the in-process scheduler "
    "(default: 15)",
    "API_MAX_BODY_BYTES": "largest request body the REST API and the inbound webhook accept, "
    "in bytes (default: 1048576)",
    "API_IDEMPOTENCY_HOURS": "hours an API Idempotency-Key is remembered (default: 24)",
    "BASE_URL": "address people use to reach the web app, for links in notifications "
    "(default: http://127.0.0.1:8000)",
    "BRIEFING_HOUR": "local hour (0-23) from which each person's morning briefing is sent "
    "(default: 8)",
    "WEEKLY_SUMMARY_DAY": "ISO weekday (1 = Monday ... 7 = Sunday) of the managers' weekly "
    "summary of the week before (default: 1)",
    "WEEKLY_SUMMARY_HOUR": "local hour (0-23) of the managers' weekly summary (default: 9)",
    "WEEKLY_REPORT_DAY": "ISO weekday (1 = Monday) the weekly process-health report is mailed "
    "(default: 1)",
    "WEEKLY_REPORT_HOUR": "local hour (0-23) the weekly process-health report is mailed "
    "(default: 8)",
    "RETENTION_DAYS": "days to keep sent deliveries, read inbox messages and ended silences "
    "before housekeeping removes them; failed and queued deliveries are never removed "
    "(default: 90)",
    "HTTPS": "1 when the web app is served over HTTPS (behind a proxy that sets "
    "X-Forwarded-Proto): cookies become Secure, HTTP redirects to HTTPS, HSTS is sent "
    "(default: off)",
    "LOGIN_MAX_FAILURES": "failed sign-ins for one user name from one address before it is "
    "locked (default: 5)",
    "LOGIN_LOCK_MINUTES": "minutes a locked user name and address must wait (default: 15)",
    "CACHE_URL": "redis://host:port/db of a cache every web process shares (the sign-in "
    "lockout counts there); without it, files in the data dir, shared by the processes of one "
    "host (default: files)",
    "FORECAST_DISCOUNT": "share of a low-credibility deal (index under 60) that counts in the "
    "forecast (default: 0.7)",
    "FORECAST_OVERDUE_LIMIT": "overdue balance above which a customer is flagged high-risk on "
    "the forecast (default: 500000)",
}


def get(name: str, default: str = "") -> str:
    """Return ``SALESRADAR_<name>`` or the default; unknown names are a programming error."""
    if name not in DOCUMENTED:
        raise KeyError(f"undocumented setting {PREFIX}{name}")
    return os.environ.get(PREFIX + name, default)


def get_bool(name: str, default: bool = False) -> bool:
    raw = get(name, "1" if default else "0").strip().lower()
    return raw in {"1", "true", "yes", "on"}


def get_int(name: str, default: int) -> int:
    """Return ``SALESRADAR_<name>`` as a positive integer; anything else is refused loudly."""
    raw = get(name, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{PREFIX}{name} must be at least 1, not {value}")
    return value


def get_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in get(name, default).split(",") if item.strip()]


def data_dir() -> Path:
    """Return the data dir, created with owner-only permissions if it does not exist."""
    raw = get("DATA_DIR")
    if raw:
        path = Path(raw).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "salesradar"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path.resolve()


def sqlite_path() -> Path:
    return data_dir() / "salesradar.sqlite3"


def secret_key() -> str:
    """Return the configured key, or one generated on first use and kept in the data dir.

    Keeping it in a file (mode 0600) means sessions survive restarts without the operator
    ever having to invent a key.
    """
    configured = get("SECRET_KEY")
    if configured:
        return configured
    key_file = data_dir() / "secret_key"
    if key_file.exists():
        key = key_file.read_text(encoding="ascii").strip()
        if not key:
            raise RuntimeError(
                f"{key_file} is empty; delete it to have a new key generated, or set "
                f"{PREFIX}SECRET_KEY (sessions signed with the old key will end)."
            )
        return key
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key
