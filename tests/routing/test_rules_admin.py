"""routing.rules_admin: creating, changing, moving and reordering rules with their
checks; a manager's reach; the settings and targets services."""

import pytest

from accounts.errors import InvalidInput, NotInScope, RoleRequired
from accounts.scope import scope_for_membership
from routing import rules_admin
from routing.models import RoutingRule, RoutingSettings, TeamTargets
from tests.factories import make_member, make_team, owner_scope

pytestmark = pytest.mark.django_db


def _names(brand) -> list[str]:  # noqa: ANN001
    return list(RoutingRule.objects.filter(brand=brand).order_by("position")
                .values_list("name", flat=True))


@pytest.fixture
def owner(two_brands):  # noqa: ANN201
    return owner_scope(two_brands["brand_a"])


@pytest.fixture
def manager(two_brands):  # noqa: ANN201 (manages a1 only)
    return scope_for_membership(two_brands["manager_a"])


def test_a_new_rule_goes_last_with_its_lists_trimmed(owner, two_brands):
    first = rules_admin.rule_create(scope=owner, name=" First ", action="central")
    rule = rules_admin.rule_create(
        scope=owner, name="Airport", action="team", team_id=two_brands["team_a"].pk,
        keywords=[" airport", "", "  ", "接机", "airport"], menu_keys=["  PICKUP "],
        tags=["vip", " "], attributes={" tier ": " gold ", " ": "x"}, languages=["zh-hant"])
    assert (first.name, first.position, rule.position) == ("First", 0, 1)
    assert rule.keywords == ["airport", "接机"] and rule.menu_keys == ["PICKUP"]
    assert rule.tags == ["vip"] and rule.attributes == {"tier": "gold"}


def test_the_action_needs_its_target_and_keeps_only_it(owner, two_brands):
    with pytest.raises(InvalidInput) as caught:
        rules_admin.rule_create(scope=owner, name="", action="account_team")
    assert caught.value.fields == {
        "name": ["Give the rule a name."],
        "account": ["Choose the account whose team takes these conversations."]}
    with pytest.raises(InvalidInput) as caught:
        rules_admin.rule_create(scope=owner, name="x", action="central", languages=["fr"])
    assert "languages" in caught.value.fields
    assert not RoutingRule.objects.exists()
    rule = rules_admin.rule_create(scope=owner, name="x", action="agent",
                                   agent_id=two_brands["agent_a"].pk,
                                   team_id=two_brands["team_a"].pk)
    assert rule.agent == two_brands["agent_a"] and rule.team is None


def test_another_accounts_team_is_named_by_its_account(owner, two_brands):
    # Routing sends it to that account's own team (routing.rules.local_team_for): a team
    # given as well is not kept, so the rule never says more than routing does.
    rule = rules_admin.rule_create(scope=owner, name="x", action="account_team",
                                   account_id=two_brands["a2"].pk,
                                   team_id=two_brands["team_a"].pk)
    assert (rule.account, rule.team) == (two_brands["a2"], None)
    assert rules_admin.rule_summary(rule) == "any account → the team of A property"


def test_targets_of_another_brand_are_not_found(owner, two_brands):
    for fields in ({"action": "team", "team_id": two_brands["team_b"].pk},
                   {"action": "account_team", "account_id": two_brands["b1"].pk},
                   {"action": "agent", "agent_id": two_brands["admin_b"].pk},
                   {"action": "central", "account_ids": [two_brands["b1"].pk]}):
        with pytest.raises(NotInScope):
            rules_admin.rule_create(scope=owner, name="x", **fields)
    foreign = RoutingRule.objects.create(brand=two_brands["brand_b"], name="B", action="central")
    with pytest.raises(NotInScope):
        rules_admin.rule_update(scope=owner, rule=foreign, name="mine", action="central")
    with pytest.raises(NotInScope):
        rules_admin.rule_delete(scope=owner, rule=foreign)


def test_the_summary_reads_as_a_sentence(owner, two_brands):
    rule = rules_admin.rule_create(
        scope=owner, name="Night VIP", action="central", account_ids=[two_brands["a1"].pk],
        keywords=["airport", "接机"], menu_keys=["PICKUP"], languages=["en", "zh-hant"],
        first_contact=True, off_hours=True, tags=["vip"], attributes={"tier": "gold"})
    assert rules_admin.rule_summary(rule) == (
        "Text contains “airport” or “接机” · Menu key “PICKUP” · Language English or "
        "Traditional Chinese · First contact · Outside business hours · Tagged “vip” · "
        "tier = gold · on A flagship → the central team")


def test_move_up_and_down_stops_at_the_ends(owner, two_brands):
    brand = two_brands["brand_a"]
    one, two, three = (rules_admin.rule_create(scope=owner, name=n, action="central")
                       for n in ("one", "two", "three"))
    rules_admin.rule_move(scope=owner, rule=three, direction="up")
    assert _names(brand) == ["one", "three", "two"]
    rules_admin.rule_move(scope=owner, rule=one, direction="up")
    rules_admin.rule_move(scope=owner, rule=two, direction="down")
    assert _names(brand) == ["one", "three", "two"]
    with pytest.raises(InvalidInput):
        rules_admin.rule_move(scope=owner, rule=one, direction="sideways")


