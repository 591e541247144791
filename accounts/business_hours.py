"""Business hours: when an account or a team is open, and why not.

A schedule is a week of open intervals in one IANA time zone (its own, else the
account's, else the brand's). A day is decided in this order:

1. a brand closure covering the day closes it ("closure: refit");
2. with the mainland China calendar on, a public holiday closes it, weekday or not
   ("holiday: National Day"), and a make-up working day (a weekend the State Council makes
   a working day) opens with Monday's hours ("make-up working day");
3. otherwise the day's weekly hours apply ("outside hours" when shut).

The holiday calendar is the `chinese_calendar` package's, which knows a year only once
the State Council has published it. For a later year the weekly hours apply as they
stand: a warning is logged once per year and ``calendar_note`` gives the page its line.

Times are read in local wall time: on a daylight-saving change day an interval keeps its
wall-clock ends, and the hour that does not exist is simply never reached.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import chinese_calendar
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.errors import NotInScope
from accounts.models import BrandClosure, BusinessHours, OfficialAccount, Team
from accounts.scope import Scope

logger = logging.getLogger(__name__)

DAY_MINUTES = 24 * 60
MAKE_UP_WEEKDAY = 0  # a make-up working day keeps Monday's hours
LOOKAHEAD_DAYS = 400
_warned_years: set[int] = set()

Interval = tuple[int, int]


# -- Reading and writing a day's hours ------------------------------------------------

_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_day(text: str) -> list[Interval]:
    """ "09:00-12:00, 13:00-18:00" -> [(540, 720), (780, 1080)]. Empty text is a closed
    day. An interval may end at 24:00; one that ends before it starts (22:00-02:00) is
    refused: enter it as 22:00-24:00 on the day and 00:00-02:00 on the next."""
    intervals: list[Interval] = []
    for part in filter(None, (p.strip() for p in text.replace("，", ",").split(","))):
        match = _INTERVAL.match(part)
        if not match:
            raise ValidationError(
                _("“%(part)s” is not an interval: write it as 09:00-18:00.") % {"part": part},
                code="interval_format")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise ValidationError(
                _("“%(part)s” is not a time of day.") % {"part": part}, code="interval_time")
        opens, closes = h1 * 60 + m1, h2 * 60 + m2
        if closes <= opens:
            raise ValidationError(
                _("“%(part)s” ends before it starts. For hours past midnight enter "
                  "%(opens)s-24:00 on this day and 00:00-%(closes)s on the next.")
                % {"part": part, "opens": format_minute(opens), "closes": format_minute(closes)},
                code="interval_overnight")
        intervals.append((opens, closes))
    intervals.sort()
    for (_a, end), (start, _b) in zip(intervals, intervals[1:], strict=False):
        if start < end:
            raise ValidationError(_("These intervals overlap."), code="interval_overlap")
    return intervals


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_day(intervals: list[Interval] | list[list[int]]) -> str:
    return ", ".join(f"{format_minute(a)}-{format_minute(b)}" for a, b in intervals)


def week_of(schedule: BusinessHours) -> list[list[Interval]]:
    week = list(schedule.week or [])
    week += [[]] * (7 - len(week))
    return [[(int(a), int(b)) for a, b in day] for day in week[:7]]


# -- The holiday calendar ---------------------------------------------------------------

# The package's holiday names, spelt out so that makemessages keeps their translations.
HOLIDAY_NAMES = [
    gettext_noop("New Year's Day"), gettext_noop("Spring Festival"),
    gettext_noop("Tomb-sweeping Day"), gettext_noop("Labour Day"),
    gettext_noop("Dragon Boat Festival"), gettext_noop("National Day"),
    gettext_noop("Mid-autumn Festival"), gettext_noop("Anti-Fascist 70th Day"),
]


@dataclass(frozen=True)
class CalendarDay:
    kind: str  # "holiday", "make_up" or "normal"
    name: str = ""
    known: bool = True


def calendar_day(day: date) -> CalendarDay:
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning("The %s mainland China holiday calendar is not published yet: "
                           "business hours follow the weekly schedule.", day.year)
        return CalendarDay("normal", known=False)
    if name and is_holiday:
        return CalendarDay("holiday", name)
    if name and not is_holiday:
        return CalendarDay("make_up", name)
    return CalendarDay("normal")


def calendar_note(today: date) -> str:
    """The page's line for a year the calendar does not know (this year or the next)."""
    for year in (today.year, today.year + 1):
        if not calendar_day(date(year, 12, 31)).known:
            return _("The %(year)s holiday calendar is not published yet: in %(year)s the "
                     "weekly hours apply on public holidays too.") % {"year": year}
    return ""


