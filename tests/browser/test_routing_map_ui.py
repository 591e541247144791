"""In Chromium, a brand admin opens the routing map from the menu, draws a Tuesday (the
flagship's desk closed at night, overflowing to the central team), then asks the tester
where an airport pick-up at night goes; the map again in Chinese. Screenshots saved."""

import pytest

from accounts.models import BusinessHours, Membership
from routing.models import RoutingRule
from tests.browser.page_support import brand_admin, in_chinese, sign_in
from tests.factories import make_account, make_brand, make_member, make_team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFICE = [[(540, 1080)]] * 7  # 09:00-18:00 every day


def _brand() -> dict:
    brand = make_brand(name="Marriott China")
    flagship = make_account(brand=brand, name="Marriott Bonvoy", is_flagship=True)
    bund = make_account(brand=brand, name="Shanghai Bund hotel")
    make_account(brand=brand, name="New York Times Square", timezone="America/New_York")
    desk = make_team(brand=brand, name="Bonvoy desk", accounts=[flagship])
    concierge = make_team(brand=brand, name="Bund concierge", accounts=[bund])
    central = make_team(brand=brand, name="Care centre")
    central.is_central = True
    central.save()
    for team in (desk, concierge, central):
        member = make_member(brand=brand)
        member.presence, member.languages = Membership.Presence.ONLINE, []
        member.save()
        member.teams.add(team)
    BusinessHours.objects.create(brand=brand, team=desk, week=OFFICE, observe_cn_holidays=False)
    RoutingRule.objects.create(brand=brand, position=0, name="VIP members", tags=["VIP"],
                               action=RoutingRule.Action.CENTRAL)
    RoutingRule.objects.create(brand=brand, position=1, name="Airport pick-up",
                               keywords=["pick-up", "接机"],
                               action=RoutingRule.Action.ACCOUNT_TEAM, account=bund)
    return {"brand": brand, "flagship": flagship, "bund": bund}


def _draw_tuesday(page) -> None:  # noqa: ANN001
    form = page.get_by_test_id("map-form")
    form.locator("input[name=day]").fill("2026-11-03")
    form.locator("input[name=day_time]").fill("10:00")
    form.locator("input[name=night_time]").fill("22:00")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**day=2026-11-03**")


def test_the_map_and_the_tester(live_server, page, artifacts) -> None:
    data = _brand()
    flagship = data["flagship"].pk
    sign_in(page, live_server, brand_admin(data["brand"]))
    page.get_by_test_id("nav-routing-map").click()
    page.get_by_test_id("routing-map").wait_for()
    assert page.title() == "Routing map · Marriott China"

    _draw_tuesday(page)
    assert page.get_by_test_id(f"line-{flagship}-night-overflow").count() == 1
    assert page.get_by_test_id(f"line-{flagship}-day-overflow").count() == 0
    assert "Bonvoy desk" in page.get_by_test_id(f"map-{flagship}-day").inner_text()
    night = page.get_by_test_id(f"map-{flagship}-night").inner_text()
    assert "Care centre" in night and "overflowed from Bonvoy desk" in night
    box = page.get_by_test_id("routing-map").bounding_box()
    assert box["width"] > 600 and box["height"] > 150
    page.screenshot(path=str(artifacts / "routing-map.png"), full_page=True)

    page.get_by_role("link", name="What happens if…").click()
    form = page.get_by_test_id("tester-form")
    form.locator("select[name=account]").select_option(label="Marriott Bonvoy")
    form.locator("textarea[name=text]").fill("明天需要机场接机 pick-up please")
    form.locator("input[name=day]").fill("2026-11-03")
    form.locator("input[name=at_time]").fill("22:00")
    form.locator("button[type=submit]").click()
    answer = page.get_by_test_id("tester-answer")
    answer.wait_for()
    assert "Chinese (Simplified)" in page.get_by_test_id("tester-language").inner_text()
    path = page.get_by_test_id("tester-path").inner_text()
    assert "VIP members" in path and "none of the tags" in path
    assert "Airport pick-up" in path and "matches" in path
    assert "Bund concierge" in page.get_by_test_id("tester-team").inner_text()
    assert page.get_by_test_id("tester-outcome").inner_text() == "To Bund concierge."
    page.screenshot(path=str(artifacts / "routing-tester.png"), full_page=True)


def test_the_map_in_chinese(live_server, page, artifacts) -> None:
    data = _brand()
    sign_in(page, live_server, brand_admin(data["brand"]), "/routing/map/")
    in_chinese(page)
    assert page.title() == "路由图 · Marriott China"
    _draw_tuesday(page)
    assert "由 Bonvoy desk 溢出" in page.get_by_test_id(
        f"map-{data['flagship'].pk}-night").inner_text()
    page.screenshot(path=str(artifacts / "routing-map-zh-hans.png"), full_page=True)
