"""Fixtures shared across the test apps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from salesradar.pipeline.models import Process, Stage
from tests.factories import ProcessFactory


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
    """Assert on English messages by default; i18n tests switch language explicitly."""
    with translation.override("en"):
        yield


@pytest.fixture
def default_process(db: None) -> Process:
    """The process loaded from the shipped default playbook."""
    return ProcessFactory()


@pytest.fixture
def stages(default_process: Process) -> dict[str, Stage]:
    """The default process's stages by key (initial_contact, needs_confirmed, ..., lost)."""
    return {stage.key: stage for stage in default_process.stages.all()}


DATA_LAYER_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_setup",
    "live_server",
    "django_db_blocker",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "one_database: does not depend on which database runs it (browser, pure Python); "
        "runs in the SQLite pass only",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests the SQLite pass already covers.

    The suite runs once per database so the data layer is proven on both; a test that never
    opens a connection, a browser test (it proves the pages, not the SQL) or one marked
    ``one_database`` would only repeat itself.
    """
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return
    kept, left_out = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        touches_data = bool(fixtures & DATA_LAYER_FIXTURES) or item.get_closest_marker("django_db")
        in_browser = "browser" in item.path.parts
        if item.get_closest_marker("one_database") or in_browser or not touches_data:
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
