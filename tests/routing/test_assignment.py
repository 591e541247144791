"""Assignment, claim next (moved from messaging with the services), resolve and snooze."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from accounts.errors import InvalidInput, NotInScope, RoleRequired
from accounts.scope import scope_for_api_key, scope_for_membership
from accounts.services import api_key_create
from messaging import services
from messaging.errors import NoAssignee
from messaging.models import Conversation
from routing import assignment
from tests.factories import make_account, make_brand, make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db


def _ago(minutes: int) -> object:
    return timezone.now() - timedelta(minutes=minutes)


# -- assign ------------------------------------------------------------------------------


def test_a_manager_assigns_to_an_agent_who_serves_the_account(two_brands, announced) -> None:
    convo = two_brands["conversation_a"]  # on a1
    agent = make_member(brand=two_brands["brand_a"], accounts=[two_brands["a1"]])
    scope = scope_for_membership(two_brands["manager_a"])
    assignment.conversation_assign(scope=scope, conversation=convo, assignee=agent)
    convo.refresh_from_db()
    assert convo.assignee == agent
    [(name, payload)] = announced
    assert name == "conversation.assigned" and payload["assignee_id"] == agent.pk


def test_nobody_gets_a_conversation_of_an_account_they_do_not_serve(two_brands) -> None:
    convo = two_brands["conversation_a"]  # a1; agent_a serves a2 only
    scope = scope_for_membership(two_brands["admin_a"])
    with pytest.raises(NoAssignee):
        assignment.conversation_assign(scope=scope, conversation=convo,
                                     assignee=two_brands["agent_a"])
    convo.refresh_from_db()
    assert convo.assignee is None


def test_a_member_of_another_brand_is_never_an_assignee(two_brands) -> None:
    scope = scope_for_membership(two_brands["admin_a"])
    with pytest.raises(NoAssignee):
        assignment.conversation_assign(scope=scope, conversation=two_brands["conversation_a"],
                                     assignee=two_brands["admin_b"])


def test_agents_take_conversations_themselves_and_only_themselves(two_brands) -> None:
    brand, a2 = two_brands["brand_a"], two_brands["a2"]
    convo = make_conversation(account=a2)
    agent, colleague = two_brands["agent_a"], make_member(brand=brand, accounts=[a2])
    scope = scope_for_membership(agent)
    with pytest.raises(RoleRequired):
        assignment.conversation_assign(scope=scope, conversation=convo, assignee=colleague)
    assignment.conversation_assign(scope=scope, conversation=convo, assignee=agent)
    convo.refresh_from_db()
    assert convo.assignee == agent
    # Let go of one's own: fine. Take a colleague's away: refused.
    assignment.conversation_assign(scope=scope, conversation=convo, assignee=None)
    convo.refresh_from_db()
    assert convo.assignee is None
    Conversation.objects.filter(pk=convo.pk).update(assignee=colleague)
    with pytest.raises(RoleRequired):
        assignment.conversation_assign(scope=scope, conversation=convo, assignee=None)
    with pytest.raises(RoleRequired):
        assignment.conversation_assign(scope=scope, conversation=convo, assignee=agent)


def test_an_agent_cannot_touch_a_conversation_outside_their_scope(two_brands) -> None:
    scope = scope_for_membership(two_brands["agent_a"])  # serves a2; conversation_a is a1
    with pytest.raises(NotInScope):
        assignment.conversation_assign(scope=scope, conversation=two_brands["conversation_a"],
                                     assignee=two_brands["agent_a"])
    with pytest.raises(NotInScope):
        services.conversation_resolve(scope=scope, conversation=two_brands["conversation_b"])


# -- claim next --------------------------------------------------------------------------


def test_claim_next_takes_the_longest_waiting_of_my_queues(two_brands, announced) -> None:
    brand, a1, a2 = two_brands["brand_a"], two_brands["a1"], two_brands["a2"]
    agent = two_brands["agent_a"]  # serves a2
    team = make_team(brand=brand, name="Night shift")
    agent.teams.add(team)
    Conversation.objects.all().delete()
    newer_mine = make_conversation(account=a2, waiting_since=_ago(5))
    older_team = make_conversation(account=a1, team=team, waiting_since=_ago(30))
    make_conversation(account=a1, waiting_since=_ago(90))  # not my account, not my team
    make_conversation(account=a2, waiting_since=_ago(60), assignee=two_brands["admin_a"])
    make_conversation(account=a2, waiting_since=_ago(70), status="snoozed")
    scope = scope_for_membership(agent)

    assert assignment.conversation_claim_next(scope=scope) == older_team
    assert assignment.conversation_claim_next(scope=scope) == newer_mine
    assert assignment.conversation_claim_next(scope=scope) is None
    assert set(Conversation.objects.filter(assignee=agent)) == {older_team, newer_mine}
    assert [n for n, _p in announced] == ["conversation.assigned"] * 2


def test_claim_next_needs_a_member(two_brands) -> None:
    key, _raw = api_key_create(brand=two_brands["brand_a"], name="integration")
    with pytest.raises(InvalidInput):
        assignment.conversation_claim_next(scope=scope_for_api_key(key))


@pytest.fixture
def queue(transactional_db) -> dict:  # noqa: ANN001
    brand = make_brand()
    account = make_account(brand=brand)
    convos = [make_conversation(account=account, waiting_since=_ago(60 - n)) for n in range(6)]
    agents = [make_member(brand=brand, accounts=[account]) for _ in range(2)]
    return {"conversations": convos, "agents": agents}


def _in_thread(fn) -> threading.Thread:  # noqa: ANN001
    def run() -> None:
        try:
            fn()
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_an_agent_mid_claim_is_skipped_not_waited_for(queue: dict) -> None:
    oldest, second = queue["conversations"][:2]
    first_agent, second_agent = queue["agents"]
    locked, release = threading.Event(), threading.Event()

    def first_claim_in_progress() -> None:
        # The first agent's claim has the oldest row locked and has not committed yet.
        with transaction.atomic():
            Conversation.objects.select_for_update().get(pk=oldest.pk)
            locked.set()
            release.wait(10)

    thread = _in_thread(first_claim_in_progress)
    assert locked.wait(10)
    try:
        claimed = assignment.conversation_claim_next(scope=scope_for_membership(second_agent))
    finally:
        release.set()
        thread.join(10)
    assert claimed == second
    assert first_agent.pk != second_agent.pk


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_at_once_never_get_the_same_conversation(queue: dict) -> None:
    claims: dict[int, list[int]] = {a.pk: [] for a in queue["agents"]}
    start = threading.Barrier(len(queue["agents"]))

    def claimer(agent) -> None:  # noqa: ANN001
        scope = scope_for_membership(agent)
        start.wait(10)
        while (convo := assignment.conversation_claim_next(scope=scope)) is not None:
            claims[agent.pk].append(convo.pk)

    threads = [_in_thread(lambda a=a: claimer(a)) for a in queue["agents"]]
    for thread in threads:
        thread.join(30)
    everything = [pk for got in claims.values() for pk in got]
    assert sorted(everything) == sorted(c.pk for c in queue["conversations"])
    assert len(set(everything)) == len(everything)
    for agent in queue["agents"]:
        assert set(Conversation.objects.filter(assignee=agent).values_list("pk", flat=True)) \
            == set(claims[agent.pk])


# -- resolve and snooze ------------------------------------------------------------------


def test_resolve_records_when_and_stops_the_wait(two_brands, announced) -> None:
    convo = two_brands["conversation_a"]
    scope = scope_for_membership(two_brands["manager_a"])
    services.conversation_resolve(scope=scope, conversation=convo)
    convo.refresh_from_db()
    assert convo.status == "resolved" and convo.resolved_at is not None
    assert convo.waiting_since is None
    services.conversation_resolve(scope=scope, conversation=convo)  # again: no change
    assert [n for n, _p in announced] == ["conversation.resolved"]


def test_snooze_hides_until_the_time_then_the_sweep_reopens(two_brands, announced) -> None:
    convo = two_brands["conversation_a"]
    scope = scope_for_membership(two_brands["manager_a"])
    with pytest.raises(InvalidInput):
        services.conversation_snooze(scope=scope, conversation=convo, until=_ago(1))
    until = timezone.now() + timedelta(hours=2)
    services.conversation_snooze(scope=scope, conversation=convo, until=until)
    convo.refresh_from_db()
    assert (convo.status, convo.snoozed_until) == ("snoozed", until)
    assert services.conversations_wake_snoozed() == 0
    assert services.conversations_wake_snoozed(now=until + timedelta(seconds=1)) == 1
    convo.refresh_from_db()
    assert convo.status == "open" and convo.snoozed_until is None
    assert [n for n, _p in announced] == ["conversation.snoozed", "conversation.updated"]
    assert announced[-1][1]["change"] == "woken"
