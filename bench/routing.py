"""Benchmark: routing new conversations to agents, from the callback's answer to the
assignment, with agents coming and going and freeing slots as they resolve.

    .venv/bin/python bench/routing.py [--conversations 2000] [--rate 100] [--hold 3]
        [--churn 8] [--seed 11] [--strategy least_busy|round_robin] [--router N]
        [--dry-run]
    .venv/bin/python bench/routing.py --profile 200

What runs (not in CI):

- the Procfile's servers, started as bench/console.py starts them: gunicorn (4 sync
  workers, ``config.wsgi``), one Celery worker with production's default
  ``--concurrency 4`` (the Procfile's ``CELERY_CONCURRENCY``) and beat (its routing sweep
  every 15 s is production's safety net, so it runs here too), DEBUG off, on PostgreSQL
  ``portal_bench_routing`` (migrated here; the bench's rows are emptied at each start),
  Redis db 8 as broker and cache. The accounts have no platform credentials, as in
  bench/ingest.py, so the worker calls no platform (in production a first contact also
  costs one profile fetch on the worker);
- one brand with 10 accounts and 10 teams (team k serves account k, no central team, no
  business hours: always open), 50 agents (5 per team, serving their team's account,
  every language), capacities 3-8 drawn with ``--seed``, except that each team's first two
  agents share one capacity (so every team has a pair of equally free agents); routing
  settings at their defaults but ``--strategy``;
- ``--conversations`` first messages from as many new followers, spread evenly over the
  accounts, at ``--rate`` a second through the callback: bench/ingest.py's signed,
  encrypted safe-mode pushes, sent by a process of its own (one connection per request;
  the answers timed there, so this process's threads cannot delay the clock);
- the agents, from this process, through the real services: each conversation is resolved
  by its agent (`messaging.services.conversation_resolve`) ``--hold`` seconds after it
  was assigned, so an agent frees slots at a steady pace (an offline agent resolves
  nothing until back); each team's last agent, its "rover", goes offline and back online
  (`accounts.services.membership_set_presence`, which announces member.changed) every
  ``--churn`` seconds, for half of it, the teams' rovers out of phase;
- a sampler every 200 ms: each agent's load against its capacity, conversations open and
  unassigned while an online agent of their team has room, the broker's queue length;
  the worker's time per task (bench/routing_support.py counts it in the pool processes).

``--profile N`` runs nothing of that: it routes N conversations of the last run again in
this process under cProfile, and prints a route's CPU time, queries, and where they go.
``--dry-run`` puts a stand-in in the routing engine's place (bench/routing_support.py), to
try the bench itself where the engine is missing; it gives no verdict.

After the last push the agents go on resolving until every conversation was assigned (at
most ``--drain`` seconds), the rovers online; the broker's queue empties, and the end is
checked. Printed, with the targets beside:

- callback-to-assignment latency in ms: from the load process's ``time.time()`` when the
  callback's answer arrived to the ``created_at`` of the conversation's first
  RoutingDecision(kind="assigned"), which the worker stamps with `timezone.now()`: both are
  this host's realtime clock, so there is no skew between them (negative: the assignment
  beat the answer to the client). p50, p95 and max, for conversations assigned at once
  and, apart, for those that waited in the queue; the target is for the first. "At once":
  when the engine routed it (its first "routed" decision), the replay below shows a free
  slot in its team (an online agent below capacity) beyond the conversations already
  waiting there, and the engine wrote no "queued" decision. For those, the latency is
  split at the routing decision (the wait for the routing task, then the assignment);
- capacity violations: each agent's holdings replayed in time order (+1 at an "assigned"
  decision, -1 at the conversation's ``resolved_at``, stamped by the agents' process with
  the same clock, or at the next decision that moved it off the agent; on equal times the
  -1 first, since a slot is read free only after the resolution committed): assignments
  that took an agent past its
  capacity; and loads above capacity the sampler saw;
- the fairness spread: per team, among the agents online the whole run (all but the
  rover) who have the same capacity, the largest difference between their numbers of
  assignments during the run; the largest over the teams;
- left waiting: at the end, conversations open and unassigned while an online agent of
  their account's team held fewer conversations than its capacity.

Targets: p95 (assigned at once) < 300 ms; 0 violations; spread <= 1; 0 left waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import console, ingest  # noqa: E402  (the repository root is on the path only now)
from bench.routing_support import (  # noqa: E402
    cpu_between,
    cpu_snapshot,
    reset_task_times,
    task_times,
)

ROOT = ingest.ROOT
DB_NAME = "portal_bench_routing"
REDIS_DB = 8
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
ENV = {
    **ingest.BENCH_ENV,
    "DATABASE_URL": f"{ingest.PG}/{DB_NAME}",
    "REDIS_URL": REDIS_URL,
    "CELERY_BROKER_URL": REDIS_URL,
    "BENCH_CEILING": "0",
    "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
}
TEAMS, AGENTS_PER_TEAM = 10, 5
WORKER_CONCURRENCY = 4  # the Procfile's CELERY_CONCURRENCY default
TARGET_P95_MS = 300.0
LIVE = ("open", "pending", "snoozed")  # what counts in a load (routing.assignment.load_of)
SAMPLE_SECONDS = 0.2
WATCH_BEHIND = 200  # decision ids: more than the transactions that can be open at once
WATCH_EVERY = 0.05  # seconds between the agents' looks for new assignments
WARM_EACH = 4  # warm-up conversations per account
EMAIL_DOMAIN = "routing-bench.invalid"


# --- the brand ------------------------------------------------------------------------


@dataclass
class Agent:
    pk: int
    team: int  # the team's index (= its account's)
    team_id: int
    account_id: int
    capacity: int
    rover: bool


def reset_rows() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # CASCADE empties what refers to these: decisions, transfers, breaches, mentions.
        cursor.execute(
            "TRUNCATE messaging_message, messaging_conversation, messaging_inbound, "
            "followers_followevent, followers_follower, followers_customer "
            "RESTART IDENTITY CASCADE")
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], capture_output=True,
                   check=False)


def make_agents(seed: int, strategy: str) -> list[Agent]:
    """TEAMS teams, team k serving the k-th bench account, AGENTS_PER_TEAM agents each."""
    from accounts.models import Brand, Membership, OfficialAccount, Team, User
    from routing.brand_settings import settings_for
    from routing.models import RoutingSettings

    brand = Brand.objects.get(slug="bench")
    Membership.objects.filter(brand=brand).delete()
    User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()
    Team.objects.filter(brand=brand).delete()
    RoutingSettings.objects.filter(brand=brand).delete()
    RoutingSettings.objects.filter(pk=settings_for(brand.pk).pk).update(strategy=strategy)
    rng = random.Random(seed)
    accounts = list(OfficialAccount.objects.filter(brand=brand).order_by("appid"))[:TEAMS]
    agents = []
    for k, account in enumerate(accounts):
        team = Team.objects.create(brand=brand, name=f"Bench team {k}")
        team.accounts.set([account])
        capacities = [rng.randint(3, 8) for _ in range(AGENTS_PER_TEAM)]
        capacities[1] = capacities[0]
        for n, capacity in enumerate(capacities):
            user = User.objects.create_user(f"t{k}a{n}@{EMAIL_DOMAIN}", None, name=f"T{k}A{n}")
            membership = Membership.objects.create(user=user, brand=brand, role="agent",
                                                   capacity=capacity, presence="online")
            membership.accounts.set([account])
            membership.teams.add(team)
            agents.append(Agent(membership.pk, k, team.pk, account.pk, capacity,
                                rover=n == AGENTS_PER_TEAM - 1))
    return agents


# --- the load -------------------------------------------------------------------------


def pushes(accounts: list[ingest.BenchAccount], count: int) -> list[tuple[str, bytes]]:
    """The warm-up's and the run's pushes, each from a follower of its own (the same list
    every call, freshly signed: the callback refuses timestamps older than 300 s)."""
    total = len(accounts) * WARM_EACH + count
    return ingest.build_pushes(accounts, total, followers=total, first_msg_id=7 * 10**12)


def feed_process(port: int, batch: list[tuple[str, bytes]], rate: float,
                 results: object) -> None:
    """Sends ``batch`` at ``rate`` a second; puts (msg id -> time.time() of the answer,
    failures) on ``results``."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    duration = (len(batch) + 0.5) / rate
    results.put(asyncio.run(console.feed(port, batch, rate, duration)))  # type: ignore[attr-defined]


