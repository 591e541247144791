"""After-commit work is published in batches: one task per batch, through the real broker."""

import base64
import json
import threading
import time
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from messaging import task_batches
from messaging.task_batches import batch_flush, batch_submit

ran: list[list] = []
# How long a test waits for the publishing thread: far beyond what it takes, so a slow
# machine makes the test slower, not red.
DEADLINE = 20.0


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


class HeldFlush:
    """The publishing thread's pause, under the test's control.

    The thread sleeps ``FLUSH_SECONDS`` after the first item so that what arrives
    meanwhile joins the batch. Here that pause lasts until the test releases it, so
    "submitted together" means "submitted before the release", whatever the machine's
    speed; a thread that never starts, never pauses or never publishes still fails."""

    def __init__(self) -> None:
        self.pausing = threading.Event()
        self.released = threading.Event()
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.pausing.set()
        self.released.wait(DEADLINE)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def held(broker, monkeypatch):
    """A fresh batch state for this process (its own thread, nothing left from another
    test) whose publishing thread pauses until ``release()``."""
    hold = HeldFlush()
    batches = task_batches._Batches()
    monkeypatch.setattr(task_batches, "_batches", batches)
    monkeypatch.setattr(task_batches, "time", SimpleNamespace(sleep=hold.sleep))
    yield hold
    # Whatever is still pending is dropped, and the thread let go, before the broker
    # fixture restores the settings: nothing is published after the test.
    batches.take()
    hold.release()


def _wait_until(condition, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


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


def test_items_submitted_together_are_published_as_one_task(broker, held):
    client, queue = broker
    ran.clear()
    batch_submit(collect_batch, 0)
    # The web process's thread woke for the first item and waits for more.
    assert held.pausing.wait(DEADLINE), "the publishing thread never started"
    for n in range(1, 7):
        batch_submit(collect_batch, n)
    assert client.llen(queue) == 0  # nothing is published while the batch collects

    held.release()

    _wait_until(lambda: client.llen(queue), "the batch was never published")
    assert held.pauses == [task_batches.FLUSH_SECONDS]
    assert _published(client, queue) == [("tests.collect_batch", list(range(7)))]
    assert batch_flush() == 0  # all seven went in that one task
    assert ran == []  # nothing runs here: the task waits in the queue for a worker


def test_each_task_gets_its_own_batch_and_big_batches_are_split(broker, held):
    client, queue = broker  # the thread stays paused: only the explicit flush publishes
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


def test_a_leading_batch_publishes_at_once_when_quiet_then_once_a_window(broker,
                                                                        monkeypatch):
    client, queue = broker
    clock = {"now": 500.0}
    hold = HeldFlush()
    monkeypatch.setattr(task_batches, "_sooner", {})
    monkeypatch.setattr(task_batches, "time",
                        SimpleNamespace(sleep=hold.sleep, monotonic=lambda: clock["now"]))
    try:
        # Nothing published in the last window: the first item goes at once, unpaused.
        batch_submit(collect_batch, 1, within=0.4, leading=True)
        _wait_until(lambda: client.llen(queue) == 1, "the first item was never published")
        assert hold.pauses == []
        # The next ones, 0.1 s after that publish, wait for the rest of its window.
        clock["now"] += 0.1
        batch_submit(collect_batch, 2, within=0.4, leading=True)
        assert hold.pausing.wait(DEADLINE), "the thread never paused for the window"
        batch_submit(collect_batch, 3, within=0.4, leading=True)
        assert hold.pauses == [pytest.approx(0.3)] and client.llen(queue) == 1
        hold.release()
        _wait_until(lambda: client.llen(queue) == 2, "the window's batch was never published")
        assert _published(client, queue) == [("tests.collect_batch", [2, 3]),
                                             ("tests.collect_batch", [1])]
    finally:
        for batches in task_batches._sooner.values():
            batches.take()
        hold.release()


def test_a_forked_process_starts_with_nothing_pending(broker, held, monkeypatch):
    batch_submit(collect_batch, "parent's")  # the parent's thread holds it, paused
    # What a pre-forking server's child sees: the parent's pid on the inherited state.
    monkeypatch.setattr(task_batches._batches, "pid", -1)
    assert batch_flush() == 0
    client, queue = broker
    assert client.llen(queue) == 0


# -- inside a worker's task ---------------------------------------------------------------

@pytest.fixture
def in_task():
    """This thread runs a worker's task until the test ends it (`task_finished`)."""
    task_batches.task_started()
    yield
    task_batches._in_task.deferred = None


def test_inside_a_task_items_wait_for_its_end_and_run_in_its_process(broker, held, in_task):
    client, queue = broker
    done: list[list] = []
    for item in (1, 2, 3):
        batch_submit(collect_batch, item, after_task=done.append)
    # Nothing published, nothing run yet: the task is still running.
    assert done == [] and not held.pausing.is_set()
    task_batches.task_finished()
    assert done == [[1, 2, 3]]
    assert batch_flush() == 0 and _published(client, queue) == []
    # The task has ended: the next item goes the usual way, to the broker.
    batch_submit(collect_batch, 4, after_task=done.append)
    _wait_until(held.pausing.is_set, "the publishing thread to start")
    held.release()
    _wait_until(lambda: _published(client, queue) == [("tests.collect_batch", [4])],
                "the item to be published")
    assert done == [[1, 2, 3]]


def test_an_item_without_after_task_is_published_even_inside_a_task(broker, held, in_task):
    client, queue = broker
    batch_submit(collect_batch, "plain")
    _wait_until(held.pausing.is_set, "the publishing thread to start")
    assert batch_flush() == 1
    assert _published(client, queue) == [("tests.collect_batch", ["plain"])]


def test_what_fails_after_the_task_is_published_to_its_task_instead(broker, held, in_task,
                                                                    caplog):
    client, queue = broker

    def failing(items: list) -> None:
        raise ConnectionError("the channel layer is away")

    batch_submit(collect_batch, "a", after_task=failing)
    batch_submit(collect_batch, "b", after_task=failing)
    task_batches.task_finished()
    assert _published(client, queue) == [("tests.collect_batch", ["a", "b"])]
    assert "running tests.collect_batch after the task failed; queued instead" in caplog.text
