"""The routing pages through the Django client: the ordered rule list, a rule's form,
up and down, delete, the settings and the targets; in Chinese too."""

import pytest

from routing.models import RoutingRule, RoutingSettings, TeamTargets
from routing.rules_admin import rule_create
from tests.factories import owner_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, two_brands):
    client.force_login(two_brands["admin_a"].user)
    return client


def _rule(brand, **fields):  # noqa: ANN001, ANN202
    return rule_create(scope=owner_scope(brand), **{"action": "central", **fields})


def _order(brand) -> list[str]:  # noqa: ANN001
    return list(RoutingRule.objects.filter(brand=brand).order_by("position")
                .values_list("name", flat=True))


def test_the_list_shows_each_rule_as_a_sentence_in_order(admin, two_brands):
    brand = two_brands["brand_a"]
    _rule(brand, name="Airport", keywords=["airport"], action="team",
          team_id=two_brands["team_a"].pk)
    _rule(brand, name="Traditional", languages=["zh-hant"])
    body = admin.get("/routing/rules/").content.decode()
    assert body.index("Airport") < body.index("Traditional")
    assert "Text contains “airport” · any account → A team" in body
    assert "Language Traditional Chinese · any account → the central team" in body
    assert 'draggable="true"' in body and "routing/rules.js" in body


def test_a_rule_is_created_and_edited_through_its_form(admin, two_brands):
    brand, team = two_brands["brand_a"], two_brands["team_a"]
    response = admin.post("/routing/rules/new/", {
        "name": "Airport", "is_active": "on", "accounts": [two_brands["a1"].pk],
        "keywords": "airport， 接机, ", "action": "team", "team": team.pk,
        "attributes": "tier = gold"})
    assert response.status_code == 302
    rule = RoutingRule.objects.get(brand=brand)
    assert rule.keywords == ["airport", "接机"] and rule.attributes == {"tier": "gold"}
    assert [a.pk for a in rule.accounts.all()] == [two_brands["a1"].pk]

    form = admin.get(f"/routing/rules/{rule.pk}/edit/").content.decode()
    assert 'value="airport, 接机"' in form
    response = admin.post(f"/routing/rules/{rule.pk}/edit/", {
        "name": "Airport", "keywords": "airport", "action": "agent", "first_contact": "yes"})
    assert response.status_code == 200
    assert "Choose the agent who takes these conversations." in response.content.decode()
    rule.refresh_from_db()
    assert rule.action == "team" and rule.first_contact is None


def test_up_and_down_work_without_javascript(admin, two_brands):
    brand = two_brands["brand_a"]
    first, _second, third = (_rule(brand, name=n) for n in ("one", "two", "three"))
    response = admin.post(f"/routing/rules/{third.pk}/move/", {"direction": "up"})
    assert response.status_code == 302 and response["Location"].endswith(f"#rule-{third.pk}")
    assert _order(brand) == ["one", "three", "two"]
    admin.post(f"/routing/rules/{first.pk}/move/", {"direction": "down"})
    assert _order(brand) == ["three", "one", "two"]


def test_the_drag_saves_the_order_as_json(admin, two_brands):
    brand = two_brands["brand_a"]
    one, two = _rule(brand, name="one"), _rule(brand, name="two")
    response = admin.post("/routing/rules/reorder/", {"ids": [two.pk, one.pk]},
                          content_type="application/json")
    assert response.json() == {"ids": [two.pk, one.pk]}
    assert _order(brand) == ["two", "one"]
    stale = admin.post("/routing/rules/reorder/", {"ids": [one.pk]},
                       content_type="application/json")
    assert stale.status_code == 409 and _order(brand) == ["two", "one"]


def test_delete_asks_then_deletes(admin, two_brands):
    rule = _rule(two_brands["brand_a"], name="Old", keywords=["x"])
    page = admin.get(f"/routing/rules/{rule.pk}/delete/").content.decode()
    assert "Delete the rule “Old”?" in page and "Text contains “x”" in page
    assert admin.post(f"/routing/rules/{rule.pk}/delete/").status_code == 302
    assert not RoutingRule.objects.exists()


def test_an_agent_gets_403_and_a_manager_reads_settings_only(client, two_brands):
    client.force_login(two_brands["agent_a"].user)
    for path in ("/routing/rules/", "/routing/rules/new/", "/routing/settings/",
                 "/routing/targets/"):
        assert client.get(path).status_code == 403, path
    client.force_login(two_brands["manager_a"].user)
    page = client.get("/routing/settings/").content.decode()
    assert "an owner or admin can change them" in page and "disabled" in page
    assert client.post("/routing/settings/", {"strategy": "round_robin"}).status_code == 403


def test_settings_are_explained_and_saved(admin, two_brands):
    page = admin.get("/routing/settings/").content.decode()
    assert "Least busy: the free agent with the fewest open conversations" in page
    assert "how long a conversation waits for the local team" in page
    data = {"strategy": "round_robin", "overflow": "after", "overflow_after_minutes": 20,
            "overflow_return": "on", "transfer_timeout_minutes": 5,
            "transfer_timeout_to": "queue", "auto_resolve_after_hours": 48,
            "warn_before_minutes": 3}
    assert admin.post("/routing/settings/", data).status_code == 302
    row = RoutingSettings.objects.get(brand=two_brands["brand_a"])
    assert (row.strategy, row.overflow_after_minutes, row.return_on_offline) == (
        "round_robin", 20, False)
    bad = admin.post("/routing/settings/", {**data, "overflow": "sometimes"})
    assert bad.status_code == 200 and "is not one of the available choices" in bad.content.decode()
    assert RoutingSettings.objects.get(pk=row.pk).overflow == "after"


def test_targets_are_saved_per_team_and_shown_on_the_teams_page(admin, two_brands):
    team = two_brands["team_a"]
    prefix = f"team-{team.pk}-"
    response = admin.post("/routing/targets/", {
        "team": team.pk, f"{prefix}first_response_minutes": "5",
        f"{prefix}next_response_minutes": "15"})
    assert response.status_code == 302
    row = TeamTargets.objects.get(team=team)
    assert (row.first_response_minutes, row.next_response_minutes) == (5, 15)
    bad = admin.post("/routing/targets/", {"team": team.pk,
                                           f"{prefix}first_response_minutes": "0"})
    assert bad.status_code == 200 and "greater than or equal to 1" in bad.content.decode()
    assert TeamTargets.objects.get(team=team).first_response_minutes == 5
    assert admin.post("/routing/targets/", {"team": two_brands["team_b"].pk}).status_code == 404
    teams = admin.get("/teams/").content.decode()
    assert "first 5 min · next 15 min" in teams and f"/routing/targets/#team-{team.pk}" in teams


def test_the_pages_in_chinese(admin, two_brands):
    _rule(two_brands["brand_a"], name="Airport", keywords=["接机"], action="team",
          team_id=two_brands["team_a"].pk)
    admin.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    rules = admin.get("/routing/rules/").content.decode()
    assert "<title>路由规则" in rules and "文字包含“接机” · 任意公众号 → A team" in rules
    settings = admin.get("/routing/settings/").content.decode()
    assert "<title>路由设置" in settings and "最空闲" in settings
    targets = admin.get("/routing/targets/").content.decode()
    assert "<title>响应时间目标" in targets
    form = admin.get("/routing/rules/new/").content.decode()
    assert "关键词" in form and "指定客服" in form
