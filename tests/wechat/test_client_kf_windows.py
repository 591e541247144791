"""Two kf windows open at once (§4 is silent on how they add up): through the client, the
sandbox allows the larger quota, not the sum, and reads that rule from ``wechat.windows``
(the setting the portal reads too)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wechat.sandbox_helpers import client_for, control, follow, make_account, user_says
from wechat import errors, windows
from wechat.sandbox.server import SandboxServer


@pytest.fixture
def both_open(sandbox: SandboxServer) -> tuple[Any, str]:
    """A follower who wrote (5 sends / 48 h) and then clicked (3 sends / 1 min)."""
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    sandbox.clock.freeze()
    openid = follow(sandbox, account["appid"])
    sandbox.clock.advance(61)  # the follow's own minute is over
    user_says(sandbox, account["appid"], openid)
    control(sandbox, "POST", f"/accounts/{account['appid']}/followers/{openid}/click",
            {"key": "MENU", "push": False})
    return wx, openid


def _sent_until_refused(wx: Any, openid: str) -> tuple[int, type]:
    for sent in range(20):
        try:
            wx.custom_send_text(openid, f"reply {sent}")
        except errors.WeChatError as exc:
            return sent, type(exc)
    raise AssertionError("the window never closed")


def test_a_message_and_a_click_allow_five_sends_not_eight(both_open: tuple[Any, str]) -> None:
    wx, openid = both_open
    assert _sent_until_refused(wx, openid) == (5, errors.SendLimitReached)


def test_the_sandbox_follows_the_shared_setting(both_open: tuple[Any, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox holds no rule of its own: flipping the one setting flips it.
    monkeypatch.setattr(windows, "OPEN_WINDOWS_ADD_UP", True)
    wx, openid = both_open
    assert _sent_until_refused(wx, openid) == (8, errors.SendLimitReached)


def test_the_rule_counts_the_larger_window_by_default() -> None:
    assert windows.OPEN_WINDOWS_ADD_UP is False
    assert windows.sends_left([3, 5]) == 5 and windows.sends_left([3, 0]) == 3
    assert windows.sends_left([0, 0]) == 0
    # A send falls in both windows, so it is charged to both.
    assert windows.windows_charged([3, 5]) == [0, 1]
    assert windows.windows_charged([0, 2]) == [1]
