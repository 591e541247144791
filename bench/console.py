"""Benchmark: the live console at a brand's scale, per-agent fan-out against the brand one.

    .venv/bin/python bench/console.py [--duration 60] [--rate 20] [--clients 100]
        [--modes agent/redis,brand/redis,brand/pubsub]

What runs (not in CI), once per mode (``CONSOLE_FANOUT``/``CONSOLE_LAYER``), in one run:

- the Procfile's servers: gunicorn (sync workers, ``config.wsgi``) for HTTP, uvicorn
  (``config.asgi``) for ``/ws/``, a Celery worker (``--concurrency 4``) and beat, DEBUG
  off, on PostgreSQL ``portal_console_bench`` and a redis-server of the bench's own on a
  free port (broker, cache and channel layer; emptied between modes). bench/ingest.py's
  helpers build the database, the accounts and the signed safe-mode pushes;
- ``--clients`` websocket clients in a process of their own (the `websockets` library),
  each signed in as one member of the brand: admins (they see everything), agents serving
  one account, and agents who serve another account but sit in a team that answers for
  two (the conversations are placed in those teams). Each behaves as the browser does:
  ``hello`` on open, a ping every 20 s (closing if no pong within 10 s), and on ``gap``
  or ``overflow`` a reload of the counts and the list over the REST API (a resync);
- the callback fed at ``--rate`` messages a second for ``--duration`` seconds, from
  followers who already wrote (their conversations are open).

The modes take turns (``--rounds``, 3 by default, each ``--duration / rounds`` seconds),
so that a busy spell of the shared machine weighs on all of them alike. Printed per mode,
over its rounds: message-to-screen latency (from the callback's answer to the ``message``
event at each client whose member may see it: the audience is computed afterwards from
the database with the visibility rule, `messaging.visibility.audience`) p50, p95 and max;
message events delivered against expected, and those missing with a gap signalled to that
screen after the message was answered ("signalled") or without ("silent"); gaps and
resyncs; sockets dropped; CPU seconds per message of uvicorn, the worker, Redis; Redis
commands per message. Then the ratio of the baseline (the first mode) to each other.

Targets: p95 under 250 ms, 0 silent, 0 sockets dropped; the verdict is the default
configuration's (brand fan-out on ``CONSOLE_LAYER``'s default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest  # noqa: E402  (the repository root is on the path only now)

ROOT = ingest.ROOT
HOST = ingest.HOST
DB_NAME = "portal_console_bench"
TARGET_P95_MS = 250.0
ADMINS, ACCOUNT_AGENTS_EACH, TEAMS = 20, 8, 3
PING_SECONDS, PONG_SECONDS = 20.0, 10.0


# --- the bench's own Redis ------------------------------------------------------------


class OwnRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = ingest.free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.command = ["redis-server", "--port", str(self.port), "--bind", HOST, "--save",
                        "", "--appendonly", "no", "--dir", str(workdir)]
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        ingest.wait_for_port(self.port, self.proc, "redis-server")

    def restart(self) -> None:
        """Stopped and started again, empty (no persistence), as after a crash."""
        self.proc.terminate()
        self.proc.wait(10)
        self.start()

    def cli(self, *args: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                              text=True, check=True).stdout

    def commands(self) -> int:
        for line in self.cli("INFO", "stats").splitlines():
            if line.startswith("total_commands_processed:"):
                return int(line.split(":")[1])
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# --- the brand ------------------------------------------------------------------------


@dataclass
class Member:
    pk: int
    role: str
    cookie: str


def reset_rows() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE messaging_message, messaging_conversation, messaging_inbound, "
            "followers_followevent, followers_follower, followers_customer, "
            "django_session RESTART IDENTITY CASCADE")


def make_members(count: int) -> list[Member]:
    """``count`` members of the bench brand, signed in: ADMINS admins, ACCOUNT_AGENTS_EACH
    agents per account, the rest agents in the TEAMS teams (each answering for two
    accounts; the agent serves an account outside the team's)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Brand, Membership, OfficialAccount, Team, User

    brand = Brand.objects.get(slug="bench")
    Membership.objects.filter(brand=brand).delete()
    User.objects.filter(email__endswith="@console-bench.invalid").delete()
    accounts = list(OfficialAccount.objects.filter(brand=brand).order_by("appid"))
    teams = []
    for k in range(TEAMS):
        team, _ = Team.objects.get_or_create(brand=brand, name=f"Bench team {k}")
        team.accounts.set(accounts[2 * k:2 * k + 2])
        teams.append(team)
    members = []
    for n in range(count):
        user = User.objects.create_user(f"m{n}@console-bench.invalid", None, name=f"M{n}")
        if n < ADMINS:
            membership = Membership.objects.create(user=user, brand=brand, role="admin",
                                                   presence="online")
        else:
            membership = Membership.objects.create(user=user, brand=brand, role="agent",
                                                   presence="online")
            k = n - ADMINS
            if k < ACCOUNT_AGENTS_EACH * len(accounts):
                membership.accounts.set([accounts[k % len(accounts)]])
            else:
                team = teams[k % TEAMS]
                # An account no conversation of the team is on: the team shows them these.
                outside = accounts[(2 * (k % TEAMS) + 2) % len(accounts)]
                membership.accounts.set([outside])
                membership.teams.add(team)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        members.append(Member(membership.pk, membership.role, session.session_key))
    return members


def place_in_teams() -> None:
    """Every conversation goes to the team that answers for its account. The followers'
    profiles count as fetched: there is no platform to fetch them from here, and the
    worker would retry each one at every message."""
    from django.utils import timezone

    from accounts.models import Team
    from followers.models import Follower
    from messaging.models import Conversation

    for team in Team.objects.filter(brand__slug="bench"):
        Conversation.objects.filter(handling_account__in=team.accounts.all()).update(team=team)
    Follower.objects.update(profile_fetched_at=timezone.now())


def audiences(message_pks: list[int]) -> dict[int, list[int]]:
    """Who may see each message (membership ids), by the visibility rule."""
    from messaging.models import Conversation, Message
    from messaging.visibility import Place, audience_ids

    conversation_of = dict(Message.objects.filter(pk__in=message_pks)
                           .values_list("pk", "conversation_id"))
    seen = {c.pk: audience_ids(Place.of(c))
            for c in Conversation.objects.filter(pk__in=set(conversation_of.values()))}
    return {pk: seen[conversation] for pk, conversation in conversation_of.items()}


# --- the servers ----------------------------------------------------------------------


def _run(name: str, command: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    out = (logs / f"{name}.log").open("ab")
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                            stderr=subprocess.STDOUT)


def start_worker(env: dict[str, str], logs: Path) -> subprocess.Popen:
    return _run("worker", [str(Path(sys.executable).parent / "celery"), "-A", "config",
                           "worker", "-Q", "routing,celery", "--loglevel", "WARNING",
                           "--concurrency", "4"], env, logs)


def start_servers(env: dict[str, str], logs: Path, http_port: int, ws_port: int,
                  workers: int) -> list[subprocess.Popen]:
    bin_dir = Path(sys.executable).parent

    def run(name: str, command: list[str]) -> subprocess.Popen:
        return _run(name, command, env, logs)

    procs = [ingest.start_server(http_port, workers, bench_env=env)]
    procs.append(run("uvicorn", [str(bin_dir / "uvicorn"), "config.asgi:application",
                                 "--host", HOST, "--port", str(ws_port), "--log-level",
                                 "warning", "--proxy-headers"]))
    ingest.wait_for_port(ws_port, procs[-1], "uvicorn")
    procs.append(start_worker(env, logs))
    procs.append(run("beat", [str(bin_dir / "celery"), "-A", "config", "beat", "--loglevel",
                              "WARNING", "-s", str(logs / "beat-schedule")]))
    return procs


def stop_servers(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_for_worker(redis: OwnRedis, deadline: float = 120.0) -> None:
    """Until the broker's queue is empty (what the warm-up queued is done)."""
    end = time.time() + deadline
    while time.time() < end:
        if redis.cli("LLEN", "celery").strip() == "0":
            return
        time.sleep(0.5)


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_tree(root: int) -> float:
    """CPU seconds used so far by ``root`` and its children (a process and its workers)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        if int(pid) == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


# --- the clients (a process of their own) ---------------------------------------------


async def _http_get(port: int, target: str, cookie: str) -> bool:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write((f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\nCookie: sessionid={cookie}"
                      "\r\nAccept: application/json\r\nConnection: close\r\n\r\n").encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    return data.startswith(b"HTTP/1.1 200")


@dataclass
class ClientLog:
    received: list[tuple[int, int, float]] = field(default_factory=list)  # member, msg, at
    gaps: list[tuple[int, float, str]] = field(default_factory=list)  # member, at, reason
    resynced: int = 0
    resync_failed: int = 0
    dropped: int = 0
    links: int = 0
    connected: int = 0
    reloads: set = field(default_factory=set)  # the resyncs' reloads under way


async def _client(member: Member, cfg: dict, log: ClientLog, stop: asyncio.Event,
                  ready: asyncio.Event, counter: object) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    url = f"ws://{HOST}:{cfg['ws_port']}/ws/console/"
    headers = {"Cookie": f"sessionid={member.cookie}", "Origin": f"http://{HOST}"}
    attempts, first = 0, True

    async def reload() -> None:
        try:
            ok = all([await _http_get(cfg["http_port"], cfg["counts"], member.cookie),
                      await _http_get(cfg["http_port"], cfg["list"], member.cookie)])
        except OSError:
            ok = False
        if ok:
            log.resynced += 1
        else:
            log.resync_failed += 1

    while not stop.is_set():
        try:
            async with connect(url, additional_headers=headers, open_timeout=30,
                               ping_interval=None, max_queue=None) as ws:
                await ws.send(json.dumps({"type": "hello", "since": None}))
                pong_due: list[float | None] = [None]

                async def pinger(ws: object = ws, pong_due: list = pong_due) -> None:
                    while True:
                        await asyncio.sleep(PING_SECONDS)
                        await ws.send(json.dumps({"type": "ping"}))  # type: ignore[attr-defined]
                        pong_due[0] = time.time() + PONG_SECONDS

                ping_task = asyncio.create_task(pinger())
                stopper = asyncio.create_task(stop.wait())
                try:
                    while True:
                        recv = asyncio.create_task(ws.recv())
                        done, _ = await asyncio.wait({recv, stopper}, timeout=1.0,
                                                     return_when=asyncio.FIRST_COMPLETED)
                        if stopper in done:
                            recv.cancel()
                            return
                        if pong_due[0] is not None and time.time() > pong_due[0]:
                            recv.cancel()
                            raise ConnectionError("no pong")  # as the browser closes
                        if recv not in done:
                            recv.cancel()
                            continue
                        at = time.time()
                        event = json.loads(recv.result())
                        kind = event.get("type")
                        if kind == "message":
                            log.received.append((member.pk, event["message_id"], at))
                            with counter.get_lock():  # type: ignore[attr-defined]
                                counter.value += 1  # type: ignore[attr-defined]
                        elif kind == "hello":
                            attempts = 0
                            if first:
                                first = False
                                log.connected += 1
                                if log.connected == cfg["clients"]:
                                    ready.set()
                        elif kind in ("gap", "overflow"):
                            log.gaps.append((member.pk, at, event.get("reason", kind)))
                            task = asyncio.create_task(reload())
                            log.reloads.add(task)
                            task.add_done_callback(log.reloads.discard)
                        elif kind == "link":
                            log.links += 1
                        elif kind == "pong":
                            pong_due[0] = None
                finally:
                    ping_task.cancel()
                    stopper.cancel()
        except (ConnectionClosed, ConnectionError, OSError, TimeoutError):
            if stop.is_set():
                return
            log.dropped += 1
            attempts += 1
            await asyncio.sleep(min(15.0, 0.5 * 2 ** attempts))


def clients_process(members: list[Member], cfg: dict, stop: object, ready: object,
                    counter: object, results: object) -> None:
    """The swarm: one asyncio loop, a client per member. Puts its ClientLog on
    ``results`` once ``stop`` is set."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> ClientLog:
        log, done, all_ready = ClientLog(), asyncio.Event(), asyncio.Event()

        async def watch_stop() -> None:
            while not stop.is_set():  # type: ignore[attr-defined]
                await asyncio.sleep(0.1)
            done.set()

        async def report_ready() -> None:
            await all_ready.wait()
            ready.set()  # type: ignore[attr-defined]

        watcher, reporter = asyncio.create_task(watch_stop()), asyncio.create_task(
            report_ready())
        clients = []
        for member in members:
            clients.append(asyncio.create_task(
                _client(member, cfg, log, done, all_ready, counter)))
            await asyncio.sleep(0.02)  # a page load at a time, not one burst
        await asyncio.gather(*clients)
        if log.reloads:  # the last resyncs finish (the server may still be catching up)
            await asyncio.wait(set(log.reloads), timeout=60)
        log.reloads = set()
        watcher.cancel()
        reporter.cancel()
        return log

    results.put(asyncio.run(main()))  # type: ignore[attr-defined]


# --- the load -------------------------------------------------------------------------


async def feed(port: int, pushes: list[tuple[str, bytes]], rate: float, duration: float,
               ) -> tuple[dict[str, float], int]:
    """Send at a fixed rate; answers (msg id -> wall-clock time of its `success` answer,
    failures)."""
    answered: dict[str, float] = {}
    failures = [0]
    total = min(len(pushes), int(rate * duration))
    start = time.perf_counter()

    async def one(msg_id: str, raw: bytes) -> None:
        try:
            ok, _ = await asyncio.wait_for(ingest._one(port, raw), 10)
        except (OSError, TimeoutError):
            ok = False
        if ok:
            answered[msg_id] = time.time()
        else:
            failures[0] += 1

    tasks = []
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*pushes[n])))
    await asyncio.gather(*tasks)
    return answered, failures[0]


