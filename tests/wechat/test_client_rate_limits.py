"""Rate limits that last, as the platform's per-minute limits do, against the client's
backoff: three quick attempts, then the typed error, never a loop; a policy whose backoff
outlasts the limit waits it out."""

from __future__ import annotations

import random

import pytest

from tests.wechat.sandbox_helpers import (
    ClockSleeps,
    calls,
    client_for,
    control,
    fault,
    follow,
    inbox,
    make_account,
    user_says,
)
from wechat import errors
from wechat.client import RetryPolicy
from wechat.sandbox.server import SandboxServer

TAGS_GET = "/cgi-bin/tags/get"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
SENDALL = "/cgi-bin/message/mass/sendall"


class MaxJitter(random.Random):
    """Jitter that always takes the ceiling, so a test knows how long the backoff lasts."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_a_rate_limit_that_outlasts_three_quick_attempts_is_raised_after_them(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, sleep=sleeps)
    wx.access_token()
    control(sandbox, "POST", "/clock", {"freeze": True})
    fault(sandbox, kind="rate_limited", path=TAGS_GET, seconds=60)

    with pytest.raises(errors.RateLimited) as caught:
        wx.tag_list()
    assert caught.value.errcode == 45011
    assert [c["errcode"] for c in calls(sandbox, TAGS_GET)] == [45011] * 3
    assert len(sleeps) == 2 and sum(sleeps) < 1  # quick: it did not sit out the minute

    # The limit is real: it still holds for the next call, and ends with its minute.
    with pytest.raises(errors.RateLimited):
        wx.tag_list()
    assert len(calls(sandbox, TAGS_GET)) == 6
    sandbox.clock.advance(60)
    assert {t["id"] for t in wx.tag_list()} == {2}
    assert len(calls(sandbox, TAGS_GET)) == 7


def test_a_busy_spell_on_kf_sends_is_raised_after_three_attempts_and_nothing_is_sent(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, sleep=sleeps)
    openid = follow(sandbox, appid)
    user_says(sandbox, appid, openid)
    wx.access_token()
    control(sandbox, "POST", "/clock", {"freeze": True})
    fault(sandbox, kind="busy", path=CUSTOM_SEND, seconds=30)

    with pytest.raises(errors.BusyError):
        wx.custom_send_text(openid, "busy")
    assert [c["errcode"] for c in calls(sandbox, CUSTOM_SEND)] == [-1] * 3
    assert inbox(sandbox, appid, openid) == []

    sandbox.clock.advance(30)
    wx.custom_send_text(openid, "later")
    assert [m["text"]["content"] for m in inbox(sandbox, appid, openid)] == ["later"]


def test_a_policy_whose_backoff_outlasts_the_limit_waits_it_out(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    sleeps = ClockSleeps(sandbox)
    patient = RetryPolicy(max_attempts=3, base_delay=40, max_delay=40)
    wx, _ = client_for(sandbox, account, sleep=sleeps, retry_policy=patient, rng=MaxJitter())
    wx.access_token()
    control(sandbox, "POST", "/clock", {"freeze": True})
    fault(sandbox, kind="rate_limited", path=TAGS_GET, seconds=60)

    assert {t["id"] for t in wx.tag_list()} == {2}
    assert [c["errcode"] for c in calls(sandbox, TAGS_GET)] == [45011, 45011, 0]
    assert sleeps == [40, 40]


def test_the_platforms_60_a_minute_mass_window_holds_across_retries(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox, quotas={SENDALL: 1000})
    appid = account["appid"]
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, sleep=sleeps)
    tag = wx.tag_create("VIP")
    wx.tag_add_users(tag["id"], [follow(sandbox, appid)])
    control(sandbox, "POST", "/clock", {"freeze": True})
    for n in range(60):
        wx.mass_send_by_tag(tag["id"], "text", {"content": f"n{n}"}, clientmsgid=f"b{n}")

    with pytest.raises(errors.RateLimited):
        wx.mass_send_by_tag(tag["id"], "text", {"content": "one too many"}, clientmsgid="b60")
    assert [c["errcode"] for c in calls(sandbox, SENDALL)][60:] == [45011] * 3
    assert len(control(sandbox, "GET", "/jobs")["mass"]) == 60

    # Once the minute has passed, the same batch goes out once.
    sandbox.clock.advance(60)
    sent = wx.mass_send_by_tag(tag["id"], "text", {"content": "one too many"},
                               clientmsgid="b60")
    assert sent["already_sent"] is False
    assert len(control(sandbox, "GET", "/jobs")["mass"]) == 61
