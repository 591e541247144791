"""stable_token: same token while valid, rationed force_refresh, isolation from /token."""

from __future__ import annotations

import datetime as dt

from tests.wechat.sandbox_kit import Kit, errcode
from wechat.sandbox.clock import beijing_midnight


def _stable(kit: Kit, account: dict, force: bool = False) -> dict:
    return kit.post("/cgi-bin/stable_token", None, {
        "grant_type": "client_credential", "appid": account["appid"],
        "secret": account["secret"], "force_refresh": force})


def test_repeated_calls_return_the_same_token(kit: Kit) -> None:
    account = kit.account()
    kit.freeze()
    first = _stable(kit, account)
    kit.advance(100)
    second = _stable(kit, account)
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == 7100


def test_it_hands_out_a_fresh_token_in_the_last_five_minutes(kit: Kit) -> None:
    account = kit.account()
    first = _stable(kit, account)["access_token"]
    kit.advance(7200 - 200)
    second = _stable(kit, account)["access_token"]
    assert second != first
    assert errcode(kit.get("/cgi-bin/user/get", first)) == 0


def test_force_refresh_voids_the_old_token_at_once(kit: Kit) -> None:
    account = kit.account()
    old = _stable(kit, account)["access_token"]
    new = _stable(kit, account, force=True)["access_token"]
    assert new != old
    assert errcode(kit.get("/cgi-bin/user/get", old)) == 40001
    assert errcode(kit.get("/cgi-bin/user/get", new)) == 0


def test_force_refresh_needs_30_seconds_between_calls(kit: Kit) -> None:
    account = kit.account()
    _stable(kit, account, force=True)
    kit.advance(10)
    assert errcode(_stable(kit, account, force=True)) == 45011
    kit.advance(21)
    assert "access_token" in _stable(kit, account, force=True)


def test_force_refresh_is_limited_to_20_a_day(kit: Kit) -> None:
    account = kit.account()
    # Mid-morning in Beijing: the 20 calls and their 31 s pauses stay within one day
    # whenever the test runs (run at 23:55 it would cross midnight and start a new budget).
    morning = beijing_midnight(dt.date(2026, 3, 2)) + 10 * 3600
    kit.ctl("POST", "/clock", {"set": morning, "freeze": True})
    for _ in range(20):
        assert "access_token" in _stable(kit, account, force=True)
        kit.advance(31)
    assert errcode(_stable(kit, account, force=True)) == 45009


def test_cgi_bin_token_does_not_touch_the_stable_token(kit: Kit) -> None:
    account = kit.account()
    stable = _stable(kit, account)["access_token"]
    kit.token(account)
    kit.token(account)
    kit.advance(600)
    assert errcode(kit.get("/cgi-bin/user/get", stable)) == 0
    assert _stable(kit, account)["access_token"] == stable
