"""Events and auto-replies, applied by ingestion."""

import time
from datetime import UTC, datetime
from unittest import mock

import pytest

from followers.models import Follower, FollowEvent
from messaging import auto_replies
from messaging.models import AutoReply, Conversation, Inbound, Message
from tests.factories import make_account, make_brand
from tests.messaging.ingest_support import deliver, event, text


@pytest.fixture
def account(db):
    return make_account(brand=make_brand(), app_secret="")


def test_subscribe_with_a_qr_scene_records_the_follow_and_welcomes(account):
    AutoReply.objects.create(brand=account.brand, kind="welcome", body="Hello from the brand")
    result = deliver(account, event(account, "subscribe", EventKey="qrscene_autumn",
                                    Ticket="gQH47joAAAAAAAAAASxodHRw"))
    assert result.reply_text == "Hello from the brand"
    follower = Follower.objects.get()
    assert follower.subscribed and follower.qr_scene == "autumn"
    assert follower.subscribe_scene == "ADD_SCENE_QR_CODE"
    assert follower.short_window_opened_at is not None and follower.window_opened_at is None
    follow = FollowEvent.objects.get()
    assert (follow.kind, follow.scene, follow.ticket) == (
        "follow", "autumn", "gQH47joAAAAAAAAAASxodHRw")


def test_a_refollow_after_an_unfollow_marks_the_follower_again(account):
    deliver(account, event(account, "subscribe", at=int(time.time()) - 20))
    deliver(account, event(account, "unsubscribe", at=int(time.time()) - 10))
    assert not Follower.objects.get().subscribed
    deliver(account, event(account, "subscribe"))
    assert Follower.objects.get().subscribed
    assert list(FollowEvent.objects.order_by("at").values_list("kind", flat=True)) == [
        "follow", "unfollow", "follow"]


def test_unsubscribe_resolves_the_open_conversation_with_a_note(account):
    deliver(account, text(account, "oA", "hello"))
    deliver(account, event(account, "unsubscribe", "oA"))
    conversation = Conversation.objects.get()
    assert conversation.status == "resolved" and conversation.resolved_at
    assert list(conversation.messages.values_list("direction", "content")) == [
        ("in", "hello"), ("system", "The follower unfollowed")]
    follower = Follower.objects.get()
    assert not follower.subscribed and follower.window_opened_at is None


def test_scan_records_a_scan_and_opens_the_short_window(account):
    deliver(account, event(account, "SCAN", EventKey="booth", Ticket="t1"))
    assert FollowEvent.objects.get().kind == "scan"
    assert Follower.objects.get().short_window_opened_at is not None


def test_location_is_kept_on_the_follower(account):
    deliver(account, event(account, "LOCATION", Latitude="31.2304", Longitude="121.4737",
                           Precision="65.0"))
    follower = Follower.objects.get()
    assert (follower.latitude, follower.longitude) == (31.2304, 121.4737)
    assert follower.location_at is not None


def test_a_click_opens_the_short_window_and_answers_its_auto_reply(account):
    AutoReply.objects.create(brand=account.brand, kind="click", trigger="MENU_HOURS",
                             body="Brand-wide hours")
    AutoReply.objects.create(brand=account.brand, account=account, kind="click",
                             trigger="MENU_HOURS", body="This hotel: 24 hours")
    result = deliver(account, event(account, "CLICK", EventKey="MENU_HOURS"))
    assert result.reply_text == "This hotel: 24 hours"  # the account's row wins
    assert Follower.objects.get().short_window_opened_at is not None
    assert deliver(account, event(account, "CLICK", EventKey="OTHER")).reply_text is None


def test_view_is_recorded_in_inbound_only(account):
    deliver(account, event(account, "VIEW", EventKey="https://example.com/menu"))
    assert Inbound.objects.get().event == "VIEW"
    assert Follower.objects.count() == 0 and FollowEvent.objects.count() == 0


@pytest.mark.parametrize("name", ["MASSSENDJOBFINISH", "TEMPLATESENDJOBFINISH"])
def test_job_finish_events_are_recorded_for_broadcasts(account, name):
    fields = event(account, name, "oAssistant", MsgID="1000001625", Status="send success",
                   TotalCount="100", SentCount="99")
    deliver(account, fields)
    row = Inbound.objects.get()
    assert row.event == name and row.payload["MsgID"] == "1000001625"
    assert Follower.objects.count() == 0


def test_two_mass_jobs_finishing_in_one_second_are_both_kept(account):
    now = int(time.time())
    for msg_id in ("1001", "1002"):
        deliver(account, event(account, "MASSSENDJOBFINISH", "oAssistant", at=now,
                               MsgID=msg_id))
    assert Inbound.objects.count() == 2


def test_keyword_exact_beats_contained_and_is_case_insensitive(account):
    AutoReply.objects.create(brand=account.brand, kind="keyword", trigger="price",
                             body="contained")
    AutoReply.objects.create(brand=account.brand, kind="keyword", trigger="PRICE LIST",
                             body="exact")
    assert deliver(account, text(account, content="price list")).reply_text == "exact"
    assert deliver(account, text(account, content="what PRICE?")).reply_text == "contained"
    assert deliver(account, text(account, content="hello")).reply_text is None
    assert Message.objects.filter(direction="out", sender_display="Auto-reply").count() == 2


def test_the_off_hours_reply_answers_once_per_wait(account):
    AutoReply.objects.create(brand=account.brand, kind="off_hours", body="We are closed.")
    with mock.patch.object(auto_replies, "is_off_hours", return_value=True):
        assert deliver(account, text(account)).reply_text == "We are closed."
        assert deliver(account, text(account)).reply_text is None  # still waiting
        Conversation.objects.update(waiting_since=None)  # an agent answered
        assert deliver(account, text(account)).reply_text == "We are closed."
    with mock.patch.object(auto_replies, "is_off_hours", return_value=False):
        Conversation.objects.update(waiting_since=None)
        assert deliver(account, text(account)).reply_text is None


def test_another_brands_auto_replies_never_answer(account):
    other = make_brand()
    AutoReply.objects.create(brand=other, kind="keyword", trigger="hi", body="not ours")
    assert deliver(account, text(account, content="hi")).reply_text is None


@pytest.mark.parametrize(
    ("utc", "zone", "off"),
    [
        (datetime(2026, 1, 5, 0, 59, tzinfo=UTC), "Asia/Shanghai", True),  # 08:59
        (datetime(2026, 1, 5, 1, 0, tzinfo=UTC), "Asia/Shanghai", False),  # 09:00
        (datetime(2026, 1, 5, 12, 59, tzinfo=UTC), "Asia/Shanghai", False),  # 20:59
        (datetime(2026, 1, 5, 13, 0, tzinfo=UTC), "Asia/Shanghai", True),  # 21:00
        (datetime(2026, 1, 5, 13, 0, tzinfo=UTC), "Europe/Paris", False),  # 14:00
    ],
)
def test_the_placeholder_business_hours_use_the_accounts_time_zone(account, utc, zone, off):
    account.timezone = zone
    assert auto_replies.is_off_hours(account=account, at=utc) is off
