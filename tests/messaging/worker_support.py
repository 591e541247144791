"""A real Celery worker for tests, and Celery in the test process as in production.

``celery -A config worker --pool=solo`` runs in a subprocess on the pytest-django test
database and the test Redis, so the tasks' production branches run: the broker's retries
and countdowns, redelivery after a crash, the sweeps. Tests wait on events (the database,
the worker's log), never on sleeps.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
import redis
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from accounts.models import Membership
from config.celery import app as celery_app
from messaging.task_batches import batch_flush
from routing.events import addressed_to, agent_group, brand_group

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens there
# The Redis keys of the two queues (the default one and routing's) and of the tasks
# workers hold unacknowledged.
BROKER_KEYS = ("celery", "routing", "unacked", "unacked_index", "unacked_mutex")


def wait_until(what: str, probe: Callable[[], T], timeout: float = 20.0) -> T:
    """Poll ``probe`` until it answers something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_for_quiet_database(quiet_for: float = 0.5, timeout: float = 15.0) -> None:
    """Wait until no other session works on the test database for ``quiet_for`` seconds:
    a task the worker was still running when the test ended (a console push, a target
    refresh) would otherwise meet the test's closing TRUNCATE and deadlock with it."""
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'")
            busy = cursor.fetchone()[0]
        if busy:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_for:
            return
        time.sleep(0.05)


def worker_database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test_<name>)."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


class Worker:
    """One ``celery worker`` subprocess; its merged output is kept as ``log``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.log = ""
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
             "-Q", "routing,celery", "--loglevel=INFO", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "-n", self.name],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_log(r" ready\.", timeout=30)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.log += line
                self._changed.notify_all()

    def wait_for_log(self, pattern: str, timeout: float = 20.0) -> re.Match:
        """The first match of ``pattern`` in the log, once the worker wrote it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := re.search(pattern, self.log)) is None:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the worker never logged {pattern!r}:\n{self.log[-4000:]}")
                self._changed.wait(0.1)
        return found

    def task_result(self, task_id: str, timeout: float = 20.0) -> str:
        """What the worker logged as the result of one task (its repr)."""
        found = self.wait_for_log(rf"\[{re.escape(task_id)}\] succeeded in [\d.]+s: (.*)",
                                  timeout)
        return found.group(1).strip()

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, as when a host dies."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def _reset_pools() -> None:
    # Celery keeps connection and producer pools per broker URL; forget them all so the
    # next publish connects to whatever broker_url says now.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class Broker:
    """Celery in the test process as in production: not eager, publishing to the test
    Redis. ``down()`` points it at a port where nothing listens, ``up()`` back."""

    def __init__(self) -> None:
        self.client = redis.Redis.from_url(settings.REDIS_URL)

    def _use(self, url: str) -> None:
        _reset_pools()
        celery_app.conf.broker_url = url

    def down(self) -> None:
        self._use(DEAD_BROKER)

    def up(self) -> None:
        self._use(settings.REDIS_URL)

    def clear(self) -> None:
        self.client.delete(*BROKER_KEYS)

    def held_unacknowledged(self) -> int:
        return int(self.client.hlen("unacked"))


@pytest.fixture
def broker() -> Iterator[Broker]:
    if not settings.REDIS_URL:
        pytest.fail("these tests need REDIS_URL (the suite runs against real Redis)")
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url)
    conf.task_always_eager = False
    live = Broker()
    live.up()
    live.clear()
    yield live
    batch_flush()
    live.clear()
    wait_for_quiet_database()
    conf.task_always_eager, conf.broker_url = saved
    _reset_pools()


class Workers:
    """The workers of a test module. ``default()`` is one long-lived worker (started on
    first use, again after a test killed it); ``start(**env)`` starts another with extra
    environment. All are stopped at the end of the module."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[Worker] = []
        self._default: Worker | None = None

    def start(self, **extra_env: str) -> Worker:
        self.started.append(Worker({**self.env, **extra_env}))
        return self.started[-1]

    def default(self) -> Worker:
        if self._default is None or self._default.proc.poll() is not None:
            self._default = self.start()
        return self._default

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture(scope="module")
def workers(django_db_setup: None, sandbox_server: Any) -> Iterator[Workers]:  # noqa: ARG001
    """Workers on the test database, the test Redis and the session's sandbox. A worker
    lives across the module's tests: starting one costs seconds. Between tests it sits
    idle, so the tests' flushes of Redis (``cache.clear()``) find nothing of its in flight.
    """
    if not settings.REDIS_URL:
        pytest.fail("these tests need REDIS_URL (the suite runs against real Redis)")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DEBUG": os.environ.get("DEBUG", "1"),
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DB_CONN_MAX_AGE": "0",
        "WECHAT_API_BASE": sandbox_server.base_url,
        "LOG_FORMAT": "text",
        "PYTHONUNBUFFERED": "1",
    }
    pool = Workers(env)
    yield pool
    pool.stop_all()


class ConsoleWatch:
    """What one member's console screen receives, listened to from a thread of its own
    until an event satisfies ``until``: their own group and their brand's, keeping what is
    addressed to them (``routing.events.addressed_to``), whichever fan-out the push uses."""

    def __init__(self, member: Membership, *, until: Callable[[dict], bool],
                 timeout: float = 20.0):
        self.member, self.until, self.timeout = member, until, timeout
        self.events: list[dict] = []
        self.matched: dict | None = None
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()),
                                        daemon=True)
        self._thread.start()
        if not self._subscribed.wait(10):
            pytest.fail("could not listen on the console's channel layer")

    async def _listen(self) -> None:
        # A layer of its own: the process's instance is bound to other event loops.
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        channel = await layer.new_channel()
        groups = [agent_group(self.member.pk), brand_group(self.member.brand_id)]
        for group in groups:
            await layer.group_add(group, channel)
        self._subscribed.set()
        deadline = time.monotonic() + self.timeout
        try:
            while self.matched is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    message = await asyncio.wait_for(layer.receive(channel), remaining)
                except TimeoutError:
                    return
                for payload in addressed_to(message, self.member.pk):
                    self.events.append(payload)
                    if self.matched is None and self.until(payload):
                        self.matched = payload
        finally:
            for group in groups:
                await layer.group_discard(group, channel)

    def result(self) -> dict:
        """The event that satisfied ``until``; fails with what arrived if none did."""
        self._thread.join(self.timeout + 5)
        if self.matched is None:
            pytest.fail(f"the console never got the event; it got {self.events}")
        return self.matched
