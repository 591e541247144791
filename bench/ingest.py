"""Benchmark: the callback endpoint ingesting safe-mode pushes, against a bare-INSERT ceiling.

    .venv/bin/python bench/ingest.py [--duration 30] [--quick] [--workers 4] [--concurrency 16]

What runs (not in CI):

- the product's HTTP server as production runs it: gunicorn with sync workers on
  ``config.wsgi`` (on this 2-core machine Django measured about 2.5x faster under WSGI
  sync workers than under an ASGI server; ASGI stays for the websockets), DEBUG off,
  PostgreSQL ``portal_bench`` (migrated here), Celery not eager with Redis db 9 as the
  broker, so the after-commit batches are only published (no worker consumes them);
- a Python load generator (asyncio, one fresh connection per request, as the platform
  does) fed pre-built, signed and encrypted safe-mode callbacks with unique MsgIds from
  several followers of several accounts, over loopback;
- three phases of ``--duration`` seconds: the ceiling (``BENCH_CEILING=1`` mounts
  ``/bench/insert/``, a bare Django view doing one INSERT, on the same server) and
  ingestion at full speed, alternating in ``--rounds`` rounds so that a slow spell of the
  (shared, virtual) machine weighs on both alike; then ingestion at a fixed 300
  messages/s (latency measured from each request's scheduled time, so a stall is not
  hidden). CPU time per request is read from /proc for the web server, PostgreSQL,
  Redis and the load generator;
- then the check: every accepted message is one Inbound row and one Message, none lost,
  none twice, and re-sending a sample changes nothing.

Targets: ingestion at least 60% of the ceiling; p99 under 100 ms at 300 messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "portal_bench"
PG = "postgres://postgres@127.0.0.1:5432"
HOST = "127.0.0.1"
TARGET_RATIO = 0.60
TARGET_P99_MS = 100.0
FIXED_RATE = 300

BENCH_ENV = {
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key",
    # Production settings refuse the development key and a mail backend that does not send.
    "FIELD_ENCRYPTION_KEY": "A7iwiPXHyGmQCgOcLGi3RoAuwQp6LSFFK0lc2R8okJw=",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "BENCH_CEILING": "1",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "WECHAT_SANDBOX": "0",
    "DB_CONN_MAX_AGE": "3600",
}


# --- setup ------------------------------------------------------------------------------


def prepare_database(db_name: str = DB_NAME, bench_env: dict[str, str] = BENCH_ENV) -> None:
    # Other benches (bench/stalled_clients.py) pass their own database and environment.
    exists = subprocess.run(
        ["psql", f"{PG}/postgres", "-tA", "-v", f"db={db_name}"],
        input="SELECT 1 FROM pg_database WHERE datname = :'db'",
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db_name], check=True)
    env = {**os.environ, **bench_env}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    subprocess.run(["psql", f"{PG}/{db_name}", "-qc",
                    "CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, "
                    "k text NOT NULL, body text NOT NULL, "
                    "created_at timestamptz NOT NULL DEFAULT now())"], check=True)


def setup_django(bench_env: dict[str, str] = BENCH_ENV) -> None:
    os.environ.update(bench_env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def reset_rows(redis_db: int = 9) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE bench_ceiling, messaging_message, messaging_conversation, "
            "messaging_inbound, followers_followevent, followers_follower, "
            "followers_customer RESTART IDENTITY CASCADE"
        )
    subprocess.run(["redis-cli", "-n", str(redis_db), "FLUSHDB"], capture_output=True,
                   check=False)


@dataclass
class BenchAccount:
    appid: str
    original_id: str
    token: str
    key: str


def make_accounts(count: int) -> list[BenchAccount]:
    from accounts.models import Brand, OfficialAccount

    brand, _ = Brand.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    made = []
    for n in range(count):
        appid = f"wxbe{n:014x}"
        account = OfficialAccount.objects.filter(appid=appid).first()
        if account is None:
            account = OfficialAccount(
                brand=brand, name=f"Bench {n}", appid=appid, original_id=f"gh_bench{n:06d}",
                message_mode=OfficialAccount.MessageMode.SAFE, app_secret="",
                token=f"benchtoken{n}",
                encoding_aes_key=f"{n:02d}" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDE",
            )
            account.save()
        made.append(BenchAccount(account.appid, account.original_id, account.token,
                                 account.encoding_aes_key))
    return made


# --- the pushes -------------------------------------------------------------------------

TEXTS = ["你好，请问门店几点开门？", "Is the spring collection available in size M?",
         "我想退货，订单号 20240425-8812，谢谢 🙏", "hello", "优惠券怎么用？😀"]


def build_pushes(accounts: list[BenchAccount], count: int, followers: int,
                 first_msg_id: int) -> list[tuple[str, bytes]]:
    """(msg_id, raw HTTP request) for ``count`` unique, signed, encrypted callbacks."""
    from wechat import crypto
    from wechat.xmlutil import to_xml

    boxes = [crypto.MessageCrypto(a.token, a.key, a.appid) for a in accounts]
    now = int(time.time())
    requests: list[tuple[str, bytes]] = []
    for i in range(count):
        a = i % len(accounts)
        account, box = accounts[a], boxes[a]
        openid = f"oBench{a:02d}_{(i // len(accounts)) % followers:06d}"
        msg_id = str(first_msg_id + i)
        plain = to_xml({"ToUserName": account.original_id, "FromUserName": openid,
                        "CreateTime": now, "MsgType": "text",
                        "Content": TEXTS[i % len(TEXTS)], "MsgId": msg_id})
        nonce = str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
        encrypt = box.encrypt(plain)
        body = to_xml({"ToUserName": account.original_id, "Encrypt": encrypt}).encode()
        query = (f"signature={crypto.url_signature(account.token, str(now), nonce)}"
                 f"&timestamp={now}&nonce={nonce}&openid={openid}&encrypt_type=aes"
                 f"&msg_signature={crypto.msg_signature(account.token, str(now), nonce, encrypt)}")
        requests.append((msg_id, _http(f"/wechat/{account.appid}/callback/?{query}", body)))
    return requests


def _http(target: str, body: bytes) -> bytes:
    head = (f"POST {target} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: Mozilla/4.0\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


def ceiling_requests(count: int) -> list[tuple[str, bytes]]:
    body = b"<xml><Encrypt>" + b"A" * 400 + b"</Encrypt></xml>"
    return [(str(i), _http(f"/bench/insert/?k={i}", body)) for i in range(count)]


# --- the load generator -----------------------------------------------------------------


@dataclass
class Result:
    label: str
    latencies: list[float] = field(default_factory=list)
    ok_ids: list[str] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.ok_ids) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (f"{self.label:<28} {len(self.ok_ids):>7} ok {self.failures:>4} failed "
                f"{self.rate:>8.0f} msg/s  p50 {self.pct(0.50):6.1f} ms  "
                f"p99 {self.pct(0.99):6.1f} ms")


async def _one(port: int, raw: bytes) -> tuple[bool, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(raw)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.1 200") and body.strip() == b"success", body


def merged(label: str, parts: list[Result]) -> Result:
    return Result(label, latencies=[x for p in parts for x in p.latencies],
                  ok_ids=[x for p in parts for x in p.ok_ids],
                  failures=sum(p.failures for p in parts),
                  elapsed=sum(p.elapsed for p in parts))


async def closed_loop(label: str, port: int, requests: Iterable[tuple[str, bytes]],
                      concurrency: int, duration: float) -> Result:
    result = Result(label)
    queue = iter(requests)
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        for msg_id, raw in queue:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                ok, _body = await _one(port, raw)
            except OSError:
                ok = False
            if ok:
                result.latencies.append(time.perf_counter() - started)
                result.ok_ids.append(msg_id)
            else:
                result.failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(label: str, port: int, requests: list[tuple[str, bytes]], rate: int,
                    duration: float, *, timeout: float | None = None) -> Result:
    """Send at a fixed rate whatever the answers; latency counts from the scheduled time.
    A request without an answer within ``timeout`` seconds counts as failed."""
    result = Result(label)
    total = min(len(requests), int(rate * duration))
    tasks = []
    start = time.perf_counter()

    async def send(msg_id: str, raw: bytes, due: float) -> None:
        try:
            ok, _body = await asyncio.wait_for(_one(port, raw), timeout)
        except (OSError, TimeoutError):
            ok = False
        if ok:
            result.latencies.append(time.perf_counter() - due)
            result.ok_ids.append(msg_id)
        else:
            result.failures += 1

    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        msg_id, raw = requests[n]
        tasks.append(asyncio.create_task(send(msg_id, raw, due)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    return result


# --- the server -------------------------------------------------------------------------


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds used) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def cpu_by_part(server_pid: int) -> dict[str, dict[str, float]]:
    """CPU seconds used so far, per process, by the web server (gunicorn and its workers),
    PostgreSQL, Redis and this process (the load generator)."""
    parts: dict[str, dict[str, float]] = {"web": {}, "postgres": {}, "redis": {}}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        stat = _stat(pid)
        if stat is None:
            continue
        comm, ppid, seconds = stat
        if int(pid) == server_pid or ppid == server_pid:
            parts["web"][pid] = seconds
        elif comm.startswith("postgres"):
            parts["postgres"][pid] = seconds
        elif comm.startswith("redis-server"):
            parts["redis"][pid] = seconds
    own = os.times()
    parts["load generator"] = {"self": own.user + own.system}
    return parts


def cpu_used(before: dict[str, dict[str, float]],
             after: dict[str, dict[str, float]]) -> dict[str, float]:
    """CPU seconds per part between two snapshots: processes that started meanwhile count
    whole; those that ended meanwhile (an autovacuum worker) are lost, never negative."""
    return {part: sum(seconds - before[part].get(pid, 0.0)
                      for pid, seconds in after[part].items())
            for part in after}


def cpu_line(used: dict[str, float], requests: int) -> str:
    per = {k: v / max(requests, 1) * 1000 for k, v in used.items()}
    total = sum(per.values())
    return ("    CPU per request: " + ", ".join(f"{k} {v:.2f} ms" for k, v in per.items())
            + f"; total {total:.2f} ms")


def wait_for_port(port: int, proc: subprocess.Popen, name: str, deadline: float = 60.0) -> None:
    """Until ``proc`` accepts connections on ``port``; exits if it dies or never does."""
    end = time.time() + deadline
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{name} did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, *, without_hooks: bool = False,
                 bench_env: dict[str, str] = BENCH_ENV) -> subprocess.Popen:
    env = {**os.environ, **bench_env}
    command = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind",
               f"{HOST}:{port}", "--workers", str(workers), "--worker-class", "sync",
               "--backlog", "2048", "--log-level", "warning"]
    if without_hooks:
        # Diagnostic only: what the after-commit hook subscribers (the console relay's
        # task per hook) cost per message.
        command += ["--config", "python:bench.gunicorn_without_hooks"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def warm_up(port: int, accounts: list[BenchAccount], workers: int, followers: int) -> None:
    """Every worker opens its connections and imports lazily loaded code, and every
    follower writes once, so the measured runs see the steady state: followers writing
    in their open conversation (a first contact costs a few more statements)."""
    pushes = build_pushes(accounts, len(accounts) * followers, followers,
                          first_msg_id=9_000_000_000)
    asyncio.run(closed_loop("warm-up", port, pushes, workers * 2, 600))
    asyncio.run(closed_loop("warm-up", port, ceiling_requests(40 * workers), workers * 2, 30))


# --- checks -----------------------------------------------------------------------------


def verify(sent: list[str]) -> tuple[int, int, int, int]:
    """(accepted, Inbound rows, Message rows, rows stored more than once) for ``sent``."""
    from django.db.models import Count

    from messaging.models import Inbound, Message

    ids = set(sent)
    inbound = Inbound.objects.filter(dedupe_key__in=[f"msg:{m}" for m in ids]).count()
    messages = Message.objects.filter(direction="in", wechat_msg_id__in=ids).count()
    twice = (
        Inbound.objects.values("account_id", "dedupe_key").annotate(n=Count("id"))
        .filter(n__gt=1).count()
        + Message.objects.filter(direction="in").values("account_id", "wechat_msg_id")
        .annotate(n=Count("id")).filter(n__gt=1).count()
    )
    return len(ids), inbound, messages, twice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="5 s per phase")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3,
                        help="ceiling and ingest alternate this many times")
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--followers", type=int, default=50, help="per account")
    parser.add_argument("--rate", type=int, default=FIXED_RATE,
                        help="messages/s of the fixed-rate phase")
    parser.add_argument("--without-hooks", action="store_true",
                        help="diagnostic: no hook subscribers in the server")
    args = parser.parse_args(argv)
    duration = 5.0 if args.quick else args.duration
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    prepare_database()
    setup_django()
    reset_rows()
    accounts = make_accounts(args.accounts)
    port = free_port()
    server = start_server(port, args.workers, without_hooks=args.without_hooks)
    try:
        warm_up(port, accounts, args.workers, args.followers)
        print(f"gunicorn {args.workers} sync workers on config.wsgi"
              f"{' (hook subscribers removed)' if args.without_hooks else ''}, "
              f"PostgreSQL {DB_NAME}, "
              f"Celery broker redis db 9 (not eager, no worker), {args.concurrency} "
              f"concurrent connections, {duration:g} s per phase, {os.cpu_count()} CPUs")
        budget = int(duration * 4000)  # more than the server can take in the time
        # The two run in alternating rounds, so a slower or faster spell of the machine
        # (a shared VM) weighs on both alike; each gets ``duration`` seconds in all.
        ceiling_queue = iter(ceiling_requests(budget))
        pushes = build_pushes(accounts, budget, args.followers, first_msg_id=10**12)
        ingest_queue = iter(pushes)
        ceiling_parts: list[Result] = []
        ingest_parts: list[Result] = []
        ceiling_cpu = dict.fromkeys(("web", "postgres", "redis", "load generator"), 0.0)
        ingest_cpu = dict(ceiling_cpu)
        for _round in range(args.rounds):
            for queue, parts, cpu, label in (
                (ceiling_queue, ceiling_parts, ceiling_cpu, "ceiling (1 INSERT view)"),
                (ingest_queue, ingest_parts, ingest_cpu, "callback ingest (max)"),
            ):
                before = cpu_by_part(server.pid)
                parts.append(asyncio.run(closed_loop(label, port, queue, args.concurrency,
                                                     duration / args.rounds)))
                for k, seconds in cpu_used(before, cpu_by_part(server.pid)).items():
                    cpu[k] += seconds
        ceiling = merged("ceiling (1 INSERT view)", ceiling_parts)
        ingest = merged("callback ingest (max)", ingest_parts)
        print(ceiling.line())
        print(cpu_line(ceiling_cpu, len(ceiling.ok_ids)))
        print(ingest.line())
        print(cpu_line(ingest_cpu, len(ingest.ok_ids)), flush=True)
        fixed_pushes = build_pushes(accounts, int(args.rate * duration), args.followers,
                                    first_msg_id=2 * 10**12)
        fixed = asyncio.run(open_loop(f"callback ingest @{args.rate}/s", port, fixed_pushes,
                                      args.rate, duration))
        print(fixed.line(), flush=True)

        # Replays: a sample of what was accepted, sent again, must change nothing.
        replay_ids = set(ingest.ok_ids[:3000])
        replays = [p for p in pushes if p[0] in replay_ids]
        before = cpu_by_part(server.pid)
        replay = asyncio.run(closed_loop("replayed (duplicates)", port, replays,
                                         args.concurrency, 60))
        print(replay.line(), flush=True)
        print(cpu_line(cpu_used(before, cpu_by_part(server.pid)), len(replay.ok_ids)),
              flush=True)
    finally:
        server.terminate()
        server.wait(10)

    accepted, inbound, messages, duplicated = verify(ingest.ok_ids + fixed.ok_ids)
    lost = accepted - min(inbound, messages)
    ratio = ingest.rate / ceiling.rate if ceiling.rate else 0.0
    print()
    print(f"ceiling {ceiling.rate:.0f} req/s, ingest {ingest.rate:.0f} msg/s: "
          f"ratio {ratio:.1%} (target >= {TARGET_RATIO:.0%})")
    print(f"p99 at {args.rate}/s: {fixed.pct(0.99):.1f} ms (target < {TARGET_P99_MS:.0f} ms "
          f"at {FIXED_RATE}/s)")
    print(f"accepted {accepted}, Inbound rows {inbound}, Message rows {messages}, "
          f"lost {lost}, duplicated {duplicated}, failed answers "
          f"{ingest.failures + fixed.failures + replay.failures}, replays answered "
          f"success {len(replay.ok_ids)}/{len(replays)}")
    good = (ratio >= TARGET_RATIO and fixed.pct(0.99) < TARGET_P99_MS
            and args.rate >= FIXED_RATE and lost == 0
            and duplicated == 0 and messages == accepted)
    print("PASS" if good else "BELOW TARGET")
    subprocess.run(["redis-cli", "-n", "9", "FLUSHDB"], capture_output=True, check=False)
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
