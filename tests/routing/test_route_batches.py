"""Routing a batch (`routing.engine.route_conversations`, what the worker's routing task
runs): the same placements as one by one, the brand's rules read once for the batch and
fresh for the next, one drain for every team the batch filled, a member of two teams
counted once, and the batched target refresh agreeing with the single one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Conversation
from routing import assignment, engine, targets
from routing.models import RoutingDecision, RoutingRule
from routing.shared_reads import once, shared_reads, sharing
from tests.factories import make_account, make_brand, make_conversation, make_team
from tests.routing.assignment_support import agent, held, waiting

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict:
    brand = make_brand()
    north, south = make_account(brand=brand, name="North"), make_account(brand=brand,
                                                                         name="South")
    return {"brand": brand, "north": north, "south": south,
            "north_desk": make_team(brand=brand, name="North desk", accounts=[north]),
            "south_desk": make_team(brand=brand, name="South desk", accounts=[south])}


def _rule_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "routing_routingrule"' in q["sql"] for q in queries.captured_queries)


def test_a_batch_places_each_conversation_in_its_accounts_team_and_assigns_fairly(world):
    north = [agent(world["north_desk"], capacity=3) for _ in range(2)]
    south = agent(world["south_desk"], capacity=2)
    convos = [make_conversation(account=world[a]) for a in ("north", "south") * 3]
    placed = engine.route_conversations([c.pk for c in convos])
    assert len(placed) == 6
    teams = {c.pk: c.team_id for c in Conversation.objects.filter(pk__in=[c.pk for c in convos])}
    assert [teams[c.pk] for c in convos] == [world["north_desk"].pk, world["south_desk"].pk] * 3
    # North's three between two equally free agents: 2 and 1. South's one agent takes two,
    # its capacity; the third waits in the team queue.
    assert sorted(len(held(a)) for a in north) == [1, 2]
    assert len(held(south)) == 2
    assert Conversation.objects.filter(team=world["south_desk"], assignee__isnull=True).count() == 1
    assert RoutingDecision.objects.filter(kind="assigned").count() == 5


def test_the_rules_are_read_once_for_a_batch_and_again_for_the_next(world):
    agent(world["north_desk"], capacity=10)
    first = [make_conversation(account=world["north"]) for _ in range(4)]
    with CaptureQueriesContext(connection) as queries:
        engine.route_conversations([c.pk for c in first])
    assert _rule_reads(queries) == 1
    # An admin's rule between two batches is what the next batch obeys.
    RoutingRule.objects.create(brand=world["brand"], name="All to the south", position=1,
                               action="team", team=world["south_desk"])
    second = make_conversation(account=world["north"])
    engine.route_conversations([second.pk])
    second.refresh_from_db()
    assert second.team == world["south_desk"]
    assert {c.team_id for c in Conversation.objects.filter(pk__in=[c.pk for c in first])} == {
        world["north_desk"].pk}


def test_shared_reads_keep_a_read_for_the_block_only():
    reads = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    assert not sharing()
    with shared_reads():
        assert sharing()
        assert (once("k", read), once("k", read)) == (1, 1)
        with shared_reads():  # nested: the outer block's reads
            assert once("k", read) == 1
    assert once("k", read) == 2 and once("k", read) == 3


def test_one_drain_for_two_teams_counts_a_member_of_both_once(world):
    both = agent(world["north_desk"], capacity=1)
    both.teams.add(world["south_desk"])
    waiting(world["north"], world["north_desk"], 1)
    waiting(world["south"], world["south_desk"], 1)
    assert assignment.assign_waiting_teams(
        [world["north_desk"].pk, world["south_desk"].pk]) == 1
    assert len(held(both)) == 1
    assert Conversation.objects.filter(assignee__isnull=True).count() == 1


def test_one_drain_for_two_teams_fills_each_teams_free_agents(world):
    north, south = agent(world["north_desk"], capacity=2), agent(world["south_desk"],
                                                                  capacity=1)
    waiting(world["north"], world["north_desk"], 3)
    waiting(world["south"], world["south_desk"], 2)
    assert assignment.assign_waiting_teams(
        [world["north_desk"].pk, world["south_desk"].pk, None]) == 3
    assert (len(held(north)), len(held(south))) == (2, 1)
    # Oldest first: what is left is each team's youngest.
    left = Conversation.objects.filter(assignee__isnull=True).order_by("team_id")
    assert [c.team_id for c in left] == [world["north_desk"].pk, world["south_desk"].pk]


def test_the_batched_target_refresh_agrees_with_the_single_one(world):
    from routing.brand_settings import targets_for

    row = targets_for(world["north_desk"])
    row.first_response_minutes, row.next_response_minutes = 15, 30
    row.save()
    now = timezone.now()
    convos = waiting(world["north"], world["north_desk"], 3, start=now) + waiting(
        world["south"], world["south_desk"], 1, start=now)
    targets.conversations_due_refresh([c.pk for c in convos])
    batched = dict(Conversation.objects.filter(pk__in=[c.pk for c in convos])
                   .values_list("pk", "response_due_at"))
    Conversation.objects.filter(pk__in=batched).update(response_due_at=None)
    for c in convos:
        targets.conversation_due_refresh(conversation_id=c.pk)
    single = dict(Conversation.objects.filter(pk__in=[c.pk for c in convos])
                  .values_list("pk", "response_due_at"))
    assert batched == single
    assert all(batched[c.pk] is not None for c in convos[:3])
    assert batched[convos[3].pk] is None  # the south desk has no target
