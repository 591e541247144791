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
from routing import assignment, engine, rules, targets
from routing import shared_reads as shared_reads_module
from routing.models import RoutingDecision, RoutingRule
from routing.shared_reads import forget_lasting, once, shared_reads, sharing
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


def test_a_batch_asks_who_was_taken_only_for_what_its_own_drains_did_not_give(
        world, announced):
    lily = agent(world["north_desk"], capacity=2)
    convos = [make_conversation(account=world["north"]) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        engine.route_conversations([c.pk for c in convos[:2]])
    # Both given by the batch's own drain: known without asking.
    assert not any('"assignee_id" IS NOT NULL' in q["sql"] for q in queries.captured_queries)
    assert [(n, p["conversation_id"], p["assignee_id"]) for n, p in announced] == [
        ("conversation.assigned", c.pk, lily.pk) for c in convos[:2]]
    announced.clear()
    with CaptureQueriesContext(connection) as queries:
        engine.route_conversations([convos[2].pk])
    # Lily is full: it waits, and is announced where it waits once asked.
    assert any('"assignee_id" IS NOT NULL' in q["sql"] for q in queries.captured_queries)
    assert [(n, p["team_id"], p["assignee_id"]) for n, p in announced] == [
        ("conversation.assigned", world["north_desk"].pk, None)]


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


@pytest.fixture
def lasting(settings, monkeypatch):
    """Configuration kept across batches for 2 s, on a clock the test moves."""
    settings.ROUTING_CONFIG_SECONDS = 2
    clock = {"now": 1000.0}
    monkeypatch.setattr(shared_reads_module.time, "monotonic", lambda: clock["now"])
    forget_lasting()
    yield clock
    forget_lasting()


def test_a_rule_an_admin_adds_reaches_live_routing_within_the_kept_time(world, lasting):
    agent(world["north_desk"], capacity=10)
    with CaptureQueriesContext(connection) as queries:
        engine.route_conversations([make_conversation(account=world["north"]).pk])
        engine.route_conversations([make_conversation(account=world["north"]).pk])
    assert _rule_reads(queries) == 1  # the second batch used the first's read
    RoutingRule.objects.create(brand=world["brand"], name="All to the south", position=1,
                               action="team", team=world["south_desk"])
    lasting["now"] += 1.9
    soon = make_conversation(account=world["north"])
    engine.route_conversations([soon.pk])
    soon.refresh_from_db()
    assert soon.team == world["north_desk"]  # still within the 2 s
    lasting["now"] += 0.2
    later = make_conversation(account=world["north"])
    engine.route_conversations([later.pk])
    later.refresh_from_db()
    assert later.team == world["south_desk"]
    # The tester reads the rules afresh at once: it routes outside any batch.
    assert not sharing()
    assert [r.name for r in rules.active_rules(world["brand"].pk)] == ["All to the south"]


def test_who_is_online_is_never_kept_across_batches_nor_what_due_times_read(lasting):
    reads = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    with shared_reads(lasting=True):
        assert once(("rules", 1), read) == 1
        assert once(("online_languages", 1), read) == 2
    with shared_reads(lasting=True):
        assert once(("rules", 1), read) == 1
        assert once(("online_languages", 1), read) == 3
    with shared_reads():  # a block that keeps nothing across (the due times')
        assert once(("rules", 1), read) == 4
    lasting["now"] += 2
    with shared_reads(lasting=True):
        assert once(("rules", 1), read) == 5


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


def test_a_due_refresh_reads_teams_and_accounts_only_for_waits_with_a_target(world):
    from routing.brand_settings import targets_for

    row = targets_for(world["north_desk"])
    row.first_response_minutes = 15
    row.save()
    now = timezone.now()
    south = waiting(world["south"], world["south_desk"], 2, start=now)  # no target

    def reads(queries: CaptureQueriesContext, table: str) -> int:
        return sum(f'FROM "{table}"' in q["sql"] for q in queries.captured_queries)

    with CaptureQueriesContext(connection) as queries:
        assert targets.conversations_due_refresh([c.pk for c in south]) == {
            c.pk: None for c in south}
    assert reads(queries, "accounts_team") == reads(queries, "accounts_officialaccount") == 0
    north = waiting(world["north"], world["north_desk"], 2, start=now)
    with CaptureQueriesContext(connection) as queries:
        dues = targets.conversations_due_refresh([c.pk for c in north + south])
    # One statement each for the teams and the accounts of the waits with a target.
    assert reads(queries, "accounts_team") == reads(queries, "accounts_officialaccount") == 1
    assert all(dues[c.pk] is not None for c in north)
    assert all(dues[c.pk] is None for c in south)


# -- a routing task takes along what waits behind it (engine.route_due) -------------------


def _decisions(convo: Conversation) -> list[str]:
    return list(RoutingDecision.objects.filter(conversation=convo).order_by("pk")
                .values_list("kind", flat=True))


def test_a_routing_task_takes_along_conversations_still_waiting_for_theirs(world):
    agent(world["north_desk"], capacity=1)
    mine, *behind = [make_conversation(account=world["north"]) for _ in range(3)]
    placed = engine.route_due([mine.pk])
    assert [p.conversation.pk for p in placed] == [mine.pk, *(c.pk for c in behind)]
    # The tasks queued behind it find their conversations routed: nothing twice.
    assert engine.route_due([behind[0].pk]) == []
    assert engine.route_due([behind[1].pk]) == []
    assert _decisions(mine) == ["routed", "assigned"]
    assert [_decisions(c) for c in behind] == [["routed"], ["routed"]]
    assert Conversation.objects.filter(routed_at__isnull=True).count() == 0


def test_a_task_takes_along_the_oldest_waiting_and_no_more_than_its_share(world):
    convos = waiting(world["north"], None, 4)  # opened a minute apart, oldest first
    mine = make_conversation(account=world["south"])
    placed = engine.route_due([mine.pk], take_along=2)
    assert [p.conversation.pk for p in placed] == [mine.pk, convos[0].pk, convos[1].pk]
    assert [c.pk for c in Conversation.objects.filter(routed_at__isnull=True)
            .order_by("pk")] == [convos[2].pk, convos[3].pk]


def _take_along_reads(queries: CaptureQueriesContext) -> int:
    return sum('"routed_at" IS NULL' in q["sql"] and "SKIP LOCKED" in q["sql"]
               for q in queries.captured_queries)


def test_a_task_that_found_fewer_waiting_than_it_could_take_does_not_look_again(world):
    mine = make_conversation(account=world["north"])
    behind = make_conversation(account=world["north"])
    with CaptureQueriesContext(connection) as queries:
        placed = engine.route_due([mine.pk], take_along=40)
    assert [p.conversation.pk for p in placed] == [mine.pk, behind.pk]
    # One look for others: it found one where it had room for nine, so none else waits.
    assert _take_along_reads(queries) == 1


def test_a_task_that_filled_its_chunk_with_others_looks_for_more(world):
    mine = make_conversation(account=world["north"])
    behind = [make_conversation(account=world["north"]) for _ in range(engine.ROUTE_CHUNK)]
    with CaptureQueriesContext(connection) as queries:
        placed = engine.route_due([mine.pk], take_along=40)
    assert {p.conversation.pk for p in placed} == {mine.pk, *(c.pk for c in behind)}
    assert _take_along_reads(queries) == 2  # the first chunk was full: a second look


def test_routing_directly_keeps_routing_again_but_a_task_skips_what_was_routed(world):
    convo = make_conversation(account=world["north"])
    engine.route_conversation(convo.pk)
    engine.route_conversation(convo.pk)  # the sweep, the tests: routes again, as before
    assert _decisions(convo) == ["routed", "routed"]
    assert engine.route_due([convo.pk]) == []  # a redelivered task: nothing more
    assert _decisions(convo) == ["routed", "routed"]


def test_a_reopened_conversation_nobody_holds_waits_for_a_route_again(world):
    from routing.subscribers import route_relay

    lily = agent(world["north_desk"], capacity=3)
    free, kept = (make_conversation(account=world["north"]) for _ in range(2))
    engine.route_due([free.pk, kept.pk])
    Conversation.objects.filter(pk=free.pk).update(assignee=None, team=None)
    for convo in (free, kept):
        route_relay("conversation.reopened", {"conversation_id": convo.pk})
    free.refresh_from_db()
    kept.refresh_from_db()
    # Eager Celery: the relay's task has run; the one nobody held was routed again.
    assert (free.team, free.assignee) == (world["north_desk"], lily)
    assert _decisions(free) == ["routed", "assigned", "routed", "assigned"]
    assert kept.assignee == lily and kept.routed_at is not None
    assert _decisions(kept) == ["routed", "assigned"]


def test_the_sweep_sees_a_reopened_conversation_whose_task_was_lost(world):
    from datetime import timedelta

    now = timezone.now()
    month_ago, minute_ago = now - timedelta(days=30), now - timedelta(minutes=1)
    lost = make_conversation(account=world["north"], opened_at=month_ago,
                             last_message_at=minute_ago, routed_at=None)
    writing = make_conversation(account=world["north"], opened_at=month_ago,
                                last_message_at=now, routed_at=None)
    counts = engine.routing_sweep(now=now)
    assert (counts["lost"], counts["routed"]) == (1, 1)
    assert _decisions(lost) == ["routed"] and _decisions(writing) == []


def test_a_batch_drains_its_queues_as_it_goes_not_only_at_its_end(world, monkeypatch):
    agent(world["north_desk"], capacity=5)
    monkeypatch.setattr(engine, "ROUTE_CHUNK", 1)
    first, second = (make_conversation(account=world["north"]) for _ in range(2))
    engine.route_due([first.pk, second.pk])
    order = list(RoutingDecision.objects.order_by("pk").values_list("conversation_id", "kind"))
    assert order == [(first.pk, "routed"), (first.pk, "assigned"),
                     (second.pk, "routed"), (second.pk, "assigned")]
    monkeypatch.setattr(engine, "ROUTE_CHUNK", 10)
    third, fourth = (make_conversation(account=world["north"]) for _ in range(2))
    engine.route_due([third.pk, fourth.pk])
    later = list(RoutingDecision.objects.filter(conversation__in=[third, fourth])
                 .order_by("pk").values_list("kind", flat=True))
    assert later == ["routed", "routed", "assigned", "assigned"]


def _another_connection(**options: object):  # noqa: ANN202 (a psycopg connection)
    """A connection of its own to the test database: another worker's."""
    import psycopg

    dsn = connection.settings_dict
    return psycopg.connect(dbname=dsn["NAME"], host=dsn["HOST"] or None,
                           port=dsn["PORT"] or None, user=dsn["USER"], **options)


@pytest.mark.django_db(transaction=True)
def test_a_conversation_another_task_is_routing_is_left_to_it(world):
    mine = make_conversation(account=world["south"])
    busy = make_conversation(account=world["north"])
    with _another_connection() as other:
        # Another worker's routing transaction holds the row.
        other.execute("SELECT id FROM messaging_conversation WHERE id = %s FOR UPDATE",
                      [busy.pk])
        placed = engine.route_due([mine.pk])  # does not wait for it
        assert [p.conversation.pk for p in placed] == [mine.pk]
    busy.refresh_from_db()
    assert busy.routed_at is None and _decisions(busy) == []
    assert [p.conversation.pk for p in engine.route_due([busy.pk])] == [busy.pk]


@pytest.mark.django_db(transaction=True)
@pytest.mark.django_db(transaction=True)
def test_two_tasks_at_once_take_along_different_conversations(world):
    """Another worker's task is taking the oldest conversations along (its chunk's
    transaction holds them): this one takes the next ones along instead, without waiting,
    and leaves the others to it."""
    oldest = waiting(world["north"], None, 3)  # opened a minute apart, oldest first
    mine = make_conversation(account=world["south"])
    with _another_connection() as other:
        other.execute(
            "SELECT id FROM messaging_conversation WHERE id = ANY(%s) FOR UPDATE",
            [[c.pk for c in oldest[:2]]])
        placed = engine.route_due([mine.pk], take_along=5)
        assert [p.conversation.pk for p in placed] == [mine.pk, oldest[2].pk]
    assert [_decisions(c) for c in oldest[:2]] == [[], []]
    # Let go, the next task takes them along.
    assert [p.conversation.pk for p in engine.route_due([])] == [c.pk for c in oldest[:2]]


def test_a_task_for_a_conversation_gone_meanwhile_routes_the_rest(world):
    convo = make_conversation(account=world["north"])
    placed = engine.route_due([10**9, convo.pk], take_along=0)
    assert [p.conversation.pk for p in placed] == [convo.pk]


def test_a_conversation_that_cannot_be_routed_costs_only_itself(world, monkeypatch, caplog):
    """A chunk is decided and written together; when that fails, its conversations are
    routed one by one: the others are placed, the one that fails is logged and left for
    the sweep (``routed_at`` empty)."""
    agent(world["north_desk"], capacity=5)
    good, bad, also = (make_conversation(account=world["north"]) for _ in range(3))
    decide = rules.decide

    def failing(facts):
        if facts.text == "boom":
            raise ValueError("a rule that cannot be read")
        return decide(facts)

    monkeypatch.setattr(rules, "decide", failing)
    monkeypatch.setattr(rules, "facts_for_many", _with_text(rules.facts_for_many, bad.pk))
    placed = engine.route_due([good.pk, bad.pk, also.pk], take_along=0)
    assert [p.conversation.pk for p in placed] == [good.pk, also.pk]
    assert Conversation.objects.filter(pk__in=[good.pk, also.pk],
                                       assignee__isnull=False).count() == 2
    bad.refresh_from_db()
    assert bad.routed_at is None and _decisions(bad) == []
    assert "routing a conversation failed" in caplog.text


def _with_text(read, conversation_id: int):  # noqa: ANN202 (facts_for_many's stand-in)
    import dataclasses

    def reading(conversations, *, at):
        facts = read(conversations, at=at)
        if conversation_id in facts:
            facts[conversation_id] = dataclasses.replace(facts[conversation_id], text="boom")
        return facts

    return reading


@pytest.mark.django_db(transaction=True)
def test_a_drain_passes_over_a_conversation_someone_else_is_taking(world):
    """The queues are read for all the teams at once and then locked: the oldest, held by
    another transaction at this instant, is passed over, and the next ones fill the free
    slots (it is for whoever holds it)."""
    lily = agent(world["north_desk"], capacity=2)
    oldest, second, third = waiting(world["north"], world["north_desk"], 3)
    with _another_connection() as other:
        other.execute("SELECT id FROM messaging_conversation WHERE id = %s FOR UPDATE",
                      [oldest.pk])
        assert assignment.assign_waiting_teams([world["north_desk"].pk]) == 2
    assert held(lily) == sorted([second.pk, third.pk])
