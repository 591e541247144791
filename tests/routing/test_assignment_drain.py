"""The team queue drains on each trigger, through the subscriptions (`routing.subscribers`):
an agent comes online, frees a slot, raises their capacity; the sweep; and an agent going
offline hands their open conversations back when the brand says so."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from accounts.scope import scope_for_membership
from accounts.services import membership_set_presence, membership_update
from messaging import services
from messaging.models import Conversation
from routing import engine
from routing.assignment import team_queue
from routing.models import RoutingDecision
from tests.factories import make_account, make_brand, make_conversation, make_team
from tests.routing.assignment_support import agent, held, use_strategy, waiting

pytestmark = pytest.mark.django_db

OFFLINE, ONLINE, AWAY = (Membership.Presence.OFFLINE, Membership.Presence.ONLINE,
                         Membership.Presence.AWAY)


@pytest.fixture
def desk() -> dict:
    brand = make_brand()
    account = make_account(brand=brand)
    team = make_team(brand=brand, name="Front desk", accounts=[account])
    owner = brand.memberships.get(role="owner")
    return {"brand": brand, "account": account, "team": team, "owner": owner}


def test_an_agent_coming_online_takes_the_waiting_conversations(
    desk, django_capture_on_commit_callbacks
) -> None:
    lily = agent(desk["team"], presence=OFFLINE, capacity=2)
    convos = waiting(desk["account"], desk["team"], 3)
    with django_capture_on_commit_callbacks(execute=True):
        membership_set_presence(membership=lily, presence=AWAY)
    assert held(lily) == []
    with django_capture_on_commit_callbacks(execute=True):
        membership_set_presence(membership=lily, presence=ONLINE)
    assert held(lily) == [convos[0].pk, convos[1].pk]


def test_resolving_frees_a_slot_and_the_next_one_comes(
    desk, django_capture_on_commit_callbacks
) -> None:
    lily = agent(desk["team"], capacity=1)
    current = make_conversation(account=desk["account"], team=desk["team"], assignee=lily)
    [next_one] = waiting(desk["account"], desk["team"], 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_resolve(scope=scope_for_membership(lily), conversation=current)
    assert held(lily) == sorted([current.pk, next_one.pk])
    assert Conversation.objects.get(pk=next_one.pk).assignee == lily


def test_resolving_drains_every_team_of_the_holder(
    desk, django_capture_on_commit_callbacks
) -> None:
    # The resolved conversation is in no team: the holder's other team drains through
    # the task's {"member": pk} item, whose teams the worker reads.
    night = make_team(brand=desk["brand"], name="Night desk", accounts=[desk["account"]])
    lily = agent(desk["team"], capacity=1)
    lily.teams.add(night)
    current = make_conversation(account=desk["account"], assignee=lily)
    [next_one] = waiting(desk["account"], night, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_resolve(scope=scope_for_membership(lily), conversation=current)
    assert Conversation.objects.get(pk=next_one.pk).assignee == lily


def test_raising_capacity_drains_the_queue(desk, django_capture_on_commit_callbacks) -> None:
    lily = agent(desk["team"], capacity=1)
    make_conversation(account=desk["account"], team=desk["team"], assignee=lily)
    convos = waiting(desk["account"], desk["team"], 3)
    with django_capture_on_commit_callbacks(execute=True):
        membership_update(scope=scope_for_membership(desk["owner"]), membership=lily,
                          role="agent", account_ids=[], capacity=3)
    assert set(held(lily)) >= {convos[0].pk, convos[1].pk}
    assert Conversation.objects.get(pk=convos[2].pk).assignee is None


def test_the_sweep_drains_queues_with_a_free_agent(desk) -> None:
    convos = waiting(desk["account"], desk["team"], 2)
    # Waiting with nobody online: the sweep finds nothing to do.
    lily = agent(desk["team"], presence=OFFLINE)
    assert engine.routing_sweep()["assigned"] == 0
    Membership.objects.filter(pk=lily.pk).update(presence=ONLINE)  # no event: a lost one
    counts = engine.routing_sweep()
    assert counts["assigned"] == 2 and counts["teams"] == 1
    assert held(lily) == [c.pk for c in convos]


def test_going_offline_hands_open_conversations_back_when_the_brand_says_so(
    desk, django_capture_on_commit_callbacks
) -> None:
    use_strategy(desk["brand"].pk, "least_busy", return_on_offline=True)
    lily = agent(desk["team"], capacity=5)
    bob = agent(desk["team"], capacity=5, presence=OFFLINE)
    opened = make_conversation(account=desk["account"], team=desk["team"], assignee=lily)
    snoozed = make_conversation(account=desk["account"], team=desk["team"], assignee=lily,
                                status="snoozed")
    with django_capture_on_commit_callbacks(execute=True):
        membership_set_presence(membership=bob, presence=ONLINE)
        membership_set_presence(membership=lily, presence=OFFLINE)
    assert held(lily) == [snoozed.pk]
    assert held(bob) == [opened.pk]
    kinds = list(RoutingDecision.objects.filter(conversation=opened).values_list("kind", "steps"))
    assert kinds[0] == ("requeued", [{"step": "offline", "agent": lily.pk}])
    assert kinds[1][0] == "assigned"


def test_going_offline_keeps_the_conversations_by_default_and_when_away(
    desk, django_capture_on_commit_callbacks
) -> None:
    lily = agent(desk["team"])
    opened = make_conversation(account=desk["account"], team=desk["team"], assignee=lily)
    with django_capture_on_commit_callbacks(execute=True):
        membership_set_presence(membership=lily, presence=OFFLINE)
    assert held(lily) == [opened.pk]
    use_strategy(desk["brand"].pk, "least_busy", return_on_offline=True)
    with django_capture_on_commit_callbacks(execute=True):
        membership_set_presence(membership=lily, presence=ONLINE)
        membership_set_presence(membership=lily, presence=AWAY)
    assert held(lily) == [opened.pk]
    assert not RoutingDecision.objects.filter(kind="requeued").exists()


def test_an_offline_return_without_anyone_online_waits_in_the_team_queue(
    desk, django_capture_on_commit_callbacks
) -> None:
    use_strategy(desk["brand"].pk, "least_busy", return_on_offline=True)
    lily = agent(desk["team"])
    opened = make_conversation(account=desk["account"], team=desk["team"], assignee=lily)
    with django_capture_on_commit_callbacks(execute=True):
        membership_set_presence(membership=lily, presence=OFFLINE)
    opened.refresh_from_db()
    assert (opened.assignee, opened.team) == (None, desk["team"])
    assert list(team_queue(desk["team"].pk)) == [opened]
