"""The "what happens if" tester: the real rules on made-up facts, nothing written; the
service and ``POST /api/v1/routing/simulate/``."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.errors import NotInScope, RoleRequired
from accounts.models import BusinessHours, Membership
from accounts.scope import scope_for_membership
from accounts.services import api_key_create
from routing.models import RoutingDecision, RoutingRule, RoutingSettings
from routing.simulate import simulate
from tests.api_support import MODELS
from tests.factories import make_member, make_team

pytestmark = pytest.mark.django_db

API = "/api/v1/routing/simulate/"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY_NIGHT = datetime(2026, 11, 3, 22, 0, tzinfo=SHANGHAI)
OFFICE = [[(540, 1080)]] * 5 + [[], []]


@pytest.fixture
def brand(two_brands):
    """Brand A with a central team, an online speaker in each team, a pick-up rule and
    office hours on the flagship's team."""
    data = two_brands
    central = make_team(brand=data["brand_a"], name="Care centre")
    central.is_central = True
    central.save()
    speakers = ((data["team_a"], make_member(brand=data["brand_a"]), ["zh-hans", "en"]),
                (central, make_member(brand=data["brand_a"]), ["zh-hans", "zh-hant", "en"]))
    for team, member, languages in speakers:
        member.languages, member.presence = languages, Membership.Presence.ONLINE
        member.save()
        member.teams.add(team)
    concierge = make_team(brand=data["brand_a"], name="Concierge", accounts=[data["a2"]])
    concierge_agent = make_member(brand=data["brand_a"])
    concierge_agent.presence = Membership.Presence.ONLINE
    concierge_agent.save()
    concierge_agent.teams.add(concierge)
    pickup = RoutingRule.objects.create(
        brand=data["brand_a"], position=1, name="Airport pick-up", keywords=["pick-up", "接机"],
        action=RoutingRule.Action.ACCOUNT_TEAM, account=data["a2"])
    vip = RoutingRule.objects.create(brand=data["brand_a"], position=0, name="VIP",
                                     tags=["VIP"], action=RoutingRule.Action.CENTRAL)
    BusinessHours.objects.create(brand=data["brand_a"], team=data["team_a"], week=OFFICE)
    return {**data, "central": central, "concierge": concierge, "pickup": pickup, "vip": vip}


def _admin_scope(brand):
    return scope_for_membership(brand["admin_a"])


def test_the_rule_path_the_language_and_the_team(brand):
    answer = simulate(scope=_admin_scope(brand), account=brand["a1"],
                      text="Can I book an airport pick-up?", at=TUESDAY_NIGHT)

    assert answer["language"]["code"] == "en" and answer["language"]["source"] == "text"
    assert 0.6 <= answer["language"]["confidence"] <= 1
    assert [(p["name"], p["matched"], p["why"]) for p in answer["path"]] == [
        ("VIP", False, "tag"), ("Airport pick-up", True, "")]
    assert answer["path"][0]["why_text"] == "none of the tags"
    assert answer["rule"] == {"id": brand["pickup"].pk, "name": "Airport pick-up"}
    assert answer["team"]["id"] == brand["concierge"].pk
    assert answer["fallback"] is None
    assert answer["local_time"] == "2026-11-03T22:00:00+08:00"


def test_nothing_matched_closed_local_team_overflows_at_night(brand):
    answer = simulate(scope=_admin_scope(brand), account=brand["a1"], text="你好，请问早餐几点",
                      at=TUESDAY_NIGHT)

    assert answer["language"]["code"] == "zh-hans"
    assert answer["fallback"]["to"] == "account_team"
    assert answer["overflow"]["why"] == "closed"
    assert answer["overflow"]["from"] == {"id": brand["team_a"].pk, "name": "A team"}
    assert answer["team"]["id"] == brand["central"].pk and answer["team"]["open"]
    assert "overflowed from A team" in answer["outcome"]


def test_by_day_the_local_team_takes_it(brand):
    day = datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI)

    answer = simulate(scope=_admin_scope(brand), account=brand["a1"], text="hello there",
                      at=day)

    assert answer["team"]["id"] == brand["team_a"].pk and answer["overflow"] is None


def test_tags_first_contact_and_a_choice_code(brand):
    answer = simulate(scope=_admin_scope(brand), account=brand["a1"], text="TC",
                      at=TUESDAY_NIGHT, tags=["VIP"], first_contact=False)

    assert answer["language"] == {"code": "zh-hant", "name": "Chinese (Traditional)",
                                  "source": "choice", "source_text": "chosen by the follower",
                                  "confidence": 1.0}
    assert answer["rule"]["name"] == "VIP" and answer["team"]["id"] == brand["central"].pk


