"""Replies survive a realistic WeChat outage: transient trouble is tried again on a schedule
kept in the database that spans more than ten minutes, unless the follower's reply window
closes first, which fails the reply with that reason. (With a real worker and an outage
of more than a minute: ``test_worker_drills``.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followers.models import Follower
from followers.window import LONG_WINDOW
from messaging import services
from messaging.models import Message
from messaging.selectors import OUTSIDE_WINDOW
from messaging.services import (
    SEND_RETRY_DELAYS,
    SEND_RETRY_JITTER,
    SendOutcome,
    message_deliver,
    send_retry_span_seconds,
)
from tests.messaging.reply_support import CUSTOM_SEND, Wired, wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _queued(wired: Wired, capture, text: str = "Hello") -> Message:  # noqa: F811
    with capture(execute=False):
        message = services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                          text=text, by=wired.agent)
    return message


def _attempt(capture, message: Message) -> SendOutcome:
    """One attempt, the retry scheduled by the previous one made due first."""
    Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
    with capture(execute=True):
        outcome = message_deliver(message_id=message.pk)
    message.refresh_from_db()
    return outcome


def _busy(wired: Wired) -> None:  # noqa: F811
    wired.sandbox.control("POST", "/faults", {"kind": "busy", "path": CUSTOM_SEND,
                                              "appid": wired.appid})


def test_the_production_schedule_rides_out_more_than_ten_minutes_of_trouble() -> None:
    # Without jitter, the shortest the schedule can be, first attempt to last.
    assert send_retry_span_seconds() >= 10 * 60
    assert sum(SEND_RETRY_DELAYS) == send_retry_span_seconds()
    # It backs off: no attempt comes sooner after the previous one than the one before.
    assert list(SEND_RETRY_DELAYS) == sorted(SEND_RETRY_DELAYS)
    assert 0 < SEND_RETRY_JITTER <= 0.5


def test_each_failed_attempt_schedules_the_next_on_the_schedule_until_it_is_spent(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    _busy(wired)

    for made, delay in enumerate(SEND_RETRY_DELAYS, start=1):
        assert _attempt(django_capture_on_commit_callbacks, message) == SendOutcome.RETRY
        assert (message.status, message.send_attempts) == ("queued", made)
        waits = (message.next_attempt_at - message.attempted_at).total_seconds()
        assert delay <= waits <= delay * (1 + SEND_RETRY_JITTER) + 0.01
        assert message.error_reason == "" and not message.retryable

    assert _attempt(django_capture_on_commit_callbacks, message) == SendOutcome.FAILED
    assert message.send_attempts == len(SEND_RETRY_DELAYS) + 1
    assert message.error_reason.startswith(
        f"the reply was not sent after {len(SEND_RETRY_DELAYS) + 1} attempts: WeChat is busy")
    assert message.next_attempt_at is None and message.retryable
    assert wired.inbox() == []


def test_a_reply_whose_window_closes_before_its_next_attempt_fails_now_with_that_reason(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    # The follower wrote almost 48 hours ago: the window closes in 10 s, before the first
    # retry (15 s at the least).
    Follower.objects.filter(pk=wired.follower.pk).update(
        window_opened_at=timezone.now() - LONG_WINDOW + timedelta(seconds=10),
        short_window_opened_at=None)
    _busy(wired)

    assert _attempt(django_capture_on_commit_callbacks, message) == SendOutcome.FAILED
    assert message.status == Message.Status.FAILED and message.errcode == -1
    assert message.error_reason == (
        "the reply was not sent: WeChat is busy right now; try again in a moment; before "
        f"another attempt, {OUTSIDE_WINDOW}")
    assert message.next_attempt_at is None and message.send_attempts == 1
    assert wired.inbox() == []


def test_a_window_still_open_at_the_next_attempt_keeps_the_reply_queued(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    # Open for another minute: enough for the first retry (at most 18 s away).
    Follower.objects.filter(pk=wired.follower.pk).update(
        window_opened_at=timezone.now() - LONG_WINDOW + timedelta(seconds=60))
    _busy(wired)

    assert _attempt(django_capture_on_commit_callbacks, message) == SendOutcome.RETRY
    assert message.status == Message.Status.QUEUED
