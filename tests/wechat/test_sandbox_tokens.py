"""Access tokens: expiry, invalidation with the 5-minute overlap, and credential errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.wechat.sandbox_kit import Kit, errcode


def _user_get(kit: Kit, token: str) -> int:
    return errcode(kit.get("/cgi-bin/user/get", token))


def test_a_token_lives_7200_seconds_by_the_sandbox_clock(kit: Kit) -> None:
    account = kit.account()
    answer = kit.get("/cgi-bin/token", grant_type="client_credential",
                     appid=account["appid"], secret=account["secret"])
    assert answer["expires_in"] == 7200
    token = answer["access_token"]
    kit.advance(7199)
    assert _user_get(kit, token) == 0
    kit.advance(2)
    assert _user_get(kit, token) == 42001


def test_a_new_fetch_leaves_the_previous_token_five_minutes(kit: Kit) -> None:
    account = kit.account()
    old = kit.token(account)
    new = kit.token(account)
    assert old != new
    kit.advance(299)
    assert _user_get(kit, old) == 0
    kit.advance(2)
    assert _user_get(kit, old) == 40001
    assert _user_get(kit, new) == 0


def test_missing_malformed_and_unknown_tokens_have_distinct_errors(kit: Kit) -> None:
    kit.account()
    assert errcode(kit.get("/cgi-bin/user/get")) == 41001
    assert errcode(kit.get("/cgi-bin/user/get", "not a token!")) == 40014
    assert errcode(kit.get("/cgi-bin/user/get", "A" * 150)) == 40001


def test_bad_credentials_are_refused_without_issuing(kit: Kit) -> None:
    account = kit.account()
    base = {"grant_type": "client_credential", "appid": account["appid"],
            "secret": account["secret"]}
    assert errcode(kit.get("/cgi-bin/token", **{**base, "appid": "wx0000000000000000"})) == 40013
    assert errcode(kit.get("/cgi-bin/token", **{**base, "secret": "wrong"})) == 40125
    assert errcode(kit.get("/cgi-bin/token", **{**base, "grant_type": "password"})) == 40002
    assert kit.ctl("GET", "/counters")["token_issued"] == {}


def test_errmsg_carries_a_rid_like_the_platform(kit: Kit) -> None:
    answer = kit.get("/cgi-bin/user/get", "A" * 150)
    assert " rid: " in answer["errmsg"]


def test_fifty_threads_each_get_a_token_and_the_counter_is_exact(kit: Kit) -> None:
    account = kit.account()
    with ThreadPoolExecutor(50) as pool:
        tokens = list(pool.map(lambda _: kit.token(account), range(50)))
    assert len(set(tokens)) == 50
    assert kit.ctl("GET", "/counters")["token_issued"] == {account["appid"]: 50}
    calls = kit.ctl("GET", "/calls", appid=account["appid"], path="/cgi-bin/token")["calls"]
    assert len(calls) == 50


def test_a_post_only_endpoint_refuses_get(kit: Kit) -> None:
    token = kit.token(kit.account())
    assert errcode(kit.get("/cgi-bin/tags/create", token)) == 43002


def test_non_ascii_escaped_as_backslash_u_is_refused(kit: Kit) -> None:
    token = kit.token(kit.account())
    raw = b'{"tag": {"name": "\\u5e7f\\u5dde"}}'
    resp = kit.http.post(f"{kit.base}/cgi-bin/tags/create", params={"access_token": token},
                         data=raw)
    assert resp.json()["errcode"] == 40033
    assert kit.get("/cgi-bin/tags/get", token)["tags"] == [{"id": 2, "name": "星标组", "count": 0}]