def test_a_naive_time_is_read_in_the_accounts_zone(brand):
    brand["a1"].timezone = "America/New_York"
    brand["a1"].save()

    answer = simulate(scope=_admin_scope(brand), account=brand["a1"], text="hi",
                      at=datetime(2026, 11, 3, 9, 30))  # noqa: DTZ001 - naive on purpose

    assert answer["at"] == "2026-11-03T09:30:00-05:00"


def test_nothing_is_written(brand):
    watched = (*MODELS, RoutingDecision, RoutingSettings)
    before = {m.__name__: m.objects.count() for m in watched}

    simulate(scope=_admin_scope(brand), account=brand["a1"], text="pick-up", at=TUESDAY_NIGHT)

    assert {m.__name__: m.objects.count() for m in watched} == before


def test_a_foreign_or_unserved_account_is_not_found(brand):
    with pytest.raises(NotInScope):
        simulate(scope=_admin_scope(brand), account=brand["b1"], text="hi", at=TUESDAY_NIGHT)
    manager = scope_for_membership(brand["manager_a"])  # serves a1 only
    with pytest.raises(NotInScope):
        simulate(scope=manager, account=brand["a2"], text="hi", at=TUESDAY_NIGHT)
    assert simulate(scope=manager, account=brand["a1"], text="hi", at=TUESDAY_NIGHT)["team"]


def test_agents_may_not_simulate(brand):
    with pytest.raises(RoleRequired):
        simulate(scope=scope_for_membership(brand["agent_a"]), account=brand["a2"], text="hi",
                 at=TUESDAY_NIGHT)


# -- REST ---------------------------------------------------------------------------------

def test_api_answers_like_the_service(client, brand):
    client.force_login(brand["admin_a"].user)
    body = {"account": brand["a1"].pk, "text": "need a 接机 please",
            "at": "2026-11-03T22:00:00+08:00", "first_contact": True, "menu_key": "",
            "tags": [], "attributes": {"tier": "gold"}}

    response = client.post(API, body, content_type="application/json")

    assert response.status_code == 200, response.content
    expected = simulate(scope=_admin_scope(brand), account=brand["a1"], text=body["text"],
                        at=TUESDAY_NIGHT, attributes={"tier": "gold"})
    assert response.json() == expected
    assert response.json()["team"]["name"] == "Concierge"


def test_api_with_a_key_and_defaults(client, brand):
    _key, raw = api_key_create(brand=brand["brand_a"], name="simulate")

    response = client.post(API, {"account": brand["a1"].pk, "at": "2026-11-03T22:00:00"},
                           content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200, response.content
    assert response.json()["local_time"] == "2026-11-03T22:00:00+08:00"
    assert response.json()["language"]["code"] == "unknown"


def test_api_foreign_account_is_404(client, brand):
    client.force_login(brand["admin_a"].user)

    response = client.post(API, {"account": brand["b1"].pk, "text": "hi"},
                           content_type="application/json")

    assert response.status_code == 404


def test_api_bad_input_is_400_with_field_errors(client, brand):
    client.force_login(brand["admin_a"].user)

    response = client.post(API, {"text": 5, "at": "tomorrow", "tags": "VIP", "colour": "red"},
                           content_type="application/json")

    assert response.status_code == 400
    assert {"text", "colour", "tags"} <= set(response.json())
    response = client.post(API, {"at": "tomorrow", "tags": ["x" * 31]},
                           content_type="application/json")
    assert response.status_code == 400
    assert {"account", "at", "tags"} <= set(response.json())


def test_api_agent_is_403(client, brand):
    client.force_login(brand["agent_a"].user)

    response = client.post(API, {"account": brand["a2"].pk}, content_type="application/json")

    assert response.status_code == 403


def test_api_is_post_only(client, brand):
    client.force_login(brand["admin_a"].user)

    assert client.get(API).status_code == 405


def test_api_refuses_a_time_outside_the_years_it_can_read(client, brand):
    """Before 1900 zones read in local mean time, offsets in seconds that RFC 3339 cannot
    spell; no holiday calendar covers such years either."""
    client.force_login(brand["admin_a"].user)

    response = client.post(API, {"account": brand["a1"].pk, "at": "0152-08-09T03:08:07Z"},
                           content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"at": ["Pick a day between 2000 and 2100."]}
