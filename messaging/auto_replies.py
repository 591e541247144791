"""Choosing the passive auto-reply for an inbound message or event.

Account-specific rows win over brand-wide ones; a row in the follower's language wins
over one without a language. Keywords match case-insensitively, an exact match before a
contained one (the longest keyword first).

An account is "off hours" when its business hours (accounts/business_hours.py: weekly
hours, mainland China holidays, brand closures) say it is closed. An account without
business hours keeps the placeholder schedule of 09:00-21:00, every day, in its time zone.
"""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from accounts import business_hours
from accounts.models import BrandClosure, BusinessHours, OfficialAccount
from messaging.models import AutoReply

CACHE_SECONDS = 5.0
_cache: dict[int, tuple[float, list[AutoReply]]] = {}
_hours_cache: dict[int, tuple[float, BusinessHours | None]] = {}

PLACEHOLDER_OPENS = clock_time(9, 0)
PLACEHOLDER_CLOSES = clock_time(21, 0)


def _schedule(account: OfficialAccount) -> BusinessHours | None:
    # Asked on every message that could get the off-hours reply: kept like the rows above,
    # the schedule with its closures (read once per cached schedule).
    now = time.monotonic()
    hit = _hours_cache.get(account.pk)
    if hit is not None and hit[0] > now:
        return hit[1]
    schedule = business_hours.schedule_for(account=account)
    _hours_cache[account.pk] = (now + CACHE_SECONDS, schedule)
    return schedule


@receiver([post_save, post_delete], sender=BusinessHours)
@receiver([post_save, post_delete], sender=BrandClosure)
@receiver(m2m_changed, sender=BrandClosure.accounts.through)
def _forget_cached_hours(**_kwargs: object) -> None:
    _hours_cache.clear()


def is_off_hours(*, account: OfficialAccount, at: datetime) -> bool:
    schedule = _schedule(account)
    if schedule is not None:
        return not business_hours.is_open(schedule, at)
    try:
        zone = ZoneInfo(account.timezone or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    local = at.astimezone(zone).time()
    return not PLACEHOLDER_OPENS <= local < PLACEHOLDER_CLOSES


def _brand_rows(brand_id: int) -> list[AutoReply]:
    # A brand has a handful of auto-replies and every text message asks for them: keep
    # them in this process for a few seconds rather than query on every delivery. Saving
    # or deleting one clears the cache here; other processes see it within CACHE_SECONDS.
    now = time.monotonic()
    hit = _cache.get(brand_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    rows = list(AutoReply.objects.filter(brand_id=brand_id, is_active=True).order_by("pk"))
    _cache[brand_id] = (now + CACHE_SECONDS, rows)
    return rows


@receiver([post_save, post_delete], sender=AutoReply)
def _forget_cached_rows(**_kwargs: object) -> None:
    _cache.clear()


def _candidates(*, account: OfficialAccount, kinds: list[str]) -> list[AutoReply]:
    return [
        row for row in _brand_rows(account.brand_id)
        if row.kind in kinds and row.account_id in (None, account.pk)
    ]


def _rank(row: AutoReply, account_id: int, language: str) -> tuple[int, int]:
    # Lower sorts first: this account's rows, then the follower's language.
    lang = language.lower()
    return (0 if row.account_id == account_id else 1,
            0 if lang and row.language.lower() == lang else 1 if not row.language else 2)


def _best(rows: list[AutoReply], account_id: int, language: str) -> AutoReply | None:
    return min(rows, key=lambda row: _rank(row, account_id, language), default=None)


def auto_reply_welcome(*, account: OfficialAccount, language: str = "") -> str | None:
    row = _best(_candidates(account=account, kinds=[AutoReply.Kind.WELCOME]), account.pk,
                language)
    return row.body if row else None


def auto_reply_click(*, account: OfficialAccount, key: str, language: str = "") -> str | None:
    rows = [r for r in _candidates(account=account, kinds=[AutoReply.Kind.CLICK])
            if r.trigger == key]
    row = _best(rows, account.pk, language)
    return row.body if row else None


def auto_reply_possible(*, account: OfficialAccount, text: str, at: datetime) -> bool:
    """Whether ``auto_reply_message`` could answer ``text`` at all, whatever the follower's
    language and wait: ingestion stores a message without a transaction of its own when no
    auto-reply can follow it."""
    rows = _candidates(account=account,
                       kinds=[AutoReply.Kind.KEYWORD, AutoReply.Kind.OFF_HOURS])
    if not rows:
        return False
    needle = text.strip().casefold()
    for row in rows:
        trigger = row.trigger.strip().casefold()
        if row.kind == AutoReply.Kind.KEYWORD and trigger and needle and trigger in needle:
            return True
    return (any(row.kind == AutoReply.Kind.OFF_HOURS for row in rows)
            and is_off_hours(account=account, at=at))


def auto_reply_message(
    *, account: OfficialAccount, text: str, language: str, at: datetime, starts_wait: bool
) -> str | None:
    """A keyword reply; else, when this message starts the follower's wait and it is off
    hours, the off-hours reply (once per wait, not on every message)."""
    kinds = [AutoReply.Kind.KEYWORD]
    off_hours = starts_wait and is_off_hours(account=account, at=at)
    if off_hours:
        kinds.append(AutoReply.Kind.OFF_HOURS)
    rows = _candidates(account=account, kinds=kinds)
    needle = text.strip().casefold()
    keywords = [r for r in rows if r.kind == AutoReply.Kind.KEYWORD and r.trigger.strip()]
    if needle:
        exact = [r for r in keywords if r.trigger.strip().casefold() == needle]
        if exact:
            return _best(exact, account.pk, language).body  # type: ignore[union-attr]
        contained = [r for r in keywords if r.trigger.strip().casefold() in needle]
        if contained:
            longest = max(len(r.trigger.strip()) for r in contained)
            rows_longest = [r for r in contained if len(r.trigger.strip()) == longest]
            return _best(rows_longest, account.pk, language).body  # type: ignore[union-attr]
    if off_hours:
        row = _best([r for r in rows if r.kind == AutoReply.Kind.OFF_HOURS], account.pk,
                    language)
        return row.body if row else None
    return None
