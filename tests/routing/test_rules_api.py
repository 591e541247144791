"""REST for routing rules, settings, targets and business hours: CRUD, move and reorder,
field errors, foreign ids 404, a manager's limits and an agent's 403."""

import pytest

from accounts.models import BrandClosure, BusinessHours
from accounts.services import api_key_create
from routing.models import RoutingRule, RoutingSettings, TeamTargets
from tests.factories import make_member, make_team

pytestmark = pytest.mark.django_db
RULES = "/api/v1/routing/rules/"


@pytest.fixture
def api(client, two_brands):
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="rules")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def call(method: str, path: str, data: object = None):  # noqa: ANN202
        kwargs = {"content_type": "application/json", **auth}
        if data is not None:
            kwargs["data"] = data
        return getattr(client, method)(path, **kwargs)

    return call


def _rule(api, **fields):  # noqa: ANN001, ANN202
    response = api("post", RULES, {"name": "r", "action": "central", **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_rule_is_created_read_changed_and_deleted(api, two_brands):
    team = two_brands["team_a"]
    body = _rule(api, name="Airport", keywords=[" airport ", "", "接机", "airport"],
                 action="team", team=team.pk, account=two_brands["a2"].pk,
                 accounts=[two_brands["a1"].pk], languages=["zh-hant"])
    assert body["keywords"] == ["airport", "接机"]
    # The account is not the team action's target: it is dropped.
    assert body["team"] == team.pk and body["account"] is None
    assert body["summary"] == ("Text contains “airport” or “接机” · Language Traditional "
                               "Chinese · on A flagship → A team")
    rule_url = f"{RULES}{body['id']}/"
    assert api("get", rule_url).json()["name"] == "Airport"
    patched = api("patch", rule_url, {"name": "Pick-up"}).json()
    assert patched["name"] == "Pick-up" and patched["keywords"] == ["airport", "接机"]
    put = api("put", rule_url, {"name": "All", "action": "central"}).json()
    assert put["keywords"] == [] and put["team"] is None and put["accounts"] == []
    assert api("delete", rule_url).status_code == 204
    assert not RoutingRule.objects.exists()


def test_an_action_without_its_target_is_a_field_error(api):
    response = api("post", RULES, {"name": "To a team", "action": "team"})
    assert response.status_code == 400
    assert response.json() == {"team": ["Choose the team this rule sends conversations to."]}
    response = api("post", RULES, {"name": "To an agent", "action": "agent", "agent": None})
    assert response.json() == {"agent": ["Choose the agent who takes these conversations."]}
    response = api("post", RULES, {"name": "x", "action": "central", "languages": ["fr"]})
    assert response.status_code == 400 and "languages" in response.json()
    assert not RoutingRule.objects.exists()


def test_foreign_ids_answer_404(api, two_brands):
    for fields in ({"action": "team", "team": two_brands["team_b"].pk},
                   {"action": "account_team", "account": two_brands["b1"].pk},
                   {"action": "agent", "agent": two_brands["admin_b"].pk},
                   {"action": "central", "accounts": [two_brands["b1"].pk]}):
        response = api("post", RULES, {"name": "x", **fields})
        assert response.status_code == 404, fields
    foreign = RoutingRule.objects.create(brand=two_brands["brand_b"], name="B rule",
                                         action="central")
    for method in ("get", "put", "patch", "delete"):
        assert api(method, f"{RULES}{foreign.pk}/", {}).status_code == 404
    assert api("post", f"{RULES}{foreign.pk}/move/", {"direction": "up"}).status_code == 404
    assert "B rule" not in api("get", RULES).content.decode()
    assert RoutingRule.objects.filter(brand=two_brands["brand_b"]).count() == 1


def test_move_and_reorder(api):
    first, second, third = (_rule(api, name=n)["id"] for n in ("one", "two", "three"))
    moved = api("post", f"{RULES}{third}/move/", {"direction": "up"})
    assert moved.status_code == 200 and moved.json()["position"] == 1
    assert [r["id"] for r in api("get", RULES).json()] == [first, third, second]
    # At the top it stays.
    api("post", f"{RULES}{first}/move/", {"direction": "up"})
    assert [r["id"] for r in api("get", RULES).json()] == [first, third, second]
    assert api("post", f"{RULES}{first}/move/", {"direction": "left"}).status_code == 400

    response = api("post", f"{RULES}reorder/", {"ids": [second, first, third]})
    assert [r["id"] for r in response.json()] == [second, first, third]
    stale = api("post", f"{RULES}reorder/", {"ids": [second, first]})
    assert stale.status_code == 409 and "3 rules" in stale.json()["detail"]
    assert list(RoutingRule.objects.order_by("position").values_list("pk", flat=True)) == [
        second, first, third]


def test_an_agent_gets_403_and_a_manager_stays_within_their_accounts(client, two_brands):
    client.force_login(two_brands["agent_a"].user)
    assert client.get(RULES).status_code == 403
    assert client.get("/api/v1/routing/targets/").status_code == 403
    assert client.post(RULES, {"name": "x", "action": "central"},
                       content_type="application/json").status_code == 403

    manager, a1 = two_brands["manager_a"], two_brands["a1"]  # manages a1 only
    brand_wide = RoutingRule.objects.create(brand=two_brands["brand_a"], name="Everyone",
                                            action="central")
    client.force_login(manager.user)
    everywhere = client.post(RULES, {"name": "Mine", "action": "central"},
                             content_type="application/json")
    assert everywhere.status_code == 400 and "accounts" in everywhere.json()
    mine = client.post(RULES, {"name": "Mine", "action": "central", "accounts": [a1.pk]},
                       content_type="application/json")
    assert mine.status_code == 201
    changed = client.patch(f"{RULES}{brand_wide.pk}/", {"name": "Mine now"},
                           content_type="application/json")
    assert changed.status_code == 403
    # Their own rule may go before the brand-wide one; the brand-wide one keeps its order.
    up = client.post(f"{RULES}{mine.json()['id']}/move/", {"direction": "up"},
                     content_type="application/json")
    assert up.status_code == 200 and up.json()["position"] == 0
    settings = client.patch("/api/v1/routing/settings/", {"strategy": "round_robin"},
                            content_type="application/json")
    assert settings.status_code == 403
    assert RoutingRule.objects.get(pk=brand_wide.pk).name == "Everyone"


def test_routing_settings_are_read_and_changed(api):
    body = api("get", "/api/v1/routing/settings/").json()
    assert body["strategy"] == "least_busy" and body["overflow"] == "at_once"
    changed = api("patch", "/api/v1/routing/settings/",
                  {"strategy": "round_robin", "overflow": "after", "overflow_after_minutes": 15})
    assert changed.status_code == 200 and changed.json()["overflow_after_minutes"] == 15
    bad = api("patch", "/api/v1/routing/settings/", {"overflow": "sometimes"})
    assert bad.status_code == 400 and "overflow" in bad.json()
    assert RoutingSettings.objects.get().overflow == "after"


def test_team_targets(api, two_brands):
    team = two_brands["team_a"]
    listed = api("get", "/api/v1/routing/targets/").json()["results"]
    assert listed == [{"id": team.pk, "name": "A team", "is_central": False,
                       "first_response_minutes": None, "next_response_minutes": None}]
    url = f"/api/v1/routing/targets/{team.pk}/"
    body = api("put", url, {"first_response_minutes": 5, "next_response_minutes": 15}).json()
    assert (body["first_response_minutes"], body["next_response_minutes"]) == (5, 15)
    body = api("patch", url, {"next_response_minutes": None}).json()
    assert (body["first_response_minutes"], body["next_response_minutes"]) == (5, None)
    assert api("patch", url, {"first_response_minutes": 0}).status_code == 400
    assert api("get", f"/api/v1/routing/targets/{two_brands['team_b'].pk}/").status_code == 404
    assert TeamTargets.objects.get(team=team).first_response_minutes == 5


def test_a_manager_changes_targets_only_of_their_own_teams(client, two_brands):
    shared = make_team(brand=two_brands["brand_a"], name="Shared",
                       accounts=[two_brands["a1"], two_brands["a2"]])
    client.force_login(two_brands["manager_a"].user)
    own = client.patch(f"/api/v1/routing/targets/{two_brands['team_a'].pk}/",
                       {"first_response_minutes": 3}, content_type="application/json")
    assert own.status_code == 200
    other = client.patch(f"/api/v1/routing/targets/{shared.pk}/",
                         {"first_response_minutes": 3}, content_type="application/json")
    assert other.status_code == 403 and not TeamTargets.objects.filter(team=shared).exists()


def test_business_hours_by_periods(api, two_brands):
    a1 = two_brands["a1"]
    created = api("post", "/api/v1/business-hours/", {
        "account": a1.pk, "time_zone": "Asia/Shanghai",
        "periods": [{"day": 0, "opens": "09:00", "closes": "12:00"},
                    {"day": 0, "opens": "11:00", "closes": "18:00"},
                    {"day": 4, "opens": "22:00", "closes": "02:00"}]})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["days"][0] == "09:00-18:00" and body["days"][4] == "22:00-24:00"
    assert body["days"][5] == "00:00-02:00"
    assert BusinessHours.objects.get(account=a1).week[5] == [[0, 120]]
    again = api("post", "/api/v1/business-hours/", {"account": a1.pk, "periods": []})
    assert again.status_code == 409
    url = f"/api/v1/business-hours/{body['id']}/"
    patched = api("patch", url, {"observe_cn_holidays": False}).json()
    assert patched["observe_cn_holidays"] is False and patched["days"][0] == "09:00-18:00"
    team_hours = api("post", "/api/v1/business-hours/", {
        "team": two_brands["team_a"].pk,
        "periods": [{"day": d, "opens": "00:00", "closes": "00:00"} for d in range(7)]})
    assert team_hours.json()["days"] == ["00:00-24:00"] * 7
    assert api("post", "/api/v1/business-hours/", {
        "team": two_brands["team_b"].pk, "periods": []}).status_code == 404
    assert api("post", "/api/v1/business-hours/", {
        "periods": [{"day": 7, "opens": "25:00", "closes": "09:00"}]}).status_code == 400
    assert api("delete", url).status_code == 204
    assert not BusinessHours.objects.filter(account=a1).exists()


def test_closures_by_first_day_and_length(api, two_brands):
    response = api("post", "/api/v1/business-hours/closures/", {
        "name": "refit", "starts_on": "2026-11-02", "days": 2,
        "accounts": [two_brands["a2"].pk]})
    assert response.status_code == 201
    assert response.json()["ends_on"] == "2026-11-03"
    closure = BrandClosure.objects.get()
    assert [a.name for a in closure.accounts.all()] == ["A property"]
    foreign = api("post", "/api/v1/business-hours/closures/", {
        "name": "x", "starts_on": "2026-11-02", "days": 1, "accounts": [two_brands["b1"].pk]})
    assert foreign.status_code == 404
    assert api("get", "/api/v1/business-hours/closures/").json()["results"][0]["name"] == "refit"
    assert api("delete", f"/api/v1/business-hours/closures/{closure.pk}/").status_code == 204
    assert not BrandClosure.objects.exists()


def test_a_manager_reads_hours_but_does_not_change_them(client, two_brands):
    member = make_member(brand=two_brands["brand_a"], role="manager",
                         accounts=[two_brands["a1"]])
    client.force_login(member.user)
    assert client.get("/api/v1/business-hours/").status_code == 200
    response = client.post("/api/v1/business-hours/", {
        "account": two_brands["a1"].pk, "periods": []}, content_type="application/json")
    assert response.status_code == 403 and not BusinessHours.objects.exists()


def test_periods_past_midnight_wrap_into_the_next_day_and_join():
    from accounts.api_business_hours import week_from_periods

    week = week_from_periods([
        {"day": 6, "opens": "22:00", "closes": "02:00"},   # Sunday night into Monday
        {"day": 0, "opens": "02:00", "closes": "09:00"},   # touches it: joined
        {"day": 2, "opens": "10:00", "closes": "24:00"},
        {"day": 3, "opens": "18:00", "closes": "00:00"},   # until midnight, nothing after
    ])
    assert week[6] == [(1320, 1440)] and week[0] == [(0, 540)]
    assert week[2] == [(600, 1440)] and week[3] == [(1080, 1440)] and week[4] == []
