"""The send sweep's rules: a reply whose scheduled retry is due is queued; a reply queued
and untouched is lost and queued again; each is claimed so that two sweeps never queue it
twice; a reply left `sending` by a dead worker is failed, never sent again. (With a real
worker: ``test_worker_real``, ``test_worker_drills``.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Message
from messaging.services import messages_claim_due, messages_fail_stuck
from messaging.tasks import (
    SEND_STUCK_AFTER_SECONDS,
    SEND_SWEEP_AFTER_SECONDS,
    message_send_sweep_task,
)
from tests.messaging.ingest_support import HookRecorder
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _stored(wired: Wired, capture, text: str, **fields: object) -> Message:  # noqa: F811
    """A reply stored without its send task running, then aged or moved by ``fields``."""
    with capture(execute=False):
        message = services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                          text=text, by=wired.agent)
    Message.objects.filter(pk=message.pk).update(**fields)
    message.refresh_from_db()
    return message


def _ago(seconds: float) -> object:
    return timezone.now() - timedelta(seconds=seconds)


def test_due_retries_and_lost_replies_are_claimed_once_and_waiting_ones_left_be(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    old = SEND_SWEEP_AFTER_SECONDS + 30
    lost = _stored(wired, django_capture_on_commit_callbacks, "lost", created_at=_ago(old))
    # Written long ago, its retry scheduled for later: it waits, however old it is.
    waiting = _stored(wired, django_capture_on_commit_callbacks, "waiting",
                      created_at=_ago(10 * old), attempted_at=_ago(10 * old),
                      next_attempt_at=timezone.now() + timedelta(minutes=10))
    due = _stored(wired, django_capture_on_commit_callbacks, "due",
                  created_at=_ago(10 * old), attempted_at=_ago(20),
                  next_attempt_at=_ago(1))
    lost_again = _stored(wired, django_capture_on_commit_callbacks, "lost again",
                         created_at=_ago(10 * old), attempted_at=_ago(old))
    just = _stored(wired, django_capture_on_commit_callbacks, "just written")

    found = messages_claim_due(lost_after_seconds=SEND_SWEEP_AFTER_SECONDS)
    assert found == [lost.pk, due.pk, lost_again.pk]
    assert waiting.pk not in found
    # Claimed: the next sweep does not queue them again, unless this queueing is lost too
    # (and by then the reply just written has waited too long as well).
    assert messages_claim_due(lost_after_seconds=SEND_SWEEP_AFTER_SECONDS) == []
    later = timezone.now() + timedelta(seconds=SEND_SWEEP_AFTER_SECONDS + 1)
    assert messages_claim_due(lost_after_seconds=SEND_SWEEP_AFTER_SECONDS,
                              now=later) == [lost.pk, due.pk, lost_again.pk, just.pk]


def test_an_early_task_does_not_take_a_reply_whose_retry_is_not_due(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    waiting = _stored(wired, django_capture_on_commit_callbacks, "waiting",
                      send_attempts=1, next_attempt_at=timezone.now() + timedelta(seconds=60))
    assert services.message_deliver(message_id=waiting.pk) == services.SendOutcome.TAKEN
    waiting.refresh_from_db()
    assert (waiting.status, waiting.send_attempts) == ("queued", 1)
    assert wired.send_calls() == []


def test_a_reply_left_sending_is_failed_once_as_maybe_delivered_and_announced(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    stuck = _stored(wired, django_capture_on_commit_callbacks, "stuck", status="sending",
                    attempted_at=_ago(SEND_STUCK_AFTER_SECONDS + 1))
    in_flight = _stored(wired, django_capture_on_commit_callbacks, "in flight",
                        status="sending", attempted_at=_ago(5))
    hooks = HookRecorder()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert messages_fail_stuck(older_than_seconds=SEND_STUCK_AFTER_SECONDS) == 1
            assert messages_fail_stuck(older_than_seconds=SEND_STUCK_AFTER_SECONDS) == 0
    finally:
        hooks.close()
    stuck.refresh_from_db()
    in_flight.refresh_from_db()
    assert (stuck.status, stuck.error_reason) == ("failed", services.MAYBE_DELIVERED)
    assert stuck.maybe_delivered and not stuck.retryable
    assert in_flight.status == Message.Status.SENDING  # its worker is still at it
    assert [(p["message_id"], p["status"]) for name, p in hooks.seen
            if name == "message.status"] == [(stuck.pk, "failed")]
    assert wired.send_calls() == []


def test_the_sweep_task_fails_the_stuck_and_sends_the_lost(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    lost = _stored(wired, django_capture_on_commit_callbacks, "lost",
                   created_at=_ago(SEND_SWEEP_AFTER_SECONDS + 1))
    stuck = _stored(wired, django_capture_on_commit_callbacks, "stuck", status="sending",
                    attempted_at=_ago(SEND_STUCK_AFTER_SECONDS + 1))

    with django_capture_on_commit_callbacks(execute=True):
        assert message_send_sweep_task() == {"failed": 1, "queued": 1}
    lost.refresh_from_db()
    stuck.refresh_from_db()
    assert lost.status == Message.Status.SENT
    assert stuck.status == Message.Status.FAILED
    assert wired.texts() == ["lost"]
