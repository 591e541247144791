"""Sends against the sandbox: tokens, kf messages of every type, typing, templates, media."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_helpers import (
    calls,
    client_for,
    control,
    follow,
    inbox,
    make_account,
    user_says,
)
from wechat import errors
from wechat.sandbox.server import SandboxServer

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200015a1b7d5a0000000049454e44ae426082"
)


def test_tokens_from_both_endpoints_and_the_cache(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)

    classic = wx.fetch_access_token()
    assert classic["expires_in"] == 7200 and len(classic["access_token"]) > 32
    stable = wx.fetch_stable_token()
    assert wx.fetch_stable_token()["access_token"] == stable["access_token"]
    assert wx.fetch_stable_token(force_refresh=True)["access_token"] != stable["access_token"]

    # The client's own cache uses stable_token and fetches once for many calls.
    before = len(calls(sandbox, "/cgi-bin/stable_token"))
    token = wx.access_token()
    for _ in range(3):
        wx.tag_list()
    assert wx.access_token() == token
    assert len(calls(sandbox, "/cgi-bin/stable_token")) == before + 1


def test_classic_token_endpoint_can_back_the_cache(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account, token_endpoint="classic")
    wx.tag_list()
    wx.tag_list()
    assert len(calls(sandbox, "/cgi-bin/token")) == 1
    assert calls(sandbox, "/cgi-bin/stable_token") == []


def test_a_wrong_secret_is_a_configuration_error(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, {**account, "secret": "wrong"})
    with pytest.raises(errors.ConfigurationError) as caught:
        wx.tag_list()
    assert caught.value.errcode == 40125
    assert len(calls(sandbox, "/cgi-bin/stable_token")) == 1  # not retried


def test_every_kf_message_type_reaches_the_follower(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    openid = follow(sandbox, appid)
    image = wx.media_upload("image", "a.png", PNG, content_type="image/png")["media_id"]
    voice = wx.media_upload("voice", "a.amr", b"#!AMR\n" + bytes(64))["media_id"]
    video = wx.media_upload("video", "a.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(64))["media_id"]
    thumb = wx.media_upload("thumb", "t.jpg", b"\xff\xd8\xff" + bytes(64))["thumb_media_id"]
    news = wx.media_upload_news(
        [{"title": "新品", "thumb_media_id": thumb, "content": "<p>内容</p>"}]
    )["media_id"]

    sends = [
        lambda: wx.custom_send_text(openid, "你好，欢迎！ Welcome"),
        lambda: wx.custom_send_image(openid, image),
        lambda: wx.custom_send_voice(openid, voice),
        lambda: wx.custom_send_video(openid, video, thumb_media_id=thumb, title="视频"),
        lambda: wx.custom_send_music(
            openid,
            music_url="http://m.test/a.mp3",
            hq_music_url="http://m.test/a.flac",
            thumb_media_id=thumb,
            title="歌",
        ),
        lambda: wx.custom_send_news(openid, title="文章", url="https://x.test/a", picurl=""),
        lambda: wx.custom_send_mpnews(openid, news),
        lambda: wx.custom_send_mpnewsarticle(openid, "article-1"),
        lambda: wx.custom_send_msgmenu(
            openid, head_content="满意吗？", items=[("101", "满意"), ("102", "不满意")]
        ),
        lambda: wx.custom_send_miniprogrampage(
            openid, title="小程序", appid="wxmini", pagepath="pages/index", thumb_media_id=thumb
        ),
        lambda: wx.custom_send_wxcard(openid, "card-1"),
        lambda: wx.custom_send_text(openid, "by agent", kf_account="alice@gh_test"),
    ]
    for send in sends:
        user_says(sandbox, appid, openid)  # a fresh window for each send
        send()

    received = inbox(sandbox, appid, openid)
    assert [m["msgtype"] for m in received] == [
        "text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle",
        "msgmenu", "miniprogrampage", "wxcard", "text",
    ]  # fmt: skip
    assert received[0]["text"] == {"content": "你好，欢迎！ Welcome"}
    assert received[8]["msgmenu"]["list"] == [
        {"id": "101", "content": "满意"},
        {"id": "102", "content": "不满意"},
    ]
    assert received[-1]["kf_account"] == "alice@gh_test"


def test_the_window_rules_map_to_typed_errors(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, sleeps = client_for(sandbox, account)
    openid = follow(sandbox, appid)

    # A follow opens a one-minute window with three sends.
    for n in range(3):
        wx.custom_send_text(openid, f"welcome {n}")
    with pytest.raises(errors.SendLimitReached) as limit:
        wx.custom_send_text(openid, "one too many")
    assert "wait for the follower" in limit.value.reason

    sandbox.clock.advance(61)
    with pytest.raises(errors.OutsideWindow) as outside:
        wx.custom_send_text(openid, "too late")
    assert outside.value.errcode == 45015
    assert "48-hour window" in outside.value.reason

    user_says(sandbox, appid, openid)
    sandbox.clock.advance(48 * 3600 + 1)
    with pytest.raises(errors.OutsideWindow):
        wx.custom_send_text(openid, "two days later")
    assert sleeps == []  # business errors are never retried


def test_recipient_errors(sandbox: SandboxServer) -> None:
    account, other = make_account(sandbox), make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    gone = follow(sandbox, account["appid"])
    control(sandbox, "POST", f"/accounts/{account['appid']}/followers/{gone}/unfollow")
    with pytest.raises(errors.NotFollowing, match="unfollowed"):
        wx.custom_send_text(gone, "hi")
    with pytest.raises(errors.InvalidOpenid):
        wx.custom_send_text(follow(sandbox, other["appid"]), "hi")
    blocked = follow(sandbox, account["appid"])
    control(
        sandbox, "PATCH", f"/accounts/{account['appid']}/followers/{blocked}",
        {"refuses_messages": True},
    )  # fmt: skip
    with pytest.raises(errors.RecipientRefused):
        wx.custom_send_text(blocked, "hi")


def test_typing_indicator(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    openid = follow(sandbox, account["appid"])
    user_says(sandbox, account["appid"], openid)
    wx.custom_typing(openid)
    with pytest.raises(errors.TypingRefused) as already:
        wx.custom_typing(openid)
    assert already.value.errcode == 45081
    wx.custom_typing(openid, typing=False)
    sandbox.clock.advance(31)
    with pytest.raises(errors.TypingRefused) as stale:
        wx.custom_typing(openid)
    assert stale.value.errcode == 45080


def test_template_send(sandbox: SandboxServer) -> None:
    account = make_account(sandbox, template_ids=["TPL_ORDER"])
    wx, _ = client_for(sandbox, account)
    openid = follow(sandbox, account["appid"])
    msgid = wx.template_send(
        openid,
        "TPL_ORDER",
        {"first": "您的订单已发货", "remark": {"value": "谢谢", "color": "#173177"}},
        url="https://shop.test/o/1",
        client_msg_id="order-1-shipped",
    )
    assert msgid > 0
    (entry,) = inbox(sandbox, account["appid"], openid)
    assert entry["via"] == "template" and entry["msgid"] == msgid
    assert entry["data"]["first"] == {"value": "您的订单已发货"}
    with pytest.raises(errors.TemplateError):
        wx.template_send(openid, "TPL_UNKNOWN", {"first": "x"})


def test_media_round_trip(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    uploaded = wx.media_upload("image", "a.png", PNG, content_type="image/png")
    assert uploaded["type"] == "image"
    assert wx.media_get(uploaded["media_id"]) == PNG
    mp4 = b"\x00\x00\x00\x18ftypmp42" + bytes(8)
    video = wx.media_upload("video", "v.mp4", mp4)
    # A video comes back as a URL, and the file behind it is fetched without a token.
    url = wx.media_get(video["media_id"])["video_url"]  # type: ignore[index]
    assert wx.media_download(url) == mp4
    with pytest.raises(errors.DownloadRefused, match="larger than 8 bytes"):
        wx.media_download(url, max_bytes=8)
    with pytest.raises(errors.DownloadRefused, match="HTTP 404"):
        wx.media_download(url.replace(video["media_id"], "expired-or-unknown"))
    with pytest.raises(errors.DownloadRefused, match="not an http"):
        wx.media_download("file:///etc/passwd")
    with pytest.raises(errors.InvalidRequest):
        wx.media_get("no-such-media")
    assert wx.media_upload_image("in-article.jpg", b"\xff\xd8\xff" + bytes(16)).startswith("http")
