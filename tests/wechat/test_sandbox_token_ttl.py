"""The `token_ttl` setting shortens every kind of token, for the token benchmarks."""

from __future__ import annotations

from tests.wechat.sandbox_kit import Kit, errcode


def _user_get(kit: Kit, token: str) -> int:
    return errcode(kit.get("/cgi-bin/user/get", token))


def test_token_ttl_defaults_to_7200_and_resets_with_the_sandbox(kit: Kit) -> None:
    assert kit.ctl("GET", "/settings")["token_ttl"] == 7200
    kit.ctl("POST", "/settings", {"token_ttl": 10})
    kit.sb.reset()
    assert kit.ctl("GET", "/settings")["token_ttl"] == 7200


def test_a_short_ttl_applies_to_classic_and_stable_tokens(kit: Kit) -> None:
    kit.freeze()
    kit.ctl("POST", "/settings", {"token_ttl": 10})
    account = kit.account()
    classic = kit.get("/cgi-bin/token", grant_type="client_credential",
                      appid=account["appid"], secret=account["secret"])
    stable = kit.post("/cgi-bin/stable_token", None, {
        "grant_type": "client_credential", "appid": account["appid"],
        "secret": account["secret"]})
    assert classic["expires_in"] == stable["expires_in"] == 10
    kit.advance(9)
    assert _user_get(kit, classic["access_token"]) == 0
    assert _user_get(kit, stable["access_token"]) == 0
    kit.advance(1)
    assert _user_get(kit, classic["access_token"]) == 42001
    assert _user_get(kit, stable["access_token"]) == 42001


def test_stable_token_is_renewed_only_in_the_second_half_of_a_short_life(kit: Kit) -> None:
    kit.freeze()
    kit.ctl("POST", "/settings", {"token_ttl": 10})
    account = kit.account()
    body = {"grant_type": "client_credential", "appid": account["appid"],
            "secret": account["secret"]}
    first = kit.post("/cgi-bin/stable_token", None, body)["access_token"]
    kit.advance(4)
    assert kit.post("/cgi-bin/stable_token", None, body)["access_token"] == first
    kit.advance(2)
    assert kit.post("/cgi-bin/stable_token", None, body)["access_token"] != first
    assert kit.ctl("GET", "/counters")["stable_token_issued"][account["appid"]] == 2


def test_a_short_ttl_applies_to_component_and_authorizer_tokens(kit: Kit) -> None:
    kit.freeze()
    kit.ctl("POST", "/settings", {"token_ttl": 10})
    platform = kit.ctl("POST", "/components", {})
    account = kit.account()
    cid = platform["component_appid"]
    ticket = kit.ctl("POST", f"/components/{cid}/ticket")["ticket"]
    component = kit.post("/cgi-bin/component/api_component_token", None, {
        "component_appid": cid, "component_appsecret": platform["component_appsecret"],
        "component_verify_ticket": ticket})
    assert component["expires_in"] == 10
    ctoken = component["component_access_token"]
    pre = kit.post("/cgi-bin/component/api_create_preauthcode", None,
                   {"component_appid": cid}, component_access_token=ctoken)["pre_auth_code"]
    code = kit.ctl("POST", f"/components/{cid}/authorize",
                   {"pre_auth_code": pre, "appid": account["appid"], "func_ids": [1, 2]})
    info = kit.post("/cgi-bin/component/api_query_auth", None,
                    {"component_appid": cid, "authorization_code": code["auth_code"]},
                    component_access_token=ctoken)["authorization_info"]
    assert info["expires_in"] == 10
    renewed = kit.post("/cgi-bin/component/api_authorizer_token", None, {
        "component_appid": cid, "authorizer_appid": account["appid"],
        "authorizer_refresh_token": info["authorizer_refresh_token"]},
        component_access_token=ctoken)
    assert renewed["expires_in"] == 10
    kit.advance(10)
    assert _user_get(kit, renewed["authorizer_access_token"]) == 42001
