"""Business hours: weekly schedules, the mainland China calendar, closures, time zones."""

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from accounts import business_hours as bh
from accounts.models import BrandClosure, BusinessHours
from tests.factories import make_account, make_brand, make_team

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = [[(540, 1080)]] * 5 + [[(600, 960)], []]  # Mon-Fri 09-18, Sat 10-16, Sun shut


def _hours(account, week=OFFICE, **fields):
    return BusinessHours.objects.create(brand=account.brand, account=account, week=week,
                                        **fields)


@pytest.fixture
def account():
    return make_account(brand=make_brand(), timezone="Asia/Shanghai")


def at(*args, zone=SHANGHAI):
    return datetime(*args, tzinfo=zone)


def test_parse_day_reads_intervals_and_24_00():
    assert bh.parse_day("13:00-18:00, 09:00-12:00") == [(540, 720), (780, 1080)]
    assert bh.parse_day("18:00-24:00") == [(1080, 1440)]
    assert bh.parse_day("  ") == []


@pytest.mark.parametrize("text, code", [
    ("22:00-02:00", "interval_overnight"), ("9-18", "interval_format"),
    ("09:00-24:30", "interval_time"), ("09:00-12:00, 11:00-13:00", "interval_overlap"),
])
def test_parse_day_refuses_bad_intervals_by_name(text, code):
    with pytest.raises(ValidationError) as caught:
        bh.parse_day(text)
    assert caught.value.code == code


def test_an_overnight_interval_is_refused_with_the_way_to_enter_it():
    with pytest.raises(ValidationError) as caught:
        bh.parse_day("22:00-02:00")
    assert "22:00-24:00" in caught.value.messages[0]
    assert "00:00-02:00" in caught.value.messages[0]


def test_weekday_and_weekend(account):
    hours = _hours(account)
    assert bh.is_open(hours, at(2026, 11, 2, 9, 0))          # Monday 09:00
    assert not bh.is_open(hours, at(2026, 11, 2, 18, 0))     # closes at 18:00 sharp
    assert bh.is_open(hours, at(2026, 11, 7, 15, 59))        # Saturday
    assert not bh.is_open(hours, at(2026, 11, 8, 12, 0))     # Sunday
    # The same instant given in UTC is read in the schedule's zone.
    assert bh.is_open(hours, datetime(2026, 11, 2, 1, 0, tzinfo=UTC))


def test_a_public_holiday_on_a_weekday_is_closed_with_its_name(account):
    hours = _hours(account)
    state = bh.state_of(hours, at(2026, 10, 1, 11, 0))        # Thursday, National Day
    assert not state.is_open
    assert state.reason == "holiday: National Day"
    hours.observe_cn_holidays = False
    assert bh.is_open(hours, at(2026, 10, 1, 11, 0))


def test_a_make_up_working_day_on_a_weekend_keeps_mondays_hours(account):
    week = [[(480, 1200)], *OFFICE[1:]]                       # Monday 08-20 only differs
    hours = _hours(account, week=week)
    sunday = at(2026, 9, 20, 19, 0)                            # makes up for National Day
    assert sunday.weekday() == 6
    state = bh.state_of(hours, sunday)
    assert state.is_open and state.reason == "make-up working day"
    assert not bh.is_open(hours, at(2026, 9, 13, 19, 0))      # an ordinary Sunday


def test_a_closure_closes_the_listed_accounts_only(account):
    other = make_account(brand=account.brand)
    _hours(account)
    closure = BrandClosure.objects.create(brand=account.brand, name="refit",
                                          starts_on=date(2026, 11, 2),
                                          ends_on=date(2026, 11, 3))
    closure.accounts.set([account])
    state = bh.open_state(account=account, at=at(2026, 11, 3, 10, 0))
    assert (state.is_open, state.reason) == (False, "closure: refit")
    assert bh.open_state(account=other, at=at(2026, 11, 3, 10, 0)) is None
    assert bh.is_open(_hours(other), at(2026, 11, 3, 10, 0))
    assert bh.open_state(account=account, at=at(2026, 11, 4, 10, 0)).is_open


def test_outside_hours_and_the_next_change(account):
    hours = _hours(account)
    state = bh.state_of(hours, at(2026, 11, 2, 20, 0))
    assert (state.is_open, state.reason) == (False, "outside hours")
    assert state.next_change == at(2026, 11, 3, 9, 0)
    assert bh.next_change(hours, at(2026, 11, 2, 10, 0)) == at(2026, 11, 2, 18, 0)


