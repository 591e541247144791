"""A real worker keeps its PostgreSQL connection across tasks, and replaces one the
server ended (`config.celery`, ``CELERY_DB_REUSE_MAX``).

Celery's Django fix-up would close it before and after every task: a new connection, and
a new server process, per task. The worker here is told apart from the test's own
connections by its ``application_name``.
"""

from __future__ import annotations

import pytest
from django.db import connection

from routing.tasks_assignment import routing_sweep_task
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    Broker,
    Worker,
    Workers,
    broker,
    wait_until,
    worker_database_url,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "portal-test-worker-reuse"


def _backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                       "ORDER BY pid", [NAME])
        return [pid for (pid,) in cursor.fetchall()]


def _sweep(worker: Worker) -> str:
    return worker.task_result(routing_sweep_task.delay().id)


@pytest.fixture
def worker(broker: Broker, workers: Workers) -> Worker:  # noqa: F811
    started = workers.start(DB_CONN_MAX_AGE="600",
                            DATABASE_URL=f"{worker_database_url()}?application_name={NAME}")
    yield started
    started.stop()


def test_the_worker_keeps_one_connection_across_tasks(worker: Worker) -> None:
    assert "'lost': 0" in _sweep(worker)
    kept = _backends()
    assert len(kept) == 1, "the connection was closed at the task's end"
    for _ in range(3):
        _sweep(worker)
    assert _backends() == kept


def test_a_connection_the_server_ended_is_replaced_and_the_next_task_runs(
        worker: Worker) -> None:
    _sweep(worker)
    [ended] = _backends()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [ended])
    wait_until("the server to end the worker's backend", lambda: _backends() == [])
    assert "'lost': 0" in _sweep(worker)
    [replaced] = _backends()
    assert replaced != ended
    assert "failed" not in worker.log.split(" ready.", 1)[1]
