"""Team.path mirrors the parent chain, through creation and re-parenting of whole subtrees."""

from __future__ import annotations

import pytest

from salesradar.accounts.models import Team
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def path_of(team: Team) -> str:
    return Team.objects.get(pk=team.pk).path


def expected_path(*teams: Team) -> str:
    return "/" + "".join(f"{team.pk}/" for team in teams)


def test_new_root_team_path_is_its_own_id() -> None:
    root = TeamFactory()
    assert path_of(root) == expected_path(root)


def test_new_child_team_path_extends_its_parents() -> None:
    root = TeamFactory()
    child = TeamFactory(parent=root)
    grandchild = TeamFactory(parent=child)
    assert path_of(grandchild) == expected_path(root, child, grandchild)


def test_reparenting_a_team_updates_the_paths_of_all_its_descendants() -> None:
    # given root_a > east > shanghai > pudong, and a second root_b
    root_a, root_b = TeamFactory(), TeamFactory()
    east = TeamFactory(parent=root_a)
    shanghai = TeamFactory(parent=east)
    pudong = TeamFactory(parent=shanghai)
    # when east moves under root_b
    east.parent = root_b
    east.save()
    # then east and every team below it carry the new chain
    assert path_of(east) == expected_path(root_b, east)
    assert path_of(shanghai) == expected_path(root_b, east, shanghai)
    assert path_of(pudong) == expected_path(root_b, east, shanghai, pudong)
    # and the subtree query follows
    assert set(Team.objects.get(pk=root_b.pk).subtree()) == {root_b, east, shanghai, pudong}
    assert set(Team.objects.get(pk=root_a.pk).subtree()) == {root_a}


def test_reparenting_leaves_unrelated_subtrees_alone() -> None:
    # given two roots, each with a child
    first, second, third = TeamFactory(), TeamFactory(), TeamFactory()
    first_child = TeamFactory(parent=first)
    third_child = TeamFactory(parent=third)
    # when the first root moves under the second
    first.parent = second
    first.save()
    # then only the first root's own subtree changed
    assert path_of(first_child) == expected_path(second, first, first_child)
    assert path_of(third_child) == expected_path(third, third_child)


def test_making_a_child_team_a_root_shortens_its_subtree_paths() -> None:
    root = TeamFactory()
    east = TeamFactory(parent=root)
    shanghai = TeamFactory(parent=east)
    east.parent = None
    east.save()
    assert path_of(east) == expected_path(east)
    assert path_of(shanghai) == expected_path(east, shanghai)


def test_reparenting_through_a_stale_instance_still_updates_descendants() -> None:
    # given root_a > east > shanghai, with an instance of east loaded before root_a moved
    root_a, root_b, root_c = TeamFactory(), TeamFactory(), TeamFactory()
    east = TeamFactory(parent=root_a)
    shanghai = TeamFactory(parent=east)
    root_a.parent = root_b
    root_a.save()
    # when the stale east instance (its path still from before) moves under root_c
    east.parent = root_c
    east.save()
    # then its descendants follow the database's chain, not the stale one
    assert path_of(shanghai) == expected_path(root_c, east, shanghai)


def test_moving_a_team_under_its_own_descendant_is_refused() -> None:
    # given root > east > shanghai
    root = TeamFactory()
    east = TeamFactory(parent=root)
    shanghai = TeamFactory(parent=east)
    # when east is put under shanghai
    east.parent = shanghai
    # then the move is refused and nothing changed
    with pytest.raises(ValueError, match="own subtree"):
        east.save()
    assert path_of(east) == expected_path(root, east)
    assert Team.objects.get(pk=east.pk).parent_id == root.pk


def test_making_a_team_its_own_parent_is_refused() -> None:
    team = TeamFactory()
    team.parent = team
    with pytest.raises(ValueError, match="own subtree"):
        team.save()
    assert Team.objects.get(pk=team.pk).parent_id is None
