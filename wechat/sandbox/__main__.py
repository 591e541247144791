"""python -m wechat.sandbox [--host H] [--port P] [--state FILE] | simulate ..."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "simulate":
        # The simulator is separate (it only talks to the control API); import it lazily.
        from wechat.sandbox.simulate import main as simulate_main

        return int(simulate_main(argv[1:]) or 0)

    parser = argparse.ArgumentParser(prog="python -m wechat.sandbox",
                                     description="Serve the WeChat platform sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--state", help="JSON file to load at start and save while running")
    parser.add_argument("--no-auto-jobs", action="store_true",
                        help="finish mass jobs only via POST /_sandbox/jobs/run")
    args = parser.parse_args(argv)

    from wechat.sandbox.server import SandboxServer

    sb = SandboxServer(args.host, args.port, auto_jobs=not args.no_auto_jobs,
                       state_file=args.state)
    if args.state and os.path.exists(args.state):
        sb.load(args.state)
    sb.start()
    print(f"WeChat sandbox on {sb.base_url} (control API under /_sandbox/)", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    sb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