def test_reorder_takes_every_rule_once(owner, two_brands):
    brand = two_brands["brand_a"]
    one, two, three = (rules_admin.rule_create(scope=owner, name=n, action="central")
                       for n in ("one", "two", "three"))
    rules_admin.rules_reorder(scope=owner, ids=[three.pk, one.pk, two.pk])
    assert _names(brand) == ["three", "one", "two"]
    for ids in ([three.pk, one.pk], [three.pk, one.pk, one.pk], [1, 2, 3]):
        with pytest.raises(InvalidInput):
            rules_admin.rules_reorder(scope=owner, ids=ids)
    assert _names(brand) == ["three", "one", "two"]


def test_a_manager_changes_only_rules_inside_their_accounts(owner, manager, two_brands):
    brand, a1, a2 = two_brands["brand_a"], two_brands["a1"], two_brands["a2"]
    everyone = rules_admin.rule_create(scope=owner, name="everyone", action="central")
    property_rule = rules_admin.rule_create(scope=owner, name="property", action="central",
                                            account_ids=[a2.pk])
    with pytest.raises(InvalidInput) as caught:
        rules_admin.rule_create(scope=manager, name="mine", action="central")
    assert list(caught.value.fields) == ["accounts"]
    with pytest.raises(NotInScope):
        rules_admin.rule_create(scope=manager, name="mine", action="central",
                                account_ids=[a2.pk])
    mine = rules_admin.rule_create(scope=manager, name="mine", action="team",
                                   account_ids=[a1.pk], team_id=two_brands["team_a"].pk)
    # They see the brand-wide rule and theirs, not the other property's.
    assert [r.name for r in rules_admin.rule_list(scope=manager)] == ["everyone", "mine"]
    with pytest.raises(RoleRequired):
        rules_admin.rule_update(scope=manager, rule=everyone, name="x", action="central")
    with pytest.raises(RoleRequired):
        rules_admin.rule_move(scope=manager, rule=everyone, direction="down")
    rules_admin.rule_move(scope=manager, rule=mine, direction="up")
    assert _names(brand) == ["mine", "everyone", "property"]
    rules_admin.rules_reorder(scope=manager, ids=[everyone.pk, mine.pk])
    assert _names(brand) == ["everyone", "mine", "property"]
    assert property_rule.pk not in [r.pk for r in rules_admin.rule_list(scope=manager)]


def test_a_manager_cannot_reorder_rules_they_cannot_change(owner, two_brands):
    manager = make_member(brand=two_brands["brand_a"], role="manager",
                          accounts=[two_brands["a1"]])
    scope = scope_for_membership(manager)
    first = rules_admin.rule_create(scope=owner, name="first", action="central")
    second = rules_admin.rule_create(scope=owner, name="second", action="central")
    with pytest.raises(RoleRequired):
        rules_admin.rules_reorder(scope=scope, ids=[second.pk, first.pk])
    assert _names(two_brands["brand_a"]) == ["first", "second"]


def test_an_agent_may_not_change_rules(two_brands):
    agent = scope_for_membership(two_brands["agent_a"])
    with pytest.raises(RoleRequired):
        rules_admin.rule_create(scope=agent, name="x", action="central",
                                account_ids=[two_brands["a2"].pk])


def test_settings_update_checks_its_values(owner, manager):
    row = rules_admin.settings_update(scope=owner, strategy="round_robin",
                                      overflow="after", overflow_after_minutes=5)
    assert (row.strategy, row.overflow_after_minutes) == ("round_robin", 5)
    with pytest.raises(InvalidInput) as caught:
        rules_admin.settings_update(scope=owner, overflow="sometimes")
    assert list(caught.value.fields) == ["overflow"]
    with pytest.raises(RoleRequired):
        rules_admin.settings_update(scope=manager, strategy="least_busy")
    assert RoutingSettings.objects.get().overflow == "after"


def test_targets_update(owner, manager, two_brands):
    team = two_brands["team_a"]
    row = rules_admin.targets_update(scope=owner, team=team, first=5, next=15)
    assert (row.first_response_minutes, row.next_response_minutes) == (5, 15)
    with pytest.raises(InvalidInput):
        rules_admin.targets_update(scope=owner, team=team, first=0, next=None)
    assert rules_admin.targets_update(scope=manager, team=team, first=None, next=10)
    shared = make_team(brand=two_brands["brand_a"], accounts=[two_brands["a1"],
                                                                two_brands["a2"]])
    with pytest.raises(RoleRequired):
        rules_admin.targets_update(scope=manager, team=shared, first=1, next=1)
    with pytest.raises(NotInScope):
        rules_admin.targets_update(scope=owner, team=two_brands["team_b"], first=1, next=1)
    assert TeamTargets.objects.get(team=team).next_response_minutes == 10


def test_the_demo_seeds_routing_once():
    import io

    from django.core.management import call_command

    from accounts.models import BusinessHours, Team

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    rules = list(RoutingRule.objects.order_by("position"))
    assert [r.name for r in rules] == ["Airport pick-up at the Bund",
                                       "Airport pick-up in Sanlitun",
                                       "Traditional Chinese to central care"]
    assert "接机" in rules[0].keywords and rules[0].account.name == "Lumen Shanghai Bund"
    central = Team.objects.get(is_central=True)
    assert "zh-hant" in central.languages and central.members.count() == 2
    assert {(t.first_response_minutes, t.next_response_minutes)
            for t in TeamTargets.objects.all()} == {(5, 15)}
    assert BusinessHours.objects.filter(team=central).get().week[0] == [[0, 1440]]
