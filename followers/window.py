"""The platform's reply window, kept per follower (docs/wechat.md §4).

A follower's message opens the long window: 5 sends within 48 hours, renewed by each
message. A follow, a QR scan or a menu click (click, scancode_push, scancode_waitmsg)
opens the short one: 3 sends within a minute. VIEW opens nothing. Outside both the
platform answers 45015, with the quota spent 45047; we refuse before calling it.

The quotas, spans and how two open windows count together are ``wechat.windows``, the
rules the sandbox enforces too: we predict with exactly what we test against. Today two
open windows allow the larger quota, not the sum (the reference is silent; see there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.utils.translation import gettext_lazy as _

from followers.models import Follower
from wechat import windows

LONG_WINDOW = timedelta(seconds=windows.LONG_SECONDS)
LONG_SENDS = windows.LONG_SENDS
SHORT_WINDOW = timedelta(seconds=windows.SHORT_SECONDS)
SHORT_SENDS = windows.SHORT_SENDS

Trigger = Literal["message", "follow", "scan", "click"]
SHORT_TRIGGERS = frozenset({"follow", "scan", "click"})

LONG_FIELDS = ("window_opened_at", "window_sends")
SHORT_FIELDS = ("short_window_opened_at", "short_window_sends")

REASON_UNFOLLOWED = _("the follower has unfollowed")
REASON_OUTSIDE = _("outside the 48-hour window")
REASON_USED_UP = _("the follower's reply quota is used up until they write again")


class WindowClosed(Exception):
    """No send is allowed now; ``reason`` is a plain sentence for the agent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WindowState:
    open: bool
    # When the last send still allowed expires (None when closed).
    expires_at: datetime | None
    sends_left: int
    # The window the next send spends from: "short", "long", or "" when closed.
    kind: str
    # Why it is closed ("" when open).
    reason: str


def window_open(*, follower: Follower, trigger: Trigger, at: datetime, save: bool = True) -> None:
    """Open (or renew) the window ``trigger`` opens at ``at``; VIEW opens none.

    An older delivery arriving late never moves a window backwards. With ``save=False``
    the caller saves ``LONG_FIELDS``/``SHORT_FIELDS`` itself (ingestion does, in its one
    UPDATE of the follower). The caller should hold the follower row locked.
    """
    if trigger == "message":
        opened, fields = follower.window_opened_at, LONG_FIELDS
        if opened is None or at >= opened:
            follower.window_opened_at, follower.window_sends = at, 0
    elif trigger in SHORT_TRIGGERS:
        opened, fields = follower.short_window_opened_at, SHORT_FIELDS
        if opened is None or at >= opened:
            follower.short_window_opened_at, follower.short_window_sends = at, 0
    else:
        raise ValueError(f"unknown window trigger {trigger!r}")
    if save:
        follower.save(update_fields=list(fields))


def window_close(*, follower: Follower, save: bool = True) -> None:
    """Close both windows (the follower unfollowed: the platform forgets them too)."""
    follower.window_opened_at = follower.short_window_opened_at = None
    follower.window_sends = follower.short_window_sends = 0
    if save:
        follower.save(update_fields=[*LONG_FIELDS, *SHORT_FIELDS])


def _left(opened: datetime | None, used: int, span: timedelta, quota: int,
          now: datetime) -> tuple[int, datetime | None, bool]:
    """(sends left, expiry, still running) of one window."""
    if opened is None or now - opened >= span:
        return 0, None, False
    return max(0, quota - used), opened + span, True


def window_state(*, follower: Follower, now: datetime) -> WindowState:
    short_left, short_end, short_running = _left(
        follower.short_window_opened_at, follower.short_window_sends, SHORT_WINDOW,
        SHORT_SENDS, now,
    )
    long_left, long_end, long_running = _left(
        follower.window_opened_at, follower.window_sends, LONG_WINDOW, LONG_SENDS, now
    )
    if not follower.subscribed:
        return WindowState(False, None, 0, "", str(REASON_UNFOLLOWED))
    sends_left = windows.sends_left([short_left, long_left])
    if sends_left == 0:
        reason = REASON_USED_UP if short_running or long_running else REASON_OUTSIDE
        return WindowState(False, None, 0, "", str(reason))
    ends = [end for left, end in ((short_left, short_end), (long_left, long_end)) if left]
    return WindowState(
        open=True,
        expires_at=max(ends),  # type: ignore[type-var]
        sends_left=sends_left,
        kind="short" if short_left else "long",
        reason="",
    )


def window_consume(*, follower: Follower, now: datetime) -> None:
    """Spend one send from the windows ``wechat.windows`` charges it to; raises
    WindowClosed when none is left.

    The caller must hold the follower row locked FOR UPDATE, so two agents replying at
    once cannot both spend the last send.
    """
    state = window_state(follower=follower, now=now)
    if not state.open:
        raise WindowClosed(state.reason)
    short_left = _left(follower.short_window_opened_at, follower.short_window_sends,
                       SHORT_WINDOW, SHORT_SENDS, now)[0]
    long_left = _left(follower.window_opened_at, follower.window_sends, LONG_WINDOW,
                      LONG_SENDS, now)[0]
    # The same order as the sandbox: the window that closes first first.
    counters = ("short_window_sends", "window_sends")
    charged = [counters[i] for i in windows.windows_charged([short_left, long_left])]
    for name in charged:
        setattr(follower, name, getattr(follower, name) + 1)
    follower.save(update_fields=charged)
