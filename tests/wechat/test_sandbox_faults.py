"""Injected faults: busy, rate_limit, slow, token_expired and http_500, targeted or shared."""

from __future__ import annotations

import time

from tests.wechat.sandbox_kit import Kit, errcode


def _user_get(kit: Kit, token: str) -> int:
    return errcode(kit.get("/cgi-bin/user/get", token))


def test_busy_for_a_count_of_calls(kit: Kit) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "busy", "count": 2})
    assert [_user_get(kit, token) for _ in range(3)] == [-1, -1, 0]
    assert kit.ctl("GET", "/faults")["faults"] == []


def test_rate_limit_only_for_one_path(kit: Kit) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "rate_limit", "path": "/cgi-bin/tags/get"})
    assert errcode(kit.get("/cgi-bin/tags/get", token)) == 45011
    assert _user_get(kit, token) == 0


def test_a_fault_for_one_appid_spares_the_others(kit: Kit) -> None:
    hit, spared = kit.account(), kit.account()
    kit.ctl("POST", "/faults", {"kind": "busy", "appid": hit["appid"]})
    assert _user_get(kit, kit.token(spared)) == 0
    assert errcode(kit.get("/cgi-bin/token", grant_type="client_credential",
                           appid=hit["appid"], secret=hit["secret"])) == -1


def test_token_expired_answers_42001_and_the_next_fetch_works(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    kit.ctl("POST", "/faults", {"kind": "token_expired", "count": 1})
    assert _user_get(kit, token) == 42001
    assert _user_get(kit, token) == 42001  # the token itself is now expired
    assert _user_get(kit, kit.token(account)) == 0


def test_http_500_and_busy_calls_are_logged(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    kit.ctl("POST", "/faults", {"kind": "http_500", "count": 1})
    resp = kit.http.get(f"{kit.base}/cgi-bin/user/get", params={"access_token": token})
    assert resp.status_code == 500
    assert _user_get(kit, token) == 0
    calls = kit.ctl("GET", "/calls", path="/cgi-bin/user/get")["calls"]
    assert [(c["status"], c["errcode"]) for c in calls] == [(500, None), (200, 0)]


def test_slow_delays_the_answer(kit: Kit) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "slow", "delay": 0.3, "count": 1})
    started = time.monotonic()
    assert _user_get(kit, token) == 0
    assert time.monotonic() - started >= 0.3


def test_a_ratio_fault_hits_a_share_of_calls(kit: Kit) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "busy", "ratio": 0.5})
    codes = [_user_get(kit, token) for _ in range(200)]
    assert 60 < codes.count(-1) < 140


def test_deleting_faults_restores_service(kit: Kit) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "busy"})
    assert _user_get(kit, token) == -1
    kit.ctl("DELETE", "/faults")
    assert _user_get(kit, token) == 0


def test_an_unknown_fault_kind_is_refused(kit: Kit) -> None:
    kit.ctl("POST", "/faults", {"kind": "meteor"}, status=400)
