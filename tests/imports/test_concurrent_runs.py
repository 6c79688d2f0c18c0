"""Two imports from one source never collide, and an interrupted import is marked failed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection, connections

from salesradar.crm.models import Customer
from salesradar.imports import services
from salesradar.imports.models import ImportRun
from tests.imports.helpers import auto_options, import_file, write_csv

pytestmark = pytest.mark.django_db


def customers_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "customers.csv", [["Customer name", "Tier"], ["甲公司", "A"]])


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's single write lock already serialises runs"
)
def test_a_second_import_from_the_same_source_is_refused_while_one_runs(tmp_path: Path) -> None:
    path = customers_file(tmp_path)
    source = auto_options(path, "customers").source
    holding, release = threading.Event(), threading.Event()

    def other_run() -> None:  # holds the source's lock the way a running import does
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [source_key(source)])
            holding.set()
            release.wait(30)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [source_key(source)])
        connections["default"].close()

    worker = threading.Thread(target=other_run)
    worker.start()
    try:
        assert holding.wait(30)
        with pytest.raises(services.ImportRefused) as refused:
            import_file(path, "customers")
    finally:
        release.set()
        worker.join(30)

    assert f"Another import from {source} is running" in str(refused.value)
    assert not Customer.objects.exists()
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED


def source_key(source: str) -> int:
    import hashlib

    digest = hashlib.blake2b(f"salesradar-import:{source}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def test_an_interrupted_import_is_marked_failed_not_left_uploaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = customers_file(tmp_path)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(services, "_write_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_file(path, "customers")

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "KeyboardInterrupt" in run.message
    assert not Customer.objects.exists()
