"""A transfer tells the screens that lose sight of a conversation, and only them.

Before the transfer the conversation sits on one handling account and team; afterwards
members of the old team (and servers of the old account) who cannot see it any more get
one minimal `moved_away` event, the new audience gets the ordinary `transferred` change,
and everyone else gets nothing. Sockets are `WebsocketCommunicator`s on the real ASGI app;
the transfer runs through messaging's service and REST API, which announce after commit.
"""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from accounts.scope import scope_for_membership
from messaging import services
from messaging.models import Conversation, Message
from routing.transfers import transfer_create
from tests.factories import make_account, make_conversation, make_member, make_team
from tests.routing.socket_support import close_thread_connections  # noqa: F401 - fixture
from tests.routing.test_realtime import _close, _open, _settled, _world

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]


def _desk() -> dict:
    """Lumen's Bund conversation, waiting in the Bund desk team's queue.

    desk_agent serves only the Hangzhou account but sits in the Bund desk team, so the team
    is all that shows them the conversation; bystander serves Hangzhou too, in no team."""
    w = _world()
    brand = w["bund"].brand
    hangzhou = make_account(brand=brand, name="Hangzhou West Lake")
    desk = make_team(brand=brand, name="Bund desk", accounts=[w["bund"]])
    concierge = make_team(brand=brand, name="Taikoo concierge")
    desk_agent = make_member(brand=brand, accounts=[hangzhou])
    desk_agent.teams.add(desk)
    concierge_agent = make_member(brand=brand, accounts=[hangzhou])
    concierge_agent.teams.add(concierge)
    bystander = make_member(brand=brand, accounts=[hangzhou])
    conversation = make_conversation(account=w["bund"], team=desk, assignee=desk_agent)
    return {**w, "hangzhou": hangzhou, "desk": desk, "concierge": concierge,
            "desk_agent": desk_agent, "concierge_agent": concierge_agent,
            "bystander": bystander, "conversation": conversation}


def _moved_away(conversation: Conversation, events: list[dict]) -> dict:
    (event,) = events
    assert event == {"type": "conversation", "reason": "moved_away",
                     "conversation_id": conversation.pk, "status": "open",
                     "at": event["at"]}
    return event


async def test_an_account_transfer_tells_the_old_team_and_account_it_moved_away():
    w = await sync_to_async(_desk)()
    names = ("desk_agent", "bund_agent", "taikoo_agent", "admin", "bystander", "rival_admin")
    screens = {name: await _open(w[name]) for name in names}
    admin_scope = await sync_to_async(scope_for_membership)(w["admin"])

    # To Chengdu Taikoo Li's queue: neither the Bund's agent nor the Bund desk sees it there.
    taikoo = await sync_to_async(lambda: w["taikoo_agent"].accounts.get())()
    await sync_to_async(transfer_create)(
        scope=admin_scope, conversation=w["conversation"], to_account=taikoo,
        note="Guest is moving to Chengdu tomorrow", by=w["admin"],
    )
    conversation = await Conversation.objects.aget(pk=w["conversation"].pk)
    assert conversation.handling_account_id == taikoo.pk
    assert conversation.team_id is None and conversation.assignee_id is None

    # The old team's member (who does not serve the Bund) and the Bund's agent: moved away,
    # with nothing about the follower or where it went.
    for name in ("desk_agent", "bund_agent"):
        event = _moved_away(conversation, await _settled(screens[name], w[name]))
        assert "snippet" not in event and "handling_account_id" not in event
    # The new audience (and the brand-wide admin) see the transfer and its system line.
    line = await Message.objects.aget(conversation=conversation, direction="system")
    assert line.content == "→ Chengdu Taikoo Li\nGuest is moving to Chengdu tomorrow"
    for name in ("taikoo_agent", "admin"):
        events = await _settled(screens[name], w[name])
        by_type = {e["type"]: e for e in events}
        assert len(events) == 2, events
        assert by_type["conversation"]["reason"] == "transferred"
        assert by_type["conversation"]["handling_account_id"] == taikoo.pk
        assert by_type["message"]["message_id"] == line.pk
    # A member of neither the old nor the new place, and another brand: nothing.
    for name in ("bystander", "rival_admin"):
        assert await _settled(screens[name], w[name]) == []
    for screen in screens.values():
        await _close(screen)


async def test_a_team_transfer_over_rest_tells_only_the_old_team():
    w = await sync_to_async(_desk)()
    names = ("desk_agent", "concierge_agent", "bund_agent", "bystander")
    screens = {name: await _open(w[name]) for name in names}

    def transfer_over_rest() -> object:
        client = Client()
        client.force_login(w["desk_agent"].user)
        return client.post(
            f"/api/v1/conversations/{w['conversation'].pk}/transfer/",
            {"team": w["concierge"].pk, "note": "Speaks Cantonese"},
            content_type="application/json",
        )

    response = await sync_to_async(transfer_over_rest)()
    # The desk agent handed it out of their own sight: nothing left to show them.
    assert response.status_code == 204, response.content
    conversation = await Conversation.objects.aget(pk=w["conversation"].pk)
    assert conversation.team_id == w["concierge"].pk

    _moved_away(conversation, await _settled(screens["desk_agent"], w["desk_agent"]))
    # The Bund's agent still sees it (same handling account): an ordinary change.
    events = await _settled(screens["bund_agent"], w["bund_agent"])
    assert [e["type"] for e in events if e["type"] == "conversation"] == ["conversation"]
    assert all(e.get("reason") != "moved_away" for e in events)
    (change,) = [e for e in events if e["type"] == "conversation"]
    assert change["reason"] == "transferred" and change["team_id"] == w["concierge"].pk
    concierge = await _settled(screens["concierge_agent"], w["concierge_agent"])
    assert {e["type"] for e in concierge} == {"conversation", "message"}
    assert all(e.get("reason") != "moved_away" for e in concierge)
    assert await _settled(screens["bystander"], w["bystander"]) == []
    for screen in screens.values():
        await _close(screen)


async def test_a_change_that_moves_nothing_tells_no_former_audience():
    w = await sync_to_async(_desk)()
    desk_screen, bystander_screen = await _open(w["desk_agent"]), await _open(w["bystander"])
    admin_scope = await sync_to_async(scope_for_membership)(w["admin"])
    await sync_to_async(services.conversation_resolve)(
        scope=admin_scope, conversation=w["conversation"])
    (event,) = await _settled(desk_screen, w["desk_agent"])
    assert event["reason"] == "resolved"
    assert await _settled(bystander_screen, w["bystander"]) == []
    await _close(desk_screen)
    await _close(bystander_screen)
