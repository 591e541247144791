"""The business-hours page: schedules of accounts and teams, brand closures, errors beside
their fields, admins and owners only, in English and Chinese."""

from datetime import date
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import BrandClosure, BusinessHours, Membership
from tests.accounts.html_support import error_beside, page_of
from tests.factories import make_account, make_brand, make_member, make_team

pytestmark = pytest.mark.django_db


def _owner(client: Client, brand, language: str = "en") -> None:  # noqa: ANN001
    client.force_login(Membership.objects.get(brand=brand, role="owner").user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def _week(**days: str) -> dict:
    data = {f"day_{i}": "" for i in range(7)}
    data.update(days)
    return {**data, "time_zone": "", "observe_cn_holidays": "on"}


def test_saving_an_accounts_hours_from_the_form(client):
    brand = make_brand(name="Lumen Hotels")
    account = make_account(brand=brand, name="Lumen Bund")
    _owner(client, brand)
    response = client.post(f"/business-hours/accounts/{account.pk}/",
                           _week(day_0="09:00-12:00, 13:00-18:00", day_5="10:00-16:00"))
    assert response.status_code == 302
    hours = BusinessHours.objects.get(account=account)
    assert hours.week[0] == [[540, 720], [780, 1080]] and hours.week[6] == []
    assert hours.observe_cn_holidays and hours.time_zone == ""
    page = page_of(client.get(f"/business-hours/accounts/{account.pk}/"))
    [field] = page.find_all("input", id="id_day_0")
    assert field.attrs["value"] == "09:00-12:00, 13:00-18:00"


def test_an_overnight_interval_is_refused_beside_its_day(client):
    brand = make_brand()
    team = make_team(brand=brand)
    _owner(client, brand)
    page = page_of(client.post(f"/business-hours/teams/{team.pk}/",
                             {**_week(day_4="22:00-02:00"), "time_zone": "Mars/Base"}))
    assert "22:00-24:00" in error_beside(page, "day_4")
    assert "Mars/Base" in error_beside(page, "time_zone")
    assert not BusinessHours.objects.exists()


def test_the_page_is_titled_and_reached_from_the_nav_account_and_team_pages(client):
    brand = make_brand(name="Lumen Hotels")
    account = make_account(brand=brand, name="Lumen Bund")
    team = make_team(brand=brand, name="Care")
    _owner(client, brand)
    page = page_of(client.get("/business-hours/"))
    [title] = page.find_all("title")
    assert title.text() == "Business hours · Lumen Hotels"
    assert page.find_all("a", href="/business-hours/")
    detail = page_of(client.get(f"/official-accounts/{account.pk}/"))
    assert detail.find_all("a", href=f"/business-hours/accounts/{account.pk}/")
    teams = page_of(client.get("/teams/"))
    assert teams.find_all("a", href=f"/business-hours/teams/{team.pk}/")


def test_the_page_in_chinese(client):
    brand = make_brand(name="Lumen Hotels")
    account = make_account(brand=brand)
    _owner(client, brand, language="zh-hans")
    page = page_of(client.get("/business-hours/"))
    [title] = page.find_all("title")
    assert title.text() == "营业时间 · Lumen Hotels"
    form = page_of(client.get(f"/business-hours/accounts/{account.pk}/"))
    assert "星期一" in form.text()
    error = page_of(client.post(f"/business-hours/accounts/{account.pk}/",
                              _week(day_0="22:00-02:00")))
    assert "跨过午夜" in error_beside(error, "day_0")


def test_closures_are_added_with_errors_beside_fields_and_removed(client):
    brand = make_brand()
    account = make_account(brand=brand, name="Lumen Bund")
    _owner(client, brand)
    page = page_of(client.post("/business-hours/", {"name": "", "starts_on": "2026-11-03",
                                                  "ends_on": "2026-11-02"}))
    assert error_beside(page, "name")
    assert error_beside(page, "ends_on")
    response = client.post("/business-hours/", {"name": "refit", "starts_on": "2026-11-02",
                                                "ends_on": "2026-11-03",
                                                "accounts": [account.pk]})
    assert response.status_code == 302
    closure = BrandClosure.objects.get()
    assert list(closure.accounts.all()) == [account]
    assert "refit" in page_of(client.get("/business-hours/")).text()
    assert client.post(f"/business-hours/closures/{closure.pk}/remove/").status_code == 302
    assert not BrandClosure.objects.exists()


def test_the_list_shows_each_schedules_state_now(client):
    brand = make_brand()
    account = make_account(brand=brand, name="Lumen Bund")
    BusinessHours.objects.create(brand=brand, account=account, week=[[]] * 7)
    _owner(client, brand)
    page = page_of(client.get("/business-hours/"))
    [row] = page.find_all("tr", **{"data-testid": f"hours-account-{account.pk}"})
    assert "Closed now" in row.text()


@pytest.mark.parametrize("role", ["manager", "agent"])
def test_managers_and_agents_cannot_change_hours(client, role):
    brand = make_brand()
    account = make_account(brand=brand)
    member = make_member(brand=brand, role=role, accounts=[account])
    client.force_login(member.user)
    assert client.get(f"/business-hours/accounts/{account.pk}/").status_code == 403
    assert client.post("/business-hours/", {"name": "x", "starts_on": "2026-11-02",
                                            "ends_on": "2026-11-02"}).status_code == 403
    assert client.get("/business-hours/").status_code == 200


def test_another_brands_schedule_and_closure_are_404(client):
    ours, theirs = make_brand(), make_brand()
    foreign = make_account(brand=theirs)
    hours = BusinessHours.objects.create(brand=theirs, account=foreign, week=[])
    closure = BrandClosure.objects.create(brand=theirs, name="theirs",
                                          starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 1))
    _owner(client, ours)
    assert client.get(f"/business-hours/accounts/{foreign.pk}/").status_code == 404
    assert client.post(f"/business-hours/{hours.pk}/remove/").status_code == 404
    assert client.post(f"/business-hours/closures/{closure.pk}/remove/").status_code == 404
    assert BusinessHours.objects.filter(pk=hours.pk).exists()


def test_the_page_says_when_next_years_calendar_is_not_published(client):
    brand = make_brand()
    _owner(client, brand)
    with mock.patch("django.utils.timezone.localdate", return_value=date(2098, 12, 1)):
        page = page_of(client.get("/business-hours/"))
    [note] = page.find_all(**{"data-testid": "calendar-note"})
    assert note.text().startswith("The 2098 holiday calendar is not published yet")