# --- one mode -------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Outcome:
    label: str
    latencies: list[float]
    expected: int
    delivered: int
    signalled: int
    silent: int
    gaps: Counter
    resynced: int
    resync_failed: int
    dropped: int
    callbacks: int
    failed_callbacks: int
    cpu: dict[str, float]
    redis_commands: int
    log_lines: Counter
    loads: list[float] = field(default_factory=list)  # the machine's 1-minute load
    # With --restart-redis-at: per screen, seconds from Redis back to its first gap after
    # the restart, and how many screens got none.
    recovery: list[float] = field(default_factory=list)
    unrecovered: int = 0

    def merge(self, other: Outcome) -> Outcome:
        """This mode's figures over two rounds."""
        return Outcome(
            self.label, self.latencies + other.latencies, self.expected + other.expected,
            self.delivered + other.delivered, self.signalled + other.signalled,
            self.silent + other.silent, self.gaps + other.gaps,
            self.resynced + other.resynced, self.resync_failed + other.resync_failed,
            self.dropped + other.dropped, self.callbacks + other.callbacks,
            self.failed_callbacks + other.failed_callbacks,
            {k: v + other.cpu[k] for k, v in self.cpu.items()},
            self.redis_commands + other.redis_commands, self.log_lines + other.log_lines,
            self.loads + other.loads, self.recovery + other.recovery,
            self.unrecovered + other.unrecovered)

    def meets_targets(self) -> bool:
        return self.pct(0.95) < TARGET_P95_MS and self.silent == 0 and self.dropped == 0

    def pct(self, q: float) -> float:
        return _pct(self.latencies, q) * 1000

    def lines(self) -> list[str]:
        n = max(self.callbacks, 1)
        gaps = ", ".join(f"{k} {v}" for k, v in sorted(self.gaps.items())) or "none"
        logs = ", ".join(f"{k} {v}" for k, v in sorted(self.log_lines.items())) or "none"
        maximum = max(self.latencies) * 1000 if self.latencies else float("nan")
        return [
            f"{self.label}",
            f"  callbacks answered {self.callbacks} (failed {self.failed_callbacks})",
            f"  message-to-screen latency: p50 {self.pct(0.50):.0f} ms, p95 "
            f"{self.pct(0.95):.0f} ms, max {maximum:.0f} ms",
            f"  message events delivered {self.delivered} of {self.expected} expected "
            f"({self.delivered / max(self.expected, 1):.1%}); missing but signalled "
            f"{self.signalled}, silent {self.silent}",
            f"  gaps signalled {sum(self.gaps.values())} ({gaps}); resynced "
            f"{self.resynced} (failed {self.resync_failed}); sockets dropped {self.dropped}",
            "  CPU per message: " + ", ".join(f"{k} {v / n * 1000:.1f} ms"
                                             for k, v in self.cpu.items())
            + f"; Redis commands per message {self.redis_commands / n:.0f}",
            f"  server log lines: {logs}",
            *([f"  after each Redis restart: {len(self.recovery)} screens told to resync, "
               f"{self.unrecovered} not; from Redis back to the gap p95 "
               f"{_pct(self.recovery, 0.95) * 1000:.0f} ms, max "
               f"{max(self.recovery, default=float('nan')) * 1000:.0f} ms"]
              if self.recovery or self.unrecovered else []),
            "  machine load (1 min) at the start of each round: "
            + ", ".join(f"{load:.1f}" for load in self.loads),
            f"  targets (p95 < {TARGET_P95_MS:.0f} ms, 0 silent, 0 dropped): "
            + ("met" if self.meets_targets() else "NOT met"),
        ]


