"""The organisation the health tests act in."""

from __future__ import annotations

import pytest

from salesradar.accounts.choices import Role
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def org() -> dict:
    root = TeamFactory(code="root")
    team = TeamFactory(code="east", parent=root)
    director = UserFactory(role=Role.DIRECTOR, team=root)
    manager = UserFactory(role=Role.MANAGER, team=team)
    team.manager = manager
    team.save()
    rep = UserFactory(role=Role.REP, team=team)
    presales = UserFactory(role=Role.PRESALES, team=root)
    return {"director": director, "manager": manager, "rep": rep, "presales": presales}
