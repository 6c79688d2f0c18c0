"""The one place that decides which rows a person may see.

Every query that serves a person (web, API, exports, notifications) starts from
``visible(user, Model)``. The rule: a rep sees what they own, a manager sees what is owned
inside the team subtrees they lead or belong to, a director, ops or admin sees everything.
Rows without an owner (the public pool) are seen only by the all-seeing roles here; the
lead-pool rules that let reps claim from it live with the pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

from salesradar.accounts.choices import ALL_SEEING_ROLES, Role

M = TypeVar("M", bound=models.Model)


def team_paths_led_by(user: Any) -> list[str]:
    """Return the tree paths of the teams a manager leads.

    Belonging to a team is not leading it: a manager placed in the parent department must
    not see the sibling teams. A manager who leads no team yet falls back to their own team.
    """
    from salesradar.accounts.models import Team

    paths = set(Team.objects.filter(manager=user).values_list("path", flat=True))
    if not paths and user.team_id is not None:
        paths.update(Team.objects.filter(pk=user.team_id).values_list("path", flat=True))
    return sorted(paths)


def sees_everything(user: Any) -> bool:
    return bool(user.is_superuser or user.role in ALL_SEEING_ROLES)


def in_team_subtree(team_lookup: str, paths: Iterable[str]) -> Q:
    """Match rows whose team (reached through ``team_lookup``, "" for teams themselves) lies
    under one of ``paths``; no path matches nothing. The one team-subtree filter."""
    field = f"{team_lookup}__path__startswith" if team_lookup else "path__startswith"
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{field: path})
    return condition


_subtree_q = in_team_subtree


def _owner_condition(user: Any, owner_path: str) -> Q:
    """Return the filter on the owning user reached through ``owner_path``."""
    own = Q(**{owner_path: user}) if owner_path else Q(pk=user.pk)
    if user.role != Role.MANAGER:
        return own
    team_lookup = f"{owner_path}__team" if owner_path else "team"
    return own | _subtree_q(team_lookup, team_paths_led_by(user))


def visibility_filter(user: Any, model: type[models.Model]) -> Q | None:
    """Return the Q that limits ``model`` to what ``user`` may see, or None for everything."""
    from salesradar.accounts.models import Team

    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if sees_everything(user):
        return None
    if model is Team:
        if user.role == Role.MANAGER:
            return _subtree_q("", team_paths_led_by(user))
        return Q(pk=user.team_id) if user.team_id else Q(pk__in=[])
    owner_path = getattr(model, "owner_path", None)
    if owner_path is None:
        raise TypeError(f"{model.__name__} declares no owner_path; visibility is undefined")
    condition = _owner_condition(user, owner_path)
    team_path = getattr(model, "team_path", None)
    if team_path and user.role == Role.MANAGER:
        # rows that belong to a team rather than a person (team targets, team-level alerts)
        condition |= _subtree_q(team_path, team_paths_led_by(user))
    return condition


def visible(user: Any, queryset_or_model: QuerySet[M] | type[M]) -> QuerySet[M]:
    """Return the part of ``queryset_or_model`` that ``user`` may see."""
    if isinstance(queryset_or_model, QuerySet):
        queryset = queryset_or_model
    else:
        queryset = queryset_or_model._default_manager.all()
    condition = visibility_filter(user, queryset.model)
    return queryset if condition is None else queryset.filter(condition)