def run_mode(label: str, fanout: str, layer: str, *, env: dict[str, str], redis: OwnRedis,
             members: list[Member], accounts: list, args: argparse.Namespace,
             first_msg_id: int, workdir: Path) -> Outcome:
    from django.urls import reverse

    from messaging.models import Message

    redis.cli("FLUSHALL")
    load = os.getloadavg()[0]
    logs = workdir / f"{fanout}-{layer}-{first_msg_id}"
    logs.mkdir()
    mode_env = {**env, "CONSOLE_FANOUT": fanout, "CONSOLE_LAYER": layer}
    http_port, ws_port = ingest.free_port(), ingest.free_port()
    procs = start_servers(mode_env, logs, http_port, ws_port, args.workers)
    ctx = multiprocessing.get_context("spawn")
    stop, ready, counter, results = ctx.Event(), ctx.Event(), ctx.Value("q", 0), ctx.Queue()
    cfg = {"ws_port": ws_port, "http_port": http_port, "clients": len(members),
           "counts": reverse("conversation-counts"), "list": reverse("conversation-list")}
    swarm = ctx.Process(target=clients_process,
                        args=(members, cfg, stop, ready, counter, results))
    try:
        # Every web worker opens its connections before the clock starts.
        asyncio.run(ingest.closed_loop("warm", http_port, ingest.build_pushes(
            accounts, args.workers * 20, args.followers, first_msg_id=first_msg_id - 10**6),
            args.workers, 60))
        swarm.start()
        if not ready.wait(120):
            raise SystemExit(f"{label}: the clients did not all connect")
        time.sleep(3)  # the first resyncs' reloads are done
        wait_for_worker(redis)
        pushes = ingest.build_pushes(accounts, int(args.rate * args.duration),
                                     args.followers, first_msg_id=first_msg_id)
        cpu_before = {"uvicorn": _cpu_tree(procs[1].pid), "worker": _cpu_tree(procs[2].pid),
                      "redis": _cpu_tree(redis.proc.pid)}
        commands_before = redis.commands()
        restart: dict[str, float] = {}
        restarter = None
        if args.restart_redis_at is not None:
            def restart_redis() -> None:
                time.sleep(args.restart_redis_at)
                restart["down"] = time.time()
                redis.restart()
                restart["back"] = time.time()

            restarter = threading.Thread(target=restart_redis)
            restarter.start()
        # A worker that exits is started again, as a supervisor (systemd) would.
        feeding, worker_restarts = threading.Event(), [0]

        def supervise() -> None:
            while not feeding.wait(0.5):
                if procs[2].poll() is not None:
                    worker_restarts[0] += 1
                    procs[2] = start_worker(mode_env, logs)

        supervisor = threading.Thread(target=supervise)
        supervisor.start()
        answered, failed = asyncio.run(feed(http_port, pushes, args.rate, args.duration))
        if restarter is not None:
            restarter.join()
        # Drained: no new message event for a few seconds (a lagging fan-out catches up).
        quiet, last, end = time.time(), -1, time.time() + args.drain
        while time.time() < end and time.time() - quiet < 5:
            if counter.value != last:
                last, quiet = counter.value, time.time()
            time.sleep(0.2)
        cpu = {"uvicorn": _cpu_tree(procs[1].pid) - cpu_before["uvicorn"],
               "worker": _cpu_tree(procs[2].pid) - cpu_before["worker"],
               # A restarted Redis counts from zero.
               "redis": _cpu_tree(redis.proc.pid) - (0 if restart else cpu_before["redis"])}
        commands = redis.commands() - (0 if restart else commands_before)
        feeding.set()
        supervisor.join()
        stop.set()
        log: ClientLog = results.get(timeout=120)
        swarm.join(30)
    finally:
        stop.set()
        if swarm.is_alive():
            swarm.kill()
        stop_servers(procs)

    pk_of = dict(Message.objects.filter(direction="in", wechat_msg_id__in=list(answered))
                 .values_list("pk", "wechat_msg_id"))
    seen = audiences(list(pk_of))
    got = {(member, msg): at for member, msg, at in log.received}
    gaps_by_member: dict[int, list[float]] = defaultdict(list)
    for member, at, _reason in log.gaps:
        gaps_by_member[member].append(at)
    latencies, expected, delivered, signalled, silent = [], 0, 0, 0, 0
    for pk, msg_id in pk_of.items():
        answer = answered[msg_id]
        for member in seen[pk]:
            expected += 1
            at = got.get((member, pk))
            if at is not None:
                delivered += 1
                latencies.append(max(0.0, at - answer))
            elif any(gap >= answer for gap in gaps_by_member[member]):
                signalled += 1
            else:
                silent += 1
    recovery, unrecovered = [], 0
    if restart:
        for member in members:
            after = [at for at in gaps_by_member[member.pk] if at >= restart["down"]]
            if after:
                recovery.append(max(0.0, min(after) - restart["back"]))
            else:
                unrecovered += 1
    log_lines: Counter = Counter()
    if worker_restarts[0]:
        log_lines["worker exited and was started again"] = worker_restarts[0]
    for path in logs.glob("*.log"):
        text = path.read_text(errors="replace")
        for needle in ("over capacity", "missed events", "overflowed",
                       "lost the channel layer", "receive failed", "subscription failed",
                       "console push"):
            if needle in text:
                log_lines[needle] = text.count(needle)
    return Outcome(label, latencies, expected, delivered, signalled, silent,
                   Counter(reason for _m, _a, reason in log.gaps), log.resynced,
                   log.resync_failed, log.dropped, len(answered), failed, cpu, commands,
                   log_lines, [load], recovery, unrecovered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0, help="callbacks per second")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=6)
    parser.add_argument("--followers", type=int, default=20, help="per account")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds at most to wait for the screens to catch up")
    parser.add_argument("--modes", default="agent/redis,brand/redis,brand/pubsub",
                        help="CONSOLE_FANOUT/CONSOLE_LAYER pairs; the first is the baseline")
    parser.add_argument("--restart-redis-at", type=float, default=None, metavar="SECONDS",
                        help="a drill: restart the bench's Redis this long into each "
                             "round's load (empty, as after a crash)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the modes take turns this many times, --duration in all each, "
                             "so that a busy spell of the (shared) machine weighs on all")
    args = parser.parse_args(argv)
    modes = [tuple(m.split("/")) for m in args.modes.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="portal-console-bench-"))
    redis = OwnRedis(workdir)
    env = {**ingest.BENCH_ENV, "DATABASE_URL": f"{ingest.PG}/{DB_NAME}",
           "REDIS_URL": redis.url, "BENCH_CEILING": "0", "LOG_LEVEL": "WARNING",
           "PYTHONWARNINGS": "ignore:No directory at:UserWarning"}
    outcomes = []
    try:
        ingest.prepare_database(DB_NAME, env)
        ingest.setup_django(env)
        reset_rows()
        accounts = ingest.make_accounts(args.accounts)
        members = make_members(args.clients)
        # Every follower writes once, so conversations are open and placed in teams
        # before the clock starts (with the first mode's servers, then stopped).
        warm_env = {**env, "CONSOLE_FANOUT": modes[0][0], "CONSOLE_LAYER": modes[0][1]}
        warm_logs = workdir / "warm-up"
        warm_logs.mkdir()
        port = ingest.free_port()
        procs = start_servers(warm_env, warm_logs, port, ingest.free_port(), args.workers)
        try:
            warm = ingest.build_pushes(accounts, len(accounts) * args.followers,
                                       args.followers, first_msg_id=9 * 10**9)
            asyncio.run(ingest.closed_loop("warm-up", port, warm, args.workers * 2, 300))
            wait_for_worker(redis)
        finally:
            stop_servers(procs)
        place_in_teams()
        roles = Counter(m.role for m in members)
        print(f"{args.clients} websocket clients ({roles['admin']} admins, "
              f"{roles['agent']} agents over {args.accounts} accounts and {TEAMS} teams); "
              f"callbacks at {args.rate:g}/s for {args.duration:g} s; gunicorn "
              f"{args.workers} sync workers, uvicorn, Celery worker (4) and beat; "
              f"PostgreSQL {DB_NAME}, redis-server on port {redis.port}; "
              f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}", flush=True)
        by_mode: dict[tuple[str, str], Outcome] = {}
        turn = argparse.Namespace(**{**vars(args), "duration": args.duration / args.rounds})
        for round_ in range(args.rounds):
            for n, (fanout, layer) in enumerate(modes):
                label = f"{fanout} fan-out on the {layer} layer"
                first = (round_ * len(modes) + n + 1) * 10**12 + secrets.randbelow(10**6)
                outcome = run_mode(label, fanout, layer, env=env, redis=redis,
                                   members=members, accounts=accounts, args=turn,
                                   first_msg_id=first, workdir=workdir)
                print(f"round {round_ + 1}/{args.rounds}, {label}: p95 "
                      f"{outcome.pct(0.95):.0f} ms, load {outcome.loads[0]:.1f}", flush=True)
                seen = by_mode.get((fanout, layer))
                by_mode[(fanout, layer)] = outcome if seen is None else seen.merge(outcome)
        outcomes = [by_mode[mode] for mode in modes]
        print()
        for outcome in outcomes:
            print("\n".join(outcome.lines()), flush=True)
    finally:
        redis.stop()

    baseline = outcomes[0]
    print()
    for other in outcomes[1:]:
        print(f"{baseline.label} / {other.label}: p50 "
              f"{baseline.pct(0.5) / other.pct(0.5):.1f}x, p95 "
              f"{baseline.pct(0.95) / other.pct(0.95):.1f}x; worker CPU per message "
              f"{baseline.cpu['worker'] / max(other.cpu['worker'], 1e-9):.1f}x; Redis "
              f"commands {baseline.redis_commands / max(other.redis_commands, 1):.1f}x")
    # The verdict is the default configuration's (config/settings.py), when it was run.
    from django.conf import settings

    default = by_mode.get(("brand", settings.CONSOLE_LAYER), outcomes[-1])
    print(f"logs: {workdir}")
    print(f"{default.label}: " + ("PASS" if default.meets_targets() else "BELOW TARGET"))
    return 0 if default.meets_targets() else 1


if __name__ == "__main__":
    raise SystemExit(main())
