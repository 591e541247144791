"""The reply window: refused up front when the portal knows the platform would refuse;
the platform's own refusals (and its busy moments) are still handled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followers.models import Follower
from messaging import services
from messaging.errors import ReplyRefused
from messaging.models import Message
from messaging.tasks import message_send_sweep_task
from tests.messaging.reply_support import CUSTOM_SEND, Wired, wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _reply(wired: Wired, capture, text: str = "Hello") -> Message:  # noqa: F811
    with capture(execute=True):
        message = services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                          text=text, by=wired.agent)
    message.refresh_from_db()
    return message


def _refused(wired: Wired, capture) -> str:  # noqa: F811
    before = Message.objects.count()
    with pytest.raises(ReplyRefused) as refused:
        _reply(wired, capture)
    assert Message.objects.count() == before
    assert wired.send_calls() == [] and wired.inbox() == []
    return refused.value.message


def test_outside_the_window_the_reply_is_refused_before_sending(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    Follower.objects.filter(pk=wired.follower.pk).update(
        window_opened_at=timezone.now() - timedelta(hours=48, seconds=1)
    )
    reason = _refused(wired, django_capture_on_commit_callbacks)
    assert reason == "outside the 48-hour window: the follower must write first"


def test_when_the_five_replies_are_used_the_sixth_is_refused(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    for n in range(5):
        assert _reply(wired, django_capture_on_commit_callbacks, f"m{n}").status == "sent"
    before = len(wired.send_calls())
    with pytest.raises(ReplyRefused) as refused:
        _reply(wired, django_capture_on_commit_callbacks)
    assert refused.value.message == "the 5 replies allowed in this window are used up"
    assert len(wired.send_calls()) == before
    assert wired.texts() == ["m0", "m1", "m2", "m3", "m4"]


def test_a_follower_who_left_is_not_written_to(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    Follower.objects.filter(pk=wired.follower.pk).update(subscribed=False)
    assert _refused(wired, django_capture_on_commit_callbacks) == "the follower has unfollowed"


def test_the_platforms_refusal_is_recorded_with_errcode_and_reason(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    # The portal has not heard of the unfollow yet: its window is still open.
    wired.unfollow_on_the_platform()
    message = _reply(wired, django_capture_on_commit_callbacks)
    assert message.status == Message.Status.FAILED
    assert message.errcode == 43004
    assert message.error_reason == "the follower has unfollowed"
    wired.follower.refresh_from_db()
    assert wired.follower.subscribed is False and wired.follower.unsubscribed_at is not None
    assert wired.inbox() == []


def test_a_platform_window_the_portal_did_not_see_close_fails_with_45015(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    wired.sandbox.clock.advance(48 * 3600 + 1)
    message = _reply(wired, django_capture_on_commit_callbacks)
    assert (message.status, message.errcode) == ("failed", 45015)
    assert message.error_reason == "outside the 48-hour window"


def test_a_busy_platform_is_retried_and_the_reply_arrives_once(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    # More -1 answers than the client's own attempts: the reply waits in the queue for its
    # next attempt, which the send sweep queues once it is due.
    wired.sandbox.control("POST", "/faults", {"kind": "busy", "path": CUSTOM_SEND, "count": 4})
    message = _reply(wired, django_capture_on_commit_callbacks, "After the storm")
    assert message.status == Message.Status.QUEUED and message.next_attempt_at is not None
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert message_send_sweep_task() == {"failed": 0, "queued": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.SENT, message.error_reason
    assert message.send_attempts == 2
    assert wired.texts() == ["After the storm"]


def test_a_send_that_may_have_arrived_is_not_repeated(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    wired.sandbox.control("POST", "/faults", {"kind": "http_500", "path": CUSTOM_SEND,
                                              "count": 1})
    message = _reply(wired, django_capture_on_commit_callbacks)
    assert message.status == Message.Status.FAILED and message.errcode is None
    assert "may have delivered" in message.error_reason
    assert len(wired.send_calls()) <= 1


def test_a_second_task_for_the_same_reply_sends_nothing(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _reply(wired, django_capture_on_commit_callbacks)
    assert services.message_deliver(message_id=message.pk) == services.SendOutcome.TAKEN
    assert services.message_deliver(message_id=10**9) == services.SendOutcome.GONE
    assert len(wired.texts()) == 1
