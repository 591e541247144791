"""Mass sends against the sandbox: by tag and by openids, dedupe by clientmsgid, quotas."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_helpers import (
    ClockSleeps,
    calls,
    client_for,
    control,
    fault,
    follow,
    inbox,
    make_account,
)
from wechat import errors
from wechat.sandbox.server import SandboxServer

TEXT = {"content": "春季促销开始啦 Spring sale"}


def test_mass_send_by_tag_reaches_only_the_tag_and_finishes(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    vip, regular = follow(sandbox, appid), follow(sandbox, appid)
    tag = wx.tag_create("VIP")
    wx.tag_add_users(tag["id"], [vip])

    sent = wx.mass_send_by_tag(tag["id"], "text", TEXT, clientmsgid="spring-vip")
    assert sent["msg_id"] and sent["already_sent"] is False
    assert sent["clientmsgid"] == "spring-vip"
    assert wx.mass_get_status(sent["msg_id"]) == "SENDING"

    control(sandbox, "POST", "/jobs/run", {"force": True})
    assert wx.mass_get_status(sent["msg_id"]) == "SEND_SUCCESS"
    assert [m["text"] for m in inbox(sandbox, appid, vip)] == [TEXT]
    assert inbox(sandbox, appid, regular) == []


def test_mass_send_to_all_and_by_openids(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    openids = [follow(sandbox, appid) for _ in range(3)]

    to_all = wx.mass_send_by_tag(None, "text", TEXT)
    listed = wx.mass_send_by_openids(openids[:2], "text", {"content": "only two"})
    assert to_all["msg_id"] != listed["msg_id"]
    control(sandbox, "POST", "/jobs/run", {"force": True})
    assert len(inbox(sandbox, appid, openids[0])) == 2
    assert len(inbox(sandbox, appid, openids[2])) == 1


def test_repeating_a_clientmsgid_is_already_sent_with_the_first_msg_id(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, sleep=sleeps)
    openids = [follow(sandbox, appid) for _ in range(2)]

    first = wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-7")
    # Within the minute the platform answers 45066: the client waits it out and asks again.
    again = wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-7")
    assert again == {
        "msg_id": first["msg_id"],
        "msg_data_id": None,
        "clientmsgid": "batch-7",
        "already_sent": True,
    }
    assert sleeps == [61.0]
    assert [c["errcode"] for c in calls(sandbox, "/cgi-bin/message/mass/send")] == [
        0, 45066, 45065]
    assert len(control(sandbox, "GET", "/jobs")["mass"]) == 1


def test_a_clientmsgid_still_too_soon_after_the_wait_is_raised_for_the_caller(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    control(sandbox, "POST", "/clock", {"freeze": True})
    wx, sleeps = client_for(sandbox, account)  # sleeps pass, the sandbox's clock does not
    openids = [follow(sandbox, appid) for _ in range(2)]
    wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-8")
    with pytest.raises(errors.ClientMsgIdRetryTooSoon):
        wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-8")
    assert sleeps == [61.0]  # one wait, then the caller decides: no loop
    assert len(control(sandbox, "GET", "/jobs")["mass"]) == 1


def test_a_mass_send_whose_answer_was_lost_is_retried_without_sending_twice(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, sleep=sleeps)
    openids = [follow(sandbox, appid) for _ in range(2)]
    wx.access_token()
    # The platform accepted the send and the connection died before its answer.
    fault(sandbox, kind="drop_after", path="/cgi-bin/message/mass/send", count=1)
    sent = wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="lost-answer")
    (job,) = control(sandbox, "GET", "/jobs")["mass"]
    assert (sent["msg_id"], sent["already_sent"]) == (job["msg_id"], True)
    assert len(calls(sandbox, "/cgi-bin/message/mass/send")) == 3


def test_a_gateway_error_before_the_work_is_retried_and_sent_once(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, sleeps = client_for(sandbox, account)
    openids = [follow(sandbox, appid) for _ in range(2)]
    wx.access_token()
    # The sandbox's 500 answers instead of doing the work: the retry does it.
    fault(sandbox, kind="http_500", path="/cgi-bin/message/mass/send", count=1)
    sent = wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="gateway")
    assert sent["already_sent"] is False and len(sleeps) == 1
    assert len(calls(sandbox, "/cgi-bin/message/mass/send")) == 2
    assert len(control(sandbox, "GET", "/jobs")["mass"]) == 1


def test_quota_and_permission_errors(sandbox: SandboxServer) -> None:
    subscription = make_account(sandbox, kind="subscription")
    wx, _ = client_for(sandbox, subscription)
    follow(sandbox, subscription["appid"])
    wx.mass_send_by_tag(None, "text", TEXT)
    with pytest.raises(errors.QuotaExhausted, match="no broadcast quota"):
        wx.mass_send_by_tag(None, "text", {"content": "second today"})

    unverified = make_account(sandbox, verified=False)
    wx2, _ = client_for(sandbox, unverified)
    with pytest.raises(errors.ApiUnauthorized):
        wx2.mass_send_by_tag(None, "text", TEXT)


def test_preview_uploadnews_and_delete(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    openid = follow(sandbox, appid)
    openids = [openid, follow(sandbox, appid)]
    thumb = wx.media_upload("thumb", "t.jpg", b"\xff\xd8\xff" + bytes(32))["thumb_media_id"]
    news = wx.media_upload_news(
        [
            {"title": "第一篇", "thumb_media_id": thumb, "content": "<p>一</p>"},
            {"title": "Second", "thumb_media_id": thumb, "content": "<p>two</p>"},
        ]
    )
    assert news["type"] == "news"

    preview = wx.mass_preview("mpnews", {"media_id": news["media_id"]}, openid=openid)
    assert preview["msg_id"]
    assert inbox(sandbox, appid, openid)[-1]["preview"] is True

    sent = wx.mass_send_by_openids(openids, "mpnews", {"media_id": news["media_id"]})
    assert sent["msg_data_id"] is not None
    wx.mass_delete(sent["msg_id"])
    assert wx.mass_get_status(sent["msg_id"]) == "DELETE"
