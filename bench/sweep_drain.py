"""Benchmark: how fast the inbound sweep drains a backlog left by a broker outage.

    .venv/bin/python bench/sweep_drain.py [--rows 5000] [--concurrency 4]

What runs (not in CI): PostgreSQL ``portal_bench_drain`` (made afresh here), Redis db 5 as
the broker, one ``celery worker`` with production's prefork pool and ``--concurrency``
processes. A backlog of ``--rows`` text deliveries from known followers (their profiles
fetched: what a Redis outage leaves behind while followers keep writing) is stored
unprocessed and two minutes old; then ``inbound_sweep_task`` runs on the worker (again
every 15 s, as the beat runs it, if the backlog outlasts one sweep's ceiling) and the
clock stops when the last row is processed. Prints rows/s, against ingestion's
450-550 messages/s (``bench/ingest.py``). Rows that need the platform (a new follower's
profile, media) cost a WeChat call each and drain at the platform's pace instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import BENCH_ENV, prepare_database  # noqa: E402

DB_NAME = "portal_bench_drain"
BEAT_SECONDS = 15  # config/settings.py's "inbound-sweep"
ENV = {
    **BENCH_ENV,
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/5",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/5",
    "BENCH_CEILING": "0",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    # A fresh database each run: the test factories number their rows from 1.
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME],
                   check=True)
    prepare_database(DB_NAME, ENV)
    os.environ.update(ENV)
    import django

    django.setup()
    import redis
    from django.utils import timezone

    from messaging.models import Inbound
    from messaging.tasks import inbound_sweep_task
    from tests.factories import make_account, make_brand
    from tests.messaging.sweep_support import backlog

    # Tasks a stopped run left queued or unacknowledged.
    redis.Redis.from_url(ENV["REDIS_URL"]).delete("celery", "unacked", "unacked_index")
    ids = backlog(make_account(brand=make_brand()), args.rows)

    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "routing,celery",
         "--loglevel", "WARNING",
         "--concurrency", str(args.concurrency), "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ, **ENV},
    )
    try:
        time.sleep(5)  # the pool's processes start
        started = swept = time.monotonic()
        inbound_sweep_task.delay()
        while Inbound.objects.filter(pk__in=ids, processed_at__isnull=True).exists():
            if time.monotonic() - started > 600:
                raise SystemExit("the backlog did not drain in 10 minutes")
            if time.monotonic() - swept >= BEAT_SECONDS:  # as the beat would
                swept = time.monotonic()
                inbound_sweep_task.delay()
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(30)
    twice = Inbound.objects.filter(pk__in=ids, attempts__gt=1).count()
    print(f"backlog {args.rows} rows, worker --concurrency {args.concurrency}: drained in "
          f"{elapsed:.2f} s = {args.rows / elapsed:.0f} rows/s; processed twice: {twice}; "
          f"at {timezone.now():%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
