"""Benchmark: stalled clients against gunicorn's sync workers, directly and behind nginx.

    .venv/bin/python bench/stalled_clients.py [--duration 20] [--stalled 16] [--rate 50]

What runs (not in CI):

- gunicorn as bench/ingest.py starts it (its helpers, imported: sync workers on
  ``config.wsgi``, DEBUG off, PostgreSQL, Celery publishing to Redis without a worker),
  on its own database ``portal_stalled`` and Redis db 6, so it can run beside
  bench/ingest.py; uvicorn on ``config.asgi`` for the websockets;
- Debian's nginx (installed with apt-get when missing and run as root), unprivileged in a
  temporary directory (its own pid, logs and temp paths, a high port), with a generated
  main file that includes the shipped ``deploy/portal.d`` snippets (limits and routes):
  the bench measures the production recipe, not a copy of it. As root, the shipped
  ``deploy/nginx.conf`` is also checked with ``nginx -t``;
- stalled clients, each opening a connection to the callback URL and sending the headers
  of a signed push that declares ``Content-Length: 1000`` and 100 bytes of its body, then
  holding; dropped by the server, it reconnects, as an attacker would;
- a normal client sending signed safe-mode callbacks at a fixed rate; a callback's
  latency counts from its scheduled time (a stall is not hidden) and one without an
  answer within ``--timeout`` seconds counts as failed.

Three phases: (b0) nginx without stalled clients, for reference; (b) nginx with the
stalled clients, ``--duration`` seconds; (a) the same stalled clients straight at
gunicorn, kept short (at most 10 s) and bounded by the timeout, because there it stalls.
Target: through nginx, no failed callback and p99 under 100 ms with the stalled clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest  # noqa: E402  (the repository root is on the path only now)

ROOT = ingest.ROOT
HOST = ingest.HOST
DEPLOY = ROOT / "deploy"
DB_NAME = "portal_stalled"
REDIS_DB = 6
ENV = {
    **ingest.BENCH_ENV,
    "DATABASE_URL": f"{ingest.PG}/{DB_NAME}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    # Quieter: the portal's own log lines (the stalled requests gunicorn reads at last, cut
    # short, are refused; Django's request log still names those 400s) and WhiteNoise's
    # warning about the static files this bench never collects.
    "LOG_LEVEL": "ERROR",
    "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
}
TARGET_P99_MS = 100.0
DECLARED = 1000  # the stalled client's Content-Length
SENT = 100  # the bytes of body it actually sends
DIRECT_MAX = 10.0  # seconds: the unprotected phase stays short


# --- nginx ------------------------------------------------------------------------------


def nginx_binary() -> str:
    """Debian's nginx, installed through apt-get when it is missing and we are root."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("nginx is missing: install Debian's package with "
                         "`sudo apt-get install -y nginx`, then run this again")
    print("installing nginx (apt-get install -y nginx)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_version(nginx: str) -> str:
    answer = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=True)
    return answer.stderr.strip().removeprefix("nginx version: ")


def check_shipped_config(nginx: str, work: Path) -> str:
    """``nginx -t`` on deploy/nginx.conf, its certificate placeholders swapped for a
    throwaway self-signed pair. Needs root: the file names the system's log paths."""
    if os.geteuid() != 0:
        return "not checked (nginx -t on it needs root: it names /var/log/nginx)"
    if shutil.which("openssl") is None:
        return "not checked (openssl is missing)"
    check = work / "shipped"
    check.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=portal.example.com", "-keyout", str(check / "key.pem"),
                    "-out", str(check / "cert.pem")], capture_output=True, check=True)
    text = (DEPLOY / "nginx.conf").read_text()
    text = text.replace("/etc/ssl/portal/fullchain.pem", str(check / "cert.pem"))
    text = text.replace("/etc/ssl/portal/privkey.pem", str(check / "key.pem"))
    (check / "nginx.conf").write_text(text)
    (check / "portal.d").symlink_to(DEPLOY / "portal.d")
    if Path("/etc/nginx/mime.types").exists():
        shutil.copy("/etc/nginx/mime.types", check / "mime.types")
    answer = subprocess.run([nginx, "-t", "-q", "-p", str(check), "-c",
                             str(check / "nginx.conf")], capture_output=True, text=True)
    if answer.returncode != 0:
        raise SystemExit(f"deploy/nginx.conf does not pass nginx -t:\n{answer.stderr}")
    return "passes nginx -t"


