"""Benchmark: many worker processes, short-lived tokens, one renewal per expiry.

    .venv/bin/python bench/tokens.py [--accounts 200] [--workers 8] [--threads 4]
                                     [--seconds 60] [--ttl 10] [--margin 1]

Starts the sandbox in this process with ``token_ttl`` shortened to ``--ttl`` seconds and
registers the accounts. Each worker process boots Django (``config.settings``, Redis db 6
as the cache, no database: clients are built from in-memory credentials the way
``accounts.wechat_clients.client_for`` builds them) and its threads call ``user_info`` and
``tag_list`` on random accounts until the time is up. Every token goes through the portal's
``CacheTokenProvider``, renewed ``--margin`` seconds before it expires.

Figures:
- calls made, and calls that failed on a token error (target 0);
- token refreshes per expiry (target 1.0): the tokens the sandbox issued after each
  account's first one, divided by the expiries the accounts went through: how many of
  their tokens came due (``ttl - margin`` seconds after issue) before the run ended.
  Tokens issued less than half a cycle after the previous one are duplicates: they count
  as refreshes but not as expiries, so any double renewal pushes the figure above 1.0;
- duplicate renewals: two tokens issued for one account less than half a cycle apart
  (target 0), and tokens the sandbox saw rejected (40001/42001, recovered by the client).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/6"


def _django(redis_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    # The development settings (DEBUG is off unless set, and then wants keys of its own).
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def worker(
    base_url: str,
    accounts: list[dict[str, str]],
    threads: int,
    margin: float,
    redis_url: str,
    start_at: float,
    stop_at: float,
    results: Any,
) -> None:
    _django(redis_url)
    from accounts.tokens import CacheTokenProvider
    from accounts.wechat_clients import shared_session
    from wechat.client import Transport, WeChatClient
    from wechat.errors import TokenError, WeChatException
    from wechat.tokens import StableTokenFetcher

    session = shared_session()
    secrets = {a["appid"]: a["secret"] for a in accounts}
    transport = Transport(base_url, session=session)
    provider = CacheTokenProvider(StableTokenFetcher(transport, secrets), margin=margin)
    clients = [
        (WeChatClient(a["appid"], base_url=base_url, token_provider=provider, session=session),
         a["openid"])
        for a in accounts
    ]
    counts: Counter[str] = Counter()
    guard = threading.Lock()

    def run(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - load pattern, not security
        mine: Counter[str] = Counter()
        while time.time() < stop_at:
            client, openid = rng.choice(clients)
            try:
                if rng.random() < 0.5:
                    client.user_info(openid)
                else:
                    client.tag_list()
                mine["ok"] += 1
            except TokenError:
                mine["token_error"] += 1
            except WeChatException as exc:
                mine[f"error:{type(exc).__name__}"] += 1
        with guard:
            counts.update(mine)

    time.sleep(max(0.0, start_at - time.time()))
    pool = [threading.Thread(target=run, args=(os.getpid() * 100 + i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put(dict(counts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ttl", type=int, default=10, help="token lifetime, seconds")
    parser.add_argument("--margin", type=float, default=1.0,
                        help="renew this many seconds before expiry")
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args(argv)

    _django(args.redis_url)
    from django.core.cache import cache

    from wechat.sandbox.server import start_in_thread

    cache.clear()
    sb = start_in_thread(host="127.0.0.1", port=0)
    sb.control("POST", "/settings", {"token_ttl": args.ttl})
    accounts = []
    for _ in range(args.accounts):
        made = sb.control("POST", "/accounts", {
            "kind": "service", "verified": True,
            # tags/get allows 1000 calls a day; the benchmark makes more.
            "quotas": {"/cgi-bin/tags/get": 10**8, "/cgi-bin/user/info": 10**8},
        })
        openid = sb.control("POST", f"/accounts/{made['appid']}/followers",
                            {"push": False})["openid"]
        accounts.append({"appid": made["appid"], "secret": made["secret"], "openid": openid})

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 8.0  # time for the workers to boot Django
    stop_at = start_at + args.seconds
    procs = [
        ctx.Process(target=worker, args=(sb.base_url, accounts, args.threads, args.margin,
                                         args.redis_url, start_at, stop_at, results))
        for _ in range(args.workers)
    ]
    for proc in procs:
        proc.start()
    totals: Counter[str] = Counter()
    for _ in procs:
        totals.update(results.get(timeout=args.seconds + 120))
    for proc in procs:
        proc.join(30)
    end = min(time.time(), stop_at)

    with sb.state.lock:
        issued: dict[str, list[float]] = {a["appid"]: [] for a in accounts}
        for token in sb.state.tokens.values():
            if token.kind == "stable" and token.appid in issued:
                issued[token.appid].append(token.issued_at)
        counters = sb.state.counters
        token_requests = sum(counters["token_requests"].get(a, 0) for a in issued)
        rejected = {code: counters["errors"].get(code, 0) for code in ("40001", "40014", "42001")}
    sb.stop()

    cycle = args.ttl - min(args.margin, args.ttl / 2)
    refreshes = renewal_points = duplicates = 0
    gaps: list[float] = []
    for times in issued.values():
        times.sort()
        refreshes += len(times) - 1
        gaps += [b - a for a, b in zip(times, times[1:], strict=False)]
        # The account's distinct tokens that came due while calls were still being made;
        # a duplicate (issued moments after another) adds a refresh but no expiry.
        chain = times[:1]
        for issued_at in times[1:]:
            if issued_at - chain[-1] >= cycle / 2:
                chain.append(issued_at)
        renewal_points += sum(1 for issued_at in chain if issued_at + cycle <= end)
    duplicates = sum(1 for gap in gaps if gap < cycle / 2)
    late = sum(1 for gap in gaps if gap > args.ttl)

    calls = sum(totals.values())
    print(f"accounts {args.accounts}, workers {args.workers} x {args.threads} threads, "
          f"{args.seconds:.0f} s, token ttl {args.ttl} s, renewed {args.margin:g} s early")
    print(f"calls made:                  {calls} ({calls / args.seconds:.0f} calls/s)")
    print(f"calls failed on token error: {totals.get('token_error', 0)} calls")
    others = {k: v for k, v in totals.items() if k.startswith("error:")}
    print(f"calls failed otherwise:      {sum(others.values())} calls {others or ''}")
    print(f"token requests to sandbox:   {token_requests} requests")
    print(f"tokens issued:               {refreshes + len(issued)} tokens "
          f"({len(issued)} first fetches + {refreshes} refreshes)")
    print(f"renewal points (expiries):   {renewal_points} "
          f"({renewal_points / len(issued):.2f} per account)")
    print(f"token refreshes per expiry:  {refreshes / max(renewal_points, 1):.3f} refreshes/expiry")
    print(f"duplicate renewals:          {duplicates} tokens")
    if gaps:
        print(f"time between renewals:       mean {statistics.mean(gaps):.2f} s, "
              f"min {min(gaps):.2f} s, max {max(gaps):.2f} s; {late} after expiry")
    print(f"tokens rejected by sandbox:  {sum(rejected.values())} calls {rejected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
