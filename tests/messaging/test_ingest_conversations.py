"""Ingestion of user messages: one transaction, conversations opened, resumed, reopened."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from followers.models import Follower
from messaging.ingest import REOPEN_WITHIN
from messaging.models import Conversation, Inbound, Message
from tests.factories import make_account, make_brand
from tests.messaging.callback_support import counts
from tests.messaging.ingest_support import HookRecorder, deliver, event, text


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
    assert recorder.names() == ["conversation.changed", "message.created"]
    changed = recorder.seen[0][1]
    assert changed["reason"] == "opened" and changed["status"] == "open"
    assert set(changed) == {"brand_id", "conversation_id", "account_id", "handling_account_id",
                            "assignee_id", "team_id", "status", "reason"}
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
    assert recorder.names().count("conversation.changed") == 1


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
    assert recorder.seen[-2][1]["reason"] == "reopened"


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
