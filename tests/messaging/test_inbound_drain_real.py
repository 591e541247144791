"""After an outage, the inbound sweep drains a backlog of 5,000 deliveries at the workers'
pace, on PostgreSQL with a REAL Celery worker: one sweep queues it all (ten batches, each
row claimed once), where the sweep used to queue 500 rows a minute (3,702 rows took 251 s).
The drain rate is printed; ``bench/sweep_drain.py`` measures it with production's pool."""

from __future__ import annotations

import time

import pytest

from messaging.models import Inbound
from messaging.tasks import inbound_sweep_task
from tests.factories import make_account, make_brand
from tests.messaging.sweep_support import backlog, unprocessed
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    Broker,
    Workers,
    broker,
    wait_until,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)

BACKLOG = 5_000


def test_one_sweep_drains_a_backlog_of_5000_at_the_workers_pace_each_row_once(
    broker: Broker, workers: Workers  # noqa: F811
) -> None:
    worker = workers.default()
    ids = backlog(make_account(brand=make_brand()), BACKLOG)

    started = time.monotonic()
    sweep = inbound_sweep_task.delay()
    assert worker.task_result(sweep.id, timeout=30) == str(BACKLOG)
    wait_until("the backlog to drain", lambda: unprocessed(ids) == 0, timeout=60)
    elapsed = time.monotonic() - started
    print(f"\ndrained {BACKLOG} rows in {elapsed:.1f} s: {BACKLOG / elapsed:.0f} rows/s "
          "(one solo worker process)")
    # A minute's worth of the old sweep was 500 rows.
    assert BACKLOG / elapsed > 500 / 60
    # Each row was processed once: one claim on `attempts`, no duplicate task's work.
    assert set(Inbound.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}
    again = inbound_sweep_task.delay()
    assert worker.task_result(again.id) == "0"
