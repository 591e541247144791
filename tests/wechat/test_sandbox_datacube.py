"""Analytics: date validation and numbers computed from what happened in the sandbox."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.wechat.sandbox_kit import Kit, errcode
from wechat.sandbox.clock import BEIJING


def _at(kit: Kit, day: str, hour: int = 12) -> None:
    d = dt.date.fromisoformat(day)
    moment = dt.datetime(d.year, d.month, d.day, hour, tzinfo=BEIJING).timestamp()
    kit.ctl("POST", "/clock", {"set": moment, "freeze": True})


def _cube(kit: Kit, token: str, name: str, begin: str, end: str) -> dict:
    return kit.post(f"/datacube/{name}", token, {"begin_date": begin, "end_date": end})


@pytest.mark.parametrize(("begin", "end", "expected"), [
    ("2026-03-01", "2026-03-07", 0),       # 7 days: the maximum span
    ("2026-03-01", "2026-03-08", 61501),   # 8 days
    ("2026-03-09", "2026-03-09", 61501),   # today is not final yet
    ("2026-03-05", "2026-03-04", 61501),   # reversed
    ("2014-11-30", "2014-11-30", 61501),   # before data exists
    ("2026/03/01", "2026-03-02", 61500),   # malformed
])
def test_date_ranges(kit: Kit, begin: str, end: str, expected: int) -> None:
    account = kit.account()
    _at(kit, "2026-03-09")
    assert errcode(_cube(kit, kit.token(account), "getusersummary", begin, end)) == expected


def test_user_summary_and_cumulate_count_recorded_follows(kit: Kit) -> None:
    account = kit.account()
    appid = account["appid"]
    _at(kit, "2026-03-01")
    kit.follow(appid)
    kit.follow(appid, scene="poster-1")
    _at(kit, "2026-03-02")
    gone = kit.follow(appid)["openid"]
    kit.ctl("POST", f"/accounts/{appid}/followers/{gone}/unfollow", {"push": False})
    _at(kit, "2026-03-05")
    token = kit.token(account)
    summary = _cube(kit, token, "getusersummary", "2026-03-01", "2026-03-02")["list"]
    assert {(r["ref_date"], r["user_source"], r["new_user"], r["cancel_user"])
            for r in summary} == {("2026-03-01", 0, 0, 0), ("2026-03-01", 1, 1, 0),
                                  ("2026-03-01", 30, 1, 0), ("2026-03-02", 0, 0, 1),
                                  ("2026-03-02", 1, 1, 0)}
    cumulate = _cube(kit, token, "getusercumulate", "2026-03-01", "2026-03-03")["list"]
    assert [r["cumulate_user"] for r in cumulate] == [2, 2, 2]


def test_upstream_messages_are_counted_by_type(kit: Kit) -> None:
    account = kit.account()
    appid = account["appid"]
    _at(kit, "2026-03-01")
    a, b = kit.follow(appid)["openid"], kit.follow(appid)["openid"]
    kit.say(appid, a)
    kit.say(appid, a)
    kit.say(appid, b)
    kit.ctl("POST", f"/accounts/{appid}/followers/{b}/send", {"type": "image", "push": False})
    _at(kit, "2026-03-02")
    rows = _cube(kit, kit.token(account), "getupstreammsg", "2026-03-01", "2026-03-01")["list"]
    assert [(r["msg_type"], r["msg_user"], r["msg_count"]) for r in rows] == [(1, 2, 3), (2, 1, 1)]
