"""Data sets the quality report can be built from, by key (``salesradar quality --dataset``).

A dataset builds itself into an empty database and says how its backtest window should be
chosen. Another app adds one by registering a `Dataset` in its ``AppConfig.ready()``::

    from salesradar.quality.datasets import Dataset, register_dataset
    register_dataset(Dataset("bohanec", "Bohanec B2B deals", build_bohanec, horizon_days=60))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SHARED_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@dataclass(frozen=True)
class Built:
    """What a builder wrote, and the span of history it covers."""

    first_event: dt.datetime
    last_event: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """A named data set: how to build it and how to backtest it."""

    key: str
    title: str
    build: Callable[[Path | None, Callable[[str], None]], Built]
    horizon_days: int = 60
    step_days: int = 7
    warmup_days: int = 14  # snapshots start this long after the first event
    default_source: Path | None = None
    description: str = ""


DATASETS: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> None:
    """Add ``dataset`` to the registry; a second one with the same key is refused."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"register_dataset() takes a Dataset, not {type(dataset).__name__}")
    existing = DATASETS.get(dataset.key)
    if existing is not None and existing is not dataset:
        raise ValueError(f"a dataset with the key {dataset.key!r} is already registered")
    DATASETS[dataset.key] = dataset


def get_dataset(key: str) -> Dataset:
    try:
        return DATASETS[key]
    except KeyError:
        known = ", ".join(sorted(DATASETS)) or "none"
        raise KeyError(f"unknown dataset {key!r}; known: {known}") from None