def send(port: int, batch: list[tuple[str, bytes]], rate: float) -> tuple[dict, int]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=feed_process, args=(port, batch, rate, results))
    proc.start()
    answered, failed = results.get(timeout=len(batch) / rate + 120)
    proc.join(30)
    return answered, failed


# --- the agents -----------------------------------------------------------------------


class Desk:
    """The agents' side of the run, in this process: resolving each conversation ``hold``
    seconds after its assignment (``threads`` at a time), and the rovers' presence."""

    def __init__(self, agents: list[Agent], *, hold: float, churn: float, threads: int,
                 after_decision: int) -> None:
        from accounts.models import Membership
        from accounts.scope import scope_for_membership

        self.agents = {a.pk: a for a in agents}
        self.scopes = {m.pk: scope_for_membership(m) for m in Membership.objects.filter(
            pk__in=self.agents).select_related("brand")}
        self.hold, self.churn, self.threads = hold, churn, threads
        self.online = dict.fromkeys(self.agents, True)
        self.presence_log: list[tuple[float, float, int, str]] = []  # before, after, agent
        self.resolved: dict[int, float] = {}
        self.errors: Counter = Counter()
        self.first_decision = self.last_decision = after_decision
        self.due: list[tuple[float, int, int]] = []  # (when, conversation, agent)
        self.lock = threading.Condition()
        self.stop = threading.Event()
        self.arrivals_over = threading.Event()
        self.pool: list[threading.Thread] = []

    def start(self) -> None:
        self.pool = [threading.Thread(target=self._watch, daemon=True),
                     threading.Thread(target=self._presence, daemon=True)]
        self.pool += [threading.Thread(target=self._resolve, daemon=True)
                      for _ in range(self.threads)]
        for thread in self.pool:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        with self.lock:
            self.lock.notify_all()
        for thread in self.pool:
            thread.join(30)

    def _watch(self) -> None:
        """New assignments, read from the decisions as they are written. Transactions
        commit out of their ids' order, so each read goes back WATCH_BEHIND ids."""
        from django.db import connection

        from routing.models import RoutingDecision

        seen: set[int] = set()
        try:
            while not self.stop.is_set():
                rows = [row for row in RoutingDecision.objects.filter(
                    kind="assigned", pk__gt=self.last_decision - WATCH_BEHIND)
                    .order_by("pk").values_list("pk", "conversation_id", "agent_id",
                                                "created_at") if row[0] not in seen]
                if rows:
                    with self.lock:
                        for pk, conversation_id, agent_id, at in rows:
                            seen.add(pk)
                            if agent_id in self.agents and pk > self.first_decision:
                                heapq.heappush(self.due, (at.timestamp() + self.hold,
                                                          conversation_id, agent_id))
                            self.last_decision = max(self.last_decision, pk)
                        self.lock.notify_all()
                # Every 50 ms: an agent resolves at its decision's time plus the hold,
                # so a later look delays no resolution, and the looks are this
                # process's CPU on the machine under test.
                time.sleep(WATCH_EVERY)
        finally:
            connection.close()

    def _resolve(self) -> None:
        from django.db import connection

        from messaging.models import Conversation
        from messaging.services import conversation_resolve

        try:
            while True:
                with self.lock:
                    while not self.stop.is_set() and (
                            not self.due or self.due[0][0] > time.time()):
                        wait = self.due[0][0] - time.time() if self.due else 0.5
                        self.lock.wait(max(0.001, min(wait, 0.5)))
                    if self.stop.is_set():
                        return
                    when, conversation_id, agent_id = heapq.heappop(self.due)
                    if not self.online[agent_id]:  # back to it once the agent is
                        heapq.heappush(self.due, (time.time() + 0.1, conversation_id,
                                                  agent_id))
                        continue
                try:
                    conversation_resolve(scope=self.scopes[agent_id],
                                         conversation=Conversation(pk=conversation_id))
                    self.resolved[conversation_id] = time.time()
                except Exception as exc:  # counted and shown: the run goes on
                    self.errors[f"resolve: {type(exc).__name__}: {exc}"] += 1
        finally:
            connection.close()

    def _presence(self) -> None:
        """Each rover offline for half of every ``churn`` seconds, team k's starting at
        k/TEAMS of the period, while conversations arrive; then all online."""
        from django.db import connection

        from accounts.models import Membership
        from accounts.services import membership_set_presence

        rovers = [a for a in self.agents.values() if a.rover]
        start = time.time() + 1.0
        plan = []
        for a in rovers:
            first = start + self.churn * a.team / TEAMS
            for n in range(1000):
                plan.append((first + n * self.churn, a.pk, "offline"))
                plan.append((first + n * self.churn + self.churn / 2, a.pk, "online"))
        plan.sort()

        def change(agent_id: int, presence: str) -> None:
            before = time.time()
            if presence == "offline":
                self.online[agent_id] = False
            try:
                membership_set_presence(membership=Membership.objects.get(pk=agent_id),
                                        presence=presence)
            except Exception as exc:
                self.errors[f"presence: {type(exc).__name__}: {exc}"] += 1
            self.presence_log.append((before, time.time(), agent_id, presence))
            if presence == "online":
                self.online[agent_id] = True

        try:
            for at, agent_id, presence in plan:
                while time.time() < at and not self.arrivals_over.is_set():
                    time.sleep(min(0.05, max(0.0, at - time.time())))
                if self.arrivals_over.is_set():
                    break
                change(agent_id, presence)
            for a in rovers:
                if not self.online[a.pk]:
                    change(a.pk, "online")
        finally:
            connection.close()


