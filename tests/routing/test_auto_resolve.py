"""Conversations idle past the brand's time are resolved with a note, cause "idle", and
the follower's next message reopens them (`routing.auto_resolve`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messaging.models import Conversation, Message
from routing import auto_resolve
from routing.brand_settings import settings_for
from routing.models import RoutingDecision
from routing.targets import targets_sweep
from tests.factories import make_account, make_brand, make_conversation, make_member
from tests.messaging.ingest_support import deliver, text

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
LAST = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def account():
    # No AppSecret: the after-commit profile fetch is skipped (no platform here).
    account = make_account(brand=make_brand(), app_secret="")
    settings = settings_for(account.brand_id)
    settings.auto_resolve_after_hours = 24
    settings.save()
    return account


def _idle(account, since=LAST, **fields) -> Conversation:
    data = {"opened_at": since, "last_message_at": since, "waiting_since": since}
    data.update(fields)
    return make_conversation(account=account, **data)


def test_a_conversation_idle_past_the_time_is_resolved_with_a_note(account, announced):
    agent = make_member(brand=account.brand, accounts=[account])
    conversation = _idle(account, assignee=agent, response_due_at=LAST)
    now = LAST + timedelta(hours=24, minutes=1)
    assert auto_resolve.idle_resolve(now=now) == 1
    conversation.refresh_from_db()
    assert conversation.status == "resolved" and conversation.resolved_at == now
    assert conversation.waiting_since is None and conversation.response_due_at is None
    note = Message.objects.get(conversation=conversation)
    assert note.direction == "system"
    assert note.content == "Resolved automatically: no message for 24 hours"
    decision = RoutingDecision.objects.get(conversation=conversation)
    assert decision.kind == "auto_resolved" and decision.agent == agent
    [step] = decision.steps
    assert (step["step"], step["hours"]) == ("idle", 24)
    assert datetime.fromisoformat(step["last_message_at"]) == LAST
    [resolved] = [p for name, p in announced if name == "conversation.resolved"]
    assert resolved["cause"] == "idle" and resolved["status"] == "resolved"
    assert [p["direction"] for name, p in announced if name == "message.created"] == ["system"]


def test_a_conversation_with_a_recent_message_stays_open(account):
    conversation = _idle(account)
    assert auto_resolve.idle_resolve(now=LAST + timedelta(hours=23, minutes=59)) == 0
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert not Message.objects.exists()


def test_pending_ones_are_resolved_and_snoozed_ones_left_alone(account):
    pending = _idle(account, status="pending")
    snoozed = _idle(account, status="snoozed", snoozed_until=LAST + timedelta(days=3))
    assert auto_resolve.idle_resolve(now=LAST + timedelta(days=2)) == 1
    pending.refresh_from_db()
    snoozed.refresh_from_db()
    assert (pending.status, snoozed.status) == ("resolved", "snoozed")


def test_zero_hours_means_never(account):
    settings = settings_for(account.brand_id)
    settings.auto_resolve_after_hours = 0
    settings.save()
    conversation = _idle(account)
    assert auto_resolve.idle_resolve(now=LAST + timedelta(days=30)) == 0
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_a_brand_that_never_changed_its_settings_resolves_after_72_hours(db):
    account = make_account(brand=make_brand(), app_secret="")
    conversation = _idle(account)
    assert auto_resolve.idle_resolve(now=LAST + timedelta(hours=71)) == 0
    assert auto_resolve.idle_resolve(now=LAST + timedelta(hours=73)) == 1
    conversation.refresh_from_db()
    assert conversation.status == "resolved"


def test_each_brand_keeps_its_own_time(account):
    slow = make_account(brand=make_brand(), app_secret="")
    settings = settings_for(slow.brand_id)
    settings.auto_resolve_after_hours = 48
    settings.save()
    quick, patient = _idle(account), _idle(slow)
    assert targets_sweep(now=LAST + timedelta(hours=30))["auto_resolved"] == 1
    quick.refresh_from_db()
    patient.refresh_from_db()
    assert (quick.status, patient.status) == ("resolved", "open")


def test_the_followers_next_message_reopens_it(account):
    deliver(account, text(account, "oIdle", "hello", at=int(LAST.timestamp())))
    conversation = Conversation.objects.get()
    now = LAST + timedelta(hours=25)
    assert auto_resolve.idle_resolve(now=now) == 1
    deliver(account, text(account, "oIdle", "still there?",
                          at=int((now + timedelta(hours=1)).timestamp())))
    reopened = Conversation.objects.get()
    assert reopened.pk == conversation.pk
    assert reopened.status == "open" and reopened.resolved_at is None
    assert reopened.waiting_since == now + timedelta(hours=1)
