"""Daily quotas on the Beijing calendar: token fetches, per-API limits, clear_quota."""

from __future__ import annotations

import datetime as dt

from tests.wechat.sandbox_kit import Kit, errcode
from wechat.sandbox.clock import BEIJING


def _beijing(*args: int) -> float:
    return dt.datetime(*args, tzinfo=BEIJING).timestamp()


def _fetch(kit: Kit, account: dict) -> dict:
    return kit.get("/cgi-bin/token", grant_type="client_credential", appid=account["appid"],
                   secret=account["secret"])


def test_the_2001st_token_fetch_of_a_day_is_refused(kit: Kit) -> None:
    account = kit.account()
    kit.ctl("POST", "/clock", {"set": _beijing(2026, 3, 1, 10, 0), "freeze": True})
    for _ in range(2000):
        assert "access_token" in _fetch(kit, account)
    assert errcode(_fetch(kit, account)) == 45009
    assert kit.ctl("GET", "/counters")["token_issued"][account["appid"]] == 2000


def test_the_token_quota_resets_at_beijing_midnight_not_utc(kit: Kit) -> None:
    account = kit.account(test_account=True)  # 200 a day keeps the test quick
    kit.ctl("POST", "/clock", {"set": _beijing(2026, 3, 1, 23, 59), "freeze": True})
    for _ in range(200):
        _fetch(kit, account)
    assert errcode(_fetch(kit, account)) == 45009
    kit.advance(61)  # 00:00:01 in Beijing, still 16:00 UTC the same day
    assert "access_token" in _fetch(kit, account)


def test_a_per_api_daily_limit_answers_45009(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    for _ in range(500):
        assert errcode(kit.get("/cgi-bin/user/get", token)) == 0
    assert errcode(kit.get("/cgi-bin/user/get", token)) == 45009
    # Other APIs keep their own budget.
    assert errcode(kit.get("/cgi-bin/tags/get", token)) == 0


def test_quota_get_reports_usage(kit: Kit) -> None:
    account = kit.account(quotas={"/cgi-bin/user/get": 3})
    token = kit.token(account)
    kit.get("/cgi-bin/user/get", token)
    answer = kit.post("/cgi-bin/openapi/quota/get", token, {"cgi_path": "/cgi-bin/user/get"})
    assert answer["quota"] == {"daily_limit": 3, "used": 1, "remain": 2}


def test_clear_quota_resets_today_and_is_limited_to_ten_a_month(kit: Kit) -> None:
    account = kit.account(quotas={"/cgi-bin/user/get": 1})
    kit.ctl("POST", "/clock", {"set": _beijing(2026, 3, 5, 12, 0), "freeze": True})
    token = kit.token(account)
    for _ in range(10):
        kit.get("/cgi-bin/user/get", token)
        assert errcode(kit.get("/cgi-bin/user/get", token)) == 45009
        assert errcode(kit.post("/cgi-bin/clear_quota", token, {"appid": account["appid"]})) == 0
    assert errcode(kit.post("/cgi-bin/clear_quota", token, {"appid": account["appid"]})) == 48006
    kit.ctl("POST", "/clock", {"set": _beijing(2026, 4, 1, 0, 1)})
    token = kit.token(account)
    assert errcode(kit.post("/cgi-bin/clear_quota/v2", None, {
        "appid": account["appid"], "appsecret": account["secret"]})) == 0


def test_clear_quota_for_another_appid_is_refused(kit: Kit) -> None:
    mine, other = kit.account(), kit.account()
    token = kit.token(mine)
    assert errcode(kit.post("/cgi-bin/clear_quota", token, {"appid": other["appid"]})) == 40013
