"""Fair assignment within capacity, languages, the team queue and its order, claim next's
urgency, and the refusals at capacity (`routing.assignment`)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.errors import Conflict
from accounts.models import Membership
from accounts.scope import scope_for_membership
from followers.window import LONG_WINDOW
from messaging.models import Conversation
from routing import assignment
from routing.brand_settings import agent_state_for
from routing.models import AgentState, RoutingDecision, Transfer
from tests.factories import make_account, make_brand, make_conversation, make_team
from tests.routing.assignment_support import AT, agent, held, use_strategy, waiting

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk() -> dict:
    brand = make_brand()
    account = make_account(brand=brand)
    team = make_team(brand=brand, name="Front desk", accounts=[account])
    return {"brand": brand, "account": account, "team": team}


# -- fairness ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [9, 10, 11])
def test_least_busy_spreads_the_queue_evenly_among_equally_free_agents(desk, n) -> None:
    agents = [agent(desk["team"]) for _ in range(3)]
    waiting(desk["account"], desk["team"], n)
    assert assignment.assign_waiting(team_id=desk["team"].pk, now=AT) == n
    counts = [len(held(a)) for a in agents]
    assert sum(counts) == n and max(counts) - min(counts) <= 1


def test_drains_in_a_row_at_one_time_keep_equally_free_agents_level(desk) -> None:
    # Each drain gives 3 to 2 agents; the third breaks the tie of loads by who was given
    # one longest ago, so gives of one pass (one time) must not tie with each other.
    agents = [agent(desk["team"], capacity=3) for _ in range(2)]
    for _ in range(4):
        waiting(desk["account"], desk["team"], 3)
        assert assignment.assign_waiting(team_id=desk["team"].pk, now=AT) == 3
        Conversation.objects.filter(status=Conversation.Status.OPEN).update(
            status=Conversation.Status.RESOLVED)
    totals = [agent_state_for(a).assigned_total for a in agents]
    assert sorted(totals) == [6, 6]


def test_least_busy_gives_to_the_fewest_held_then_who_waited_longest(desk) -> None:
    busy, idle_recent, idle_long = (agent(desk["team"]) for _ in range(3))
    make_conversation(account=desk["account"], team=desk["team"], assignee=busy)
    AgentState.objects.create(membership=idle_recent, last_assigned_at=AT)
    AgentState.objects.create(membership=idle_long, last_assigned_at=AT - timedelta(hours=1))
    first, second, third = waiting(desk["account"], desk["team"], 3)
    assert assignment.assign_waiting(team_id=desk["team"].pk, now=AT) == 3
    assert first.pk in held(idle_long) and second.pk in held(idle_recent)
    # Then all hold one each; busy's last assignment is the oldest (never recorded).
    assert third.pk in held(busy)


def test_round_robin_gives_to_who_waited_longest_whatever_they_hold(desk) -> None:
    use_strategy(desk["brand"].pk, "round_robin")
    loaded, fresh = agent(desk["team"]), agent(desk["team"])
    for _ in range(3):
        make_conversation(account=desk["account"], team=desk["team"], assignee=loaded)
    AgentState.objects.create(membership=loaded, last_assigned_at=AT - timedelta(hours=2))
    AgentState.objects.create(membership=fresh, last_assigned_at=AT - timedelta(hours=1))
    first, second = waiting(desk["account"], desk["team"], 2)
    assignment.assign_waiting(team_id=desk["team"].pk, now=AT)
    assert first.pk in held(loaded) and second.pk in held(fresh)
    [decision, _] = RoutingDecision.objects.filter(kind="assigned").order_by("pk")
    assert decision.steps == [{"step": "assign", "strategy": "round_robin", "load": 4,
                               "capacity": 5}]


def test_each_assignment_is_recorded_and_announced(desk, announced) -> None:
    lily = agent(desk["team"], capacity=3)
    [convo] = waiting(desk["account"], desk["team"], 1, language="en")
    assignment.assign_waiting(team_id=desk["team"].pk, now=AT)
    decision = RoutingDecision.objects.get(conversation=convo)
    assert (decision.kind, decision.agent, decision.team, decision.language) == (
        "assigned", lily, desk["team"], "en")
    assert decision.steps == [{"step": "assign", "strategy": "least_busy", "load": 1,
                               "capacity": 3}]
    assert [(n, p["assignee_id"]) for n, p in announced] == [("conversation.assigned",
                                                              lily.pk)]
    state = agent_state_for(lily)
    assert (state.last_assigned_at, state.assigned_total) == (AT, 1)


# -- who may get one --------------------------------------------------------------------


def test_only_online_members_of_the_team_who_speak_the_language(desk) -> None:
    team = desk["team"]
    agent(team, presence=Membership.Presence.OFFLINE)
    agent(team, presence=Membership.Presence.AWAY)
    english = agent(team, languages=("en",))
    traditional = agent(team, languages=("zh-hant", "en"))
    outsider = agent(make_team(brand=desk["brand"]))  # online, another team
    hant, hans, unknown = (waiting(desk["account"], team, 1, language=code,
                                   start=AT + timedelta(minutes=i))[0]
                           for i, code in enumerate(("zh-hant", "zh-hans", "unknown")))
    assert assignment.assign_waiting(team_id=team.pk, now=AT) == 2
    assert held(traditional) == [hant.pk]
    assert held(english) == [unknown.pk]  # nobody free speaks zh-hans: it waits
    assert held(outsider) == []
    hans.refresh_from_db()
    assert hans.assignee is None


def test_a_conversation_nobody_free_speaks_keeps_its_place_while_younger_ones_go(desk) -> None:
    team = desk["team"]
    english = agent(team, languages=("en",), capacity=1)
    [first] = waiting(desk["account"], team, 1, language="zh-hans")
    [second] = waiting(desk["account"], team, 1, language="en", start=AT + timedelta(minutes=5))
    assignment.assign_waiting(team_id=team.pk, now=AT)
    assert held(english) == [second.pk]
    mandarin = agent(team, languages=("zh-hans",))
    assignment.assign_waiting(team_id=team.pk, now=AT)
    assert held(mandarin) == [first.pk]


def test_unrestricted_agents_speak_everything(desk) -> None:
    anyone = agent(desk["team"])
    convos = [waiting(desk["account"], desk["team"], 1, language=code,
                      start=AT + timedelta(minutes=i))[0]
              for i, code in enumerate(("zh-hans", "zh-hant", "en"))]
    assignment.assign_waiting(team_id=desk["team"].pk, now=AT)
    assert held(anyone) == sorted(c.pk for c in convos)


# -- capacity and the queue -------------------------------------------------------------


def test_capacity_holds_and_the_oldest_go_first(desk) -> None:
    team = desk["team"]
    agents = [agent(team, capacity=2) for _ in range(2)]
    # The queue's order: the longest wait; then the earlier opening; nobody waiting last.
    late = make_conversation(account=desk["account"], team=team, waiting_since=None,
                             opened_at=AT - timedelta(days=1))
    convos = waiting(desk["account"], team, 5)
    tie = make_conversation(account=desk["account"], team=team, waiting_since=AT,
                            opened_at=AT - timedelta(minutes=1))
    assert assignment.assign_waiting(team_id=team.pk, now=AT) == 4
    taken = set(Conversation.objects.filter(assignee__isnull=False).values_list("pk", flat=True))
    assert taken == {tie.pk, convos[0].pk, convos[1].pk, convos[2].pk}
    assert [len(held(a)) for a in agents] == [2, 2]
    assert list(assignment.team_queue(team.pk).values_list("pk", flat=True)) == [
        convos[3].pk, convos[4].pk, late.pk]


def test_a_drain_that_fills_every_slot_makes_no_second_pass(desk, monkeypatch) -> None:
    team = desk["team"]
    agents = [agent(team, capacity=2) for _ in range(2)]
    waiting(desk["account"], team, 6)
    passes = []
    once = assignment._drain_once
    monkeypatch.setattr(assignment, "_drain_once",
                        lambda *a, **k: passes.append(1) or once(*a, **k))
    assert assignment.assign_waiting(team_id=team.pk, now=AT) == 4
    assert len(passes) == 1 and [len(held(a)) for a in agents] == [2, 2]
    # With a slot left that the first pass's read could not fill, another pass looks on.
    passes.clear()
    night = make_team(brand=desk["brand"], name="Night desk", accounts=[desk["account"]])
    english = agent(night, languages=("en",), capacity=1)
    mandarin = agent(night, languages=("zh-hans",), capacity=1)
    waiting(desk["account"], night, 2, language="en", start=AT - timedelta(hours=1))
    [hans] = waiting(desk["account"], night, 1, language="zh-hans", start=AT)
    assert assignment.assign_waiting(team_id=night.pk, now=AT) == 2
    assert len(held(english)) == 1 and held(mandarin) == [hans.pk] and len(passes) == 2


def test_snoozed_and_pending_count_towards_the_load_resolved_do_not(desk) -> None:
    team = desk["team"]
    lily = agent(team, capacity=3)
    for status in ("snoozed", "pending", "resolved"):
        make_conversation(account=desk["account"], team=team, assignee=lily, status=status)
    assert assignment.load_of(lily.pk) == 2
    waiting(desk["account"], team, 3)
    assert assignment.assign_waiting(team_id=team.pk, now=AT) == 1
    assert assignment.load_of(lily.pk) == 3


def test_a_conversation_waiting_on_a_transfer_is_not_drained(desk) -> None:
    lily = agent(desk["team"])
    [convo] = waiting(desk["account"], desk["team"], 1)
    Transfer.objects.create(brand=desk["brand"], conversation=convo, kind="team",
                            to_team=desk["team"], note="VIP")
    assert assignment.assign_waiting(team_id=desk["team"].pk, now=AT) == 0
    assert held(lily) == []


def test_a_manager_cannot_assign_past_capacity(desk) -> None:
    lily = agent(desk["team"], capacity=2, name="Lily")
    for _ in range(2):
        make_conversation(account=desk["account"], team=desk["team"], assignee=lily)
    [convo] = waiting(desk["account"], desk["team"], 1)
    owner = desk["brand"].memberships.get(role="owner")
    with pytest.raises(Conflict) as refused:
        assignment.conversation_assign(scope=scope_for_membership(owner), conversation=convo,
                                       assignee=lily)
    assert refused.value.message == "Lily holds 2 of 2 conversations."
    convo.refresh_from_db()
    assert convo.assignee is None
    # Through the API: 409 with the same sentence.
    client = APIClient()
    client.force_login(owner.user)
    response = client.post(f"/api/v1/conversations/{convo.pk}/assign/", {"assignee": lily.pk},
                           format="json")
    assert response.status_code == 409
    assert "Lily holds 2 of 2 conversations." in str(response.json())
    # A resolved conversation costs no room: it can be given back.
    Conversation.objects.filter(assignee=lily).update(status="resolved")
    assignment.conversation_assign(scope=scope_for_membership(owner), conversation=convo,
                                   assignee=lily)
    decision = RoutingDecision.objects.get(conversation=convo, kind="assigned")
    assert decision.steps == [{"step": "manual", "by": owner.pk},
                              {"step": "assign", "strategy": "manual", "load": 1,
                               "capacity": 2}]


# -- claim next -------------------------------------------------------------------------


def test_claim_next_offers_urgent_ones_first_then_the_oldest(desk, monkeypatch) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: AT)
    lily = agent(desk["team"], capacity=10)
    old, mid, young = waiting(desk["account"], desk["team"], 3, start=AT - timedelta(hours=1))
    due_soon = waiting(desk["account"], desk["team"], 1, start=AT - timedelta(minutes=2),
                       response_due_at=AT + timedelta(minutes=4))[0]
    due_later = waiting(desk["account"], desk["team"], 1, start=AT - timedelta(minutes=1),
                        response_due_at=AT + timedelta(minutes=30))[0]
    closing = waiting(desk["account"], desk["team"], 1, start=AT - timedelta(seconds=30))[0]
    closing.follower.window_opened_at = AT - LONG_WINDOW + timedelta(minutes=45)
    closing.follower.save(update_fields=["window_opened_at"])
    scope = scope_for_membership(lily)
    order = [assignment.conversation_claim_next(scope=scope) for _ in range(6)]
    assert [c.pk for c in order] == [due_soon.pk, closing.pk, old.pk, mid.pk, young.pk,
                                     due_later.pk]
    assert assignment.conversation_claim_next(scope=scope) is None
    steps = RoutingDecision.objects.filter(kind="assigned").order_by("pk")
    assert [d.steps[0]["urgent"] for d in steps] == [True, True, False, False, False, False]


def test_claim_next_refuses_at_capacity(desk) -> None:
    lily = agent(desk["team"], capacity=1)
    waiting(desk["account"], desk["team"], 2)
    scope = scope_for_membership(lily)
    assert assignment.conversation_claim_next(scope=scope) is not None
    with pytest.raises(Conflict) as refused:
        assignment.conversation_claim_next(scope=scope)
    assert refused.value.message.startswith("You hold 1 of 1 conversations")
    client = APIClient()
    client.force_login(lily.user)
    response = client.post("/api/v1/conversations/claim_next/")
    assert response.status_code == 409
    assert "You hold 1 of 1 conversations" in str(response.json())
    assert Counter(Conversation.objects.values_list("assignee_id", flat=True)) == {
        lily.pk: 1, None: 1}


def test_the_capacity_sentences_read_in_chinese(desk) -> None:
    from django.utils import translation

    lily = agent(desk["team"], capacity=1, name="Lily")
    make_conversation(account=desk["account"], team=desk["team"], assignee=lily)
    [convo] = waiting(desk["account"], desk["team"], 1)
    owner = desk["brand"].memberships.get(role="owner")
    with translation.override("zh-hans"):
        with pytest.raises(Conflict) as manual:
            assignment.conversation_assign(scope=scope_for_membership(owner),
                                           conversation=convo, assignee=lily)
        with pytest.raises(Conflict) as claimed:
            assignment.conversation_claim_next(scope=scope_for_membership(lily))
    assert manual.value.message == "Lily 已接待 1 个会话，上限为 1 个。"
    assert claimed.value.message.startswith("你已接待 1 个会话，上限为 1 个")
