"""Injected faults: answered, late before or after the work, lost after it; targeted,
shared, counted or timed."""

from __future__ import annotations

import time

import pytest
import requests

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


def _tag_names(kit: Kit, token: str) -> list[str]:
    return [t["name"] for t in kit.get("/cgi-bin/tags/get", token)["tags"]]


def test_slow_after_does_the_work_and_answers_late(kit: Kit) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "slow_after", "delay": 0.5, "count": 1,
                                "path": "/cgi-bin/tags/create"})
    with pytest.raises(requests.ReadTimeout):
        kit.http.post(f"{kit.base}/cgi-bin/tags/create", params={"access_token": token},
                      json={"tag": {"name": "late"}}, timeout=(2, 0.2))
    # The answer is still on its way, the tag already exists.
    assert "late" in _tag_names(kit, token)


@pytest.mark.parametrize(("how", "symptom"), [("close", "Remote end closed connection"),
                                              ("reset", "Connection reset")])
def test_drop_after_does_the_work_and_never_answers(kit: Kit, how: str, symptom: str) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "drop_after", "how": how, "count": 1,
                                "path": "/cgi-bin/tags/create"})
    with pytest.raises(requests.ConnectionError, match=symptom):
        kit.http.post(f"{kit.base}/cgi-bin/tags/create", params={"access_token": token},
                      json={"tag": {"name": "done"}}, timeout=5)
    assert "done" in _tag_names(kit, token)
    (call,) = kit.ctl("GET", "/calls", path="/cgi-bin/tags/create")["calls"]
    assert (call["errcode"], call["fault"]) == (0, "drop_after")


def test_an_errcode_fault_answers_its_code_on_its_path_only(kit: Kit) -> None:
    token = kit.token(kit.account())
    kit.ctl("POST", "/faults", {"kind": "errcode", "errcode": 48004, "count": 2,
                                "path": "/cgi-bin/tags/get"})
    answer = kit.get("/cgi-bin/tags/get", token)
    assert errcode(answer) == 48004 and answer["errmsg"].startswith("api forbidden")
    assert _user_get(kit, token) == 0
    assert errcode(kit.get("/cgi-bin/tags/get", token)) == 48004
    assert errcode(kit.get("/cgi-bin/tags/get", token)) == 0


def test_a_fault_with_seconds_lasts_that_long_on_the_sandbox_clock(kit: Kit) -> None:
    token = kit.token(kit.account())
    now = kit.freeze()
    answer = kit.ctl("POST", "/faults", {"kind": "rate_limited", "seconds": 60})
    assert answer["until"] == now + 60
    assert [_user_get(kit, token) for _ in range(5)] == [45011] * 5
    kit.advance(59)
    assert _user_get(kit, token) == 45011
    kit.advance(1)
    assert _user_get(kit, token) == 0
    assert kit.ctl("GET", "/faults")["faults"] == []


def test_a_fault_naming_an_endpoint_the_sandbox_does_not_model_fires_there(kit: Kit) -> None:
    token = kit.token(kit.account())
    path = "/customservice/kfaccount/add"
    assert kit.http.post(f"{kit.base}{path}", params={"access_token": token}).status_code == 404
    kit.ctl("POST", "/faults", {"kind": "errcode", "errcode": 65405, "path": path,
                                "count": 1})
    assert errcode(kit.post(path, token, {"kf_account": "a@gh"})) == 65405
    assert kit.http.post(f"{kit.base}{path}", params={"access_token": token}).status_code == 404


@pytest.mark.parametrize("spec", [
    {"kind": "errcode"},
    {"kind": "errcode", "errcode": 0},
    {"kind": "busy", "errcode": 45011},
    {"kind": "busy", "seconds": 0},
    {"kind": "busy", "count": 0},
    {"kind": "slow", "delay": -1},
    {"kind": "drop_after", "how": "explode"},
    {"kind": "busy", "ratio": "half"},
], ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_a_malformed_fault_is_refused_and_nothing_is_added(kit: Kit, spec: dict) -> None:
    kit.ctl("POST", "/faults", {"kind": "busy", "path": "/cgi-bin/menu/get"})
    before = kit.ctl("GET", "/faults")["faults"]
    assert "error" in kit.ctl("POST", "/faults", spec, status=400)
    assert kit.ctl("GET", "/faults")["faults"] == before
