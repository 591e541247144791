"""The routing map and the "what happens if" tester pages: who may see them, what they
draw and answer, in both languages."""

from datetime import date

import pytest
from django.conf import settings

from accounts.models import BusinessHours, Membership
from routing.models import RoutingRule
from tests.factories import make_member, make_team

pytestmark = pytest.mark.django_db

OFFICE = [[(540, 1080)]] * 7  # 09-18 every day
MAP, TESTER = "/routing/map/", "/routing/tester/"
TUESDAY = date(2026, 11, 3)


@pytest.fixture
def brand(two_brands):
    data = two_brands
    central = make_team(brand=data["brand_a"], name="Care centre")
    central.is_central = True
    central.save()
    for team in (data["team_a"], central):
        member = make_member(brand=data["brand_a"])
        member.presence = Membership.Presence.ONLINE
        member.save()
        member.teams.add(team)
    BusinessHours.objects.create(brand=data["brand_a"], team=data["team_a"], week=OFFICE,
                                 observe_cn_holidays=False)
    vip = RoutingRule.objects.create(brand=data["brand_a"], name="VIP guests", tags=["VIP"],
                                     position=1,
                                     action=RoutingRule.Action.CENTRAL)
    return {**data, "central": central, "vip": vip}


def _map(client, **params):
    params = {"day": TUESDAY.isoformat(), "day_time": "10:00", "night_time": "22:00", **params}
    return client.get(MAP, params)


def test_the_map_draws_accounts_rules_and_teams(client, brand):
    client.force_login(brand["admin_a"].user)

    page = _map(client).content.decode()

    for key in (f"account-{brand['a1'].pk}", f"account-{brand['a2'].pk}",
                f"rule-{brand['vip'].pk}", "rule-none", f"team-{brand['team_a'].pk}",
                f"team-{brand['central'].pk}"):
        assert f'data-testid="node-{key}"' in page
    assert f"account-{brand['b1'].pk}\"" not in page and "B team" not in page


def test_by_day_the_local_team_by_night_overflow_to_central(client, brand):
    client.force_login(brand["admin_a"].user)
    a1 = brand["a1"].pk

    page = _map(client).content.decode()

    assert f'data-testid="line-{a1}-day-team"' in page
    assert f'data-testid="line-{a1}-day-overflow"' not in page
    assert f'data-testid="line-{a1}-night-overflow"' in page
    day = _cell(page, f"map-{a1}-day")
    night = _cell(page, f"map-{a1}-night")
    assert "A team" in day and "no rule matched" in day
    assert "Care centre" in night and "overflowed from A team" in night


def test_the_times_are_the_accounts_own(client, brand):
    brand["a1"].timezone = "America/New_York"
    brand["a1"].save()
    client.force_login(brand["admin_a"].user)

    # 08:00 in New York is before the team's 09:00, read in the account's zone.
    page = _map(client, day_time="08:00").content.decode()

    assert "Care centre" in _cell(page, f"map-{brand['a1'].pk}-day")
    assert "America/New_York" in page


def test_the_language_chosen_changes_the_route(client, brand):
    RoutingRule.objects.create(brand=brand["brand_a"], name="Traditional", position=0,
                               languages=["zh-hant"], action=RoutingRule.Action.TEAM,
                               team=brand["central"])
    client.force_login(brand["admin_a"].user)

    assert "rule Traditional" in _map(client, language="zh-hant").content.decode()
    assert "rule Traditional" not in _map(client, language="en").content.decode()


def test_bad_map_input_shows_the_errors_and_the_default_picture(client, brand):
    client.force_login(brand["admin_a"].user)

    response = _map(client, day="someday")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-field="day"' in page and "has-error" in page
    assert 'data-testid="routing-map"' in page


def test_agents_may_not_see_the_map_or_the_tester(client, brand):
    client.force_login(brand["agent_a"].user)

    assert client.get(MAP).status_code == 403
    assert client.get(TESTER).status_code == 403
    assert 'data-testid="nav-routing-map"' not in client.get("/").content.decode()


def test_a_manager_sees_the_accounts_they_serve(client, brand):
    client.force_login(brand["manager_a"].user)  # serves a1

    page = _map(client).content.decode()

    assert f'node-account-{brand["a1"].pk}"' in page
    assert f'node-account-{brand["a2"].pk}"' not in page
    assert 'data-testid="nav-routing-map"' in page


def test_the_tester_answers_with_the_rule_path(client, brand):
    client.force_login(brand["admin_a"].user)

    page = client.get(TESTER, {
        "account": brand["a1"].pk, "text": "請問幾點關門", "day": TUESDAY.isoformat(),
        "at_time": "22:00", "first_contact": "on", "tags": "VIP, Gold",
        "attributes": "tier=gold"}).content.decode()

    assert "Chinese (Traditional)" in _cell(page, "tester-language", tag="dd")
    assert "✓" in _cell(page, f"path-rule-{brand['vip'].pk}", tag="li")
    assert "Care centre" in _cell(page, "tester-team", tag="dd")
    assert "2026-11-03 22:00" in page


def test_the_tester_without_a_matching_rule_shows_the_fallback_and_overflow(client, brand):
    client.force_login(brand["admin_a"].user)

    page = client.get(TESTER, {"account": brand["a1"].pk, "text": "hello",
                               "day": TUESDAY.isoformat(), "at_time": "22:00"}).content.decode()

    assert "none of the tags" in _cell(page, f"path-rule-{brand['vip'].pk}", tag="li")
    assert 'data-testid="path-fallback"' in page
    assert "the team is closed" in _cell(page, "tester-overflow", tag="dd")


def test_the_tester_offers_only_accounts_in_reach(client, brand):
    client.force_login(brand["admin_a"].user)

    response = client.get(TESTER, {"account": brand["b1"].pk, "day": TUESDAY.isoformat(),
                                   "at_time": "10:00"})

    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="tester-answer"' not in page
    assert "B flagship" not in page and 'data-field="account"' in page and "has-error" in page


def test_the_tester_refuses_a_malformed_attribute(client, brand):
    client.force_login(brand["admin_a"].user)

    page = client.get(TESTER, {"account": brand["a1"].pk, "day": TUESDAY.isoformat(),
                               "at_time": "10:00", "attributes": "no equals"}).content.decode()

    assert "is not name=value" in page and 'data-testid="tester-answer"' not in page


def test_both_pages_speak_chinese(client, brand):
    client.force_login(brand["admin_a"].user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    map_page = _map(client).content.decode()
    tester = client.get(TESTER, {"account": brand["a1"].pk, "text": "hello",
                                 "day": TUESDAY.isoformat(), "at_time": "22:00"}
                        ).content.decode()

    assert "路由图" in map_page and "白天" in map_page
    assert "规则路径" in tester and "没有匹配的规则" in tester


def _cell(page: str, testid: str, tag: str = "td") -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start:page.index(f"</{tag}>", start)]


def test_the_pages_refuse_a_day_outside_the_years_they_can_read(client, brand):
    client.force_login(brand["admin_a"].user)

    map_page = _map(client, day="1850-01-01").content.decode()
    tester = client.get(TESTER, {"account": brand["a1"].pk, "day": "1850-01-01",
                                 "at_time": "10:00"}).content.decode()

    assert "Pick a day between 2000 and 2100." in map_page
    assert "Pick a day between 2000 and 2100." in tester
    assert 'data-testid="tester-answer"' not in tester
