"""The mass-send API's daily limit (§13: 100 a day) is one budget shared by sendall, send
and preview, on the Beijing calendar; through the client."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.wechat.sandbox_helpers import client_for, follow, inbox, make_account
from wechat import errors
from wechat.sandbox.clock import BEIJING
from wechat.sandbox.server import SandboxServer

TEXT = {"content": "新品上市 New arrivals"}
PATHS = ("/cgi-bin/message/mass/sendall", "/cgi-bin/message/mass/send",
         "/cgi-bin/message/mass/preview")


def _noon(sb: SandboxServer, day: int) -> None:
    sb.clock.freeze()
    sb.clock.set(dt.datetime(2026, 6, day, 12, tzinfo=BEIJING).timestamp())


def test_sendall_send_and_preview_share_one_budget_of_100_a_day(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    _noon(sandbox, 1)
    openids = [follow(sandbox, appid) for _ in range(2)]
    wx.access_token()

    wx.mass_send_by_tag(None, "text", TEXT)
    wx.mass_send_by_openids(openids, "text", TEXT)
    for i in range(98):
        wx.mass_preview("text", {"content": f"preview {i}"}, openid=openids[0])
    assert {path: wx.quota_get(path)["used"] for path in PATHS} == dict.fromkeys(PATHS, 100)

    previews = len(inbox(sandbox, appid, openids[0]))
    with pytest.raises(errors.DailyLimitReached):
        wx.mass_preview("text", TEXT, openid=openids[0])
    with pytest.raises(errors.DailyLimitReached):
        wx.mass_send_by_openids(openids, "text", {"content": "one more"})
    with pytest.raises(errors.DailyLimitReached):
        wx.mass_send_by_tag(None, "text", {"content": "one more"})
    # Nothing refused reached anyone.
    assert len(inbox(sandbox, appid, openids[0])) == previews

    _noon(sandbox, 2)  # a new Beijing day, a new budget
    wx.mass_preview("text", TEXT, openid=openids[0])
    assert wx.quota_get(PATHS[2]) == {"daily_limit": 100, "used": 1, "remain": 99}


def test_previews_alone_spend_the_budget_of_sends(sandbox: SandboxServer) -> None:
    account = make_account(sandbox, quotas={PATHS[0]: 3})
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    openids = [follow(sandbox, appid) for _ in range(2)]
    for _ in range(3):
        wx.mass_preview("text", TEXT, openid=openids[0])
    with pytest.raises(errors.DailyLimitReached):
        wx.mass_send_by_openids(openids, "text", TEXT)
    assert wx.quota_get(PATHS[1]) == {"daily_limit": 3, "used": 3, "remain": 0}
