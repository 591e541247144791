"""Menu buttons as the follower presses them: the event each pushes (§2.2) and the kf
window it opens (§4), checked through the client's kf send."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wechat.sandbox_helpers import client_for, control, follow, make_account
from wechat import errors
from wechat.messages import UnknownEvent, parse_message
from wechat.sandbox.server import SandboxServer
from wechat.sandbox.web import ControlError
from wechat.xmlutil import to_xml

MENU = [
    {"type": "click", "name": "最新", "key": "MENU_LATEST"},
    {"name": "扫码", "sub_button": [
        {"type": "scancode_push", "name": "扫码推事件", "key": "SCAN_PUSH"},
        {"type": "scancode_waitmsg", "name": "扫码带提示", "key": "SCAN_WAIT"},
        {"type": "pic_sysphoto", "name": "拍照", "key": "PHOTO"},
        {"type": "location_select", "name": "发送位置", "key": "WHERE"},
    ]},
    {"type": "view", "name": "官网", "url": "https://example.com/"},
]


@pytest.fixture
def wired(sandbox: SandboxServer, callback_receiver: Any, portal_for: Any) -> dict[str, Any]:
    """An account with the menu above, a portal decoding its pushes, and a follower whose
    follow window has closed (so only the press under test can open one)."""
    account = make_account(sandbox, callback_url=callback_receiver.url)
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    wx, _ = client_for(sandbox, account)
    wx.menu_create(MENU)
    sandbox.clock.freeze()
    openid = follow(sandbox, account["appid"])
    sandbox.clock.advance(61)
    return {"appid": account["appid"], "wx": wx, "openid": openid, "portal": portal,
            "sandbox": sandbox}


def _press(w: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return control(w["sandbox"], "POST",
                   f"/accounts/{w['appid']}/followers/{w['openid']}/click", spec)


def _sends(w: dict[str, Any], n: int) -> list[str]:
    """What n kf sends get: "ok", or the name of the error the client raises."""
    outcomes = []
    for i in range(n):
        try:
            w["wx"].custom_send_text(w["openid"], f"reply {i}")
            outcomes.append("ok")
        except errors.WeChatError as exc:
            outcomes.append(type(exc).__name__)
    return outcomes


@pytest.mark.parametrize(("key", "event"), [("SCAN_PUSH", "scancode_push"),
                                            ("SCAN_WAIT", "scancode_waitmsg")])
def test_a_scan_button_pushes_its_scancode_event_with_the_scan_result(
    wired: dict[str, Any], key: str, event: str
) -> None:
    assert _sends(wired, 1) == ["OutsideWindow"]
    pressed = _press(wired, key=key, scan_result="6901234567892")
    assert pressed["push"]["status"] == 200 and pressed["push"]["error"] is None
    pushed = wired["portal"].messages[-1]
    assert (pushed["Event"], pushed["EventKey"]) == (event, key)
    assert pushed["ScanCodeInfo"] == {"ScanType": "qrcode", "ScanResult": "6901234567892"}
    # The product's own reader keeps the payload of an event it has no type for.
    parsed = parse_message(to_xml(pushed))
    assert isinstance(parsed, UnknownEvent) and parsed.event == event
    assert parsed.raw["ScanCodeInfo"]["ScanResult"] == "6901234567892"


@pytest.mark.parametrize("key", ["SCAN_PUSH", "SCAN_WAIT", "MENU_LATEST"])
def test_a_scan_or_click_button_opens_three_sends_for_a_minute(
    wired: dict[str, Any], key: str
) -> None:
    _press(wired, key=key)
    assert _sends(wired, 4) == ["ok", "ok", "ok", "SendLimitReached"]
    _press(wired, key=key)
    wired["sandbox"].clock.advance(60)
    assert _sends(wired, 1) == ["OutsideWindow"]


def test_photo_location_and_view_buttons_push_their_events_but_open_no_window(
    wired: dict[str, Any],
) -> None:
    _press(wired, key="PHOTO", pictures=2)
    _press(wired, key="WHERE", latitude=31.23, longitude=121.47, label="人民广场")
    _press(wired, url="https://example.com/")
    photo, where, view = wired["portal"].messages[-3:]
    assert (photo["Event"], photo["EventKey"], photo["SendPicsInfo"]["Count"]) == (
        "pic_sysphoto", "PHOTO", "2")
    assert len(photo["SendPicsInfo"]["PicList"]) == 2
    assert where["Event"] == "location_select"
    assert where["SendLocationInfo"]["Label"] == "人民广场"
    assert (view["Event"], view["EventKey"]) == ("VIEW", "https://example.com/")
    assert _sends(wired, 1) == ["OutsideWindow"]


def test_a_key_the_menu_does_not_hold_is_a_plain_click(wired: dict[str, Any]) -> None:
    _press(wired, key="NOT_IN_THE_MENU")
    assert wired["portal"].messages[-1]["Event"] == "CLICK"
    assert _sends(wired, 1) == ["ok"]


def test_a_button_type_can_be_named_without_a_menu(sandbox: SandboxServer,
                                                   callback_receiver: Any,
                                                   portal_for: Any) -> None:
    account = make_account(sandbox, callback_url=callback_receiver.url)
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    openid = follow(sandbox, account["appid"])
    control(sandbox, "POST", f"/accounts/{account['appid']}/followers/{openid}/click",
            {"type": "scancode_waitmsg", "key": "ANY", "scan_result": "ORDER-42"})
    assert portal.messages[-1]["Event"] == "scancode_waitmsg"
    assert portal.messages[-1]["ScanCodeInfo"]["ScanResult"] == "ORDER-42"


def test_an_unknown_button_type_is_refused_and_pushes_nothing(
    wired: dict[str, Any], callback_receiver: Any
) -> None:
    before = len(callback_receiver.requests)
    with pytest.raises(ControlError, match="type must be one of") as refused:
        wired["sandbox"].control(
            "POST", f"/accounts/{wired['appid']}/followers/{wired['openid']}/click",
            {"type": "teleport", "key": "X"})
    assert refused.value.status == 400
    assert len(callback_receiver.requests) == before
    assert _sends(wired, 1) == ["OutsideWindow"]
