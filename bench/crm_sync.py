"""Benchmark: follower sync throughput against the sandbox, end to end.

    .venv/bin/python bench/crm_sync.py [--followers 100000] [--accounts 1] [--profile]

What runs (not in CI): the sandbox in a thread of this process (its HTTP server on
loopback), seeded with ``--followers`` followers over ``--accounts`` accounts of one
open-platform group (so profiles carry unionids and linking has work to do); PostgreSQL
``portal_bench_crm_sync`` (created and migrated here); the job as a worker runs it
(``followers.sync.sync_run``, slice after slice, in this process): the list in pages of
10,000, the profiles 100 a call, the customers by unionid. The time is from the start of
the job to its end, DB writes and platform calls included; seeding is not timed.

Prints followers per second, end to end, per phase. Target: 5,000 followers/s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "portal_bench_crm_sync"
PG = "postgres://postgres@127.0.0.1:5432"
TARGET = 5000.0


def _database() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME],
                   check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the job")
    args = parser.parse_args(argv)

    os.environ.update({
        "DATABASE_URL": f"{PG}/{DB_NAME}", "DEBUG": "1", "CELERY_TASK_ALWAYS_EAGER": "1",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"),
        "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings",
    })
    sys.path.insert(0, str(ROOT))
    _database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache

    from accounts.scope import Scope
    from accounts.services import account_create
    from followers import sync
    from followers.models import Follower
    from followers.models_sync import FollowerSync
    from tests.factories import make_brand, owner_scope
    from wechat.sandbox import world
    from wechat.sandbox.server import start_in_thread

    sb = start_in_thread(host="127.0.0.1", port=0)
    settings.WECHAT_API_BASE = sb.base_url
    cache.clear()
    brand = make_brand(name="Bench brand")
    scope: Scope = owner_scope(brand)
    group = sb.control("POST", "/groups", {"name": "bench"})["id"]
    accounts = []
    for n in range(args.accounts):
        account = account_create(scope=scope, name=f"Bench {n}", appid=f"wx{0xbe0c0000 + n:016x}",
                                 original_id=f"gh_bench{n:06d}", kind="service",
                                 app_secret=f"bench-secret-{n:08d}")
        sb.control("POST", "/accounts", {"appid": account.appid, "secret": account.app_secret,
                                         "group_id": group})
        accounts.append(account)
    started = time.perf_counter()
    state = sb.state
    per_account = args.followers // args.accounts
    with state.lock:
        people = [world.create_person(state, "zh_CN") for _ in range(per_account)]
        for account in accounts:
            platform_account = state.accounts[account.appid]
            for person in people:  # the same people on every account: shared unionids
                world.follow(state, platform_account, person, sb.clock.now())
    print(f"seeded {per_account * len(accounts):,} followers on {len(accounts)} accounts "
          f"in {time.perf_counter() - started:.1f} s")

    profiler = cProfile.Profile() if args.profile else None
    total_started = time.perf_counter()
    for account in accounts:
        job = sync.follower_sync_start(scope=scope, account_id=account.pk, enqueue=False)
        phases: dict[str, float] = {}
        began = time.perf_counter()
        if profiler:
            profiler.enable()
        while True:
            phase = FollowerSync.objects.get(pk=job.pk).phase
            t0 = time.perf_counter()
            outcome = sync.sync_run(sync_id=job.pk)
            phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - t0
            if outcome != "continue":
                break
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - began
        job.refresh_from_db()
        assert outcome == "done", (outcome, job.reason)
        assert Follower.objects.filter(account=account, subscribed=True).count() == per_account
        print(f"{account.name}: {job.listed:,} listed, {job.profiles_done:,} profiles, "
              f"{job.linked:,} linked in {elapsed:.2f} s = {per_account / elapsed:,.0f} "
              f"followers/s  (slices starting in: " + ", ".join(
                  f"{k} {v:.2f} s" for k, v in phases.items()) + ")")
    total = time.perf_counter() - total_started
    rate = per_account * len(accounts) / total
    verdict = "meets" if rate >= TARGET else "misses"
    from followers.models import Customer

    people = Customer.objects.filter(brand=brand, followers__isnull=False).distinct().count()
    print(f"follower sync: {rate:,.0f} followers/s end to end over "
          f"{per_account * len(accounts):,} followers ({total:.2f} s); target "
          f"{TARGET:,.0f} followers/s: {verdict}. The followers are {people:,} customers "
          f"(one per unionid: each person follows every account; the profiles' step links "
          f"them, so the job's own linking pass finds nothing left to move)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    sb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