@dataclass
class Samples:
    over_capacity: list[tuple[float, int, int, int]] = field(default_factory=list)
    # conversation -> (first, last) time the sampler saw it waiting beside a free agent
    beside_room: dict[int, list[float]] = field(default_factory=dict)
    broker_max: int = 0
    count: int = 0


def sampler(agents: list[Agent], stop: threading.Event, out: Samples) -> None:
    """Every SAMPLE_SECONDS: the agents' loads and presence, the waiting conversations."""
    import redis
    from django.db import connection

    broker = redis.Redis.from_url(REDIS_URL)
    by_pk = {a.pk: a for a in agents}
    team_of_account = {a.account_id: a.team for a in agents}
    try:
        with connection.cursor() as cursor:
            while not stop.is_set():
                at = time.time()
                cursor.execute(
                    "SELECT m.id, m.presence, COUNT(c.id) FROM accounts_membership m "
                    "LEFT JOIN messaging_conversation c ON c.assignee_id = m.id "
                    "AND c.status = ANY(%s) WHERE m.id = ANY(%s) GROUP BY m.id",
                    [list(LIVE), list(by_pk)])
                room = set()
                for pk, presence, load in cursor.fetchall():
                    agent = by_pk[pk]
                    if load > agent.capacity:
                        out.over_capacity.append((at, pk, load, agent.capacity))
                    if presence == "online" and load < agent.capacity:
                        room.add(agent.team)
                cursor.execute(
                    "SELECT id, channel_account_id FROM messaging_conversation "
                    "WHERE status = 'open' AND assignee_id IS NULL")
                for pk, account_id in cursor.fetchall():
                    if team_of_account.get(account_id) in room:
                        out.beside_room.setdefault(pk, [at, at])[1] = at
                out.broker_max = max(out.broker_max, broker.llen("celery"))
                out.count += 1
                stop.wait(max(0.0, SAMPLE_SECONDS - (time.time() - at)))
    finally:
        connection.close()


