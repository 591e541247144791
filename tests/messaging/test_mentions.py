"""Private consultation: a private note's @mentions let a colleague read the conversation
(the visibility rule's ground 5, in both readings) until they dismiss the mention or the
conversation is resolved; a mention never lets anyone be assigned."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.errors import InvalidInput
from accounts.scope import scope_for_membership
from messaging import services
from messaging.errors import NoAssignee
from messaging.models import Conversation, Mention, Message
from messaging.selectors import conversation_list
from messaging.visibility import Place, audience_ids, may_hold
from routing import mentions
from routing.assignment import conversation_assign
from tests.factories import make_account, make_brand, make_conversation, make_member

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"


@pytest.fixture
def world() -> dict:
    brand = make_brand(name="Lumen Hotels")
    booking = make_account(brand=brand, name="Lumen Booking")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    lily = make_member(brand=brand, accounts=[booking])
    lily.display_name = "Lily"
    lily.save(update_fields=["display_name"])
    wang = make_member(brand=brand, accounts=[bund])  # cannot see booking's conversations
    other = make_brand(name="Rival Group")
    return {
        "brand": brand, "booking": booking, "lily": lily, "wang": wang,
        "bystander": make_member(brand=brand, accounts=[bund]),
        "foreign": make_member(brand=other, role="admin"),
        "conversation": make_conversation(account=booking),
    }


def _sees(member, conversation: Conversation) -> tuple[bool, bool]:
    """(the filter reading, the audience reading) for one member."""
    listed = conversation_list(scope=scope_for_membership(member)).filter(
        pk=conversation.pk).exists()
    return listed, member.pk in audience_ids(Place.of(conversation))


def _note(w: dict, *mentioned, text: str = "@Wang can you arrange the airport pick-up?"):
    return services.message_note(scope=scope_for_membership(w["lily"]),
                                 conversation=w["conversation"], text=text, by=w["lily"],
                                 mentions=list(mentioned))


def test_a_note_stores_one_mention_per_colleague_and_announces_each(world, announced) -> None:
    note = _note(world, world["wang"], world["wang"], world["lily"])
    (mention,) = Mention.objects.all()
    # Named twice, stored once; the writer never mentions themself.
    assert (mention.note, mention.member, mention.by) == (note, world["wang"], world["lily"])
    assert mention.ended_at is None
    created = [p for name, p in announced if name == "mention.created"]
    assert created == [{"brand_id": world["brand"].pk,
                        "conversation_id": world["conversation"].pk,
                        "mention_id": mention.pk, "member_id": world["wang"].pk,
                        "by_membership_id": world["lily"].pk}]


def test_the_mentioned_colleague_sees_it_in_both_readings_and_nobody_else_does(world) -> None:
    conversation = world["conversation"]
    assert _sees(world["wang"], conversation) == (False, False)
    _note(world, world["wang"])
    assert _sees(world["wang"], conversation) == (True, True)
    assert _sees(world["bystander"], conversation) == (False, False)
    assert _sees(world["foreign"], conversation) == (False, False)


def test_a_mention_does_not_let_anyone_be_assigned(world) -> None:
    _note(world, world["wang"])
    place = Place.of(world["conversation"])
    assert not may_hold(world["wang"], place)
    admin = make_member(brand=world["brand"], role="admin")
    with pytest.raises(NoAssignee):
        conversation_assign(scope=scope_for_membership(admin),
                            conversation=world["conversation"], assignee=world["wang"])


def test_a_member_of_another_brand_cannot_be_mentioned(world) -> None:
    with pytest.raises(InvalidInput, match="Only members of this brand"):
        _note(world, world["foreign"])
    assert not Message.objects.filter(direction="note").exists()


def test_the_api_takes_mentions_on_a_note_and_refuses_foreign_ids(world) -> None:
    client = APIClient()
    client.force_login(world["lily"].user)
    url = f"{API}{world['conversation'].pk}/messages/"
    foreign = client.post(url, {"kind": "note", "text": "psst", "mentions": [
        world["foreign"].pk]}, format="json")
    assert foreign.status_code == 404
    on_a_reply = client.post(url, {"text": "hello", "mentions": [world["wang"].pk]},
                             format="json")
    assert on_a_reply.status_code == 400
    assert "Only a private note can mention colleagues." in on_a_reply.json()["mentions"]
    assert not Mention.objects.exists()
    made = client.post(url, {"kind": "note", "text": "@Wang pick-up at 18:00",
                             "mentions": [world["wang"].pk]}, format="json")
    assert made.status_code == 201, made.content
    assert Mention.objects.get().member == world["wang"]
    # Wang reads the conversation and its messages now, by REST too.
    client.force_login(world["wang"].user)
    assert client.get(f"{API}{world['conversation'].pk}/").status_code == 200
    assert client.get(url).status_code == 200


def test_my_open_mentions_and_ending_one(world) -> None:
    _note(world, world["wang"])
    client = APIClient()
    client.force_login(world["wang"].user)
    (listed,) = client.get("/api/v1/mentions/").json()["results"]
    assert listed["conversation"] == world["conversation"].pk
    assert listed["by"] == "Lily"
    assert listed["snippet"].startswith("@Wang can you arrange")
    # Only the mentioned member can end it: to anyone else it does not exist.
    client.force_login(world["lily"].user)
    assert client.post(f"/api/v1/mentions/{listed['id']}/end/").status_code == 404
    client.force_login(world["foreign"].user)
    assert client.post(f"/api/v1/mentions/{listed['id']}/end/").status_code == 404
    client.force_login(world["wang"].user)
    ended = client.post(f"/api/v1/mentions/{listed['id']}/end/")
    assert ended.status_code == 200 and ended.json()["ended_at"]
    assert client.get("/api/v1/mentions/").json()["results"] == []
    assert _sees(world["wang"], world["conversation"]) == (False, False)
    assert client.get(f"{API}{world['conversation'].pk}/").status_code == 404


def test_resolving_the_conversation_ends_its_mentions(
        world, django_capture_on_commit_callbacks) -> None:
    _note(world, world["wang"])
    # Routing ends them when the conversation is resolved (on "conversation.resolved").
    mentions.subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_resolve(scope=scope_for_membership(world["lily"]),
                                      conversation=world["conversation"])
    assert Mention.objects.get().ended_at is not None
    assert _sees(world["wang"], Conversation.objects.get(pk=world["conversation"].pk)) == (
        False, False)


def test_whom_a_note_may_mention(world) -> None:
    client = APIClient()
    client.force_login(world["lily"].user)
    names = {c["id"] for c in client.get("/api/v1/mentions/candidates/").json()}
    # The whole brand but me, beyond my own accounts; never another brand's members.
    assert world["wang"].pk in names and world["bystander"].pk in names
    assert world["lily"].pk not in names and world["foreign"].pk not in names


def test_a_consulted_colleague_reads_and_notes_but_does_not_act(world) -> None:
    from accounts.errors import RoleRequired
    from routing.transfers import transfer_create

    _note(world, world["wang"])
    wang = scope_for_membership(world["wang"])
    conversation = world["conversation"]
    # A note back to Lily is what consultation is for.
    services.message_note(scope=wang, conversation=conversation, text="Booked the car",
                          by=world["wang"])
    for act in (
        lambda: services.message_reply(scope=wang, conversation=conversation,
                                       text="Hello", by=world["wang"]),
        lambda: services.conversation_resolve(scope=wang, conversation=conversation),
        lambda: transfer_create(scope=wang, conversation=conversation,
                                to_agent=world["bystander"], note="yours", by=world["wang"]),
    ):
        with pytest.raises(RoleRequired, match="mentioned to advise"):
            act()
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN
    assert not conversation.messages.filter(direction=Message.Direction.OUTBOUND).exists()
    # Lily, who serves the account, still acts as before.
    services.conversation_resolve(scope=scope_for_membership(world["lily"]),
                                  conversation=conversation)
