"""When analytics rows appear (§11), through the client: a day's rows at 08:00 Beijing time
the next morning, a weekly or monthly row only once its whole period is published."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.wechat.sandbox_helpers import client_for, follow, make_account, user_says
from wechat.sandbox.clock import BEIJING
from wechat.sandbox.server import SandboxServer


def _at(sb: SandboxServer, day: str, hour: int, minute: int = 0) -> None:
    d = dt.date.fromisoformat(day)
    sb.clock.freeze()
    sb.clock.set(dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=BEIJING).timestamp())


@pytest.fixture
def account(sandbox: SandboxServer) -> tuple[Any, str]:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    return wx, account["appid"]


def _messages_on(sb: SandboxServer, appid: str, day: str, n: int = 1) -> None:
    _at(sb, day, 12)
    openid = follow(sb, appid)
    for _ in range(n):
        user_says(sb, appid, openid)


def test_yesterdays_rows_appear_at_eight_beijing_time(sandbox: SandboxServer,
                                                     account: tuple[Any, str]) -> None:
    wx, appid = account
    _messages_on(sandbox, appid, "2026-03-08")
    _messages_on(sandbox, appid, "2026-03-09", n=2)

    _at(sandbox, "2026-03-10", 7, 59)
    # Asking for yesterday is allowed; its rows are not there yet, older ones are.
    early = wx.datacube_upstream_msg("2026-03-08", "2026-03-09")
    assert [(r["ref_date"], r["msg_count"]) for r in early] == [("2026-03-08", 1)]
    assert [r["ref_date"] for r in wx.datacube_user_summary("2026-03-09", "2026-03-09")] == []

    _at(sandbox, "2026-03-10", 8, 0)
    rows = wx.datacube_upstream_msg("2026-03-08", "2026-03-09")
    assert [(r["ref_date"], r["msg_count"]) for r in rows] == [
        ("2026-03-08", 1), ("2026-03-09", 2)]
    assert {r["ref_date"] for r in wx.datacube_user_summary("2026-03-09", "2026-03-09")} == {
        "2026-03-09"}


def test_a_weekly_row_appears_once_the_week_is_published(sandbox: SandboxServer,
                                                        account: tuple[Any, str]) -> None:
    wx, appid = account
    _messages_on(sandbox, appid, "2026-03-04")  # the week of Monday 2026-03-02

    _at(sandbox, "2026-03-07", 12)
    assert wx.datacube("getupstreammsgweek", "2026-03-02", "2026-03-06") == []
    assert wx.datacube("getupstreammsgdistweek", "2026-03-02", "2026-03-06") == []
    _at(sandbox, "2026-03-09", 7, 30)  # Sunday is yesterday, not yet published
    assert wx.datacube("getupstreammsgweek", "2026-03-02", "2026-03-08") == []

    _at(sandbox, "2026-03-09", 8, 0)
    week = wx.datacube("getupstreammsgweek", "2026-03-02", "2026-03-08")
    assert [(r["ref_date"], r["msg_count"]) for r in week] == [("2026-03-02", 1)]
    dist = wx.datacube("getupstreammsgdistweek", "2026-03-02", "2026-03-08")
    assert [(r["ref_date"], r["msg_user"]) for r in dist] == [("2026-03-02", 1)]


def test_a_monthly_row_appears_once_the_month_is_published(sandbox: SandboxServer,
                                                          account: tuple[Any, str]) -> None:
    wx, appid = account
    _messages_on(sandbox, appid, "2026-02-10")

    _at(sandbox, "2026-02-20", 12)
    assert wx.datacube("getupstreammsgmonth", "2026-02-01", "2026-02-19") == []
    _at(sandbox, "2026-03-01", 7, 0)
    assert wx.datacube("getupstreammsgmonth", "2026-02-01", "2026-02-28") == []
    assert wx.datacube("getupstreammsgdistmonth", "2026-02-01", "2026-02-28") == []

    _at(sandbox, "2026-03-01", 8, 0)
    month = wx.datacube("getupstreammsgmonth", "2026-02-01", "2026-02-28")
    assert [(r["ref_date"], r["msg_count"]) for r in month] == [("2026-02-01", 1)]
    dist = wx.datacube("getupstreammsgdistmonth", "2026-02-01", "2026-02-28")
    assert [r["ref_date"] for r in dist] == ["2026-02-01"]


def test_the_hourly_and_single_day_reports_wait_for_eight_too(
    sandbox: SandboxServer, account: tuple[Any, str]
) -> None:
    wx, appid = account
    _messages_on(sandbox, appid, "2026-03-09")
    reports = ("getupstreammsghour", "getuserreadhour", "getusersharehour", "getuserread",
               "getusercumulate")
    _at(sandbox, "2026-03-10", 6, 0)
    for report in reports:
        assert wx.datacube(report, "2026-03-09", "2026-03-09") == [], report
    _at(sandbox, "2026-03-10", 9, 0)
    for report in reports:
        rows = wx.datacube(report, "2026-03-09", "2026-03-09")
        assert {r["ref_date"] for r in rows} == {"2026-03-09"}, report