def write_bench_config(work: Path, *, listen: int, http_port: int, ws_port: int) -> Path:
    """The main file for an unprivileged nginx in ``work``: its own paths and ports, and
    the shipped snippets, included from deploy/portal.d through a symlink."""
    (work / "portal.d").symlink_to(DEPLOY / "portal.d")
    temp = "\n".join(f"    {kind}_temp_path {work / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = work / "nginx.conf"
    conf.write_text(f"""# Generated by bench/stalled_clients.py; limits and routes: deploy/portal.d.
daemon off;
worker_processes 1;
pid {work / "nginx.pid"};
error_log {work / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    include portal.d/limits.conf;
    upstream portal_http {{ server {HOST}:{http_port}; }}
    upstream portal_ws {{ server {HOST}:{ws_port}; }}
    server {{
        listen {HOST}:{listen};
        include portal.d/routes.conf;
    }}
}}
""")
    return conf


def start_nginx(nginx: str, work: Path, conf: Path, port: int) -> subprocess.Popen:
    # Run as root, nginx's workers switch to `nobody`, who must reach the temp paths.
    work.chmod(0o755)
    subprocess.run([nginx, "-t", "-q", "-p", str(work), "-c", str(conf)], check=True)
    proc = subprocess.Popen([nginx, "-p", str(work), "-c", str(conf)])
    ingest.wait_for_port(port, proc, "nginx")
    return proc


def start_uvicorn(port: int) -> subprocess.Popen:
    env = {**os.environ, **ENV}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "uvicorn"), "config.asgi:application", "--host",
         HOST, "--port", str(port), "--log-level", "warning", "--proxy-headers"],
        cwd=ROOT, env=env,
    )
    ingest.wait_for_port(port, proc, "uvicorn")
    return proc