# -- Deciding a day ----------------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    intervals: list[Interval]
    reason: str  # why the day has these hours; "" for a plain weekday


def zone_of(schedule: BusinessHours) -> ZoneInfo:
    if schedule.time_zone:
        return ZoneInfo(schedule.time_zone)
    if schedule.account_id:
        return ZoneInfo(schedule.account.timezone)
    return ZoneInfo(schedule.brand.time_zone)


def _closures(schedule: BusinessHours) -> list[tuple[date, date, str]]:
    cached = getattr(schedule, "_closures_cache", None)
    if cached is not None:
        return cached
    rows = BrandClosure.objects.filter(brand_id=schedule.brand_id)
    if schedule.account_id:
        rows = rows.filter(Q(accounts__isnull=True) | Q(accounts=schedule.account_id))
    else:
        rows = rows.filter(accounts__isnull=True)
    cached = [(c.starts_on, c.ends_on, c.name) for c in rows.distinct()]
    schedule._closures_cache = cached  # type: ignore[attr-defined]
    return cached


def day_of(schedule: BusinessHours, day: date) -> Day:
    for starts_on, ends_on, name in _closures(schedule):
        if starts_on <= day <= ends_on:
            return Day([], _("closure: %(name)s") % {"name": name})
    week = week_of(schedule)
    if schedule.observe_cn_holidays:
        found = calendar_day(day)
        if found.kind == "holiday":
            return Day([], _("holiday: %(name)s") % {"name": _(found.name)})
        if found.kind == "make_up":
            return Day(week[MAKE_UP_WEEKDAY], _("make-up working day"))
    return Day(week[day.weekday()], "")


def _minute(local: datetime) -> int:
    return local.hour * 60 + local.minute


def is_open(schedule: BusinessHours, at: datetime) -> bool:
    local = at.astimezone(zone_of(schedule))
    minute = _minute(local)
    return any(a <= minute < b for a, b in day_of(schedule, local.date()).intervals)


def _wall(zone: ZoneInfo, day: date, minute: int) -> datetime:
    # Wall-clock arithmetic (same tzinfo): 24:00 is the next day's 00:00 local time.
    return datetime.combine(day, clock_time(0), tzinfo=zone) + timedelta(minutes=minute)


def next_change(schedule: BusinessHours, at: datetime) -> datetime | None:
    """When the schedule next opens (if closed at ``at``) or closes (if open); None when
    nothing changes within a year."""
    zone = zone_of(schedule)
    now_open = is_open(schedule, at)
    start = at.astimezone(zone).date()
    for offset in range(LOOKAHEAD_DAYS):
        day = start + timedelta(days=offset)
        for a, b in day_of(schedule, day).intervals:
            for minute in (a, b):
                moment = _wall(zone, day, minute)
                if moment > at and is_open(schedule, moment) != now_open:
                    return moment
    return None


def open_minutes_after(schedule: BusinessHours | None, start: datetime,
                       minutes: int) -> datetime | None:
    """The moment ``minutes`` of open time have passed since ``start``: a response target
    counted in business hours. Closed time (evenings, weekends, holidays, closures) does
    not count; a make-up working day does. Without a schedule every minute counts.

    Minutes are real elapsed time: an open interval on a daylight-saving change day is as
    long as the clock says it lasted, not as its wall-clock ends suggest. None when the
    schedule has too little open time within the lookahead (a week with no hours).
    """
    if schedule is None or minutes <= 0:
        return start + timedelta(minutes=max(minutes, 0))
    zone = zone_of(schedule)
    left = timedelta(minutes=minutes)
    first_day = start.astimezone(zone).date()
    for offset in range(LOOKAHEAD_DAYS):
        day = first_day + timedelta(days=offset)
        for opens, closes in day_of(schedule, day).intervals:
            begin = max(_wall(zone, day, opens).astimezone(UTC), start.astimezone(UTC))
            end = _wall(zone, day, closes).astimezone(UTC)
            if end <= begin:
                continue
            if left <= end - begin:
                return (begin + left).astimezone(zone)
            left -= end - begin
    return None


