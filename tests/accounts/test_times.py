"""Times are read in the viewer's zone: the member's own, else the brand's, else the
portal's for a visitor of no brand. One rule formats a moment everywhere ("14:35" today,
"11-30 23:10" before, the year when it is not this one; zh-Hans "11月30日 23:10"), with the
zone named where it matters; admins set a member's zone, members their own, owners the
brand's."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from accounts import services
from accounts.errors import InvalidInput
from accounts.middleware import SESSION_BRAND_KEY
from accounts.models import Brand, Membership
from accounts.scope import scope_for_membership
from accounts.time_zone_middleware import TimeZoneMiddleware
from accounts.times import moment_settings, moment_text, viewer_time_zone
from tests.accounts.html_support import parse
from tests.factories import make_account, make_brand, make_member

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A moment of a year gone by, so the page shows it with its date and year whenever the test
# runs: 22:05 UTC, 17:05 in New York (EST), 06:05 the next day in Shanghai.
CALLBACK = datetime(2024, 3, 9, 22, 5, tzinfo=UTC)


def _brand(zone: str = "Asia/Shanghai") -> Brand:
    brand = make_brand()
    Brand.objects.filter(pk=brand.pk).update(time_zone=zone)
    brand.refresh_from_db()
    return brand


def _member(brand: Brand, zone: str = "", role: str = "agent") -> Membership:
    membership = make_member(brand=brand, role=role)
    Membership.objects.filter(pk=membership.pk).update(time_zone=zone)
    return Membership.objects.select_related("brand").get(pk=membership.pk)


def _owner(brand: Brand) -> Membership:
    return Membership.objects.get(brand=brand, role="owner")


# -- the rule: which zone ------------------------------------------------------------------


def test_the_members_own_zone_comes_first():
    brand = _brand("America/New_York")
    member = _member(brand, "Europe/Paris")
    assert viewer_time_zone(brand=brand, membership=member) == "Europe/Paris"


def test_a_member_without_a_zone_reads_the_brands():
    brand = _brand("America/New_York")
    assert viewer_time_zone(brand=brand, membership=_member(brand)) == "America/New_York"


def test_without_a_member_the_brand_or_else_the_portal_decides():
    brand = _brand("Europe/London")
    assert viewer_time_zone(brand=brand, membership=None) == "Europe/London"
    assert viewer_time_zone(brand=None, membership=None) == settings.TIME_ZONE


def test_a_zone_saved_before_zones_were_checked_is_passed_over():
    brand = _brand("Europe/London")
    assert viewer_time_zone(brand=brand, membership=_member(brand, "Mars/Olympus")) == (
        "Europe/London"
    )


# -- the middleware ---------------------------------------------------------------------


def _zone_seen(membership: Membership | None) -> str:
    seen = []

    def view(request):  # noqa: ANN001, ANN202
        seen.append(timezone.get_current_timezone_name())
        return None

    request = RequestFactory().get("/")
    request.tenant = scope_for_membership(membership) if membership else None
    TimeZoneMiddleware(view)(request)
    return seen[0]


def test_the_middleware_activates_the_members_zone_for_the_request_only():
    brand = _brand("America/New_York")
    assert _zone_seen(_member(brand, "Europe/Paris")) == "Europe/Paris"
    assert _zone_seen(_member(brand)) == "America/New_York"
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE  # deactivated after


def test_a_visitor_of_no_brand_reads_the_portals_zone_whatever_came_before():
    # A thread reused from another viewer's request carries nothing over.
    timezone.activate(ZoneInfo("Europe/Paris"))
    try:
        assert _zone_seen(None) == settings.TIME_ZONE
    finally:
        timezone.deactivate()


def test_the_account_page_shows_the_last_callback_in_the_viewers_zone_named(client: Client):
    brand = _brand("Asia/Shanghai")
    account = make_account(brand=brand)
    account.__class__.objects.filter(pk=account.pk).update(last_callback_at=CALLBACK)
    member = _member(brand)
    client.force_login(member.user)

    def shown() -> str:
        page = parse(client.get(f"/official-accounts/{account.pk}/").content.decode())
        [cell] = page.find_all("dd", **{"data-testid": "last-callback"})
        return cell.text()

    assert shown() == "2024-03-10 06:05 (Asia/Shanghai)"
    Membership.objects.filter(pk=member.pk).update(time_zone="America/New_York")
    assert shown() == "2024-03-09 17:05 (America/New_York)"
    with translation.override("zh-hans"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        assert shown() == "2024年3月9日 17:05（America/New_York）"


# -- the rule: how a moment reads ---------------------------------------------------------


NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "moment,english,chinese",
    [
        (datetime(2026, 12, 1, 14, 35, tzinfo=SHANGHAI), "14:35", "14:35"),
        (datetime(2026, 12, 1, 0, 5, tzinfo=SHANGHAI), "00:05", "00:05"),
        (datetime(2026, 11, 30, 23, 10, tzinfo=SHANGHAI), "11-30 23:10", "11月30日 23:10"),
        (datetime(2025, 12, 31, 9, 1, tzinfo=SHANGHAI), "2025-12-31 09:01",
         "2025年12月31日 09:01"),
    ],
)
def test_today_reads_as_the_time_older_with_the_date(moment, english, chinese):
    with timezone.override(SHANGHAI):
        with translation.override("en"):
            assert moment_text(moment, now=NOW) == english
        with translation.override("zh-hans"):
            assert moment_text(moment, now=NOW) == chinese


def test_today_is_the_viewers_today():
    # 01:30 UTC on 1 December is the morning in Shanghai, the evening before in New York.
    moment = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with translation.override("en"):
        with timezone.override(SHANGHAI):
            assert moment_text(moment, now=now) == "09:30"
        with timezone.override(ZoneInfo("America/New_York")):
            assert moment_text(moment, now=now) == "20:30"  # 30 November there, today too
        with timezone.override(ZoneInfo("Europe/London")):
            assert moment_text(moment, now=datetime(2026, 12, 2, 3, 0, tzinfo=UTC)) == (
                "12-01 01:30"
            )


def test_the_template_filter_gives_a_time_element_with_date_and_zone_in_its_tooltip():
    template = Template('{% load times %}{{ at|moment }}|{{ at|moment:"zoned" }}|{{ none|moment }}')
    with timezone.override(ZoneInfo("America/New_York")), translation.override("en"):
        html = template.render(Context({"at": CALLBACK, "none": None}))
    element = (
        '<time datetime="2024-03-09T17:05:00-05:00" title="2024-03-09 17:05 (America/New_York)">'
    )
    assert html == (
        f"{element}2024-03-09 17:05</time>|{element}2024-03-09 17:05 (America/New_York)</time>|—"
    )


def test_the_console_is_handed_the_zone_and_the_same_patterns():
    with timezone.override(ZoneInfo("Europe/Paris")), translation.override("zh-hans"):
        handed = moment_settings()
    assert handed["zone"] == "Europe/Paris"
    assert handed["patterns"] == {
        "today": "%(hour)02d:%(minute)02d",
        "this_year": "%(month)d月%(day)d日 %(hour)02d:%(minute)02d",
        "older": "%(year)d年%(month)d月%(day)d日 %(hour)02d:%(minute)02d",
        "zoned": "%(time)s（%(zone)s）",
    }


# -- choosing zones ---------------------------------------------------------------------


def _member_form_data(membership: Membership, **changes: str) -> dict:
    data = {"role": membership.role, "capacity": "3", "display_name": ""}
    data.update(changes)
    return data


def _field_error(response, name: str) -> str:  # noqa: ANN001
    page = parse(response.content.decode())
    [wrapper] = page.find_all("div", **{"data-field": name})
    return " ".join(node.text() for node in wrapper.find_all("div", class_="error"))


def test_an_admin_sets_a_members_zone_and_blank_gives_the_brands(client: Client):
    brand = _brand("Asia/Shanghai")
    agent = _member(brand)
    client.force_login(_member(brand, role="admin").user)
    url = f"/members/{agent.pk}/edit/"

    page = parse(client.get(url).content.decode())
    [select] = page.find_all("select", name="time_zone")
    first = select.find_all("option")[0]
    assert first.attrs["value"] == "" and first.text() == "The brand's (Asia/Shanghai)"

    assert client.post(url, _member_form_data(agent, time_zone="Europe/Paris")).status_code == 302
    agent.refresh_from_db()
    assert agent.time_zone == "Europe/Paris"
    # A request that leaves the field out (a client of before zones) keeps it.
    assert client.post(url, _member_form_data(agent)).status_code == 302
    agent.refresh_from_db()
    assert agent.time_zone == "Europe/Paris"
    assert client.post(url, _member_form_data(agent, time_zone="")).status_code == 302
    agent.refresh_from_db()
    assert agent.time_zone == ""


def test_a_made_up_zone_is_refused_beside_the_field(client: Client):
    brand = _brand()
    agent = _member(brand, "Europe/Paris")
    client.force_login(_member(brand, role="admin").user)
    response = client.post(f"/members/{agent.pk}/edit/",
                           _member_form_data(agent, time_zone="Mars/Olympus"))
    assert response.status_code == 200
    assert "“Mars/Olympus” is not a time zone" in _field_error(response, "time_zone")
    agent.refresh_from_db()
    assert agent.time_zone == "Europe/Paris"


def test_a_member_chooses_their_own_zone_on_my_settings(client: Client):
    brand = _brand("Asia/Shanghai")
    agent = _member(brand)
    elsewhere = _member(_brand("Europe/London"), "Europe/London")
    Membership.objects.filter(pk=elsewhere.pk).update(user=agent.user)
    colleague = _member(brand, "Asia/Tokyo")
    client.force_login(agent.user)
    session = client.session
    session[SESSION_BRAND_KEY] = brand.pk
    session.save()

    page = parse(client.get("/").content.decode())
    assert page.find_all("a", href="/me/settings/")  # reachable from the top bar
    page = parse(client.get("/me/settings/").content.decode())
    [said] = page.find_all("p", **{"data-testid": "current-time-zone"})
    assert said.text() == "Times are shown in Asia/Shanghai."

    response = client.post("/me/settings/", {"time_zone": "America/New_York"})
    assert response.status_code == 302 and response["Location"] == "/me/settings/"
    page = parse(client.get("/me/settings/").content.decode())
    [said] = page.find_all("p", **{"data-testid": "current-time-zone"})
    assert said.text() == "Times are shown in America/New_York."
    agent.refresh_from_db()
    elsewhere.refresh_from_db()
    colleague.refresh_from_db()
    assert agent.time_zone == "America/New_York"
    # Only the member's membership of the active brand; no colleague's.
    assert elsewhere.time_zone == "Europe/London" and colleague.time_zone == "Asia/Tokyo"

    response = client.post("/me/settings/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert "“Mars/Olympus” is not a time zone" in _field_error(response, "time_zone")
    assert client.post("/me/settings/", {"time_zone": ""}).status_code == 302
    agent.refresh_from_db()
    assert agent.time_zone == ""


def test_my_settings_needs_a_signed_in_member(client: Client):
    response = client.get("/me/settings/")
    assert response.status_code == 302 and "/auth/login/" in response["Location"]


def test_the_service_refuses_a_made_up_zone_on_the_field():
    brand = _brand()
    scope = scope_for_membership(_member(brand))
    with pytest.raises(InvalidInput) as refused:
        services.membership_set_time_zone(scope=scope, time_zone="Mars/Olympus")
    assert list(refused.value.fields) == ["time_zone"]


def test_the_owner_sets_the_brands_zone_which_members_without_their_own_read(client: Client):
    brand = _brand("Asia/Shanghai")
    agent = _member(brand)
    client.force_login(_owner(brand).user)
    page = parse(client.get("/settings/").content.decode())
    [select] = page.find_all("select", name="time_zone")
    [chosen] = [o for o in select.find_all("option") if "selected" in o.attrs]
    assert chosen.attrs["value"] == "Asia/Shanghai"

    response = client.post("/settings/", {"account_name_pattern": "",
                                          "time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    brand.refresh_from_db()
    assert brand.time_zone == "Europe/Berlin"
    response = client.post("/settings/", {"account_name_pattern": "", "time_zone": "Mars/Olympus"})
    assert "“Mars/Olympus” is not a time zone" in _field_error(response, "time_zone")
    brand.refresh_from_db()
    assert brand.time_zone == "Europe/Berlin"

    client.force_login(agent.user)
    page = parse(client.get("/me/settings/").content.decode())
    [said] = page.find_all("p", **{"data-testid": "current-time-zone"})
    assert said.text() == "Times are shown in Europe/Berlin."
