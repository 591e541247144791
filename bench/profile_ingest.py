"""Diagnostic: where one callback's time goes, in one process, without HTTP.

    .venv/bin/python bench/profile_ingest.py [--count 2000] [--profile]

Feeds the same signed, encrypted pushes as ``bench/ingest.py`` straight into Django's
WSGI handler (all middleware, same settings), one after another, and prints the mean
wall time per request for the ceiling view, a first delivery and a replayed duplicate.
``--profile`` adds a cProfile of the first deliveries, sorted by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest as bench  # noqa: E402


def environ_for(raw: bytes) -> dict:
    head, body = raw.split(b"\r\n\r\n", 1)
    request_line = head.split(b"\r\n", 1)[0].decode()
    _method, target, _version = request_line.split(" ")
    path, _, query = target.partition("?")
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "text/xml", "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "SCRIPT_NAME": "",
    }


CPU = {"on": False}


def run(handler, requests: list[tuple[str, bytes]]) -> float:
    statuses = []
    clock = time.process_time if CPU["on"] else time.perf_counter
    started = clock()
    for _key, raw in requests:
        env = environ_for(raw)
        handler(env, lambda status, headers, *a: statuses.append(status))
    elapsed = clock() - started
    bad = [s for s in statuses if not s.startswith("200")]
    if bad:
        raise SystemExit(f"{len(bad)} failed: {bad[:3]}")
    return elapsed / len(requests) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cpu", action="store_true",
                        help="this process's CPU time per request instead of wall time")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    args = parser.parse_args()
    CPU["on"] = args.cpu
    bench.prepare_database()
    bench.setup_django()
    from django.core.handlers.wsgi import WSGIHandler

    bench.reset_rows()
    accounts = bench.make_accounts(4)
    handler = WSGIHandler()
    warm = bench.build_pushes(accounts, 200, 50, first_msg_id=9_000_000_000)
    run(handler, warm)
    run(handler, bench.ceiling_requests(200))
    pushes = bench.build_pushes(accounts, args.count, 50, first_msg_id=1_000_000)
    ceiling = run(handler, bench.ceiling_requests(args.count))
    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        first = run(handler, pushes)
        profiler.disable()
    else:
        first = run(handler, pushes)
    duplicate = run(handler, pushes)
    unit = "ms CPU/request" if args.cpu else "ms/request"
    print(f"ceiling view      {ceiling:6.3f} {unit}")
    print(f"first delivery    {first:6.3f} {unit}  ({ceiling / first:.2f}x of ceiling)")
    print(f"replayed          {duplicate:6.3f} {unit}  ({ceiling / duplicate:.2f}x)")
    if args.profile:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
