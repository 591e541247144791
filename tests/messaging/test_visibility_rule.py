"""Who may see a conversation is one rule (`messaging.visibility`), and every reader of it
agrees: the list, the detail (REST), the counts, the console's real-time audience, the
socket's missed count, and who is told a transferred conversation moved away.

Each path puts one conversation somewhere through the services; for every member the
readers must all say the same thing, and that must be what the rule says.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.scope import scope_for_membership
from messaging import services
from messaging.models import Conversation, Mention, Message
from messaging.selectors import conversation_counts, conversation_list
from messaging.visibility import Place, audiences, only_consulted
from routing import assignment
from routing.realtime import _Reads, audience, former_audience
from routing.selectors import messages_missed
from routing.transfers import transfer_create
from tests.factories import make_account, make_brand, make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand() -> dict:
    brand = make_brand(name="Lumen Hotels")
    booking = make_account(brand=brand, name="Lumen Booking")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    reservations = make_team(brand=brand, name="Reservations", accounts=[booking])
    concierge = make_team(brand=brand, name="Concierge", accounts=[bund])
    people = {
        "admin": make_member(brand=brand, role=Role.ADMIN),
        "everywhere": make_member(brand=brand),  # serves no account in particular: all
        "booking_agent": make_member(brand=brand, accounts=[booking]),
        "bund_agent": make_member(brand=brand, accounts=[bund]),
        # Serves the Bund account but sits in the Reservations team.
        "reservations_member": make_member(brand=brand, accounts=[bund]),
        "assignee": make_member(brand=brand, accounts=[booking]),
        "concierge_member": make_member(brand=brand, accounts=[bund]),
    }
    people["reservations_member"].teams.add(reservations)
    people["concierge_member"].teams.add(concierge)
    foreign = make_brand(name="Other Hotels")
    people["foreign_admin"] = make_member(brand=foreign, role=Role.ADMIN)
    # The foreign brand's own conversation is resolved and silent, so its counts and
    # missed messages are 0 unless ours leak into them.
    make_conversation(account=make_account(brand=foreign), status="resolved")
    conversation = make_conversation(account=booking)
    Message.objects.create(brand=brand, conversation=conversation, account=booking,
                           direction="in", msg_type="text", content="Airport pick-up?")
    return {"brand": brand, "booking": booking, "bund": bund, "reservations": reservations,
            "concierge": concierge, "people": people, "conversation": conversation}


def _readers(member, conversation: Conversation, client: APIClient) -> dict[str, bool]:
    scope = scope_for_membership(member)
    place = Place.of(conversation)
    client.force_login(member.user)
    detail = client.get(f"/api/v1/conversations/{conversation.pk}/")
    assert detail.status_code in (200, 404), detail.content
    return {
        "list": conversation_list(scope=scope).filter(pk=conversation.pk).exists(),
        "detail": detail.status_code == 200,
        "counts": conversation_counts(scope=scope)["all"] > 0,
        "audience": member.pk in audience(conversation=conversation),
        # The batch reading (a push batch's): the same rule in five plain queries.
        "audiences": member.pk in audiences([place])[place],
        "missed": (messages_missed(scope=scope, since=0) or 0) > 0,
    }


def _who_sees(data: dict, client: APIClient) -> set[str]:
    conversation = Conversation.objects.get(pk=data["conversation"].pk)
    seen = set()
    for name, member in data["people"].items():
        readers = _readers(member, conversation, client)
        assert len(set(readers.values())) == 1, f"{name} disagrees: {readers}"
        if readers["list"]:
            seen.add(name)
    return seen


def _batch_former(conversation: Conversation, moved: dict) -> list[int]:
    """Who the push batch tells that the conversation went (its reads, `audiences`)."""
    reads = _Reads([("conversation.transferred", moved)])
    return former_audience(conversation=conversation, payload=moved,
                           now=reads.audience(Place.of(conversation)),
                           audience_of=reads.audience)


ALWAYS = {"admin", "everywhere"}


def test_unassigned_on_the_booking_account(brand) -> None:
    assert _who_sees(brand, APIClient()) == ALWAYS | {"booking_agent", "assignee"}


def test_in_a_team_queue(brand) -> None:
    Conversation.objects.filter(pk=brand["conversation"].pk).update(team=brand["reservations"])
    assert _who_sees(brand, APIClient()) == ALWAYS | {
        "booking_agent", "assignee", "reservations_member"}


def test_assigned_to_an_agent(brand) -> None:
    scope = scope_for_membership(brand["people"]["admin"])
    assignment.conversation_assign(scope=scope, conversation=brand["conversation"],
                                 assignee=brand["people"]["assignee"])
    assert _who_sees(brand, APIClient()) == ALWAYS | {"booking_agent", "assignee"}


def test_the_assignee_keeps_sight_when_the_account_is_no_longer_theirs(brand) -> None:
    people = brand["people"]
    assignment.conversation_assign(scope=scope_for_membership(people["admin"]),
                                 conversation=brand["conversation"], assignee=people["assignee"])
    people["assignee"].accounts.set([brand["bund"]])
    assert "assignee" in _who_sees(brand, APIClient())


def test_transferred_between_teams(brand, announced) -> None:
    people = brand["people"]
    admin = scope_for_membership(people["admin"])
    transfer_create(scope=admin, conversation=brand["conversation"],
                    to_team=brand["reservations"], note="Reservations first",
                    by=people["admin"])
    transfer_create(scope=admin, conversation=brand["conversation"],
                    to_team=brand["concierge"], note="Then the concierge", by=people["admin"])
    seen = _who_sees(brand, APIClient())
    assert seen == ALWAYS | {"booking_agent", "assignee", "concierge_member"}
    conversation = Conversation.objects.get(pk=brand["conversation"].pk)
    _name, moved = announced[-1]
    gone = former_audience(conversation=conversation, payload=moved,
                           now=audience(conversation=conversation))
    assert gone == [people["reservations_member"].pk]
    assert _batch_former(conversation, moved) == gone


def test_transferred_between_accounts(brand, announced) -> None:
    people = brand["people"]
    assignment.conversation_assign(scope=scope_for_membership(people["admin"]),
                                 conversation=brand["conversation"], assignee=people["assignee"])
    transfer_create(
        scope=scope_for_membership(people["assignee"]), conversation=brand["conversation"],
        to_account=brand["bund"], to_team=brand["concierge"], note="Airport pick-up at 18:00",
        by=people["assignee"],
    )
    seen = _who_sees(brand, APIClient())
    # The channel account's agents lose sight; the Bund's (the handling account) see it.
    assert seen == ALWAYS | {"bund_agent", "reservations_member", "concierge_member"}
    conversation = Conversation.objects.get(pk=brand["conversation"].pk)
    name, moved = [e for e in announced if e[0] == "conversation.transferred"][-1]
    gone = former_audience(conversation=conversation, payload=moved,
                           now=audience(conversation=conversation))
    assert sorted(gone) == sorted([people["booking_agent"].pk, people["assignee"].pk])
    assert _batch_former(conversation, moved) == sorted(gone)


def test_nobody_is_given_a_conversation_they_could_not_see(brand) -> None:
    from messaging.errors import NoAssignee

    people = brand["people"]
    with pytest.raises(NoAssignee):
        assignment.conversation_assign(scope=scope_for_membership(people["admin"]),
                                     conversation=brand["conversation"],
                                     assignee=people["bund_agent"])
    # Once it is in the Reservations queue, that team's member may hold it.
    Conversation.objects.filter(pk=brand["conversation"].pk).update(team=brand["reservations"])
    assignment.conversation_assign(scope=scope_for_membership(people["admin"]),
                                 conversation=brand["conversation"],
                                 assignee=people["reservations_member"])
    assert Conversation.objects.get(pk=brand["conversation"].pk).assignee == people[
        "reservations_member"]


def test_mentioned_in_a_private_note(brand) -> None:
    people = brand["people"]
    services.message_note(scope=scope_for_membership(people["admin"]),
                          conversation=brand["conversation"], text="@bund can you help?",
                          by=people["admin"], mentions=[people["bund_agent"]])
    # Ground 5: the consulted colleague reads it in every reader, while the mention is open.
    assert _who_sees(brand, APIClient()) == ALWAYS | {"booking_agent", "assignee", "bund_agent"}
    Mention.objects.update(ended_at=timezone.now())
    assert _who_sees(brand, APIClient()) == ALWAYS | {"booking_agent", "assignee"}


def test_who_may_act_and_who_only_reads_along(brand, django_assert_num_queries) -> None:
    """`only_consulted` on a row read through the scope: grounds 2 and 4 come off the row
    without a statement; ground 3 and a mention alone are asked of the database."""
    people, conversation = brand["people"], brand["conversation"]
    Conversation.objects.filter(pk=conversation.pk).update(
        team=brand["concierge"], assignee=people["assignee"])
    services.message_note(scope=scope_for_membership(people["admin"]),
                          conversation=conversation, text="@bund can you help?",
                          by=people["admin"], mentions=[people["bund_agent"]])
    row = Conversation.objects.get(pk=conversation.pk)
    scopes = {name: scope_for_membership(people[name]) for name in (
        "admin", "booking_agent", "assignee", "concierge_member", "bund_agent")}
    with django_assert_num_queries(0):
        assert not only_consulted(scopes["admin"], row)  # ground 1
        assert not only_consulted(scopes["booking_agent"], row)  # ground 2
        assert not only_consulted(scopes["assignee"], row)  # ground 4
    with django_assert_num_queries(1):
        assert not only_consulted(scopes["concierge_member"], row)  # ground 3
    with django_assert_num_queries(1):
        assert only_consulted(scopes["bund_agent"], row)  # ground 5 alone
