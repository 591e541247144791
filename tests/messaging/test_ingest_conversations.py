"""Ingestion of user messages: one transaction, conversations opened, resumed, reopened.

Every test here runs twice: through the database function PostgreSQL uses
(``messaging_ingest_message``) and through the ORM path SQLite uses, which must agree.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from followers.models import Customer, Follower
from messaging import ingest
from messaging.ingest import REOPEN_WITHIN
from messaging.models import AutoReply, Conversation, Inbound, Message
from tests.factories import make_account, make_brand
from tests.messaging.callback_support import counts
from tests.messaging.ingest_support import HookRecorder, deliver, event, text


@pytest.fixture(autouse=True, params=["one_call", "orm"])
def ingest_path(request, monkeypatch):
    if request.param == "orm":
        monkeypatch.setattr(ingest, "ONE_CALL_VENDORS", frozenset())
    else:
        assert connection.vendor in ingest.ONE_CALL_VENDORS
    return request.param


@pytest.fixture
def account(db):
    # No AppSecret: the after-commit profile fetch is skipped (no platform here).
    return make_account(brand=make_brand(), app_secret="")


@pytest.fixture
def recorder():
    rec = HookRecorder()
    yield rec
    rec.close()


def test_a_first_message_creates_follower_customer_conversation_and_message(account, recorder):
    result = deliver(account, text(account, "oNew", "hello"))
    assert not result.duplicate and result.reply_text is None
    follower = Follower.objects.get(account=account, openid="oNew")
    assert follower.customer is not None and follower.subscribed
    conversation = Conversation.objects.get(follower=follower)
    assert conversation.status == "open" and conversation.customer == follower.customer
    assert conversation.waiting_since == conversation.opened_at
    message = conversation.messages.get()
    assert (message.direction, message.content) == ("in", "hello")
    assert follower.last_inbound_at == conversation.opened_at
    assert Inbound.objects.get().processed_at is not None  # processed after commit
    assert recorder.names() == ["conversation.opened", "message.created"]
    changed = recorder.seen[0][1]
    assert changed["status"] == "open"
    assert set(changed) == {"brand_id", "conversation_id", "account_id", "handling_account_id",
                            "assignee_id", "team_id", "status"}
    assert recorder.seen[1][1] == {
        "brand_id": account.brand_id, "conversation_id": conversation.pk,
        "message_id": message.pk, "account_id": account.pk, "direction": "in"}


def test_the_next_message_resumes_the_conversation(account, recorder):
    now = int(time.time())
    deliver(account, text(account, "oA", "one", at=now - 10))
    deliver(account, text(account, "oA", "two", at=now))
    conversation = Conversation.objects.get()
    assert conversation.messages.count() == 2
    # Still waiting since the first message, not the latest.
    assert conversation.waiting_since == conversation.opened_at
    assert conversation.last_message_at > conversation.opened_at
    assert recorder.names().count("conversation.opened") == 1
    assert not [n for n in recorder.names() if n.startswith("conversation.") and
                n != "conversation.opened"]


def test_a_duplicate_stores_nothing_and_announces_nothing(account, recorder):
    fields = text(account, "oA", "once")
    deliver(account, fields)
    before, seen = counts(), len(recorder.seen)
    again = deliver(account, fields)
    assert again.duplicate and again.inbound_id is None
    assert counts() == before and len(recorder.seen) == seen


def test_a_snoozed_conversation_wakes_on_a_new_message(account, recorder):
    deliver(account, text(account))
    Conversation.objects.update(status="snoozed", snoozed_until=timezone.now() + timedelta(1),
                                waiting_since=None)
    deliver(account, text(account))
    conversation = Conversation.objects.get()
    assert conversation.status == "open" and conversation.snoozed_until is None
    assert conversation.waiting_since is not None
    assert recorder.seen[-2][0] == "conversation.reopened"


def test_a_recently_resolved_conversation_is_reopened(account):
    deliver(account, text(account))
    Conversation.objects.update(status="resolved", resolved_at=timezone.now(),
                                waiting_since=None)
    deliver(account, text(account))
    conversation = Conversation.objects.get()
    assert conversation.status == "open" and conversation.resolved_at is None


def test_an_old_resolved_conversation_stays_closed_and_a_new_one_opens(account):
    deliver(account, text(account))
    Conversation.objects.update(status="resolved",
                                resolved_at=timezone.now() - REOPEN_WITHIN - timedelta(1))
    deliver(account, text(account))
    assert sorted(Conversation.objects.values_list("status", flat=True)) == ["open", "resolved"]


def test_messages_from_other_followers_and_accounts_stay_apart(account):
    other = make_account(brand=account.brand, app_secret="")
    deliver(account, text(account, "oA"))
    deliver(account, text(account, "oB"))
    deliver(other, text(other, "oA"))
    assert Conversation.objects.count() == 3 and Follower.objects.count() == 3


def test_events_do_not_open_conversations(account):
    deliver(account, event(account, "subscribe"))
    deliver(account, event(account, "CLICK", EventKey="MENU"))
    assert Conversation.objects.count() == 0 and Message.objects.count() == 0


def _at_once(account, batch):
    barrier, errors = threading.Barrier(len(batch)), []

    def send(fields):
        try:
            barrier.wait()
            deliver(account, fields)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(f,)) for f in batch]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_messages_make_one_follower_and_one_live_conversation():
    account = make_account(brand=make_brand(), app_secret="")
    now = int(time.time())
    # A new follower writing eight times at once, then eight more on the open conversation,
    # while an agent resolves it in between: no deadlock, no second live conversation.
    assert _at_once(account, [text(account, "oRush", f"m{n}", at=now) for n in range(8)]) == []
    assert Follower.objects.filter(openid="oRush").count() == 1
    assert Conversation.objects.count() == 1
    Conversation.objects.update(status="resolved", resolved_at=timezone.now())
    assert _at_once(account, [text(account, "oRush", f"n{n}", at=now) for n in range(8)]) == []
    assert Conversation.objects.get().status == "open"
    assert Message.objects.count() == 16 and Inbound.objects.count() == 16


def test_the_window_and_last_message_never_move_backwards(account):
    now = int(time.time())
    deliver(account, text(account, "oA", "new", at=now))
    Follower.objects.update(window_sends=3)
    deliver(account, text(account, "oA", "late", at=now - 600))  # an old delivery, late
    follower = Follower.objects.get()
    at = datetime.fromtimestamp(now, tz=UTC)
    assert follower.last_inbound_at == at and follower.window_opened_at == at
    assert follower.window_sends == 3  # the late message opens no new window
    assert Conversation.objects.get().last_message_at == at
    deliver(account, text(account, "oA", "newer", at=now + 5))
    follower.refresh_from_db()
    assert follower.window_sends == 0
    assert follower.window_opened_at == at + timedelta(seconds=5)


def test_a_message_from_a_follower_marked_unfollowed_marks_them_following(account):
    deliver(account, text(account, "oA"))
    Follower.objects.update(subscribed=False)
    deliver(account, text(account, "oA"))
    assert Follower.objects.get().subscribed


def test_the_customer_of_the_follower_goes_on_the_conversation(account):
    deliver(account, text(account, "oA"))
    follower = Follower.objects.get()
    Conversation.objects.update(customer=None)
    deliver(account, text(account, "oA"))
    assert Conversation.objects.get().customer_id == follower.customer_id


def test_a_keyword_auto_reply_is_stored_with_the_message(account, recorder):
    AutoReply.objects.create(brand=account.brand, kind=AutoReply.Kind.KEYWORD,
                             trigger="opening hours", body="We open at 10:00.")
    result = deliver(account, text(account, "oA", "What are your opening hours?"))
    assert result.reply_text == "We open at 10:00."
    conversation = Conversation.objects.get()
    auto = conversation.messages.get(direction="out")
    assert (auto.content, auto.status, auto.sender_display) == (
        "We open at 10:00.", "sent", ingest.AUTO_REPLY_SENDER)
    assert recorder.names() == ["conversation.opened", "message.created", "message.created"]
    # No keyword, and inside business hours or not waiting: no reply, no transaction.
    assert deliver(account, text(account, "oA", "thanks")).reply_text is None


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_storing_rolls_the_whole_delivery_back(ingest_path, monkeypatch):
    account = make_account(brand=make_brand(), app_secret="")
    AutoReply.objects.create(brand=account.brand, kind=AutoReply.Kind.KEYWORD,
                             trigger="hello", body="Hi!")

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    # The auto-reply is stored in the delivery's transaction: if that fails, nothing of
    # the delivery stays, so the platform's retry stores it whole.
    monkeypatch.setattr(ingest.Message.objects, "create", broken)
    with pytest.raises(RuntimeError):
        deliver(account, text(account, "oA", "hello", msg_id=42))
    assert counts()["inbound"] == 0 and counts()["messages"] == 0
    monkeypatch.undo()
    if ingest_path == "orm":
        monkeypatch.setattr(ingest, "ONE_CALL_VENDORS", frozenset())
    assert not deliver(account, text(account, "oA", "hello", msg_id=42)).duplicate
    assert Message.objects.filter(direction="in").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_follower_writing_twice_at_once_keeps_one_customer():
    account = make_account(brand=make_brand(), app_secret="")
    now = int(time.time())
    assert _at_once(account, [text(account, "oTwin", f"m{n}", at=now) for n in range(6)]) == []
    follower = Follower.objects.get(openid="oTwin")
    # The losers of the race gave their customer back.
    assert list(Customer.objects.values_list("pk", flat=True)) == [follower.customer_id]
    assert Conversation.objects.get().customer_id == follower.customer_id
