"""After-commit work is published in batches: one task per batch, through the real broker."""

import base64
import json
import time

import pytest
import redis
from django.conf import settings
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from messaging import task_batches
from messaging.task_batches import batch_flush, batch_submit

ran: list[list] = []


@celery_app.task(name="tests.collect_batch")
def collect_batch(items: list) -> int:
    ran.append(items)
    return len(items)


def _reset_pools() -> None:
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """Celery as in production: not eager, publishing to the test Redis; yields a client
    on that database and the queue the tasks land in."""
    if not settings.REDIS_URL:
        pytest.fail("these tests need REDIS_URL (the suite runs against real Redis)")
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url)
    _reset_pools()
    conf.task_always_eager, conf.broker_url = False, settings.REDIS_URL
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = conf.task_default_queue
    client.delete(queue)
    yield client, queue
    batch_flush()
    client.delete(queue)
    conf.task_always_eager, conf.broker_url = saved
    _reset_pools()


def _published(client: redis.Redis, queue: str) -> list[tuple[str, list]]:
    """(task name, its list argument) of every message waiting in ``queue``."""
    found = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], args[0]))
    return sorted(found, key=lambda item: (item[0], -len(item[1])))


def test_eager_runs_the_task_at_once_with_one_item():
    ran.clear()
    batch_submit(collect_batch, {"n": 1})
    batch_submit(collect_batch, {"n": 2})
    assert ran == [[{"n": 1}], [{"n": 2}]]


def test_items_submitted_together_are_published_as_one_task(broker):
    client, queue = broker
    for n in range(7):
        batch_submit(collect_batch, n)
    # The web process's thread publishes within FLUSH_SECONDS; nothing runs here.
    deadline = time.monotonic() + 5
    while not client.llen(queue):
        assert time.monotonic() < deadline, "the batch was never published"
        time.sleep(0.01)
    time.sleep(task_batches.FLUSH_SECONDS * 2)
    assert _published(client, queue) == [("tests.collect_batch", list(range(7)))]


def test_each_task_gets_its_own_batch_and_big_batches_are_split(broker, monkeypatch):
    client, queue = broker
    monkeypatch.setattr(task_batches, "FLUSH_SECONDS", 30)  # only the explicit flush
    from messaging.tasks import inbound_process_batch_task

    for n in range(task_batches.MAX_ITEMS + 3):
        batch_submit(collect_batch, n)
    batch_submit(inbound_process_batch_task, 99)
    assert batch_flush() == task_batches.MAX_ITEMS + 4
    published = _published(client, queue)
    assert [(name, len(items)) for name, items in published] == [
        ("messaging.tasks.inbound_process_batch_task", 1),
        ("tests.collect_batch", task_batches.MAX_ITEMS),
        ("tests.collect_batch", 3),
    ]
    assert batch_flush() == 0  # nothing is published twice


def test_a_forked_process_starts_with_nothing_pending(broker, monkeypatch):
    monkeypatch.setattr(task_batches, "FLUSH_SECONDS", 30)
    batch_submit(collect_batch, "parent's")
    # What a pre-forking server's child sees: the parent's pid on the inherited state.
    monkeypatch.setattr(task_batches._batches, "pid", -1)
    assert batch_flush() == 0
    client, queue = broker
    assert client.llen(queue) == 0
