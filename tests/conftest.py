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