# -- Asking about an account or a team ------------------------------------------------

@dataclass(frozen=True)
class OpenState:
    is_open: bool
    reason: str
    next_change: datetime | None


def schedule_for(*, account: OfficialAccount | None = None,
                 team: Team | None = None) -> BusinessHours | None:
    rows = BusinessHours.objects.select_related("account", "brand")
    if account is not None:
        return rows.filter(account=account).first()
    if team is not None:
        return rows.filter(team=team).first()
    raise TypeError("schedule_for needs an account or a team")


def open_state(*, account: OfficialAccount | None = None, team: Team | None = None,
               at: datetime) -> OpenState | None:
    """Open or closed at ``at``, and why; None when the account or team has no hours."""
    schedule = schedule_for(account=account, team=team)
    if schedule is None:
        return None
    return state_of(schedule, at)


def state_of(schedule: BusinessHours, at: datetime) -> OpenState:
    local = at.astimezone(zone_of(schedule))
    day = day_of(schedule, local.date())
    minute = _minute(local)
    open_now = any(a <= minute < b for a, b in day.intervals)
    if open_now:
        reason = day.reason or _("within hours")
    elif day.intervals or not day.reason:
        reason = _("outside hours")
        if day.reason:
            reason = f"{day.reason}, {reason}"
    else:
        reason = day.reason
    return OpenState(open_now, reason, next_change(schedule, at))


# -- Changing them (the page and the shell) -------------------------------------------

def hours_save(*, scope: Scope, account: OfficialAccount | None = None,
               team: Team | None = None, week: list[list[Interval]], time_zone: str,
               observe_cn_holidays: bool) -> BusinessHours:
    """Create or replace the hours of an account or a team the scope reaches."""
    scope.require("business_hours.manage")
    owner = {"account": account} if account is not None else {"team": team}
    target = account if account is not None else team
    if target is None or target.brand_id != scope.brand_id:
        raise NotInScope()
    schedule, _created = BusinessHours.objects.update_or_create(
        **owner, defaults={"brand_id": scope.brand_id, "week": [list(map(list, d)) for d in week],
                           "time_zone": time_zone, "observe_cn_holidays": observe_cn_holidays})
    logger.info("business hours saved", extra={"brand_id": scope.brand_id,
                                                "schedule_id": schedule.pk})
    return schedule


def hours_delete(*, scope: Scope, schedule: BusinessHours) -> None:
    scope.require("business_hours.manage")
    schedule.delete()


def closure_create(*, scope: Scope, name: str, starts_on: date, ends_on: date,
                   accounts: list[OfficialAccount]) -> BrandClosure:
    scope.require("business_hours.manage")
    if any(a.brand_id != scope.brand_id for a in accounts):
        raise NotInScope()
    closure = BrandClosure.objects.create(brand_id=scope.brand_id, name=name,
                                          starts_on=starts_on, ends_on=ends_on)
    closure.accounts.set(accounts)
    return closure


def closure_delete(*, scope: Scope, closure: BrandClosure) -> None:
    scope.require("business_hours.manage")
    closure.delete()


def closure_list(*, scope: Scope):  # -> QuerySet[BrandClosure]
    return BrandClosure.objects.filter(brand_id=scope.brand_id).prefetch_related("accounts")


def schedule_list(*, scope: Scope):  # -> QuerySet[BusinessHours]
    return BusinessHours.objects.filter(brand_id=scope.brand_id).filter(
        Q(account__in=scope.accounts()) | Q(team__isnull=False)
    ).select_related("account", "team", "brand")
