"""The console push as the worker runs it: queued soon after the commit, sent again when
the channel layer refused it."""

import logging
import time
from types import SimpleNamespace

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from messaging import task_batches
from routing import realtime
from routing.tasks import PUSH_RETRIES, console_push_batch_task
from tests.messaging.test_task_batches import _published, broker  # noqa: F401 - a fixture

PAYLOAD = {"brand_id": 1, "conversation_id": 2, "message_id": 3, "account_id": 4,
           "direction": "in"}


def test_the_push_of_a_quiet_process_is_queued_at_once_not_with_the_background_work(broker, monkeypatch):  # noqa: ANN001, E501, F811
    client, queue = broker
    pauses: list[float] = []
    # The publishing threads' pause, recorded instead of slept.
    monkeypatch.setattr(task_batches, "time", SimpleNamespace(sleep=pauses.append,
                                                              monotonic=time.monotonic))
    monkeypatch.setattr(task_batches, "_batches", task_batches._Batches())
    monkeypatch.setattr(task_batches, "_sooner", {})

    realtime.console_relay("message.created", PAYLOAD)

    deadline = time.monotonic() + 20
    while not client.llen(queue):
        assert time.monotonic() < deadline, "the push was never queued"
        time.sleep(0.01)
    # A leading batch: nothing was pushed in the last 0.1 s, so no pause at all (the
    # background work waits its 250 ms; a busy process's next push, the rest of 0.1 s:
    # tests/messaging/test_task_batches.py).
    assert pauses == [] and realtime.PUSH_WITHIN == 0.1
    assert _published(client, queue) == [
        ("routing.tasks.console_push_batch_task", [["message.created", PAYLOAD]])]
    assert task_batches.batch_flush() == 0  # nothing left behind, nothing twice


@pytest.fixture
def refusals(monkeypatch):  # noqa: ANN001, ANN201
    """Each event reaches 5 members; the layer refuses the first ``n`` sends
    (``refusals.refuse(n)``), or those of one brand (``refusals.only(brand_id)``)."""
    sends: list[tuple[int, list[str]]] = []
    refused: list = [0, None]

    def parts(name: str, payload: dict, reads: object) -> list:
        return [{"to": [1, 2, 3, 4, 5], "payload": {"type": name}}]

    def send(brand_id: int, parts: list) -> None:
        sends.append((brand_id, [part["payload"]["type"] for part in parts]))
        if len(sends) <= refused[0] and refused[1] in (None, brand_id):
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(realtime, "_parts", parts)
    monkeypatch.setattr(realtime, "send", send)
    monkeypatch.setattr(realtime, "_Reads", lambda pairs: None)
    return SimpleNamespace(sends=sends, refuse=lambda n: refused.__setitem__(0, n),
                           only=lambda brand_id: refused.__setitem__(1, brand_id))


def test_a_batch_is_one_stream_message_per_brand_and_a_refused_one_is_sent_again(
        refusals, caplog):  # noqa: ANN001
    refusals.refuse(1)
    caplog.set_level(logging.WARNING, logger="routing.realtime")
    result = console_push_batch_task.apply(args=([["message.created", PAYLOAD],
                                                  ["message.status", PAYLOAD]],))
    # Both events in one send; refused, both again in one send.
    assert refusals.sends == [(1, ["message.created", "message.status"])] * 2
    # (Not result.get(): an earlier test may have left this thread marked as a worker.)
    assert result.get(disable_sync_subtasks=False) == 10
    (warning,) = caplog.records
    assert warning.getMessage().startswith("console push could not reach the channel layer")


def test_only_the_refused_brands_events_are_sent_again(refusals):  # noqa: ANN001
    refusals.refuse(2)
    refusals.only(2)
    other = {**PAYLOAD, "brand_id": 2}
    console_push_batch_task.apply(args=([["message.created", PAYLOAD],
                                         ["message.created", other],
                                         ["message.status", PAYLOAD]],))
    assert refusals.sends == [(1, ["message.created", "message.status"]),
                              (2, ["message.created"]), (2, ["message.created"])]


def test_a_push_refused_every_time_gives_up_with_an_error(refusals, caplog):  # noqa: ANN001
    refusals.refuse(100)
    caplog.set_level(logging.WARNING, logger="routing.tasks")
    console_push_batch_task.apply(args=([["message.created", PAYLOAD]],))
    assert len(refusals.sends) == PUSH_RETRIES + 1
    assert caplog.records[-1].levelname == "ERROR"
    assert "gave up" in caplog.records[-1].getMessage()
