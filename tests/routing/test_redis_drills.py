"""Drills on a Redis of the test's own: restarted, or stopped for a while, under open
console sockets, on both channel layers the console can run on.

After a restart Redis has forgotten the group memberships, the queued messages and the
brand streams' counters. Every open screen must be told to resync (it may have missed
anything) within 5 s of Redis being back, and the events published after that must reach
exactly the screens that may see them, as before. The first socket opened right after the
restart used to get a 500 (a dead pooled connection). Nothing here sleeps for a fixed
time: each wait is for an event, with a deadline.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from messaging.models import Conversation
from tests.routing.redis_support import point_layer_at, private_redis  # noqa: F401
from tests.routing.socket_support import close_thread_connections  # noqa: F401
from tests.routing.test_realtime import _close, _inbound_text, _open, _settled, _world

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]
RECOVERY = 5.0  # seconds, the bound: from Redis back to every screen told


async def _first(screen: WebsocketCommunicator, kind: str, *, by: float) -> dict:
    """The first event of type ``kind`` the screen gets, before loop time ``by``."""
    loop = asyncio.get_running_loop()
    while True:
        left = by - loop.time()
        assert left > 0, f"no {kind!r} event in time"
        event = await screen.receive_json_from(timeout=left)
        if event["type"] == kind:
            return event


async def _message_arrives(w: dict, screens: dict, openid: str, text: str) -> None:
    """A follower writes to the Bund: its agent and the admin get it, Taikoo Li's agent
    (same brand, another account) gets nothing."""
    await sync_to_async(_inbound_text)(w["bund"], openid, text)
    conversation = await Conversation.objects.aget(follower__openid=openid)
    for name in ("bund_agent", "admin"):
        events = await _settled(screens[name], w[name])
        messages = [e for e in events if e["type"] == "message"]
        assert [(m["conversation_id"], m["snippet"]) for m in messages] == [
            (conversation.pk, text)], events
    assert await _settled(screens["taikoo_agent"], w["taikoo_agent"]) == []


@pytest.mark.parametrize("layer", ["redis", "pubsub"])
async def test_a_redis_restart_under_open_sockets_is_resynced_within_5_s_and_then_live(
    settings, private_redis, layer  # noqa: ANN001, F811
):
    point_layer_at(settings, private_redis, layer)
    w = await sync_to_async(_world)()
    screens = {name: await _open(w[name]) for name in ("bund_agent", "admin", "taikoo_agent")}
    await _message_arrives(w, screens, "o_drill_1", "before the restart")

    await sync_to_async(private_redis.restart)()
    back = asyncio.get_running_loop().time()
    # The first socket opened after the restart is accepted (it was answered a 500).
    screens["bund_agent_2"] = await _open(w["bund_agent"])

    for name in ("bund_agent", "admin", "taikoo_agent"):
        gap = await _first(screens[name], "gap", by=back + RECOVERY)
        assert gap["reason"] in ("restart", "layer", "redis"), gap
    # Live again, for every screen, with the same audience as before.
    await sync_to_async(_inbound_text)(w["bund"], "o_drill_2", "after the restart")
    conversation = await Conversation.objects.aget(follower__openid="o_drill_2")
    for name, member in (("bund_agent", "bund_agent"), ("bund_agent_2", "bund_agent"),
                         ("admin", "admin")):
        events = await _settled(screens[name], w[member])
        assert [e["snippet"] for e in events if e["type"] == "message"
                and e["conversation_id"] == conversation.pk] == ["after the restart"], events
    assert [e for e in await _settled(screens["taikoo_agent"], w["taikoo_agent"])
            if e["type"] != "gap"] == []
    # The last socket's disconnect closes the brand's hub, whose reader was cancelled in
    # a Redis client that reconnected: it ends within the bound (it used to hold the
    # disconnect, the member's presence with it, until the server gave up).
    for screen in screens.values():
        started = asyncio.get_running_loop().time()
        await _close(screen)
        assert asyncio.get_running_loop().time() - started < RECOVERY


@pytest.mark.parametrize("layer", ["redis", "pubsub"])
async def test_while_redis_is_away_pongs_say_not_live_and_its_return_brings_a_resync(
    settings, private_redis, layer  # noqa: ANN001, F811
):
    point_layer_at(settings, private_redis, layer)
    w = await sync_to_async(_world)()
    screens = {name: await _open(w[name]) for name in ("bund_agent", "admin", "taikoo_agent")}
    loop = asyncio.get_running_loop()

    await sync_to_async(private_redis.stop)()
    stopped = loop.time()
    screen = screens["bund_agent"]
    # The server notices within a check and says so, unasked...
    assert (await _first(screen, "link", by=stopped + RECOVERY))["live"] is False
    # ...and its pongs stop claiming the socket is live.
    await screen.send_json_to({"type": "ping"})
    assert await _first(screen, "pong", by=stopped + RECOVERY) == {"type": "pong",
                                                                   "live": False}

    await sync_to_async(private_redis.start)()
    back = loop.time()
    # Once Redis answers again, every screen is told to reload: what it missed cannot be
    # read off the numbers (a push that could not reach Redis has none).
    for name in ("bund_agent", "admin", "taikoo_agent"):
        gap = await _first(screens[name], "gap", by=back + RECOVERY)
        assert gap["reason"] in ("redis", "layer", "restart"), gap
    await screen.send_json_to({"type": "ping"})
    assert await _first(screen, "pong", by=back + RECOVERY) == {"type": "pong", "live": True}
    await _message_arrives(w, screens, "o_drill_3", "after the outage")
    for screen in screens.values():
        await _close(screen)


@pytest.mark.parametrize(("fanout", "layer"), [("brand", "redis"), ("brand", "pubsub"),
                                               ("agent", "redis")])
async def test_the_first_socket_after_a_restart_is_accepted_and_live_at_once(
    settings, private_redis, fanout, layer  # noqa: ANN001, F811
):
    # The process's connections to Redis were opened before the restart, and are dead.
    point_layer_at(settings, private_redis, layer)
    settings.CONSOLE_FANOUT = fanout
    w = await sync_to_async(_world)()
    await _close(await _open(w["bund_agent"]))
    await sync_to_async(private_redis.restart)()

    # It was answered a 500 (the first command on a dead pooled connection failed).
    screen = await _open(w["bund_agent"])
    # Live within the bound: a pong says so (the hub may still be rejoining at first).
    by = asyncio.get_running_loop().time() + RECOVERY
    while True:
        await screen.send_json_to({"type": "ping"})
        if (await _first(screen, "pong", by=by))["live"]:
            break
        await asyncio.sleep(0.25)
    await _message_arrives(w, {"bund_agent": screen, "admin": await _open(w["admin"]),
                               "taikoo_agent": await _open(w["taikoo_agent"])},
                           "o_drill_4", "first after the restart")
    await _close(screen)
