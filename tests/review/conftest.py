"""A team with a manager and two reps for the action-card tests."""

from __future__ import annotations

import pytest

from salesradar.accounts.choices import Role
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def team() -> dict:
    east = TeamFactory(code="east")
    manager = UserFactory(role=Role.MANAGER, team=east)
    east.manager = manager
    east.save()
    return {
        "manager": manager,
        "rep": UserFactory(role=Role.REP, team=east),
        "colleague": UserFactory(role=Role.REP, team=east),
        "outsider": UserFactory(role=Role.MANAGER, team=TeamFactory(code="west")),
    }
