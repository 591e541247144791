"""Capacity and "exactly one wins" under real concurrency: several PROCESSES, each with its
own connection to the PostgreSQL test database, claiming from one queue and draining one
team at the same instant (`tests/routing/assignment_procs.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count

from accounts.models import Membership
from messaging.models import Conversation
from routing.assignment import HELD
from routing.models import RoutingDecision
from tests.factories import make_account, make_brand, make_team
from tests.messaging.worker_support import worker_database_url
from tests.routing.assignment_support import agent, waiting

# serial: processes (or a server) of its own on the test database, racing on a deadline.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.serial]

ROOT = Path(__file__).resolve().parents[2]


def _run_at_once(tmp_path: Path, jobs: list[tuple[str, int | str]]) -> list[dict]:
    """Start one process per (action, id), let them go together, answer their outputs."""
    start = tmp_path / "start"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "DEBUG": os.environ.get("DEBUG", "1"), "DATABASE_URL": worker_database_url(),
           "REDIS_URL": settings.REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "1",
           "DB_CONN_MAX_AGE": "0", "LOG_LEVEL": "WARNING"}
    procs = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.routing.assignment_procs", str(start), action,
             str(pk)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        for action, pk in jobs
    ]
    start.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def _assert_capacity_held() -> None:
    loads = (Conversation.objects.filter(assignee__isnull=False, status__in=HELD)
             .values("assignee_id").annotate(n=Count("pk")))
    capacity = dict(Membership.objects.values_list("pk", "capacity"))
    assert [(row["assignee_id"], row["n"]) for row in loads
            if row["n"] > capacity[row["assignee_id"]]] == []


def test_eight_processes_claiming_from_one_queue(tmp_path: Path) -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    team = make_team(brand=brand, accounts=[account])
    # Four agents of capacity 3, two processes each: a race on the conversations and on
    # each agent's room at once.
    agents = [agent(team, capacity=3, presence=Membership.Presence.AWAY) for _ in range(4)]
    convos = waiting(account, team, 20)
    outputs = _run_at_once(tmp_path, [("claim", a.pk) for a in agents for _ in range(2)])

    claimed = [pk for out in outputs for pk in out["claimed"]]
    assert len(claimed) == len(set(claimed)) == 12  # nobody got one twice; 4 x 3 taken
    _assert_capacity_held()
    for a in agents:
        assert Conversation.objects.filter(assignee=a).count() == 3
    # Every claim is the one row the database says: a claimed conversation is its agent's.
    by_process = {pk: out for out in outputs for pk in out["claimed"]}
    assert set(by_process) == set(Conversation.objects.filter(assignee__isnull=False)
                                  .values_list("pk", flat=True))
    # The oldest went first: the 12 taken are the 12 that waited longest.
    assert sorted(claimed) == sorted(c.pk for c in convos[:12])
    assert RoutingDecision.objects.filter(kind="assigned").count() == 12


def test_eight_processes_draining_one_team_of_agents_with_capacity_two(tmp_path: Path) -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    team = make_team(brand=brand, accounts=[account])
    agents = [agent(team, capacity=2) for _ in range(6)]
    convos = waiting(account, team, 20)
    outputs = _run_at_once(tmp_path, [("drain", team.pk)] * 8)

    assert sum(out["assigned"] for out in outputs) == 12
    _assert_capacity_held()
    assert Counter(Conversation.objects.filter(assignee__isnull=False)
                   .values_list("assignee_id", flat=True)) == {a.pk: 2 for a in agents}
    # All that could be assigned were, oldest first; one decision per assignment.
    assert set(Conversation.objects.filter(assignee__isnull=False)
               .values_list("pk", flat=True)) == {c.pk for c in convos[:12]}
    assert RoutingDecision.objects.filter(kind="assigned").values("conversation").distinct() \
        .count() == RoutingDecision.objects.filter(kind="assigned").count() == 12


def test_drains_and_claims_racing_on_the_same_agents(tmp_path: Path) -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    team = make_team(brand=brand, accounts=[account])
    agents = [agent(team, capacity=2) for _ in range(4)]
    waiting(account, team, 12)
    outputs = _run_at_once(tmp_path, [("drain", team.pk)] * 4
                           + [("claim", a.pk) for a in agents])

    claimed = [pk for out in outputs for pk in out.get("claimed", [])]
    assert len(claimed) == len(set(claimed))
    _assert_capacity_held()
    assert Conversation.objects.filter(assignee__isnull=False).count() == 8
    assert sum(out.get("assigned", 0) for out in outputs) + len(claimed) == 8


def test_eight_agents_taking_the_same_conversation_exactly_one_wins(tmp_path: Path) -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    team = make_team(brand=brand, accounts=[account])
    agents = [agent(team) for _ in range(8)]
    [convo] = waiting(account, team, 1)
    outputs = _run_at_once(tmp_path, [("take", f"{a.pk}:{convo.pk}") for a in agents])

    assert sorted(out["took"] for out in outputs) == [False] * 7 + [True]
    winner = agents[[out["took"] for out in outputs].index(True)]
    convo.refresh_from_db()
    assert convo.assignee == winner
    assert list(RoutingDecision.objects.filter(conversation=convo)
                .values_list("kind", "agent_id")) == [("assigned", winner.pk)]