# --- the figures ----------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Figures:
    answered: int
    failed: int
    conversations: int
    immediate: list[float]
    queued: list[float]
    to_routed: list[float]  # at once: callback answer -> the routing decision
    routed_to_assigned: list[float]  # at once: the routing decision -> the assignment
    never_assigned: int
    reassigned: int
    violations: int
    violation_examples: list[str]
    sampled_over: int
    spread: int
    spread_detail: list[str]
    left_waiting: int
    assignments: Counter

    def meets_targets(self) -> bool:
        return (pct(self.immediate, 0.95) * 1000 < TARGET_P95_MS and self.violations == 0
                and self.sampled_over == 0 and self.spread <= 1 and self.left_waiting == 0
                and self.never_assigned == 0 and self.failed == 0)


def _line(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label}: none"
    return (f"  {label}: {len(values)}, p50 {pct(values, 0.5) * 1000:.0f} ms, p95 "
            f"{pct(values, 0.95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")


ROUTED_KINDS = ("routed", "overflowed", "returned", "queued")


class Timeline:
    """The run replayed: each agent's load and presence at any moment, and each team's
    queue (conversations routed to it and not yet assigned), to tell whether a
    conversation found room when it was routed."""

    def __init__(self, agents: list[Agent], holdings: dict[int, list[tuple[float, int]]],
                 presence_log: list[tuple[float, float, int, str]],
                 queue_times: dict[int, tuple[list[float], list[float]]]) -> None:
        self.agents = agents
        self.loads: dict[int, tuple[list[float], list[int]]] = {}
        for agent_id, events in holdings.items():
            times, loads, load = [], [], 0
            for at, delta in sorted(events):
                load += delta
                times.append(at)
                loads.append(load)
            self.loads[agent_id] = (times, loads)
        self.offline: dict[int, list[tuple[float, float]]] = defaultdict(list)
        went: dict[int, float] = {}
        for _before, after, agent_id, presence in presence_log:
            if presence == "offline":
                went[agent_id] = after
            elif agent_id in went:
                self.offline[agent_id].append((went.pop(agent_id), after))
        for agent_id, since in went.items():
            self.offline[agent_id].append((since, float("inf")))
        self.queue = {team: (sorted(routed), sorted(assigned))
                      for team, (routed, assigned) in queue_times.items()}

    def load(self, agent_id: int, at: float) -> int:
        times, loads = self.loads.get(agent_id, ([], []))
        n = bisect_left(times, at)
        return loads[n - 1] if n else 0

    def online(self, agent_id: int, at: float) -> bool:
        return not any(start <= at < end for start, end in self.offline.get(agent_id, ()))

    def room(self, team: int, at: float) -> bool:
        """A free slot in the team at ``at`` beyond those the queue ahead would take."""
        free = sum(max(0, a.capacity - self.load(a.pk, at)) for a in self.agents
                   if a.team == team and self.online(a.pk, at))
        routed, assigned = self.queue.get(team, ([], []))
        return free > bisect_left(routed, at) - bisect_left(assigned, at)


