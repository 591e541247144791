"""A lost reply is recovered, and a failing one ends plainly, with a REAL Celery worker.

The rest of the suite runs tasks eagerly. Here a ``celery worker`` subprocess takes them
from Redis, so the production branches run: the broker-down branch of
``message_send_enqueue``, the send sweep, the retries it queues on their schedule,
redelivery after a worker dies, and the final attempt.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Message
from messaging.services import SEND_RETRY_DELAYS
from messaging.tasks import message_send_sweep_task, message_send_task
from tests.messaging.reply_support import CUSTOM_SEND, Wired, wired  # noqa: F401 - fixture
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    Broker,
    ConsoleWatch,
    Worker,
    Workers,
    broker,
    wait_until,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(wired: Wired, broker: Broker, workers: Workers) -> Worker:  # noqa: F811
    """The module's worker, running, once the reply's world is set up."""
    return workers.default()


def _reply(wired: Wired, text: str) -> Message:  # noqa: F811
    return services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                  text=text, by=wired.agent)


def _reply_while_the_broker_is_down(wired: Wired, broker: Broker, caplog,  # noqa: F811
                                    text: str) -> Message:
    broker.down()
    try:
        with caplog.at_level(logging.WARNING, logger="messaging.tasks"):
            message = _reply(wired, text)
    finally:
        broker.up()
    assert "could not queue a reply; the sweep will" in caplog.text
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    return message


def _outcome(message: Message) -> Message:
    """The reply once a worker has written its outcome (sent or failed)."""
    def done() -> Message | None:
        message.refresh_from_db()
        return message if message.status in (Message.Status.SENT, Message.Status.FAILED) \
            else None

    return wait_until(f"reply {message.pk} to be sent or failed", done)


def _send_errcodes(wired: Wired) -> list[int | None]:  # noqa: F811
    return [call["errcode"] for call in wired.send_calls()]


def test_a_reply_whose_task_was_never_queued_is_sent_once_by_the_sweep(
    wired: Wired, broker: Broker, worker: Worker, caplog  # noqa: F811
) -> None:
    message = _reply_while_the_broker_is_down(wired, broker, caplog, "Breakfast is at 7.")
    # Nothing is queued for it: the worker has nothing to do until the sweep runs.
    assert broker.client.llen("celery") == 0
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=2))

    sweep = message_send_sweep_task.delay()
    assert worker.task_result(sweep.id) == "{'failed': 0, 'queued': 1}"
    assert _outcome(message).status == Message.Status.SENT
    assert wired.texts() == ["Breakfast is at 7."]

    # A second sweep finds nothing left; the reply was sent once.
    again = message_send_sweep_task.delay()
    assert worker.task_result(again.id) == "{'failed': 0, 'queued': 0}"
    assert len(wired.send_calls()) == 1
    assert wired.texts() == ["Breakfast is at 7."]


def test_a_busy_wechat_is_ridden_out_by_the_scheduled_retry_and_the_reply_arrives_once(
    wired: Wired, worker: Worker  # noqa: F811
) -> None:
    # As many -1 answers as the client's own attempts: the reply must be tried again.
    wired.sandbox.control("POST", "/faults", {"kind": "busy", "path": CUSTOM_SEND,
                                              "appid": wired.appid, "count": 3})
    message = _reply(wired, "Yes, late checkout is fine.")

    # The attempt put it back with its next attempt scheduled in the database, not in a
    # countdown on the broker.
    def scheduled() -> bool:
        message.refresh_from_db()
        return message.next_attempt_at is not None

    wait_until("the retry to be scheduled", scheduled)
    assert message.status == Message.Status.QUEUED and message.send_attempts == 1
    assert "Retry in" not in worker.log
    # Its time comes: the send sweep queues it.
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    sweep = message_send_sweep_task.delay()
    assert worker.task_result(sweep.id) == "{'failed': 0, 'queued': 1}"
    assert _outcome(message).status == Message.Status.SENT
    assert message.errcode is None and message.error_reason == ""
    assert _send_errcodes(wired) == [-1, -1, -1, 0]
    assert wired.texts() == ["Yes, late checkout is fine."]


def test_the_final_attempt_fails_the_reply_with_a_plain_reason_the_console_is_told(
    wired: Wired, broker: Broker, worker: Worker, caplog  # noqa: F811
) -> None:
    message = _reply_while_the_broker_is_down(wired, broker, caplog, "See you at 8.")
    wired.sandbox.control("POST", "/faults", {"kind": "busy", "path": CUSTOM_SEND,
                                              "appid": wired.appid})
    console = ConsoleWatch(
        wired.agent,
        until=lambda e: e.get("type") == "message.status" and e.get("status") == "failed",
    )
    # The last attempt the retry schedule allows.
    Message.objects.filter(pk=message.pk).update(send_attempts=len(SEND_RETRY_DELAYS))
    message_send_task.delay(message.pk)

    assert _outcome(message).status == Message.Status.FAILED
    reason = (f"the reply was not sent after {len(SEND_RETRY_DELAYS) + 1} attempts: WeChat is "
              "busy right now; try again in a moment")
    assert (message.errcode, message.error_reason) == (-1, reason)
    event = console.result()
    assert event["message_id"] == message.pk
    assert (event["errcode"], event["error_reason"]) == (-1, reason)
    assert _send_errcodes(wired) == [-1, -1, -1]  # the client's own attempts, no more
    assert wired.inbox() == []


def test_a_worker_killed_mid_send_leaves_the_reply_failed_not_sending_and_never_resends(
    wired: Wired, broker: Broker, worker: Worker, workers: Workers  # noqa: F811
) -> None:
    # WeChat takes its time over this send: the worker is killed while it waits.
    wired.sandbox.control("POST", "/faults", {"kind": "slow", "path": CUSTOM_SEND,
                                              "appid": wired.appid, "count": 1, "delay": 2})
    message = _reply(wired, "Your room is ready.")

    def mid_send() -> bool:
        message.refresh_from_db()
        fired = not wired.sandbox.control("GET", "/faults")["faults"]
        return fired and message.status == Message.Status.SENDING

    wait_until("the worker to be inside the send", mid_send)
    worker.kill()
    # The platform got the request and delivers it, though nobody hears the answer.
    wait_until("the follower to get the text", lambda: wired.texts())
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING
    assert broker.held_unacknowledged() == 1  # acks late: the task is not lost

    # A new worker is handed the dead worker's task again (after the visibility timeout,
    # one second here): it finds the reply claimed and sends nothing.
    survivor = workers.start(CELERY_VISIBILITY_TIMEOUT="1")
    survivor.wait_for_log(r"message_send_task\[[\w-]+\] succeeded in [\d.]+s: 'taken'")
    wait_until("the task to be acknowledged", lambda: broker.held_unacknowledged() == 0)

    # Five minutes on, the sweep gives up on it: failed, saying it may have arrived.
    Message.objects.filter(pk=message.pk).update(
        attempted_at=timezone.now() - timedelta(minutes=6))
    sweep = message_send_sweep_task.delay()
    assert survivor.task_result(sweep.id) == "{'failed': 1, 'queued': 0}"
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.error_reason == services.MAYBE_DELIVERED
    assert len(wired.send_calls()) == 1
    assert wired.texts() == ["Your room is ready."]
