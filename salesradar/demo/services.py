"""Entry points for building the demo organisation, shared by the CLI and the benchmark."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.crm.models import Customer
from salesradar.demo.generator import SIZES, DemoBuilder, DemoResult, write_ground_truth

COUNT_OPTIONS = ("teams", "reps", "customers", "opportunities", "activities")


def count_overrides(options: Mapping[str, Any]) -> dict[str, int]:
    """The explicit counts given on the command line, overriding the size preset."""
    return {name: options[name] for name in COUNT_OPTIONS if options.get(name) is not None}


def demo_present() -> bool:
    return User.objects.filter(username="rep0001").exists()


def build_demo(
    *,
    seed: int,
    size: str,
    today: dt.date,
    truth_path: Path | None,
    overrides: dict[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Generate the demo into an empty database and write its ground truth.

    A database that already holds customers is refused: demo rows must never mix with real
    ones, and the generator's explicit ids assume it owns the tables.
    """
    if Customer.objects.exists():
        raise ValidationError(
            "The database already holds customers; the demo is only built into an empty one "
            "(use --rebuild to wipe a previous demo)."
        )
    preset = SIZES[size]
    bad = {name: value for name, value in (overrides or {}).items() if value < 1}
    if bad:
        raise ValidationError(f"Counts must be at least 1: {bad}")
    chosen = dataclasses.replace(preset, **(overrides or {}))
    if chosen.reps < chosen.teams:
        raise ValidationError("There must be at least as many reps as teams.")
    result = DemoBuilder(seed=seed, size=chosen, today=today, progress=progress).build()
    add_demo_competitors()
    if truth_path is not None:
        write_ground_truth(result, truth_path)
    return result


DEMO_COMPETITORS = (
    ("用友", "Yonyou, 用友网络"),
    ("金蝶", "Kingdee, 金蝶软件"),
    ("纷享销客", "Fxiaoke"),
    ("Salesforce", "SFDC"),
)


def add_demo_competitors() -> None:
    """Name the competitors the demo's reps meet, so their notes can be read against them."""
    from salesradar.capture.models import Competitor

    Competitor.objects.bulk_create(
        [Competitor(name=name, aliases=aliases) for name, aliases in DEMO_COMPETITORS],
        ignore_conflicts=True,
    )


def ensure_demo_admin(password: str) -> bool:
    """Create the ``admin`` superuser with ``password``; return False if it already exists."""
    if User.objects.filter(username="admin").exists():
        return False
    User.objects.create_superuser(
        username="admin",
        email="admin@demo.salesradar.example",
        password=password,
        role=Role.ADMIN,
    )
    return True
