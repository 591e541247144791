"""Business minutes: where a response target counted in open time falls
(`accounts.business_hours.open_minutes_after`)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts import business_hours as bh
from accounts.models import BrandClosure, BusinessHours
from tests.factories import make_account, make_brand

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = [[(540, 1080)]] * 5 + [[], []]                  # Mon-Fri 09-18
OFFICE = [[(540, 1080)]] * 5 + [[(600, 960)], []]          # and Sat 10-16


def at(*args, zone=SHANGHAI):
    return datetime(*args, tzinfo=zone)


@pytest.fixture
def account():
    return make_account(brand=make_brand(), timezone="Asia/Shanghai")


def _hours(account, week=WEEKDAYS, **fields):
    return BusinessHours.objects.create(brand=account.brand, account=account, week=week,
                                        **fields)


def test_minutes_inside_one_interval_are_plain_minutes(account):
    hours = _hours(account)
    assert bh.open_minutes_after(hours, at(2026, 11, 2, 10, 0), 30) == at(2026, 11, 2, 10, 30)


def test_counting_starts_at_the_opening_when_started_before_it(account):
    hours = _hours(account)
    assert bh.open_minutes_after(hours, at(2026, 11, 2, 7, 0), 15) == at(2026, 11, 2, 9, 15)


def test_closing_time_carries_the_rest_to_the_next_morning(account):
    hours = _hours(account)
    # Monday 17:30 + 60: 30 minutes on Monday, 30 from Tuesday's 09:00.
    assert bh.open_minutes_after(hours, at(2026, 11, 2, 17, 30), 60) == at(2026, 11, 3, 9, 30)
    # A target that ends exactly at closing time is due at closing time.
    assert bh.open_minutes_after(hours, at(2026, 11, 2, 17, 0), 60) == at(2026, 11, 2, 18, 0)


def test_an_evening_across_midnight_counts_straight_on(account):
    week = [[(1320, 1440)], [(0, 120)], [], [], [], [], []]  # Mon 22-24, Tue 00-02
    hours = _hours(account, week=week)
    assert bh.open_minutes_after(hours, at(2026, 11, 2, 23, 30), 60) == at(2026, 11, 3, 0, 30)


def test_a_weekend_does_not_count(account):
    hours = _hours(account)
    # Friday 17:00 + 120: one hour on Friday, the next on Monday.
    assert bh.open_minutes_after(hours, at(2026, 11, 6, 17, 0), 120) == at(2026, 11, 9, 10, 0)
    # With Saturday hours the second hour is Saturday's first.
    hours.week = OFFICE
    assert bh.open_minutes_after(hours, at(2026, 11, 6, 17, 0), 120) == at(2026, 11, 7, 11, 0)


def test_a_public_holiday_does_not_count(account):
    hours = _hours(account)
    # Wednesday 30 September 17:00; National Day runs 1-7 October (Thursday to Wednesday).
    assert bh.open_minutes_after(hours, at(2026, 9, 30, 17, 0), 120) == at(2026, 10, 8, 10, 0)
    hours.observe_cn_holidays = False
    assert bh.open_minutes_after(hours, at(2026, 9, 30, 17, 0), 120) == at(2026, 10, 1, 10, 0)


def test_a_make_up_working_day_counts_with_mondays_hours(account):
    week = [[(480, 1200)], *WEEKDAYS[1:]]                  # Monday 08-20
    hours = _hours(account, week=week)
    # Friday 9 October 17:00; Saturday 10 October makes up for National Day.
    assert bh.calendar_day(date(2026, 10, 10)).kind == "make_up"
    assert bh.open_minutes_after(hours, at(2026, 10, 9, 17, 0), 120) == at(2026, 10, 10, 9, 0)
    hours.observe_cn_holidays = False
    assert bh.open_minutes_after(hours, at(2026, 10, 9, 17, 0), 120) == at(2026, 10, 12, 9, 0)


def test_a_brand_closure_does_not_count(account):
    hours = _hours(account)
    BrandClosure.objects.create(brand=account.brand, name="refit",
                                starts_on=date(2026, 11, 3), ends_on=date(2026, 11, 4))
    assert bh.open_minutes_after(hours, at(2026, 11, 2, 17, 30), 60) == at(2026, 11, 5, 9, 30)


def test_daylight_saving_days_count_the_hours_they_really_have(account):
    always = [[(0, 1440)]] * 7
    hours = _hours(account, week=always, time_zone="America/New_York",
                   observe_cn_holidays=False)
    # Sunday 8 March 2026 has 23 hours in New York, Sunday 1 November 25.
    spring = bh.open_minutes_after(hours, at(2026, 3, 8, 0, 0, zone=NEW_YORK), 24 * 60)
    assert spring == at(2026, 3, 9, 1, 0, zone=NEW_YORK)
    autumn = bh.open_minutes_after(hours, at(2026, 11, 1, 0, 0, zone=NEW_YORK), 24 * 60)
    assert autumn == at(2026, 11, 1, 23, 0, zone=NEW_YORK)
    # Across the change weekend, Monday opens at 09:00 by the new clock (13:00 UTC).
    hours.week = WEEKDAYS
    due = bh.open_minutes_after(hours, at(2026, 3, 6, 17, 0, zone=NEW_YORK), 120)
    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_without_a_schedule_every_minute_counts():
    start = at(2026, 10, 1, 23, 50)
    assert bh.open_minutes_after(None, start, 30) == start + timedelta(minutes=30)


def test_a_week_without_hours_never_reaches_the_target(account):
    hours = _hours(account, week=[[]] * 7)
    assert bh.open_minutes_after(hours, at(2026, 11, 2, 10, 0), 5) is None