def figures(agents: list[Agent], answered: dict[str, float], failed: int,
            after_decision: int, presence_log: list[tuple[float, float, int, str]]
            ) -> Figures:
    from messaging.models import Conversation, Message
    from routing.models import RoutingDecision

    by_pk = {a.pk: a for a in agents}
    team_of_account = {a.account_id: a.team for a in agents}
    conversation_of = dict(Message.objects.filter(
        direction="in", wechat_msg_id__in=list(answered))
        .values_list("wechat_msg_id", "conversation_id"))
    answer_of = {cid: answered[msg] for msg, cid in conversation_of.items()}
    rows = {c["pk"]: c for c in Conversation.objects.filter(pk__in=list(answer_of)).values(
        "pk", "assignee_id", "status", "resolved_at", "channel_account_id")}
    decisions: dict[int, list[tuple[float, int, str, int | None]]] = defaultdict(list)
    for cid, kind, agent_id, at, pk in RoutingDecision.objects.filter(
            conversation_id__in=list(answer_of)).values_list(
            "conversation_id", "kind", "agent_id", "created_at", "pk"):
        decisions[cid].append((at.timestamp(), pk, kind, agent_id))

    never, reassigned = 0, 0
    holdings: dict[int, list[tuple[float, int]]] = defaultdict(list)  # agent -> (at, +-1)
    assignments: Counter = Counter()
    # conversation -> (answer, routed, first assigned, the engine said "queued")
    times: dict[int, tuple[float, float, float, bool]] = {}
    queue_times: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for cid, answer in answer_of.items():
        steps = sorted(decisions.get(cid, []))
        assigned = [s for s in steps if s[2] == "assigned"]
        routed = next((s[0] for s in steps if s[2] in ROUTED_KINDS), None)
        team = team_of_account.get(rows[cid]["channel_account_id"])
        if routed is not None:
            queue_times[team][0].append(routed)
        if not assigned:
            never += 1
            continue
        first = assigned[0][0]
        queue_times[team][1].append(first)
        engine_queued = any(s[2] == "queued" and s[0] <= first for s in steps)
        times[cid] = (answer, first if routed is None else routed, first, engine_queued)
        reassigned += len(assigned) > 1
        # Who held it when: from each assignment to the next decision that moved it (an
        # assignment, a return to the queue, a transfer), else to its resolution.
        holder, since = None, 0.0
        for at, pk, kind, agent_id in steps:
            if kind in ("assigned", "requeued", "transferred") and holder is not None:
                holdings[holder].append((at, -1))
                holder = None
            if kind == "assigned" and agent_id is not None:
                holder, since = agent_id, at
                holdings[holder].append((at, +1))
                if pk > after_decision:
                    assignments[agent_id] += 1
        resolved_at = rows[cid]["resolved_at"]
        if holder is not None and resolved_at is not None:
            holdings[holder].append((max(resolved_at.timestamp(), since), -1))

    timeline = Timeline(agents, holdings, presence_log, queue_times)
    immediate, queued, to_routed, routed_to_assigned = [], [], [], []
    for cid, (answer, routed, first, engine_queued) in times.items():
        team = team_of_account.get(rows[cid]["channel_account_id"])
        if not engine_queued and timeline.room(team, routed):
            immediate.append(first - answer)
            to_routed.append(routed - answer)
            routed_to_assigned.append(first - routed)
        else:
            queued.append(first - answer)

    violations, examples = 0, []
    for agent_id, events in holdings.items():
        load = 0
        for at, delta in sorted(events):  # on equal times the -1 first
            load += delta
            if delta > 0 and load > by_pk[agent_id].capacity:
                violations += 1
                if len(examples) < 5:
                    examples.append(f"agent {agent_id} at {at:.3f}: {load} held, capacity "
                                    f"{by_pk[agent_id].capacity}")

    spread, detail = 0, []
    groups: dict[tuple[int, int], list[Agent]] = defaultdict(list)
    for a in agents:
        if not a.rover:
            groups[(a.team, a.capacity)].append(a)
    for (team, capacity), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        counts = [assignments[a.pk] for a in members]
        spread = max(spread, max(counts) - min(counts))
        detail.append(f"team {team} capacity {capacity}: {counts}")

    return Figures(len(answered), failed, len(answer_of), immediate, queued, to_routed,
                   routed_to_assigned, never, reassigned, violations, examples, 0, spread,
                   detail, left_waiting(agents, list(answer_of)), assignments)


