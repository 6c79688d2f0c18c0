"""Who sees which rows: reps their own, managers their subtrees, the all-seeing roles all."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import visible
from salesradar.activities.models import Activity
from salesradar.crm.models import Contact, Customer
from salesradar.pipeline.models import (
    Opportunity,
    Process,
    Quote,
    Stage,
    StageChange,
)
from salesradar.pipeline.services import move_stage
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    CustomerFactory,
    EvidenceFactory,
    OpportunityFactory,
    QuoteFactory,
    TeamFactory,
    UserFactory,
    days_after_creation,
)

pytestmark = pytest.mark.django_db


@dataclass
class Org:
    """sales > (east > east_sub, west); one rep with one opportunity in each of them."""

    sales: Team
    east: Team
    east_sub: Team
    west: Team
    east_manager: User
    west_manager: User
    east_rep: User
    east_peer: User
    east_sub_rep: User
    west_rep: User
    opportunities: dict[str, Opportunity]


@pytest.fixture
def org(default_process: Process) -> Org:
    sales = TeamFactory(code="sales", name="销售部")
    east = TeamFactory(code="east", name="华东", parent=sales)
    east_sub = TeamFactory(code="east-sh", name="上海组", parent=east)
    west = TeamFactory(code="west", name="华西", parent=sales)
    east_manager = UserFactory(username="east_manager", role=Role.MANAGER, team=east)
    west_manager = UserFactory(username="west_manager", role=Role.MANAGER, team=west)
    east.manager, west.manager = east_manager, west_manager
    east.save()
    west.save()
    reps = {
        "east_rep": UserFactory(username="east_rep", team=east),
        "east_peer": UserFactory(username="east_peer", team=east),
        "east_sub_rep": UserFactory(username="east_sub_rep", team=east_sub),
        "west_rep": UserFactory(username="west_rep", team=west),
    }
    opportunities = {name: OpportunityFactory(owner=rep) for name, rep in reps.items()}
    return Org(
        sales, east, east_sub, west, east_manager, west_manager, **reps, opportunities=opportunities
    )


def visible_opportunity_owners(user: object) -> set[str]:
    return set(visible(user, Opportunity).values_list("owner__username", flat=True))


def test_rep_sees_only_own_opportunity_not_a_peers(org: Org) -> None:
    # given two reps of the same team, each owning an opportunity
    # when the first rep lists opportunities
    owners = visible_opportunity_owners(org.east_rep)
    # then only their own is there
    assert owners == {"east_rep"}


def test_rep_cannot_see_a_peers_stage_changes_quotes_activities_or_evidence(org: Org) -> None:
    # given a peer's opportunity with history, a quote, an activity and evidence
    peer_opportunity = org.opportunities["east_peer"]
    move_stage(
        peer_opportunity, "lost", by=org.east_peer, at=days_after_creation(1), lost_reason="price"
    )
    QuoteFactory(opportunity=peer_opportunity)
    ActivityFactory(opportunity=peer_opportunity)
    EvidenceFactory(opportunity=peer_opportunity)
    own_activity = ActivityFactory(opportunity=org.opportunities["east_rep"])
    # when the other rep queries each of them
    # then nothing of the peer's shows up, while the rep's own activity does
    assert not visible(org.east_rep, StageChange).exists()
    assert not visible(org.east_rep, Quote).exists()
    assert list(visible(org.east_rep, Activity)) == [own_activity]
    assert not visible(org.east_rep, peer_opportunity.evidence.all()).exists()
    # and the peer sees their own history
    assert visible(org.east_peer, StageChange).count() == 1


def test_manager_sees_own_team_and_subteam_but_not_a_sibling_team(org: Org) -> None:
    # given a manager of "east", whose subteam "east-sh" sits below it, and a sibling "west"
    # when the east manager lists opportunities
    owners = visible_opportunity_owners(org.east_manager)
    # then east's and east-sh's reps are visible, west's is not
    assert owners == {"east_rep", "east_peer", "east_sub_rep"}


def test_manager_sees_subteam_records_reached_through_the_owner_path(org: Org) -> None:
    # given quotes on an opportunity in the subteam and one in the sibling team
    sub_quote = QuoteFactory(opportunity=org.opportunities["east_sub_rep"])
    QuoteFactory(opportunity=org.opportunities["west_rep"])
    # when the east manager lists quotes
    # then only the subteam's quote is visible
    assert list(visible(org.east_manager, Quote)) == [sub_quote]


def test_manager_who_leads_a_team_without_being_a_member_sees_it(org: Org) -> None:
    # given a manager who is a member of no team but leads "west"
    org.west_manager.team = None
    org.west_manager.save()
    # when they list opportunities
    # then they still see west's opportunity through the team they lead
    assert visible_opportunity_owners(org.west_manager) == {"west_rep"}


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.OPS, Role.ADMIN])
def test_all_seeing_roles_see_every_opportunity_and_pool_customer(org: Org, role: Role) -> None:
    # given a pool customer without an owner
    pool_customer = CustomerFactory(owner=None)
    user = UserFactory(role=role, team=None)
    # when a director, ops or admin lists opportunities and customers
    # then everything is visible, the pool included
    assert visible(user, Opportunity).count() == Opportunity.objects.count() == 4
    assert pool_customer in visible(user, Customer)
    assert visible(user, Customer).count() == Customer.objects.count()


def test_superuser_with_rep_role_sees_everything(org: Org) -> None:
    user = UserFactory(role=Role.REP, is_superuser=True)
    assert visible(user, Opportunity).count() == 4


def test_pool_customers_and_their_contacts_are_not_visible_to_reps_or_managers(
    org: Org,
) -> None:
    # given a customer in the public pool with a contact
    pool_customer = CustomerFactory(owner=None)
    ContactFactory(customer=pool_customer)
    # when a rep or a manager lists customers and contacts
    # then the pool customer and its contact are absent
    for user in (org.east_rep, org.east_manager):
        assert pool_customer not in visible(user, Customer)
        assert not visible(user, Contact).filter(customer=pool_customer).exists()


def test_inactive_user_sees_nothing_even_as_director(org: Org) -> None:
    # given a director who has been deactivated
    director = UserFactory(role=Role.DIRECTOR, is_active=False)
    # when they list opportunities or teams
    # then nothing is returned
    assert not visible(director, Opportunity).exists()
    assert not visible(director, Team).exists()


def test_anonymous_user_sees_nothing(org: Org) -> None:
    assert not visible(AnonymousUser(), Opportunity).exists()
    assert not visible(AnonymousUser(), Customer).exists()


@pytest.mark.parametrize("model", [Stage, Process])
def test_model_without_owner_path_raises_type_error_for_scoped_users(org: Org, model: type) -> None:
    # given a model that declares no owner_path
    # when a rep asks what they may see of it
    # then visibility is undefined and refused loudly
    with pytest.raises(TypeError, match="owner_path"):
        visible(org.east_rep, model)


def test_visible_narrows_a_given_queryset_instead_of_replacing_it(org: Org) -> None:
    # given a queryset already filtered to the west rep's opportunities
    queryset = Opportunity.objects.filter(owner=org.west_rep)
    # when the east manager's visibility is applied
    # then the result is the intersection: empty
    assert not visible(org.east_manager, queryset).exists()


def test_manager_sees_the_team_subtree_they_lead(org: Org) -> None:
    # when the east manager lists teams
    codes = set(visible(org.east_manager, Team).values_list("code", flat=True))
    # then east and its subteam are visible, but not the parent or the sibling
    assert codes == {"east", "east-sh"}


def test_rep_sees_only_their_own_team(org: Org) -> None:
    assert list(visible(org.east_sub_rep, Team)) == [org.east_sub]


def test_rep_without_team_sees_no_team(org: Org) -> None:
    assert not visible(UserFactory(team=None), Team).exists()


def test_rep_sees_only_themselves_among_users_while_manager_sees_their_people(
    org: Org,
) -> None:
    # when a rep and a manager list users
    rep_sees = set(visible(org.east_rep, User).values_list("username", flat=True))
    manager_sees = set(visible(org.east_manager, User).values_list("username", flat=True))
    # then the rep sees only themselves; the manager sees east and east-sh members
    assert rep_sees == {"east_rep"}
    assert manager_sees == {"east_manager", "east_rep", "east_peer", "east_sub_rep"}


def test_a_manager_seated_in_the_parent_department_does_not_see_sibling_teams(db):
    from salesradar.accounts.choices import Role as Roles
    from salesradar.pipeline.models import Opportunity
    from tests.factories import OpportunityFactory, TeamFactory, UserFactory

    department = TeamFactory()
    east, north = TeamFactory(parent=department), TeamFactory(parent=department)
    manager = UserFactory(role=Roles.MANAGER, team=department)
    east.manager = manager
    east.save()
    east_deal = OpportunityFactory(owner=UserFactory(role=Roles.REP, team=east))
    OpportunityFactory(owner=UserFactory(role=Roles.REP, team=north))

    assert list(visible(manager, Opportunity)) == [east_deal]


def test_a_manager_sees_the_team_level_alerts_of_the_teams_they_lead(db):
    import datetime as dt

    from salesradar.accounts.choices import Role as Roles
    from salesradar.alerts.models import Alert, Rule
    from tests.factories import TeamFactory, UserFactory

    east, north = TeamFactory(), TeamFactory()
    manager = UserFactory(role=Roles.MANAGER, team=east)
    east.manager = manager
    east.save()
    rule = Rule.objects.create(key="conversion", metric="team_stage_conversion", grain="team")
    at = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

    def team_alert(team):
        return Alert.objects.create(
            rule=rule,
            fingerprint=f"conversion:team:{team.pk}",
            entity_type="team",
            entity_id=team.pk,
            state="firing",
            severity="danger",
            team=team,
            started_at=at,
            firing_since=at,
            last_evaluated_at=at,
        )

    mine, _theirs = team_alert(east), team_alert(north)

    assert list(visible(manager, Alert)) == [mine]
