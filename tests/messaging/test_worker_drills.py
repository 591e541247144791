"""Drills with a REAL Celery worker on Redis and PostgreSQL: a worker killed in the middle
of a batch of console pushes, and a WeChat outage longer than a minute.

The worker runs ``celery worker`` in a subprocess (``worker_support``). Time is compressed
where production waits: the survivor's visibility timeout is 2 s (production's default is
checked separately, from a fresh process), and a scheduled retry's time is moved to now
rather than waited for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app as celery_app
from messaging import services
from messaging.events import message_created_for
from messaging.models import Conversation, Message
from messaging.services import SEND_RETRY_DELAYS, SEND_RETRY_JITTER
from messaging.tasks import (
    INBOUND_BATCH_BUDGET,
    LONGEST_COUNTDOWN,
    SWEEP_BUDGET,
    message_send_sweep_task,
)
from routing.tasks import PUSH_RETRIES, console_push_batch_task
from tests.factories import make_conversation, make_follower
from tests.messaging.reply_support import CUSTOM_SEND, Wired, wired  # noqa: F401 - fixture
from tests.messaging.slow_link import SlowLink
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    ROOT,
    Broker,
    ConsoleWatch,
    Workers,
    broker,
    wait_until,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _transport_options(**env: str) -> subprocess.CompletedProcess:
    """The broker's transport options as a fresh process reads them, with ``env`` and
    without CELERY_VISIBILITY_TIMEOUT unless given: what production gets by default."""
    environ = {k: v for k, v in os.environ.items() if k != "CELERY_VISIBILITY_TIMEOUT"}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    code = ("import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ,  # noqa: S603
                          capture_output=True, text=True, timeout=60)


def _production_transport_options() -> dict:
    answer = _transport_options()
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.strip().splitlines()[-1])


def test_a_visibility_timeout_that_is_no_number_of_seconds_stops_the_process() -> None:
    for nonsense, says in (("0", "must be at least 1 second"), ("soon", "is not an integer")):
        answer = _transport_options(CELERY_VISIBILITY_TIMEOUT=nonsense)
        assert answer.returncode != 0
        assert says in answer.stderr


def test_a_killed_workers_tasks_come_back_within_a_minute_and_nothing_waits_longer() -> None:
    options = _production_transport_options()
    timeout = options["visibility_timeout"]
    # A dead worker's task is handed out again once it has been out this long, found by a
    # worker's restore pass (every interval x throttle seconds): within a minute of the kill.
    assert timeout + options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 60
    # Past it, the Redis transport hands out again a task that is still waiting or working:
    # every countdown and every task's working budget stays well under it.
    assert timeout > LONGEST_COUNTDOWN
    assert timeout > INBOUND_BATCH_BUDGET and timeout > SWEEP_BUDGET
    assert timeout > 2 ** PUSH_RETRIES  # the console push's last retry countdown
    # Long waits (a reply's retries over ten minutes) are kept in the database instead.
    assert max(SEND_RETRY_DELAYS) * (1 + SEND_RETRY_JITTER) > timeout
    # Every task is acknowledged only once done, so a killed worker's are not lost; the
    # console push is handed out again also when only its worker process died.
    ours = [t for name, t in celery_app.tasks.items()
            if name.split(".")[0] in ("accounts", "messaging", "routing")]
    assert ours and all(t.acks_late for t in ours)
    assert console_push_batch_task.acks_late and console_push_batch_task.reject_on_worker_lost


def _new_messages(wired: Wired, count: int) -> list[Message]:  # noqa: F811
    return [Message.objects.create(
        brand_id=wired.account.brand_id, conversation=wired.conversation,
        account=wired.account, direction=Message.Direction.INBOUND, content=f"message {n}",
    ) for n in range(count)]


def test_a_worker_killed_mid_batch_still_gets_every_event_to_the_screens_within_a_minute(
    wired: Wired, broker: Broker, workers: Workers  # noqa: F811
) -> None:
    messages = _new_messages(wired, 6)
    wanted = {m.pk for m in messages}
    seen: set[int] = set()

    def all_seen(event: dict) -> bool:
        if event.get("type") == "message":
            seen.add(event["message_id"])
        return seen >= wanted

    screen = ConsoleWatch(wired.agent, until=all_seen, timeout=90)
    # This worker reaches the channel layer (and the cache) through a slow link: a batch's
    # send (one stream message per brand) takes a second or so. Two batches: the kill
    # lands once the first has reached the screen, while the second is on its way.
    link = SlowLink(settings.REDIS_URL, delay=0.3)
    try:
        # The same console fan-out and layer as the screen here listens on, whatever the
        # environment says.
        slow = workers.start(REDIS_URL=link.url, CONSOLE_FANOUT=settings.CONSOLE_FANOUT,
                             CONSOLE_LAYER=settings.CONSOLE_LAYER)
        for half in (messages[:3], messages[3:]):
            console_push_batch_task.delay([["message.created", message_created_for(m)]
                                           for m in half])
        deadline = time.monotonic() + 30
        while not seen:
            if time.monotonic() > deadline:
                pytest.fail(f"no event reached the screen; the worker said:\n{slow.log[-3000:]}")
            time.sleep(0.05)
        slow.kill()
        killed_at = time.monotonic()
    finally:
        link.close()
    assert 0 < len(seen) < len(wanted), "the batches were not killed midway"
    # Acknowledged late: the second batch (and the first, if the kill beat its ack) stays
    # with the broker, not lost with its worker.
    assert broker.held_unacknowledged() >= 1

    # Another worker takes the task over once it has been out for the visibility timeout
    # (2 s here), and every event reaches the screen: late, complete.
    survivor = workers.start(CELERY_VISIBILITY_TIMEOUT="2",
                             CONSOLE_FANOUT=settings.CONSOLE_FANOUT,
                             CONSOLE_LAYER=settings.CONSOLE_LAYER)
    try:
        screen.result()
        assert seen == wanted
        assert time.monotonic() - killed_at < 60
        survivor.wait_for_log(r"console_push_batch_task\[[\w-]+\] succeeded")
        wait_until("the task to be acknowledged", lambda: broker.held_unacknowledged() == 0)
    finally:
        # Gone before the next test, whose tasks the module's own worker must take.
        survivor.stop()


def _another_conversation(wired: Wired) -> Conversation:  # noqa: F811
    """A second follower of the account, who just wrote (48-hour window open on both
    sides), in the same team's queue."""
    openid = wired.sandbox.control("POST", f"/accounts/{wired.appid}/followers",
                                   {"push": False})["openid"]
    wired.sandbox.clock.advance(61)  # past the follow's short window, as for the first
    wired.sandbox.control("POST", f"/accounts/{wired.appid}/followers/{openid}/send",
                          {"type": "text", "content": "And parking?", "push": False})
    follower = make_follower(account=wired.account, openid=openid)
    return make_conversation(follower=follower, team=wired.conversation.team)