def left_waiting(agents: list[Agent], conversation_ids: list[int]) -> int:
    """Open, unassigned conversations whose account's team has an online agent with room."""
    from django.db.models import Count, Q

    from accounts.models import Membership
    from messaging.models import Conversation

    loads = Membership.objects.filter(pk__in=[a.pk for a in agents]).annotate(
        load=Count("conversations", filter=Q(conversations__status__in=LIVE)))
    team_of = {a.pk: a.team for a in agents}
    room = {team_of[m.pk] for m in loads if m.presence == "online" and m.load < m.capacity}
    team_of_account = {a.account_id: a.team for a in agents}
    waiting = Conversation.objects.filter(pk__in=conversation_ids, status="open",
                                          assignee__isnull=True)
    return sum(team_of_account.get(account_id) in room
               for account_id in waiting.values_list("channel_account_id", flat=True))


# --- the run --------------------------------------------------------------------------


def wait_until(predicate: object, deadline: float, every: float = 0.2) -> bool:
    end = time.time() + deadline
    while time.time() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(every)
    return False


def broker_empty() -> bool:
    out = subprocess.run(["redis-cli", "-n", str(REDIS_DB), "LLEN", "celery"],
                         capture_output=True, text=True, check=False).stdout.strip()
    return out == "0"


def unassigned(answered: dict[str, float]) -> int:
    from messaging.models import Message
    from routing.models import RoutingDecision

    ids = Message.objects.filter(direction="in", wechat_msg_id__in=list(answered)) \
        .values("conversation_id")
    return len(answered) - RoutingDecision.objects.filter(
        kind="assigned", conversation_id__in=ids).values("conversation_id").distinct().count()


def resolve_all(agents: list[Agent]) -> None:
    """Every live conversation resolved by its holder (after the warm-up)."""
    from accounts.models import Membership
    from accounts.scope import scope_for_membership
    from messaging.models import Conversation
    from messaging.services import conversation_resolve

    scopes = {m.pk: scope_for_membership(m) for m in Membership.objects.filter(
        pk__in=[a.pk for a in agents]).select_related("brand")}
    for pk, assignee in Conversation.objects.filter(status__in=LIVE).values_list(
            "pk", "assignee_id"):
        if assignee is not None:
            conversation_resolve(scope=scopes[assignee], conversation=Conversation(pk=pk))


