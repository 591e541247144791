"""End to end: a follower presses a scan button of the account's menu; the sandbox pushes
scancode_waitmsg to the portal's live callback, which opens the short reply window, and an
agent's reply then goes out through the platform (no 45015)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.scope import scope_for_membership
from accounts.wechat_clients import client_for
from followers.models import Follower
from followers.window import window_state
from messaging import services
from messaging.errors import ReplyRefused
from messaging.models import Inbound, Message
from tests.factories import make_conversation
from tests.messaging.callback_support import CALLBACK, mirror
from wechat import errors

pytestmark = pytest.mark.django_db(transaction=True)

MENU = [{"name": "扫一扫", "sub_button": [
    {"type": "scancode_waitmsg", "name": "扫码查订单", "key": "SCAN_ORDER"},
    {"type": "click", "name": "联系我们", "key": "CONTACT"},
]}]


@pytest.fixture
def connected(sandbox: Any, live_server: Any, settings: Any, two_brands: dict) -> dict:
    """Brand A's flagship on the sandbox, pushing to the live portal, with the menu above
    and a follower whose follow (two minutes ago) left no window open on either side."""
    from django.core.cache import cache

    settings.WECHAT_API_BASE = sandbox.base_url
    cache.clear()
    account = two_brands["a1"]
    mirror(sandbox, account,
           url=live_server.url + CALLBACK.format(appid=account.appid))
    client_for(account).menu_create(MENU)
    sandbox.clock.advance(-120)
    followed = sandbox.control("POST", f"/accounts/{account.appid}/followers", {})
    sandbox.clock.advance(120)
    assert followed["push"]["status"] == 200, followed["push"]
    follower = Follower.objects.get(account=account, openid=followed["openid"])
    agent = two_brands["manager_a"]  # serves a1
    agent.teams.add(two_brands["team_a"])
    conversation = make_conversation(follower=follower, team=two_brands["team_a"])
    return {"account": account, "follower": follower, "conversation": conversation,
            "scope": scope_for_membership(agent), "agent": agent, "sandbox": sandbox}


def _reply(c: dict, text: str) -> Message:
    return services.message_reply(scope=c["scope"], conversation=c["conversation"], text=text,
                                  by=c["agent"])


def _inbox_texts(c: dict) -> list[str]:
    path = f"/accounts/{c['account'].appid}/followers/{c['follower'].openid}/inbox"
    return [m["text"]["content"] for m in c["sandbox"].control("GET", path)["messages"]
            if m["msgtype"] == "text"]


def test_a_scan_from_the_menu_opens_the_window_and_the_reply_is_delivered(
    connected: dict,
) -> None:
    c = connected
    account, follower = c["account"], c["follower"]
    # Before the scan both sides agree: no window.
    with pytest.raises(ReplyRefused):
        _reply(c, "too early")
    with pytest.raises(errors.OutsideWindow):
        client_for(account).custom_send_text(follower.openid, "too early")

    pressed = c["sandbox"].control(
        "POST", f"/accounts/{account.appid}/followers/{follower.openid}/click",
        {"key": "SCAN_ORDER", "scan_result": "ORDER-20240518-0042"})
    assert pressed["message"]["Event"] == "scancode_waitmsg"
    assert pressed["push"]["status"] == 200 and pressed["push"]["error"] is None

    inbound = Inbound.objects.get(account=account, event="scancode_waitmsg")
    assert inbound.processed_at is not None
    assert inbound.payload["ScanCodeInfo"]["ScanResult"] == "ORDER-20240518-0042"
    follower.refresh_from_db()
    state = window_state(follower=follower, now=follower.short_window_opened_at)
    assert (state.open, state.kind, state.sends_left) == (True, "short", 3)

    message = _reply(c, "Your order ships today.")
    message.refresh_from_db()
    assert message.status == Message.Status.SENT, message.error_reason
    assert message.errcode is None
    assert _inbox_texts(c) == ["Your order ships today."]
