"""QR codes: the four actions, scene ranges, expiry by the clock, and what scanning pushes."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_kit import Kit, errcode


def _create(kit: Kit, token: str, action: str, scene: dict, **extra: object) -> dict:
    return kit.post("/cgi-bin/qrcode/create", token,
                    {"action_name": action, "action_info": {"scene": scene}, **extra})


@pytest.mark.parametrize(("action", "scene", "expected"), [
    ("QR_SCENE", {"scene_id": 0}, 40053),
    ("QR_SCENE", {"scene_id": 2**32}, 40053),
    ("QR_SCENE", {"scene_id": 2**32 - 1}, 0),
    ("QR_LIMIT_SCENE", {"scene_id": 0}, 40053),
    ("QR_LIMIT_SCENE", {"scene_id": 100001}, 40053),
    ("QR_LIMIT_SCENE", {"scene_id": 100000}, 0),
    ("QR_STR_SCENE", {"scene_str": ""}, 40053),
    ("QR_STR_SCENE", {"scene_str": "x" * 65}, 40053),
    ("QR_LIMIT_STR_SCENE", {"scene_str": "x" * 64}, 0),
    ("QR_LIMIT_STR_SCENE", {"scene_id": 5}, 40053),
    ("QR_FOREVER", {"scene_id": 5}, 40052),
])
def test_scene_ranges(kit: Kit, action: str, scene: dict, expected: int) -> None:
    token = kit.token(kit.account())
    assert errcode(_create(kit, token, action, scene)) == expected


def test_temporary_codes_default_to_60_seconds_and_cap_at_30_days(kit: Kit) -> None:
    token = kit.token(kit.account())
    assert _create(kit, token, "QR_SCENE", {"scene_id": 1})["expire_seconds"] == 60
    capped = _create(kit, token, "QR_SCENE", {"scene_id": 1}, expire_seconds=9_999_999)
    assert capped["expire_seconds"] == 2_592_000
    permanent = _create(kit, token, "QR_LIMIT_SCENE", {"scene_id": 1})
    assert "expire_seconds" not in permanent and permanent["url"].startswith("http://weixin.qq.com/q/")


def test_a_permanent_scene_keeps_its_ticket(kit: Kit) -> None:
    token = kit.token(kit.account())
    first = _create(kit, token, "QR_LIMIT_STR_SCENE", {"scene_str": "shop-7"})
    again = _create(kit, token, "QR_LIMIT_STR_SCENE", {"scene_str": "shop-7"})
    assert first["ticket"] == again["ticket"]


def test_a_temporary_code_expires_by_the_sandbox_clock(kit: Kit) -> None:
    account = kit.account()
    kit.freeze()
    token = kit.token(account)
    code = _create(kit, token, "QR_STR_SCENE", {"scene_str": "promo"}, expire_seconds=120)
    image = kit.http.get(f"{kit.base}/cgi-bin/showqrcode", params={"ticket": code["ticket"]})
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert image.headers["X-Sandbox-Qr-Url"] == code["url"]
    kit.advance(120)
    gone = kit.http.get(f"{kit.base}/cgi-bin/showqrcode", params={"ticket": code["ticket"]})
    assert gone.status_code == 404
    appid = account["appid"]
    kit.ctl("POST", f"/accounts/{appid}/followers", {"ticket": code["ticket"]}, status=410)


def test_scanning_to_follow_pushes_qrscene_and_fills_user_info(kit: Kit, callback_receiver: object,
                                                               portal_for: type) -> None:
    account = kit.account(callback_url=callback_receiver.url)
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    token = kit.token(account)
    code = _create(kit, token, "QR_SCENE", {"scene_id": 42}, expire_seconds=600)
    openid = kit.ctl("POST", f"/accounts/{account['appid']}/followers",
                     {"ticket": code["ticket"]})["openid"]
    event = portal.messages[0]
    assert (event["Event"], event["EventKey"], event["Ticket"]) == (
        "subscribe", "qrscene_42", code["ticket"])
    info = kit.get("/cgi-bin/user/info", token, openid=openid)
    assert (info["subscribe_scene"], info["qr_scene"], info["qr_scene_str"]) == (
        "ADD_SCENE_QR_CODE", 42, "")


def test_a_follower_scanning_gets_scan_without_prefix(kit: Kit, callback_receiver: object,
                                                      portal_for: type) -> None:
    account = kit.account(callback_url=callback_receiver.url)
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    appid = account["appid"]
    openid = kit.follow(appid)["openid"]
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/scan", {"scene": "table-9"})
    event = portal.messages[-1]
    assert (event["Event"], event["EventKey"]) == ("SCAN", "table-9")
    assert event["Ticket"]