def log_lines(logs: Path) -> Counter:
    seen: Counter = Counter()
    for path in logs.glob("*.log"):
        text = path.read_text(errors="replace")
        for needle in ("Traceback", "ERROR", "subscriber failed", "over capacity"):
            if needle in text:
                seen[f"{path.stem}: {needle}"] = text.count(needle)
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0, help="new conversations/s")
    parser.add_argument("--hold", type=float, default=3.0,
                        help="seconds from an assignment to its resolution")
    parser.add_argument("--churn", type=float, default=8.0,
                        help="a rover's offline-online period, seconds (offline half)")
    parser.add_argument("--seed", type=int, default=11, help="the capacities' draw")
    parser.add_argument("--strategy", default="least_busy",
                        choices=("least_busy", "round_robin"))
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--router", type=int, default=0, metavar="N",
                        help="also run the Procfile's `router` (the routing queue alone) "
                             "with --concurrency N; 0: the worker alone, as the baseline")
    parser.add_argument("--resolvers", type=int, default=4,
                        help="threads resolving for the agents")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds at most, after the last push, for every "
                             "conversation to be assigned")
    parser.add_argument("--profile-worker", metavar="DIR", default="",
                        help="run the worker's tasks under cProfile, each pool process's "
                             "stats written to DIR (figures then include the profiler's "
                             "cost; for where the time goes only)")
    parser.add_argument("--dry-run", action="store_true",
                        help="without the routing engine: a stand-in assigns "
                             "(bench/routing_support.py), to try the bench itself; no "
                             "verdict")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="no run: route N conversations of the last run again, in this "
                             "process under cProfile (no servers), and print where the "
                             "time goes")
    parser.add_argument("--profile-batch", type=int, default=5, metavar="B",
                        help="with --profile: route in batches of B (the worker's batches "
                             "grow with the backlog, up to routing.engine.TAKE_ALONG)")
    args = parser.parse_args(argv)

    if args.profile:
        ingest.setup_django(ENV)
        from accounts.models import Membership
        from bench.routing_support import profile_routing

        resolve_all([Agent(pk, 0, 0, 0, 0, False) for pk in Membership.objects.filter(
            user__email__endswith=f"@{EMAIL_DOMAIN}").values_list("pk", flat=True)])
        print(profile_routing(args.profile, batch=args.profile_batch))
        subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], capture_output=True,
                       check=False)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="portal-routing-bench-"))
    if args.profile_worker:
        Path(args.profile_worker).mkdir(parents=True, exist_ok=True)
        ENV["BENCH_PROFILE_DIR"] = str(Path(args.profile_worker).resolve())
    ingest.prepare_database(DB_NAME, ENV)
    ingest.setup_django(ENV)
    reset_rows()
    accounts = ingest.make_accounts(TEAMS)
    agents = make_agents(args.seed, args.strategy)
    total_capacity = sum(a.capacity for a in agents)
    bin_dir = Path(sys.executable).parent
    port = ingest.free_port()
    server = ingest.start_server(port, args.workers, bench_env=ENV)
    # The worker, with bench/routing_support.py's accounting of its time per task.
    worker = console._run("worker", [sys.executable, "-m", "bench.routing_support", REDIS_URL,
                                     "-Q", "routing,celery", "--loglevel", "WARNING",
                                     "--concurrency", str(WORKER_CONCURRENCY)], ENV, workdir)
    # The Procfile's optional `router`: routing's queue alone, beside the worker.
    router = console._run("router", [sys.executable, "-m", "bench.routing_support", REDIS_URL,
                                     "-Q", "routing", "-n", "router@%h", "--loglevel",
                                     "WARNING", "--concurrency", str(args.router)],
                          ENV, workdir) if args.router else None
    beat = console._run("beat", [str(bin_dir / "celery"), "-A", "config", "beat",
                                 "--loglevel", "WARNING", "-s",
                                 str(workdir / "beat-schedule")], ENV, workdir)
    samples, sampling, stand_in_stop = Samples(), threading.Event(), threading.Event()
    desk = None
    if args.dry_run:
        from bench.routing_support import stand_in_router

        threading.Thread(target=stand_in_router, args=(agents, stand_in_stop),
                         daemon=True).start()
    try:
        from routing.models import RoutingDecision

        # Warm-up: every web worker and pool process runs the path once (imports, the
        # language detector's models, connections), then everything is resolved.
        warm = pushes(accounts, args.conversations)[:len(accounts) * WARM_EACH]
        warm_answered: dict[str, float] = {}
        for _attempt in range(3):  # a busy machine may time a first request out
            missing = [p for p in warm if p[0] not in warm_answered]
            if missing:
                warm_answered.update(send(port, missing, 20.0)[0])
        warm_failed = len(warm) - len(warm_answered)
        warmed = wait_until(lambda: unassigned(warm_answered) == 0, 120)
        resolve_all(agents)
        wait_until(broker_empty, 60)
        time.sleep(2)
        start_decision = RoutingDecision.objects.order_by("-pk").values_list(
            "pk", flat=True).first() or 0
        print(f"{args.conversations} new conversations at {args.rate:g}/s through the "
              f"callback; {len(agents)} agents in {TEAMS} teams, capacities 3-8 (seed "
              f"{args.seed}, {total_capacity} slots), {TEAMS} rovers offline half of every "
              f"{args.churn:g} s; each conversation resolved {args.hold:g} s after its "
              f"assignment (at most {total_capacity / args.hold:.0f} resolutions/s with "
              f"everyone online); strategy {args.strategy}; gunicorn {args.workers} sync "
              f"workers, Celery worker --concurrency {WORKER_CONCURRENCY}"
              f"{f', router --concurrency {args.router}' if args.router else ''} and beat, "
              f"PostgreSQL {DB_NAME}, Redis db {REDIS_DB}; {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.2f}; warm-up {len(warm_answered)} answered, "
              f"{warm_failed} failed, {'all' if warmed else 'NOT all'} assigned",
              flush=True)

        run = pushes(accounts, args.conversations)[len(accounts) * WARM_EACH:]
        desk = Desk(agents, hold=args.hold, churn=args.churn, threads=args.resolvers,
                    after_decision=start_decision)
        sample_thread = threading.Thread(target=sampler, args=(agents, sampling, samples),
                                         daemon=True)
        reset_task_times(REDIS_URL)
        roots = {"web": server.pid, "worker": worker.pid,
                 **({"router": router.pid} if router else {})}
        cpu_before = cpu_snapshot(roots, DB_NAME)
        started = time.time()
        desk.start()
        sample_thread.start()
        answered, failed = send(port, run, args.rate)
        arrivals = time.time() - started
        desk.arrivals_over.set()
        drained = wait_until(lambda: unassigned(answered) == 0, args.drain, every=0.5)
        drain_seconds = time.time() - started - arrivals
        desk.finish()
        wait_until(broker_empty, 60)
        time.sleep(2)  # the last drains after the last resolutions
        sampling.set()
        sample_thread.join(10)
        cpu = cpu_between(cpu_before, cpu_snapshot(roots, DB_NAME))
        per_task = task_times(REDIS_URL)
    finally:
        sampling.set()
        stand_in_stop.set()
        if desk is not None:
            desk.finish()
        console.stop_servers([server, worker, beat, *([router] if router else [])])

    result = figures(agents, answered, failed, start_decision, desk.presence_log)
    result.sampled_over = len(samples.over_capacity)
    lingering = [c for c, (first, last) in samples.beside_room.items() if last > first]
    longest = max((last - first for first, last in samples.beside_room.values()), default=0)
    n = max(result.conversations, 1)
    print(f"machine load (1 min) at the end {os.getloadavg()[0]:.2f}; answered "
          f"{result.answered} (failed {result.failed}) in {arrivals:.1f} s; "
          f"conversations {result.conversations}; all assigned "
          f"{'' if drained else 'NOT '}within {drain_seconds:.1f} s after the last push; "
          f"never assigned {result.never_assigned}; assigned more than once "
          f"{result.reassigned}; resolved by the agents {len(desk.resolved)}")
    print("callback answer -> first assignment (client clock vs the worker's "
          "timezone.now(), one host):")
    print(_line("assigned at once", result.immediate))
    print(_line("waited in the queue", result.queued))
    print(_line("  of those, answer -> routing decision", result.to_routed))
    print(_line("  of those, routing decision -> assignment", result.routed_to_assigned))
    print(f"capacity violations: {result.violations} in the replay, "
          f"{result.sampled_over} sampled loads over capacity ({samples.count} samples)"
          + "".join(f"\n    {line}" for line in result.violation_examples))
    print(f"fairness spread: {result.spread} (assignments per equally free agent: "
          + "; ".join(result.spread_detail) + ")")
    print(f"left waiting while an agent of their team had room: {result.left_waiting}; "
          f"seen by the sampler open and unassigned beside a free agent of their team: "
          f"{len(samples.beside_room)} "
          f"conversations, {len(lingering)} in two samples or more (longest "
          f"{longest * 1000:.0f} ms)")
    print(f"broker queue at most {samples.broker_max} tasks; CPU per conversation (the "
          f"load process's not counted; {os.cpu_count()} CPUs): "
          + ", ".join(f"{k} {v / n * 1000:.1f} ms" for k, v in cpu.items())
          + f"; so at most {(os.cpu_count() or 1) / max(sum(cpu.values()) / n, 1e-9):.0f} "
          f"conversations/s on this machine if it did nothing else")
    print("the worker's time per task (pool processes; CPU and wall per conversation, "
          "statements per run):")
    for name, t in sorted(per_task.items(), key=lambda kv: -kv[1].get("cpu", 0)):
        print(f"  {name.rsplit('.', 1)[-1]:<28} {int(t['runs']):>6} runs {int(t['items']):>7} "
              f"items  CPU {t['cpu'] / n * 1000:6.2f} ms  wall {t['wall'] / n * 1000:6.2f} ms"
              f"  {t.get('statements', 0) / max(t['runs'], 1):5.1f} statements/run")
    problems = desk.errors + log_lines(workdir)
    print("errors: " + (", ".join(f"{k} x{v}" for k, v in problems.items()) or "none")
          + f"; logs: {workdir}")
    print(f"targets: p95 (assigned at once) {pct(result.immediate, 0.95) * 1000:.0f} ms "
          f"(< {TARGET_P95_MS:.0f}); violations {result.violations + result.sampled_over} "
          f"(0); spread {result.spread} (<= 1); left waiting {result.left_waiting} (0)")
    if args.dry_run:
        print("dry run: no verdict")
        return 0
    print("PASS" if result.meets_targets() else "BELOW TARGET")
    return 0 if result.meets_targets() else 1


if __name__ == "__main__":
    raise SystemExit(main())