def _inbox_texts(wired: Wired, conversation: Conversation) -> list[str]:  # noqa: F811
    path = f"/accounts/{wired.appid}/followers/{conversation.follower.openid}/inbox"
    return [m["text"]["content"] for m in wired.sandbox.control("GET", path)["messages"]
            if m["msgtype"] == "text"]


def _all_sent(replies: list[Message]) -> bool:
    rows = Message.objects.filter(pk__in=[m.pk for m in replies])
    return all(row.status == Message.Status.SENT for row in rows)


def _all_rescheduled(replies: list[Message], made: int) -> bool:
    """Every reply's attempt ``made`` failed and its next one is scheduled."""
    rows = Message.objects.filter(pk__in=[m.pk for m in replies])
    return all(row.send_attempts == made and row.next_attempt_at is not None for row in rows)


def test_replies_held_back_by_a_wechat_outage_of_over_a_minute_are_sent_after_it_once_each(
    wired: Wired, broker: Broker, workers: Workers  # noqa: F811
) -> None:
    worker = workers.default()
    conversations = [wired.conversation, _another_conversation(wired)]
    outage = wired.sandbox.control("POST", "/faults", {"kind": "busy", "path": CUSTOM_SEND,
                                                       "appid": wired.appid})
    replies = [services.message_reply(scope=wired.scope, conversation=c,
                                      text=f"Answer {n} to {c.pk}", by=wired.agent)
               for c in conversations for n in range(4)]

    # Attempts 2, 3 and 4 come 15, 30 and 60 s after the one before in production: the
    # outage outlasts a minute and three quarters. Here each retry's time is moved to now.
    rounds = 4
    assert sum(SEND_RETRY_DELAYS[:rounds - 1]) > 60
    for made in range(1, rounds + 1):
        if made > 1:
            Message.objects.filter(pk__in=[m.pk for m in replies]).update(
                next_attempt_at=timezone.now())
            sweep = message_send_sweep_task.delay()
            assert worker.task_result(sweep.id) == f"{{'failed': 0, 'queued': {len(replies)}}}"
        wait_until(f"attempt {made} of every reply to fail and be rescheduled",
                   lambda made=made: _all_rescheduled(replies, made), timeout=40)
        for row in Message.objects.filter(pk__in=[m.pk for m in replies]):
            assert row.status == Message.Status.QUEUED and row.error_reason == ""
            waits = (row.next_attempt_at - row.attempted_at).total_seconds()
            delay = SEND_RETRY_DELAYS[made - 1]
            assert delay <= waits <= delay * (1 + SEND_RETRY_JITTER) + 0.01
    assert all(_inbox_texts(wired, c) == [] for c in conversations)

    # WeChat is back: the next attempt of each goes through, once.
    wired.sandbox.control("DELETE", f"/faults/{outage['id']}")
    Message.objects.filter(pk__in=[m.pk for m in replies]).update(
        next_attempt_at=timezone.now())
    message_send_sweep_task.delay()
    wait_until("every reply to be sent", lambda: _all_sent(replies), timeout=40)
    for conversation in conversations:
        assert _inbox_texts(wired, conversation) == [
            f"Answer {n} to {conversation.pk}" for n in range(4)]
    calls = wired.send_calls()
    assert sum(1 for c in calls if c["errcode"] == 0) == len(replies)
    # Nothing left to do: no reply is queued twice or sent again by a later sweep.
    again = message_send_sweep_task.delay()
    assert worker.task_result(again.id) == "{'failed': 0, 'queued': 0}"
    assert sum(1 for c in wired.send_calls() if c["errcode"] == 0) == len(replies)
