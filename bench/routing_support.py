"""A stand-in for the routing engine, for ``bench/routing.py --dry-run`` only: it lets the
bench's setup, load, agents and measurement run end to end where the engine is missing
or broken. One thread in the bench's process, polling: each open, unassigned conversation
of the bench goes to the least busy online agent of its account's team who has room,
with the decision rows the engine writes ("queued" once when nobody has room, then
"assigned"). Its figures measure this loop, not the product."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

POLL_SECONDS = 0.02


def stand_in_router(agents: list, stop: threading.Event) -> None:
    from django.db import connection, transaction
    from django.db.models import Count, Q

    from accounts.models import Membership
    from messaging.models import Conversation
    from routing.models import RoutingDecision

    team_of_account = {a.account_id: a.team_id for a in agents}
    by_team: dict[int, list[int]] = {}
    for a in agents:
        by_team.setdefault(a.team_id, []).append(a.pk)
    queued: set[int] = set()
    try:
        while not stop.is_set():
            waiting = list(Conversation.objects.filter(
                status="open", assignee__isnull=True,
                channel_account_id__in=list(team_of_account)).order_by("opened_at", "pk")
                .values_list("pk", "brand_id", "channel_account_id"))
            if waiting:
                free = {m.pk: m.capacity - m.load for m in Membership.objects.filter(
                    pk__in=[a.pk for a in agents], presence="online").annotate(
                    load=Count("conversations", filter=Q(
                        conversations__status__in=("open", "pending", "snoozed"))))}
                for pk, brand_id, account_id in waiting:
                    team_id = team_of_account[account_id]
                    room = [m for m in by_team[team_id] if free.get(m, 0) > 0]
                    if not room:
                        if pk not in queued:
                            queued.add(pk)
                            RoutingDecision.objects.create(
                                brand_id=brand_id, conversation_id=pk, kind="queued",
                                team_id=team_id, steps=[{"step": "stand-in"}])
                        continue
                    agent = max(room, key=lambda m: free[m])
                    with transaction.atomic():
                        taken = Conversation.objects.filter(
                            pk=pk, assignee__isnull=True).update(assignee_id=agent,
                                                                 team_id=team_id)
                        if taken:
                            free[agent] -= 1
                            RoutingDecision.objects.create(
                                brand_id=brand_id, conversation_id=pk, kind="assigned",
                                team_id=team_id, agent_id=agent,
                                steps=[{"step": "stand-in"}])
            time.sleep(POLL_SECONDS)
    finally:
        connection.close()


# --- CPU by part ------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_snapshot(roots: dict[str, int], db_name: str) -> dict[str, dict[str, float]]:
    """CPU seconds used so far per process: each root's tree (a server and its workers,
    by parent pid), the PostgreSQL backends serving ``db_name`` only (other databases on
    the server are other people's work), and this process."""
    parts: dict[str, dict[str, float]] = {name: {} for name in roots}
    parts["postgres"] = {}
    parent_of: dict[str, str] = {}
    used: dict[str, float] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
            if "postgres" in raw[:raw.rindex(")")]:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if f" {db_name} " in command:
                    fields = raw[raw.rindex(")") + 2:].split()
                    parts["postgres"][pid] = (int(fields[11]) + int(fields[12])) / _TICK
                continue
        except (OSError, ValueError):
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        parent_of[pid] = fields[1]
        used[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    for name, root in roots.items():
        for pid, seconds in used.items():
            if pid == str(root) or parent_of[pid] == str(root):
                parts[name][pid] = seconds
    own = os.times()
    parts["bench (agents, sampler)"] = {"self": own.user + own.system}
    return parts


def cpu_between(before: dict[str, dict[str, float]],
                after: dict[str, dict[str, float]]) -> dict[str, float]:
    return {part: sum(seconds - before[part].get(pid, 0.0)
                      for pid, seconds in after[part].items()) for part in after}


# --- what the worker spends, per task ---------------------------------------------------

TASK_TIMES_KEY = "bench:routing:tasks"


def instrument_worker(redis_url: str) -> None:
    """Count, per task name, runs, items (the batch's length), wall and CPU seconds of the
    pool process and the SQL statements it ran (BEGIN and COMMIT not among them), into a
    Redis hash: what the worker's time goes to. Connected before the pool forks, so every
    process reports."""
    import redis
    from celery.signals import task_postrun, task_prerun

    started: dict[str, tuple[float, float]] = {}
    client: list = []

    # BENCH_PROFILE_DIR: each pool process also runs its tasks under cProfile (CPU time)
    # and writes the stats there every 100 tasks (routing.py --profile-worker).
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    profiler: list = []

    statements = [0]

    def _count(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        statements[0] += 1
        return execute(sql, params, many, context)

    @task_prerun.connect(weak=False)
    def _before(task_id: str = "", **_: object) -> None:
        from django.db import connection

        if _count not in connection.execute_wrappers:
            connection.execute_wrappers.append(_count)
        statements[0] = 0
        started[task_id] = (time.perf_counter(), time.process_time())
        if profile_dir:
            if not profiler:
                import cProfile

                profiler.append(cProfile.Profile(time.process_time))
            profiler[0].enable()

    @task_postrun.connect(weak=False)
    def _after(task_id: str = "", task: object = None, args: tuple = (), **_: object) -> None:
        begun = started.pop(task_id, None)
        if profiler:
            profiler[0].disable()
            profiler.append(None)
            if len(profiler) % 100 == 0:
                profiler[0].dump_stats(f"{profile_dir}/worker-{os.getpid()}.prof")
        if begun is None:
            return
        wall, cpu = time.perf_counter() - begun[0], time.process_time() - begun[1]
        if not client:
            client.append(redis.Redis.from_url(redis_url))
        name = getattr(task, "name", "?")
        items = len(args[0]) if args and isinstance(args[0], list) else 1
        pipe = client[0].pipeline(transaction=False)
        pipe.hincrby(TASK_TIMES_KEY, f"{name}|runs", 1)
        pipe.hincrby(TASK_TIMES_KEY, f"{name}|items", items)
        pipe.hincrbyfloat(TASK_TIMES_KEY, f"{name}|wall", wall)
        pipe.hincrbyfloat(TASK_TIMES_KEY, f"{name}|cpu", cpu)
        pipe.hincrby(TASK_TIMES_KEY, f"{name}|statements", statements[0])
        pipe.execute()


def task_times(redis_url: str) -> dict[str, dict[str, float]]:
    import redis

    raw = redis.Redis.from_url(redis_url).hgetall(TASK_TIMES_KEY)
    out: dict[str, dict[str, float]] = {}
    for key, value in raw.items():
        name, what = key.decode().rsplit("|", 1)
        out.setdefault(name, {})[what] = float(value)
    return out


def reset_task_times(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).delete(TASK_TIMES_KEY)


# --- where a route's time goes ----------------------------------------------------------


def profile_routing(count: int, *, warm: int = 5, lines: int = 30, batch: int = 5) -> str:
    """`routing.engine.route_conversations` (in batches of ``batch``, as the worker routes)
    under cProfile, in this process, on ``count``
    conversations of the last run put back as they were when they opened (open, no team,
    unrouted, no decisions); the first ``warm`` calls (lazy imports, the language
    detector's models) are left out. Answers the report."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from messaging.models import Conversation
    from routing.engine import route_conversation, route_conversations
    from routing.models import RoutingDecision

    ids = list(Conversation.objects.filter(follower__openid__startswith="oBench")
               .order_by("-pk").values_list("pk", flat=True)[:count + warm])
    # Every other conversation closed, so that the agents have room and no queue waits.
    Conversation.objects.exclude(pk__in=ids).exclude(status="resolved").update(
        status="resolved", resolved_at=timezone.now())
    Conversation.objects.filter(pk__in=ids).update(
        status="open", assignee=None, team=None, routed_at=None, resolved_at=None)
    RoutingDecision.objects.filter(conversation_id__in=ids).delete()
    for pk in ids[:warm]:
        route_conversation(pk)
    # A quarter unprofiled one by one (what a lone route costs), a quarter unprofiled in
    # the worker's batches (what the routing task pays per conversation), half under the
    # profiler in batches (where it goes).
    plain = ids[warm:warm + count // 4]
    batched = ids[warm + count // 4:warm + count // 2]
    ids = ids[:warm] + ids[warm + count // 2:]
    cpu = time.process_time()
    for pk in plain:
        route_conversation(pk)
    plain_cpu = (time.process_time() - cpu) / max(len(plain), 1)
    cpu = time.process_time()
    for start in range(0, len(batched), batch):
        route_conversations(batched[start:start + batch])
    batched_cpu = (time.process_time() - cpu) / max(len(batched), 1)
    # CPU time, not wall: on a shared machine the wall time is mostly other people's
    # work; the queries' round trips show as their count.
    profiler = cProfile.Profile(time.process_time)
    started, cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        profiler.enable()
        for start in range(warm, len(ids), batch):
            route_conversations(ids[start:start + batch])
        profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assigned = RoutingDecision.objects.filter(conversation_id__in=ids[warm:],
                                              kind="assigned").count()
    out = io.StringIO()
    routed = max(len(ids) - warm, 1)
    by_table: Counter = Counter()
    for query in queries.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = next((w.strip('"') for w in sql.replace(",", " ").split()
                      if w.strip('"').split("_", 1)[0] in ("accounts", "messaging",
                                                             "routing", "followers")), "?")
        by_table[f"{verb} {table}"] += 1
    out.write(f"route_conversation unprofiled: {plain_cpu * 1000:.1f} ms CPU each "
              f"(x{len(plain)}); in batches of {batch}: {batched_cpu * 1000:.1f} ms CPU "
              f"each (x{len(batched)})\n")
    out.write(f"route_conversations in batches of {batch}, x{routed} ({assigned} assigned), "
              "profiled: "
              f"{elapsed / routed * 1000:.1f} ms wall, {cpu / routed * 1000:.1f} ms CPU, "
              f"{len(queries.captured_queries) / routed:.1f} queries each\n  queries per "
              "route by first table: " + ", ".join(
                  f"{k} {v / routed:.1f}" for k, v in by_table.most_common(12)) + "\n")
    # A drain that finds the queue empty: what every resolution and return online costs
    # when nobody is waiting.
    from routing.assignment import assign_waiting

    team_ids = list(Conversation.objects.filter(pk__in=ids, team__isnull=False)
                    .values_list("team_id", flat=True).distinct())
    drains = [team_ids[n % len(team_ids)] for n in range(100)] if team_ids else []
    cpu = time.process_time()
    with CaptureQueriesContext(connection) as drain_queries:
        for team_id in drains:
            assign_waiting(team_id=team_id)
    if drains:
        out.write(f"assign_waiting on an empty queue: "
                  f"{(time.process_time() - cpu) / len(drains) * 1000:.1f} ms CPU, "
                  f"{len(drain_queries.captured_queries) / len(drains):.1f} queries each\n")
    # The console's push of what a route announces (the worker's other large share).
    from messaging.events import conversation_fact_for
    from routing import realtime

    pushed = list(Conversation.objects.filter(pk__in=ids[warm:warm + 100]))
    cpu = time.process_time()
    with CaptureQueriesContext(connection) as push_queries:
        for conversation in pushed:
            realtime.push("conversation.assigned", conversation_fact_for(conversation))
    if pushed:
        out.write(f"console push of one conversation.assigned: "
                  f"{(time.process_time() - cpu) / len(pushed) * 1000:.1f} ms CPU, "
                  f"{len(push_queries.captured_queries) / len(pushed):.1f} queries each\n")
    stats = pstats.Stats(profiler, stream=out)
    # The portal's own functions (routing, business hours, visibility, events), by
    # cumulative CPU: which step of a route costs what.
    stats.sort_stats("cumulative").print_stats(r"/(routing|accounts|messaging)/[a-z_]+\.py",
                                               lines)
    stats.sort_stats("tottime").print_stats(12)
    return out.getvalue()


if __name__ == "__main__":
    # python -m bench.routing_support REDIS_URL [celery worker arguments]: the worker,
    # with instrument_worker's accounting.
    import sys

    from config.celery import app

    instrument_worker(sys.argv[1])
    app.worker_main(argv=["worker", *sys.argv[2:]])
