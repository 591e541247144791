"""The customer-service window: 5 sends in 48 h after a message, 3 in 1 min after an event;
two open windows allow the larger quota, not the sum (wechat.windows)."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_kit import Kit, errcode


@pytest.fixture
def setup(kit: Kit) -> tuple[Kit, dict, str, str]:
    account = kit.account()
    kit.freeze()
    follower = kit.follow(account["appid"])
    kit.advance(61)  # let the follow's own 1-minute window close
    return kit, account, kit.token(account), follower["openid"]


def _send(kit: Kit, token: str, openid: str, text: str = "hello") -> int:
    return errcode(kit.post("/cgi-bin/message/custom/send", token,
                            {"touser": openid, "msgtype": "text", "text": {"content": text}}))


def test_without_any_user_action_sending_is_outside_the_window(setup: tuple) -> None:
    kit, account, token, openid = setup
    assert _send(kit, token, openid) == 45015
    assert kit.inbox(account["appid"], openid) == []


def test_a_message_allows_five_sends_then_45047(setup: tuple) -> None:
    kit, account, token, openid = setup
    kit.say(account["appid"], openid)
    assert [_send(kit, token, openid, f"m{i}") for i in range(5)] == [0] * 5
    assert _send(kit, token, openid) == 45047
    inbox = kit.inbox(account["appid"], openid)
    assert [m["text"]["content"] for m in inbox] == ["m0", "m1", "m2", "m3", "m4"]
    assert {m["via"] for m in inbox} == {"custom"}


def test_a_new_message_renews_the_count(setup: tuple) -> None:
    kit, account, token, openid = setup
    kit.say(account["appid"], openid)
    for _ in range(5):
        _send(kit, token, openid)
    kit.say(account["appid"], openid)
    assert _send(kit, token, openid) == 0


def test_the_window_closes_after_48_hours(setup: tuple) -> None:
    kit, account, token, openid = setup
    kit.say(account["appid"], openid)
    kit.advance(48 * 3600 - 1)
    token = kit.token(account)
    assert _send(kit, token, openid) == 0
    kit.advance(2)
    assert _send(kit, token, openid) == 45015


def test_a_follow_allows_three_sends_within_one_minute(kit: Kit) -> None:
    account = kit.account()
    kit.freeze()
    token = kit.token(account)
    openid = kit.follow(account["appid"])["openid"]
    assert [_send(kit, token, openid) for _ in range(3)] == [0, 0, 0]
    assert _send(kit, token, openid) == 45047
    kit.advance(60)
    assert _send(kit, token, openid) == 45015


def test_a_click_opens_three_sends_but_a_view_opens_none(setup: tuple) -> None:
    kit, account, token, openid = setup
    appid = account["appid"]
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/click",
            {"url": "https://example.com", "push": False})
    assert _send(kit, token, openid) == 45015
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/click", {"key": "K", "push": False})
    assert [_send(kit, token, openid) for _ in range(4)] == [0, 0, 0, 45047]


def test_two_open_windows_allow_the_larger_quota_not_the_sum(setup: tuple) -> None:
    kit, account, token, openid = setup
    appid = account["appid"]
    kit.say(appid, openid)
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/click", {"key": "K", "push": False})
    assert [_send(kit, token, openid) for _ in range(6)] == [0] * 5 + [45047]


def test_sends_inside_the_minute_also_count_against_the_48_hour_window(setup: tuple) -> None:
    kit, account, token, openid = setup
    appid = account["appid"]
    kit.say(appid, openid)
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/click", {"key": "K", "push": False})
    assert [_send(kit, token, openid) for _ in range(3)] == [0] * 3
    kit.advance(60)  # the click's minute is over; the message's 48 hours run on
    assert [_send(kit, token, openid) for _ in range(3)] == [0, 0, 45047]


def test_a_click_after_the_48_hour_quota_is_spent_opens_three_more(setup: tuple) -> None:
    kit, account, token, openid = setup
    appid = account["appid"]
    kit.say(appid, openid)
    assert [_send(kit, token, openid) for _ in range(6)] == [0] * 5 + [45047]
    kit.ctl("POST", f"/accounts/{appid}/followers/{openid}/click", {"key": "K", "push": False})
    assert [_send(kit, token, openid) for _ in range(4)] == [0, 0, 0, 45047]


def test_an_unfollowed_user_gets_43004(setup: tuple) -> None:
    kit, account, token, openid = setup
    kit.say(account["appid"], openid)
    kit.ctl("POST", f"/accounts/{account['appid']}/followers/{openid}/unfollow", {"push": False})
    assert _send(kit, token, openid) == 43004


def test_an_openid_of_another_account_gets_40003(setup: tuple) -> None:
    kit, account, token, openid = setup
    other = kit.account()
    stranger = kit.follow(other["appid"])["openid"]
    kit.say(other["appid"], stranger)
    assert _send(kit, token, stranger) == 40003
    assert kit.inbox(other["appid"], stranger) == []


def test_media_messages_need_a_live_media_id(setup: tuple) -> None:
    kit, account, token, openid = setup
    kit.say(account["appid"], openid)
    answer = kit.post("/cgi-bin/message/custom/send", token,
                      {"touser": openid, "msgtype": "image", "image": {"media_id": "nope"}})
    assert errcode(answer) == 40007
    bad_type = kit.post("/cgi-bin/message/custom/send", token,
                        {"touser": openid, "msgtype": "telegram", "telegram": {}})
    assert errcode(bad_type) == 40008
    # Refused sends spend nothing from the window.
    assert [_send(kit, token, openid) for _ in range(5)] == [0] * 5


def test_typing_needs_interaction_in_the_last_30_seconds(setup: tuple) -> None:
    kit, account, token, openid = setup

    def typing(command: str = "Typing") -> int:
        return errcode(kit.post("/cgi-bin/message/custom/typing", token,
                                {"touser": openid, "command": command}))

    assert typing() == 45080
    kit.say(account["appid"], openid)
    assert typing() == 0
    assert typing() == 45081
    assert typing("CancelTyping") == 0
    assert typing("Dancing") == 45072
    kit.advance(31)
    assert typing() == 45080
