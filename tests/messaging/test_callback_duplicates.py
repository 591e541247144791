"""Retried and replayed deliveries store once; distinct events in one second stay apart."""

import threading
from unittest import mock

import pytest
import requests

from followers.models import FollowEvent
from messaging import views
from messaging.models import AutoReply, Inbound, Message
from tests.factories import make_brand
from tests.messaging.callback_support import (
    CALLBACK,
    connected_account,
    counts,
    follow,
    say,
    signed,
    text_message,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(sandbox, settings, tmp_path):
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MEDIA_ROOT = str(tmp_path)
    return sandbox


def test_a_retry_after_a_slow_first_answer_stores_once_and_replays_the_reply(platform,
                                                                           live_server):
    brand = make_brand()
    account = connected_account(platform, live_server, brand=brand)
    AutoReply.objects.create(brand=brand, kind="keyword", trigger="price", body="From 99.")
    openid = follow(platform, account)["openid"]
    platform.control("POST", "/settings", {"push_timeout": 0.5})
    real_ingest, calls = views.inbound_ingest, []
    released = threading.Event()

    def slow_first(**kwargs):
        result = real_ingest(**kwargs)
        calls.append(result)
        if len(calls) == 1:
            released.wait(3)  # stored and committed, but the answer comes too late
        return result

    with mock.patch.object(views, "inbound_ingest", side_effect=slow_first):
        said = say(platform, account, openid, "price?")
        released.set()
    push = said["push"]
    assert push["attempts"] == 2 and push["status"] == 200, push
    # The platform never got the first answer: the retry is answered the same reply
    # (encrypted afresh), and the follower sees it once. No second row of any kind.
    assert push["reply"]["Content"] == "From 99."
    inbox = platform.control("GET", f"/accounts/{account.appid}/followers/{openid}/inbox")
    assert [m["text"]["content"] for m in inbox["messages"]] == ["From 99."]
    assert [(c.duplicate, c.reply_text) for c in calls] == [(False, "From 99."),
                                                            (True, "From 99.")]
    assert Inbound.objects.filter(account=account, msg_type="text").count() == 1
    assert Message.objects.filter(direction="in").count() == 1
    assert Message.objects.filter(direction="out").count() == 1  # the one auto-reply


def test_identical_posts_at_once_store_once(platform, live_server):
    account = connected_account(platform, live_server, brand=make_brand())
    query, body = signed(account, text_message(account, content="same"))
    url = live_server.url + CALLBACK.format(appid=account.appid)
    answers: list[requests.Response] = []
    barrier = threading.Barrier(6)

    def deliver():
        barrier.wait()
        answers.append(requests.post(url, params=query, data=body, timeout=10))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 6
    assert {a.text for a in answers} == {"success"}
    assert Inbound.objects.count() == 1 and Message.objects.count() == 1
    # And once more, later: still one.
    before = counts()
    assert requests.post(url, params=query, data=body, timeout=10).text == "success"
    assert counts() == before


def test_subscribe_and_scan_in_the_same_second_are_both_kept(platform, live_server):
    account = connected_account(platform, live_server, brand=make_brand())
    platform.control("POST", "/clock", {"freeze": True})
    openid = follow(platform, account, scene="launch")["openid"]
    scanned = platform.control("POST", f"/accounts/{account.appid}/followers/{openid}/scan",
                               {"scene": "booth"})
    assert scanned["push"]["status"] == 200
    rows = list(Inbound.objects.order_by("pk").values_list("event", "created_time"))
    assert [event for event, _ in rows] == ["subscribe", "SCAN"]
    assert rows[0][1] == rows[1][1]  # the same second
    kinds = sorted(FollowEvent.objects.values_list("kind", "scene"))
    assert kinds == [("follow", "launch"), ("scan", "booth")]


def test_two_clicks_in_the_same_second_are_both_kept(platform, live_server):
    account = connected_account(platform, live_server, brand=make_brand())
    openid = follow(platform, account)["openid"]
    platform.control("POST", "/clock", {"freeze": True})
    for key in ("MENU_A", "MENU_B"):
        platform.control("POST", f"/accounts/{account.appid}/followers/{openid}/click",
                         {"key": key})
    assert Inbound.objects.filter(event="CLICK").count() == 2


def test_a_replayed_sandbox_message_is_answered_success_and_stored_once(platform, live_server):
    account = connected_account(platform, live_server, brand=make_brand())
    openid = follow(platform, account)["openid"]
    platform.control("POST", "/settings", {"push_attempts": 3})
    # The platform retries on a non-2xx too: the first answer fails after storing.
    real_ingest, seen = views.inbound_ingest, []

    def fail_after_storing(**kwargs):
        result = real_ingest(**kwargs)
        seen.append(result)
        if len(seen) == 1:
            raise views.OperationalError("connection lost after commit")
        return result

    with mock.patch.object(views, "inbound_ingest", side_effect=fail_after_storing):
        said = say(platform, account, openid, "hello")
    assert said["push"]["attempts"] == 2 and said["push"]["body"] == "success"
    assert Message.objects.filter(wechat_msg_id=str(said["msg_id"])).count() == 1