def test_midnight_edge_with_an_interval_to_24_00(account):
    week = [[(1080, 1440)], [(0, 120)], [], [], [], [], []]   # Mon 18-24, Tue 00-02
    hours = _hours(account, week=week)
    assert bh.is_open(hours, at(2026, 11, 2, 23, 59))
    assert bh.is_open(hours, at(2026, 11, 3, 0, 0))
    assert not bh.is_open(hours, at(2026, 11, 3, 2, 0))
    # Open straight through midnight: the next change is Tuesday 02:00, not 24:00.
    assert bh.next_change(hours, at(2026, 11, 2, 23, 0)) == at(2026, 11, 3, 2, 0)


def test_week_edge_sunday_to_monday(account):
    week = [[(0, 600)], [], [], [], [], [], [(1200, 1440)]]   # Sun 20-24, Mon 00-10
    hours = _hours(account, week=week)
    assert bh.is_open(hours, at(2026, 11, 8, 23, 30))        # Sunday night
    assert bh.is_open(hours, at(2026, 11, 9, 0, 30))         # Monday morning
    assert bh.next_change(hours, at(2026, 11, 8, 21, 0)) == at(2026, 11, 9, 10, 0)
    assert bh.next_change(hours, at(2026, 11, 9, 11, 0)) == at(2026, 11, 15, 20, 0)


def test_new_york_daylight_saving_change_day():
    account = make_account(brand=make_brand(), timezone="America/New_York")
    hours = _hours(account, week=[[(540, 1020)]] * 7, observe_cn_holidays=False)
    # 2026-11-01: clocks go back at 02:00; 09:00 local is then 14:00 UTC, not 13:00.
    assert not bh.is_open(hours, datetime(2026, 11, 1, 13, 30, tzinfo=UTC))
    assert bh.is_open(hours, datetime(2026, 11, 1, 14, 0, tzinfo=UTC))
    assert bh.next_change(hours, datetime(2026, 11, 1, 12, 0, tzinfo=UTC)) == datetime(
        2026, 11, 1, 14, 0, tzinfo=UTC)
    # 2026-03-08: clocks go forward; 09:00 local is 13:00 UTC (14:00 the day before).
    assert bh.is_open(hours, datetime(2026, 3, 8, 13, 0, tzinfo=UTC))
    assert not bh.is_open(hours, datetime(2026, 3, 7, 13, 30, tzinfo=UTC))


def test_the_schedules_own_zone_beats_the_accounts(account):
    hours = _hours(account, week=[[(540, 1020)]] * 7, time_zone="America/New_York",
                   observe_cn_holidays=False)
    assert bh.is_open(hours, at(2026, 11, 2, 10, 0, zone=NEW_YORK))
    assert not bh.is_open(hours, at(2026, 11, 2, 10, 0))      # 21:00 in New York


def test_a_team_schedule_reads_the_brands_zone_and_brand_wide_closures(account):
    brand = account.brand
    brand.time_zone = "America/New_York"
    brand.save()
    team = make_team(brand=brand, accounts=[account])
    BusinessHours.objects.create(brand=brand, team=team, week=[[(540, 1020)]] * 7,
                                 observe_cn_holidays=False)
    assert bh.open_state(team=team, at=at(2026, 11, 2, 10, 0, zone=NEW_YORK)).is_open
    BrandClosure.objects.create(brand=brand, name="company day",
                                starts_on=date(2026, 11, 2), ends_on=date(2026, 11, 2))
    state = bh.open_state(team=team, at=at(2026, 11, 2, 10, 0, zone=NEW_YORK))
    assert (state.is_open, state.reason) == (False, "closure: company day")


def test_an_unpublished_year_falls_back_to_the_week_and_warns_once(account, caplog):
    hours = _hours(account)
    bh._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="accounts.business_hours"):
        assert bh.is_open(hours, at(2099, 10, 1, 10, 0))      # a Thursday, holiday or not
        assert bh.is_open(hours, at(2099, 10, 2, 10, 0))
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1
    assert "2099 holiday calendar is not published yet" in bh.calendar_note(date(2099, 1, 1))
    assert bh.calendar_note(date(2025, 6, 1)) == ""


def test_the_reasons_speak_chinese(account):
    from django.utils import translation

    hours = _hours(account)
    with translation.override("zh-hans"):
        assert bh.state_of(hours, at(2026, 10, 1, 11, 0)).reason == "节假日：国庆节"
        assert bh.state_of(hours, at(2026, 9, 20, 11, 0)).reason == "调休上班日"
