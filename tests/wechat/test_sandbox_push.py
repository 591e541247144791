"""Callback pushes: signing and encryption per mode, passive replies, timeouts and retries."""

from __future__ import annotations

import json

import pytest

from tests.wechat.sandbox_kit import Kit
from wechat import crypto
from wechat.sandbox.push import USER_NOTICE
from wechat.xmlutil import parse_xml, to_xml


def _account(kit: Kit, receiver: object, **spec: object) -> dict:
    return kit.account(callback_url=receiver.url, **spec)  # type: ignore[attr-defined]


def _text(kit: Kit, account: dict, openid: str, content: str = "你好") -> dict:
    return kit.ctl("POST", f"/accounts/{account['appid']}/followers/{openid}/send",
                   {"type": "text", "content": content})


def test_plain_mode_pushes_signed_plain_xml(kit: Kit, callback_receiver: object,
                                           portal_for: type) -> None:
    account = _account(kit, callback_receiver, message_mode="plain")
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    openid = kit.follow(account["appid"])["openid"]
    push = _text(kit, account, openid)["push"]
    assert push["status"] == 200 and push["error"] is None and push["attempts"] == 1
    (req,) = callback_receiver.requests
    assert set(req.query) == {"signature", "timestamp", "nonce", "openid"}
    assert req.query["openid"] == openid
    assert req.headers["content-type"] == "text/xml"
    assert portal.messages[0]["Content"] == "你好"
    assert portal.messages[0]["ToUserName"] == account["original_id"]


def test_safe_mode_body_holds_only_tousername_and_encrypt(kit: Kit, callback_receiver: object,
                                                         portal_for: type) -> None:
    account = _account(kit, callback_receiver, message_mode="safe")
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    openid = kit.follow(account["appid"])["openid"]
    _text(kit, account, openid)
    (req,) = callback_receiver.requests
    assert req.query["encrypt_type"] == "aes" and "msg_signature" in req.query
    assert set(parse_xml(req.body)) == {"ToUserName", "Encrypt"}
    assert portal.messages[0]["Content"] == "你好" and portal.rejected == []


def test_compatible_mode_carries_both_plaintext_and_encrypt(kit: Kit, callback_receiver: object,
                                                           portal_for: type) -> None:
    account = _account(kit, callback_receiver, message_mode="compatible")
    callback_receiver.configure(responder=portal_for(account))
    openid = kit.follow(account["appid"])["openid"]
    _text(kit, account, openid)
    body = parse_xml(callback_receiver.requests[0].body)
    assert body["Content"] == "你好" and body["Encrypt"]
    inner = crypto.MessageCrypto(account["token"], account["encoding_aes_key"],
                                 account["appid"]).decrypt(body["Encrypt"])
    assert parse_xml(inner)["Content"] == "你好"


def test_json_data_format_pushes_json(kit: Kit, callback_receiver: object,
                                      portal_for: type) -> None:
    account = _account(kit, callback_receiver, message_mode="safe", data_format="json")
    portal = portal_for(account, reply_text="收到")
    callback_receiver.configure(responder=portal)
    openid = kit.follow(account["appid"])["openid"]
    push = _text(kit, account, openid)["push"]
    req = callback_receiver.requests[0]
    assert set(req.json()) == {"ToUserName", "Encrypt"}
    assert portal.messages[0]["MsgType"] == "text"
    assert push["reply"]["Content"] == "收到"


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_a_passive_reply_lands_in_the_inbox(kit: Kit, callback_receiver: object,
                                            portal_for: type, mode: str) -> None:
    account = _account(kit, callback_receiver, message_mode=mode)
    callback_receiver.configure(responder=portal_for(account, reply_text="欢迎 ]]> <b>"))
    openid = kit.follow(account["appid"])["openid"]
    push = _text(kit, account, openid)["push"]
    assert push["reply"]["Content"] == "欢迎 ]]> <b>"
    (entry,) = kit.inbox(account["appid"], openid)
    assert entry["via"] == "passive" and entry["text"] == {"content": "欢迎 ]]> <b>"}


def test_a_follow_with_a_welcome_reply(kit: Kit, callback_receiver: object,
                                       portal_for: type) -> None:
    account = _account(kit, callback_receiver)
    portal = portal_for(account, reply_text="welcome")
    callback_receiver.configure(responder=portal)
    follower = kit.ctl("POST", f"/accounts/{account['appid']}/followers", {})
    assert portal.messages[0]["Event"] == "subscribe"
    assert follower["push"]["reply"]["Content"] == "welcome"


def test_an_invalid_reply_shows_the_user_the_service_error(kit: Kit,
                                                           callback_receiver: object) -> None:
    account = _account(kit, callback_receiver, message_mode="plain")
    callback_receiver.configure(body=json.dumps({"reply": "json on an xml account"}))
    openid = kit.follow(account["appid"])["openid"]
    push = _text(kit, account, openid)["push"]
    assert push["error"] == USER_NOTICE and push["attempts"] == 1
    assert kit.inbox(account["appid"], openid) == [
        {"via": "platform", "msgtype": "error", "content": USER_NOTICE,
         "at": kit.inbox(account["appid"], openid)[0]["at"]}]


