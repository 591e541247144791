"""Third-party platform: tickets, component token, authorisation pushes, authorizer tokens."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_kit import Kit, errcode
from wechat import crypto
from wechat.xmlutil import parse_xml


@pytest.fixture
def platform(kit: Kit, callback_receiver: object) -> dict:
    return kit.ctl("POST", "/components", {"auth_event_url": callback_receiver.url})


def _decrypt_push(platform: dict, rec: object) -> dict:
    q = rec.query  # type: ignore[attr-defined]
    body = parse_xml(rec.body)  # type: ignore[attr-defined]
    assert set(body) == {"AppId", "Encrypt"} and q["encrypt_type"] == "aes"
    crypto.check_url_signature(platform["token"], q["timestamp"], q["nonce"], q["signature"])
    mc = crypto.MessageCrypto(platform["token"], platform["encoding_aes_key"],
                              platform["component_appid"])
    return parse_xml(mc.verify_and_decrypt(msg_signature=q["msg_signature"],
                                           timestamp=q["timestamp"], nonce=q["nonce"],
                                           encrypt=body["Encrypt"]))


def _component_token(kit: Kit, platform: dict, ticket: str) -> dict:
    return kit.post("/cgi-bin/component/api_component_token", None, {
        "component_appid": platform["component_appid"],
        "component_appsecret": platform["component_appsecret"],
        "component_verify_ticket": ticket})


def _authorized(kit: Kit, platform: dict, account: dict, func_ids: list[int]) -> tuple[str, dict]:
    cid = platform["component_appid"]
    ticket = kit.ctl("POST", f"/components/{cid}/ticket")["ticket"]
    ctoken = _component_token(kit, platform, ticket)["component_access_token"]
    pre = kit.post("/cgi-bin/component/api_create_preauthcode", None, {"component_appid": cid},
                   component_access_token=ctoken)["pre_auth_code"]
    code = kit.ctl("POST", f"/components/{cid}/authorize",
                   {"pre_auth_code": pre, "appid": account["appid"], "func_ids": func_ids})
    info = kit.post("/cgi-bin/component/api_query_auth", None,
                    {"component_appid": cid, "authorization_code": code["auth_code"]},
                    component_access_token=ctoken)["authorization_info"]
    return ctoken, info


def test_the_ticket_push_is_encrypted_with_the_platform_key(kit: Kit, platform: dict,
                                                           callback_receiver: object) -> None:
    answer = kit.ctl("POST", f"/components/{platform['component_appid']}/ticket")
    assert answer["push"]["status"] == 200
    message = _decrypt_push(platform, callback_receiver.requests[0])
    assert message["InfoType"] == "component_verify_ticket"
    assert message["ComponentVerifyTicket"] == answer["ticket"]


def test_the_component_token_needs_a_live_ticket(kit: Kit, platform: dict) -> None:
    kit.freeze()
    assert errcode(_component_token(kit, platform, "ticket@@@forged")) == 61006
    ticket = kit.ctl("POST", f"/components/{platform['component_appid']}/ticket")["ticket"]
    assert _component_token(kit, platform, ticket)["expires_in"] == 7200
    kit.advance(12 * 3600)
    assert errcode(_component_token(kit, platform, ticket)) == 61005


def test_authorisation_pushes_and_gives_working_authorizer_tokens(
        kit: Kit, platform: dict, callback_receiver: object) -> None:
    account = kit.account()
    openid = kit.follow(account["appid"])["openid"]
    _ctoken, info = _authorized(kit, platform, account, [1, 2])
    pushed = _decrypt_push(platform, callback_receiver.requests[-1])
    assert (pushed["InfoType"], pushed["AuthorizerAppid"]) == ("authorized", account["appid"])
    assert [f["funcscope_category"]["id"] for f in info["func_info"]] == [1, 2]
    token = info["authorizer_access_token"]
    assert kit.get("/cgi-bin/user/get", token)["data"]["openid"] == [openid]
    # Bundle 15 (menus) was not granted.
    assert errcode(kit.get("/cgi-bin/menu/get", token)) == 48001


def test_a_pre_auth_code_is_single_use(kit: Kit, platform: dict) -> None:
    cid = platform["component_appid"]
    ticket = kit.ctl("POST", f"/components/{cid}/ticket")["ticket"]
    ctoken = _component_token(kit, platform, ticket)["component_access_token"]
    pre = kit.post("/cgi-bin/component/api_create_preauthcode", None, {"component_appid": cid},
                   component_access_token=ctoken)["pre_auth_code"]
    account = kit.account()
    kit.ctl("POST", f"/components/{cid}/authorize", {"pre_auth_code": pre,
                                                    "appid": account["appid"]})
    kit.ctl("POST", f"/components/{cid}/authorize", {"pre_auth_code": pre,
                                                    "appid": account["appid"]}, status=400)


def test_refreshing_needs_the_current_refresh_token(kit: Kit, platform: dict) -> None:
    account = kit.account()
    ctoken, info = _authorized(kit, platform, account, [2])
    cid = platform["component_appid"]
    body = {"component_appid": cid, "authorizer_appid": account["appid"],
            "authorizer_refresh_token": info["authorizer_refresh_token"]}
    fresh = kit.post("/cgi-bin/component/api_authorizer_token", None, body,
                     component_access_token=ctoken)
    assert fresh["authorizer_refresh_token"] == info["authorizer_refresh_token"]
    wrong = kit.post("/cgi-bin/component/api_authorizer_token", None,
                     {**body, "authorizer_refresh_token": "refreshtoken@@@nope"},
                     component_access_token=ctoken)
    assert errcode(wrong) == 61023


def test_unauthorising_voids_the_authorizer_tokens(kit: Kit, platform: dict,
                                                   callback_receiver: object) -> None:
    account = kit.account()
    _ctoken, info = _authorized(kit, platform, account, [2])
    kit.ctl("POST", f"/components/{platform['component_appid']}/unauthorize",
            {"appid": account["appid"]})
    assert _decrypt_push(platform, callback_receiver.requests[-1])["InfoType"] == "unauthorized"
    assert errcode(kit.get("/cgi-bin/user/get", info["authorizer_access_token"])) == 40001


def test_user_messages_of_an_authorised_account_go_to_the_platform(
        kit: Kit, receiver_factory: object) -> None:
    events, messages = receiver_factory(), receiver_factory()  # type: ignore[operator]
    platform = kit.ctl("POST", "/components", {"auth_event_url": events.url,
                                               "message_url": messages.url + "/$APPID$"})
    account = kit.account(message_mode="plain", callback_url="http://127.0.0.1:9/unused")
    _authorized(kit, platform, account, [1])
    kit.follow(account["appid"], push=True)
    (rec,) = messages.requests
    assert rec.path.endswith("/" + account["appid"])
    assert _decrypt_push_to(platform, rec)["Event"] == "subscribe"


def _decrypt_push_to(platform: dict, rec: object) -> dict:
    q = rec.query  # type: ignore[attr-defined]
    body = parse_xml(rec.body)  # type: ignore[attr-defined]
    mc = crypto.MessageCrypto(platform["token"], platform["encoding_aes_key"],
                              platform["component_appid"])
    return parse_xml(mc.verify_and_decrypt(msg_signature=q["msg_signature"],
                                           timestamp=q["timestamp"], nonce=q["nonce"],
                                           encrypt=body["Encrypt"]))
