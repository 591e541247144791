"""A private note's @mention reaches the mentioned member's screens live, and only theirs;
from then on they get the conversation's events too (they may read it), until the mention
ends.

Sockets and markers as in `tests/routing/test_realtime.py`: real ASGI app, Redis channel
layer, events produced by the real service through the hooks routing subscribes to.
"""

import pytest
from asgiref.sync import sync_to_async

from accounts.scope import scope_for_membership
from messaging import services
from messaging.models import Mention
from tests.factories import make_conversation, make_member
from tests.routing.socket_support import close_thread_connections  # noqa: F401
from tests.routing.test_realtime import _close, _open, _settled, _world

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]


def _setup() -> dict:
    w = _world()
    w["lily"] = w["bund_agent"]
    w["lily"].display_name = "Lily"
    w["lily"].save(update_fields=["display_name"])
    # Wang serves another account: he cannot see the Bund's conversation until mentioned.
    w["wang"] = w["taikoo_agent"]
    w["bystander"] = make_member(brand=w["lily"].brand, accounts=[w["team"].accounts.first()])
    w["conversation"] = make_conversation(account=w["bund"])
    return w


def _note(w: dict, text: str) -> None:
    services.message_note(scope=scope_for_membership(w["lily"]), conversation=w["conversation"],
                          text=text, by=w["lily"], mentions=[w["wang"]])


async def test_the_mention_reaches_only_the_mentioned_member():
    w = await sync_to_async(_setup)()
    screens = {name: await _open(w[name])
               for name in ("lily", "wang", "bystander", "admin", "rival_admin")}

    await sync_to_async(_note)(w, "@Wang can you arrange an airport pick-up for 18:00?")
    mention = await Mention.objects.aget()

    got = {name: await _settled(screens[name], w[name]) for name in screens}
    (toast,) = [e for e in got["wang"] if e["type"] == "mention"]
    assert toast == {"type": "mention", "conversation_id": w["conversation"].pk,
                     "mention_id": mention.pk, "by": "Lily",
                     "snippet": "@Wang can you arrange an airport pick-up for 18:00?",
                     "at": toast["at"]}
    # Mentioned, Wang may read the conversation: its note reaches him like its audience.
    assert [e["type"] for e in got["wang"] if e["type"] == "message"] == ["message"]
    for name in ("lily", "admin"):
        assert [e for e in got[name] if e["type"] == "mention"] == []
        assert [e["direction"] for e in got[name] if e["type"] == "message"] == ["note"]
    assert got["bystander"] == [] and got["rival_admin"] == []
    for screen in screens.values():
        await _close(screen)


async def test_an_ended_mention_is_not_pushed_and_its_reader_hears_no_more():
    w = await sync_to_async(_setup)()
    wang = await _open(w["wang"])
    await sync_to_async(_note)(w, "first")
    assert any(e["type"] == "mention" for e in await _settled(wang, w["wang"]))
    await Mention.objects.all().aupdate(ended_at=w["conversation"].opened_at)

    def reply() -> None:
        services.message_note(scope=scope_for_membership(w["lily"]),
                              conversation=w["conversation"], text="second", by=w["lily"])

    await sync_to_async(reply)()
    assert await _settled(wang, w["wang"]) == []
    await _close(wang)
