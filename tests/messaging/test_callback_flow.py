"""End to end: the sandbox pushes real signed callbacks to the portal's live server."""

import pytest

from followers.models import Follower, FollowEvent
from messaging.models import AutoReply, Conversation, Inbound, Message
from tests.factories import make_brand
from tests.messaging.callback_support import connected_account, follow, say

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(sandbox, settings, tmp_path):
    """The sandbox as the platform: API calls go to it, media lands in a temp dir."""
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MEDIA_ROOT = str(tmp_path)
    return sandbox


def _ok(push):
    assert push["status"] == 200 and push["error"] is None, push
    assert push["attempts"] == 1, push


@pytest.mark.parametrize(
    ("mode", "data_format"),
    [("safe", "xml"), ("compatible", "xml"), ("plain", "xml"), ("safe", "json")],
)
def test_a_follow_then_a_message_is_stored(platform, live_server, mode, data_format):
    brand = make_brand()
    account = connected_account(platform, live_server, brand=brand, mode=mode,
                                data_format=data_format)
    AutoReply.objects.create(brand=brand, kind="welcome", body="Welcome to the brand!")

    followed = follow(platform, account, scene="spring")
    _ok(followed["push"])
    # The welcome went back as a passive reply (encrypted in safe mode) and reached the chat.
    assert followed["push"]["reply"]["Content"] == "Welcome to the brand!"
    openid = followed["openid"]

    said = say(platform, account, openid, "Do you open on Sunday?")
    _ok(said["push"])
    assert said["push"]["body"] == "success"

    follower = Follower.objects.get(account=account, openid=openid)
    assert follower.subscribed and follower.qr_scene == "spring"
    # The profile was fetched after commit (tasks run eagerly in tests).
    assert follower.unionid == followed["unionid"] and follower.profile_fetched_at
    assert follower.customer.unionid == followed["unionid"]
    event = FollowEvent.objects.get(follower=follower)
    assert (event.kind, event.scene) == ("follow", "spring")

    message = Message.objects.get(account=account, wechat_msg_id=str(said["msg_id"]))
    assert message.content == "Do you open on Sunday?" and message.direction == "in"
    conversation = message.conversation
    assert conversation.status == "open" and conversation.waiting_since is not None
    assert conversation.customer_id == follower.customer_id
    assert follower.window_opened_at is not None and follower.window_sends == 0
    assert Inbound.objects.filter(account=account, processed_at__isnull=False).count() == 2
    account.refresh_from_db()
    assert account.last_callback_at is not None


def test_media_is_downloaded_once_and_stored(platform, live_server):
    account = connected_account(platform, live_server, brand=make_brand())
    openid = follow(platform, account)["openid"]
    sent = say(platform, account, openid, type="image")
    _ok(sent["push"])
    message = Message.objects.get(account=account, wechat_msg_id=str(sent["msg_id"]))
    assert message.msg_type == "image" and message.media.name.endswith(".png")
    assert message.media.read().startswith(b"\x89PNG")
    calls = platform.control("GET", "/calls", query={"path": "/cgi-bin/media/get"})["calls"]
    assert len(calls) == 1


def test_a_video_is_fetched_from_the_url_the_platform_answers_and_stored(platform,
                                                                         live_server):
    account = connected_account(platform, live_server, brand=make_brand())
    openid = follow(platform, account)["openid"]
    sent = say(platform, account, openid, type="video")
    _ok(sent["push"])
    message = Message.objects.get(account=account, wechat_msg_id=str(sent["msg_id"]))
    assert message.msg_type == "video" and message.media.name.endswith(".mp4")
    assert message.media.read()[4:8] == b"ftyp"
    assert message.payload["video_url"].startswith(platform.base_url)


def test_a_keyword_auto_reply_answers_passively(platform, live_server):
    brand = make_brand()
    account = connected_account(platform, live_server, brand=brand)
    AutoReply.objects.create(brand=brand, kind="keyword", trigger="hours",
                             body="We open 9 to 21.")
    openid = follow(platform, account)["openid"]
    said = say(platform, account, openid, "What are your HOURS please")
    assert said["push"]["reply"]["Content"] == "We open 9 to 21."
    inbox = platform.control("GET", f"/accounts/{account.appid}/followers/{openid}/inbox")
    assert any(m.get("text", {}).get("content") == "We open 9 to 21." or
               m.get("content") == "We open 9 to 21." for m in inbox["messages"])
    auto = Message.objects.get(direction="out")
    assert auto.sender_display == "Auto-reply" and auto.status == "sent"


def test_an_unfollow_resolves_the_open_conversation_with_a_note(platform, live_server):
    account = connected_account(platform, live_server, brand=make_brand())
    openid = follow(platform, account)["openid"]
    say(platform, account, openid, "hello")
    gone = platform.control("POST", f"/accounts/{account.appid}/followers/{openid}/unfollow")
    _ok(gone["push"])
    follower = Follower.objects.get(openid=openid)
    assert not follower.subscribed and follower.unsubscribed_at
    assert follower.window_opened_at is None
    conversation = Conversation.objects.get(follower=follower)
    assert conversation.status == "resolved" and conversation.waiting_since is None
    note = conversation.messages.get(direction="system")
    assert note.content == "The follower unfollowed"