def websocket_check(port: int) -> str:
    """The status line a websocket handshake on /ws/console/ gets through nginx. uvicorn
    refuses an anonymous console with 403 once the upgrade reached it; without the upgrade
    headers the ASGI app (or gunicorn) would answer 404."""
    import socket

    handshake = (f"GET /ws/console/ HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 f"Origin: http://{HOST}\r\n\r\n")
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(handshake.encode())
        return sock.recv(4096).split(b"\r\n", 1)[0].decode()


# --- the stalled clients ----------------------------------------------------------------


def stalled_request(raw: bytes) -> bytes:
    """A signed push's head, declaring ``DECLARED`` bytes, and the first ``SENT`` of its
    body: what a client that stops mid-body has sent."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n")
             if not line.lower().startswith(b"content-length:")]
    lines.append(b"Content-Length: %d" % DECLARED)
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body + b" " * SENT)[:SENT]


@dataclass
class Stalls:
    opened: int = 0
    held: list[float] = field(default_factory=list)  # seconds until the server dropped one
    answers: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        if not self.held:
            return f"{self.opened} connections, none dropped by the server"
        answers = ", ".join(f"{k} {v}" for k, v in sorted(self.answers.items()))
        return (f"{self.opened} connections, {len(self.held)} dropped by the server after "
                f"{statistics.median(self.held):.1f} s (median; {answers})")


async def _held(reader: asyncio.StreamReader) -> str:
    """What the server did with a stalled request: its status code, or how it closed."""
    try:
        data = await reader.read(1024)
    except ConnectionResetError:
        return "reset"
    if not data:
        return "closed"
    return data.split(b" ", 2)[1].decode(errors="replace") if b" " in data else "answered"


async def stall(port: int, request: bytes, stop: asyncio.Event, stalls: Stalls) -> None:
    ended = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            stalls.opened += 1
            opened = time.perf_counter()
            try:
                writer.write(request)
                await writer.drain()
                held = asyncio.ensure_future(_held(reader))
                await asyncio.wait({held, ended}, return_when=asyncio.FIRST_COMPLETED)
                if held.done():
                    stalls.held.append(time.perf_counter() - opened)
                    stalls.answers[held.result()] = stalls.answers.get(held.result(), 0) + 1
                else:
                    held.cancel()
            except OSError:
                stalls.held.append(time.perf_counter() - opened)
                stalls.answers["reset"] = stalls.answers.get("reset", 0) + 1
            finally:
                writer.close()
    finally:
        ended.cancel()


# --- the phases -------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    result: ingest.Result
    sent: int
    stalls: Stalls | None
    timeout: float

    def p99(self) -> str:
        if self.sent and self.result.failures / self.sent > 0.01:
            return f"> {self.timeout * 1000:.0f} ms (more than 1% failed)"
        return f"{self.result.pct(0.99):.1f} ms"

    def line(self) -> str:
        r = self.result
        p50 = f"{r.pct(0.50):.1f} ms" if r.latencies else "n/a"
        worst = f"{max(r.latencies) * 1000:.1f} ms" if r.latencies else "n/a"
        text = (f"{self.label:<34} sent {self.sent:>5}, answered {len(r.ok_ids):>5}, "
                f"failed {r.failures:>5}; p50 {p50}, p99 {self.p99()}, max answered {worst}")
        if self.stalls is not None:
            text += f"\n{'':<34} stalled clients: {self.stalls.line()}"
        return text


async def run_phase(label: str, port: int, pushes: list[tuple[str, bytes]], *, rate: int,
                    duration: float, stalled: int, stall_request: bytes,
                    timeout: float) -> Phase:
    stop = asyncio.Event()
    stalls = Stalls() if stalled else None
    clients = [asyncio.create_task(stall(port, stall_request, stop, stalls))
               for _ in range(stalled)]
    if clients:
        await asyncio.sleep(1.0)  # every stalled client connected and holding
    result = await ingest.open_loop(label, port, pushes, rate, duration, timeout=timeout)
    stop.set()
    await asyncio.gather(*clients)
    return Phase(label, result, min(len(pushes), int(rate * duration)), stalls, timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of the main phase, nginx with stalled clients")
    parser.add_argument("--stalled", type=int, default=16, help="stalled clients")
    parser.add_argument("--rate", type=int, default=50, help="normal callbacks per second")
    parser.add_argument("--workers", type=int, default=4,
                        help="gunicorn sync workers (the Procfile's WEB_CONCURRENCY)")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds a normal callback may wait for its answer")
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--followers", type=int, default=20, help="per account")
    args = parser.parse_args(argv)

    nginx = nginx_binary()
    ingest.prepare_database(DB_NAME, ENV)
    ingest.setup_django(ENV)
    ingest.reset_rows(REDIS_DB)
    accounts = ingest.make_accounts(args.accounts)
    http_port, ws_port, nginx_port = (ingest.free_port() for _ in range(3))
    work = Path(tempfile.mkdtemp(prefix="portal-nginx-"))
    processes: list[subprocess.Popen] = []
    try:
        shipped = check_shipped_config(nginx, work)
        processes.append(ingest.start_server(http_port, args.workers, bench_env=ENV))
        processes.append(start_uvicorn(ws_port))
        conf = write_bench_config(work, listen=nginx_port, http_port=http_port,
                                  ws_port=ws_port)
        processes.append(start_nginx(nginx, work, conf, nginx_port))
        ingest.warm_up(nginx_port, accounts, args.workers, args.followers)

        direct_seconds = min(DIRECT_MAX, args.duration)
        baseline_seconds = max(5.0, args.duration / 2)
        batches = [int(args.rate * s) + 1 for s in (baseline_seconds, args.duration,
                                                    direct_seconds)]
        first = 10**12
        pushes = []
        for n, count in enumerate(batches):
            pushes.append(ingest.build_pushes(accounts, count, args.followers,
                                              first_msg_id=first + n * 10**9))
        request = stalled_request(ingest.build_pushes(accounts, 1, args.followers,
                                                      first_msg_id=first - 1)[0][1])

        print(f"{nginx_version(nginx)} (Debian's package) in front of gunicorn "
              f"({args.workers} sync workers, config.wsgi) and uvicorn (config.asgi); "
              f"PostgreSQL {DB_NAME}; {os.cpu_count()} CPUs")
        print(f"limits and routes: deploy/portal.d (shared with deploy/nginx.conf, which "
              f"{shipped})")
        print(f"websocket /ws/console/ through nginx: {websocket_check(nginx_port)!r} "
              "(403: uvicorn refused the anonymous socket, so the upgrade reached it)")
        print(f"normal client: {args.rate} signed safe-mode callbacks/s, latency from the "
              f"scheduled time, failed without an answer in {args.timeout:g} s; stalled "
              f"clients: {args.stalled}, each declaring {DECLARED} bytes and sending {SENT}")
        print(flush=True)

        phases = []
        for label, port, batch, seconds, stalled in (
            ("(b0) nginx, no stalled clients", nginx_port, pushes[0], baseline_seconds, 0),
            (f"(b) nginx, {args.stalled} stalled clients", nginx_port, pushes[1],
             args.duration, args.stalled),
            (f"(a) gunicorn direct, {args.stalled} stalled", http_port, pushes[2],
             direct_seconds, args.stalled),
        ):
            phase = asyncio.run(run_phase(label, port, batch, rate=args.rate,
                                          duration=seconds, stalled=stalled,
                                          stall_request=request, timeout=args.timeout))
            print(f"{phase.line()}  [{seconds:g} s]", flush=True)
            phases.append(phase)
    finally:
        for proc in reversed(processes):
            proc.terminate()
        for proc in reversed(processes):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    baseline, guarded, direct = phases
    accepted, inbound, messages, twice = ingest.verify(
        [i for p in phases for i in p.result.ok_ids])
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], capture_output=True,
                   check=False)
    print()
    print(f"through nginx with {args.stalled} stalled clients: p99 {guarded.p99()} "
          f"(without them {baseline.p99()}; target < {TARGET_P99_MS:.0f} ms), "
          f"failed {guarded.result.failures} of {guarded.sent}")
    print(f"straight at gunicorn: failed {direct.result.failures} of {direct.sent}, "
          f"p99 {direct.p99()}")
    print(f"answered callbacks {accepted}: Inbound rows {inbound}, Message rows {messages}, "
          f"stored twice {twice}")
    good = (guarded.result.failures == 0 and guarded.result.pct(0.99) < TARGET_P99_MS
            and inbound == messages == accepted and twice == 0)
    print("PASS" if good else "BELOW TARGET")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