def test_a_plaintext_reply_on_a_safe_account_is_invalid(kit: Kit,
                                                        callback_receiver: object) -> None:
    account = _account(kit, callback_receiver, message_mode="safe")
    openid = kit.follow(account["appid"])["openid"]
    reply = to_xml({"ToUserName": openid, "FromUserName": account["original_id"],
                    "CreateTime": 1, "MsgType": "text", "Content": "x"})
    callback_receiver.configure(body=reply)
    push = _text(kit, account, openid)["push"]
    assert push["error"] == USER_NOTICE and push["reply"] is None


def test_an_encrypted_reply_with_a_bad_signature_is_invalid(kit: Kit,
                                                            callback_receiver: object) -> None:
    account = _account(kit, callback_receiver, message_mode="safe")
    openid = kit.follow(account["appid"])["openid"]
    mc = crypto.MessageCrypto(account["token"], account["encoding_aes_key"], account["appid"])
    reply = to_xml({"ToUserName": openid, "FromUserName": account["original_id"],
                    "CreateTime": 1, "MsgType": "text", "Content": "x"})
    envelope = mc.encrypt_envelope(reply, timestamp="1", nonce="2")
    envelope["MsgSignature"] = "0" * 40
    callback_receiver.configure(body=to_xml(envelope))
    assert _text(kit, account, openid)["push"]["error"] == USER_NOTICE


def test_a_slow_receiver_gets_the_same_push_three_times(kit: Kit,
                                                         callback_receiver: object) -> None:
    kit.ctl("POST", "/settings", {"push_timeout": 0.2})
    account = _account(kit, callback_receiver, message_mode="safe")
    callback_receiver.configure(delay=0.5)
    openid = kit.follow(account["appid"])["openid"]
    answer = _text(kit, account, openid)
    push = answer["push"]
    assert push["attempts"] == 3 and push["status"] is None
    assert push["error"].startswith("timeout")
    assert push["user_notice"] == USER_NOTICE
    requests = callback_receiver.wait_for(3)
    assert len({r.body for r in requests}) == 1
    assert len({tuple(sorted(r.query.items())) for r in requests}) == 1


def test_a_receiver_failing_twice_gets_it_on_the_third_try(kit: Kit, callback_receiver: object,
                                                          portal_for: type) -> None:
    account = _account(kit, callback_receiver)
    portal = portal_for(account)
    callback_receiver.configure(fail_first=2, responder=portal)
    openid = kit.follow(account["appid"])["openid"]
    push = _text(kit, account, openid)["push"]
    assert (push["attempts"], push["status"], push["error"]) == (3, 200, None)
    assert len(portal.messages) == 1
    assert kit.inbox(account["appid"], openid) == []


def test_an_unreachable_url_is_given_up_after_three_attempts(kit: Kit) -> None:
    account = kit.account(callback_url="http://127.0.0.1:9/nothing-listens-here")
    openid = kit.follow(account["appid"])["openid"]
    push = _text(kit, account, openid)["push"]
    assert push["attempts"] == 3 and push["error"].startswith("connection failed")
    assert kit.ctl("GET", "/counters")["push_failures"] == 1


def test_a_push_can_be_answered_by_calling_the_kf_api(kit: Kit, callback_receiver: object,
                                                      portal_for: type) -> None:
    """The receiver may call back into the sandbox while it handles the push."""
    account = _account(kit, callback_receiver)
    token = kit.token(account)
    portal = portal_for(account)

    def answer_async(rec: object) -> tuple[int, str]:
        portal(rec)
        msg = portal.messages[-1]
        kit.post("/cgi-bin/message/custom/send", token,
                 {"touser": msg["FromUserName"], "msgtype": "text", "text": {"content": "kf"}})
        return 200, "success"

    callback_receiver.configure(responder=answer_async)
    openid = kit.follow(account["appid"])["openid"]
    _text(kit, account, openid)
    assert [m["via"] for m in kit.inbox(account["appid"], openid)] == ["custom"]


def test_events_carry_their_fields(kit: Kit, callback_receiver: object,
                                   portal_for: type) -> None:
    account = _account(kit, callback_receiver, message_mode="plain")
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    appid = account["appid"]
    openid = kit.follow(appid)["openid"]
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/click", {"key": "MENU_1"})
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/location",
            {"latitude": 23.1, "longitude": 113.3, "precision": 50.0})
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/send",
            {"type": "voice", "recognition": "你好"})
    click, location, voice = portal.messages
    assert (click["Event"], click["EventKey"]) == ("CLICK", "MENU_1")
    assert (location["Event"], location["Latitude"]) == ("LOCATION", "23.1")
    assert voice["Recognition"] == "你好" and voice["MediaId"] and voice["MsgId"]
