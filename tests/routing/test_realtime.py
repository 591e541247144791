"""The console's real time: who gets which event, the per-socket cap, presence, resync.

Sockets are `WebsocketCommunicator`s on the real ASGI app (`config.asgi.application`) with
the Redis channel layer; events are produced by messaging's real code paths (ingestion and
services), which announce after commit, through the hooks routing subscribes to.

Nothing here waits for a fixed time. A test waits for the event it expects (up to
`DEADLINE`, far beyond what it takes), and "nothing else arrived" is shown by a marker
sent the way the events go (the brand's stream, addressed to the member alone; their own
group in the per-agent fan-out) after the code under test returned: the stream is read
in order, so what the marker overtakes was never sent.
"""

import asyncio
import itertools
import time
import uuid
from collections import Counter

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from redis.asyncio.client import PubSub
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts.models import Membership
from accounts.scope import scope_for_membership
from config.asgi import application
from messaging.ingest import inbound_ingest
from messaging.models import Conversation
from messaging.selectors import conversation_queryset
from routing.assignment import conversation_assign
from routing.consumers import SOCKETS_KEY, ConsoleConsumer
from routing.events import CONSOLE_EVENT, agent_group, brand_group
from routing.layers import stream_send
from routing.realtime import audience
from tests.factories import make_account, make_brand, make_member, make_team
from tests.routing.socket_support import close_thread_connections, session_cookie  # noqa: F401
from wechat.messages import parse_message

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]
_msg_ids = itertools.count(int(time.time() * 1000))
# How long a test waits for something that should happen: a slow machine makes the test
# slower, not red.
DEADLINE = 20.0
LAYER_CLASSES = {"redis": "ConsoleRedisChannelLayer", "pubsub": "ConsolePubSubChannelLayer"}


async def _open(member: Membership) -> WebsocketCommunicator:
    cookie = await sync_to_async(session_cookie)(member.user)
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"),
               (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/console/", headers=headers)
    connected, _ = await communicator.connect(timeout=DEADLINE)
    assert connected
    hello = await communicator.receive_json_from(timeout=DEADLINE)
    assert hello["type"] == "hello" and hello["membership_id"] == member.pk
    return communicator


async def _close(communicator: WebsocketCommunicator) -> None:
    # The consumer's disconnect (uncounting the socket, presence) runs to its end.
    await communicator.disconnect(timeout=DEADLINE)


async def _next(communicator: WebsocketCommunicator, count: int = 1) -> list[dict]:
    """The next `count` events this socket gets (presence aside), waiting for each."""
    got: list[dict] = []
    while len(got) < count:
        event = await communicator.receive_json_from(timeout=DEADLINE)
        if event["type"] != "presence":
            got.append(event)
    return got


async def _settled(communicator: WebsocketCommunicator, member: Membership, *,
                   presence: bool = False) -> list[dict]:
    """Everything the socket got before a marker sent to `member`'s group now (presence
    aside unless asked for): all that was sent to it before this call, and nothing more."""
    marker = {"type": "marker", "id": uuid.uuid4().hex}
    await _send_to(member, marker)
    got: list[dict] = []
    while (event := await communicator.receive_json_from(timeout=DEADLINE)) != marker:
        if presence or event["type"] != "presence":
            got.append(event)
    return got


async def _send_to(member: Membership, payload: dict) -> None:
    """``payload`` for ``member``'s screens, the way the push sends it."""
    layer = get_channel_layer()
    if settings.CONSOLE_FANOUT == "brand":
        await stream_send(layer, brand_group(member.brand_id),
                          [{"to": [member.pk], "payload": payload}])
    else:
        await layer.group_send(agent_group(member.pk),
                               {"type": CONSOLE_EVENT, "payload": payload})


async def _eventually(condition, what: str) -> None:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        assert loop.time() < deadline, what
        await asyncio.sleep(0.01)


def _inbound_text(account, openid: str, content: str):  # noqa: ANN001, ANN202
    xml = (
        f"<xml><ToUserName>{account.original_id}</ToUserName><FromUserName>{openid}"
        f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType>"
        f"<Content>{content}</Content><MsgId>{next(_msg_ids)}</MsgId></xml>"
    )
    return inbound_ingest(account=account, message=parse_message(xml))


def _world() -> dict:
    brand_a, brand_b = make_brand(name="Lumen Hotels"), make_brand(name="Rival Group")
    bund = make_account(brand=brand_a, name="Shanghai Bund")
    taikoo = make_account(brand=brand_a, name="Chengdu Taikoo Li")
    rival = make_account(brand=brand_b, name="Rival Flagship")
    team = make_team(brand=brand_a, name="Central care", accounts=[taikoo])
    world = {
        "bund": bund,
        "rival": rival,
        "bund_agent": make_member(brand=brand_a, accounts=[bund]),
        "taikoo_agent": make_member(brand=brand_a, accounts=[taikoo]),
        # Serves Taikoo Li only, but sits in the team the Bund's conversation goes to.
        "team_agent": make_member(brand=brand_a, accounts=[taikoo]),
        "admin": make_member(brand=brand_a, role="admin"),
        "rival_admin": make_member(brand=brand_b, role="admin"),
        "team": team,
    }
    # Online already, so opening a socket announces nothing and the tests read only events.
    Membership.objects.update(presence="online")
    # Socket counts live in the shared cache, by membership id; an earlier run that
    # crashed mid-test must not leave any behind.
    cache.delete_many([SOCKETS_KEY.format(pk) for pk in Membership.objects.values_list(
        "pk", flat=True)])
    return world


async def test_a_follower_message_reaches_exactly_the_screens_that_may_see_it():
    w = await sync_to_async(_world)()
    screens = {name: await _open(w[name])
               for name in ("bund_agent", "taikoo_agent", "admin", "rival_admin")}

    ingested = await sync_to_async(_inbound_text)(w["bund"], "o_guest_1", "Is breakfast included?")
    conversation = await Conversation.objects.aget(follower__openid="o_guest_1")

    for name in ("bund_agent", "admin"):
        events = await _settled(screens[name], w[name])
        by_type = {e["type"]: e for e in events}
        assert by_type["message"] == {
            "type": "message", "conversation_id": conversation.pk,
            "message_id": by_type["message"]["message_id"], "account_id": w["bund"].pk,
            "direction": "in", "status": "received", "msg_type": "text",
            "snippet": "Is breakfast included?",
            "at": by_type["message"]["at"],
        }
        assert by_type["conversation"]["reason"] == "opened"
        assert by_type["conversation"]["conversation_id"] == conversation.pk
    for name in ("taikoo_agent", "rival_admin"):
        assert await _settled(screens[name], w[name]) == []
    assert not ingested.duplicate
    for screen in screens.values():
        await _close(screen)


async def test_an_assignment_reaches_a_team_member_who_does_not_serve_the_account():
    w = await sync_to_async(_world)()
    await sync_to_async(_inbound_text)(w["bund"], "o_guest_2", "hello")
    conversation = await Conversation.objects.aget(follower__openid="o_guest_2")
    await Conversation.objects.filter(pk=conversation.pk).aupdate(team=w["team"])
    await sync_to_async(w["team"].members.add)(w["team_agent"])
    team_screen, taikoo_screen = await _open(w["team_agent"]), await _open(w["taikoo_agent"])

    admin_scope = await sync_to_async(scope_for_membership)(w["admin"])
    await sync_to_async(conversation_assign)(
        scope=admin_scope, conversation=conversation, assignee=w["team_agent"])

    (event,) = await _settled(team_screen, w["team_agent"])
    assert event["type"] == "conversation" and event["reason"] == "assigned"
    assert event["assignee_id"] == w["team_agent"].pk
    assert event["team_id"] == w["team"].pk
    assert await _settled(taikoo_screen, w["taikoo_agent"]) == []
    await _close(team_screen)
    await _close(taikoo_screen)


@pytest.mark.django_db(transaction=True)
def test_the_audience_is_exactly_who_the_selectors_let_read_the_conversation():
    w = _world()
    _inbound_text(w["bund"], "o_guest_3", "hello")
    conversation = Conversation.objects.get(follower__openid="o_guest_3")
    Conversation.objects.filter(pk=conversation.pk).update(team=w["team"])
    w["team"].members.add(w["team_agent"])
    conversation.refresh_from_db()
    readers = [
        m.pk for m in Membership.objects.order_by("pk")
        if conversation_queryset(scope=scope_for_membership(m)).filter(pk=conversation.pk)
        .exists()
    ]
    assert audience(conversation=conversation) == readers
    assert w["taikoo_agent"].pk not in readers and w["rival_admin"].pk not in readers
    assert {w["bund_agent"].pk, w["team_agent"].pk, w["admin"].pk} <= set(readers)


async def test_a_slow_socket_gets_one_overflow_and_the_others_everything(monkeypatch):
    w = await sync_to_async(_world)()
    gate, slow, relayed = asyncio.Event(), set(), Counter()
    deliver, enqueue = ConsoleConsumer.deliver, ConsoleConsumer.enqueue

    async def stalled_deliver(self, payload: dict) -> None:  # noqa: ANN001
        # Stands in for a socket whose reader stopped: its sends never complete.
        if self.membership_id in slow:
            await gate.wait()
        await deliver(self, payload)

    def counted_enqueue(self, payload: dict) -> None:  # noqa: ANN001
        enqueue(self, payload)
        relayed[self.membership_id] += 1

    monkeypatch.setattr(ConsoleConsumer, "deliver", stalled_deliver)
    monkeypatch.setattr(ConsoleConsumer, "enqueue", counted_enqueue)
    monkeypatch.setattr(ConsoleConsumer, "QUEUE_SIZE", 5)
    slow_screen, fast_screen = await _open(w["bund_agent"]), await _open(w["admin"])
    slow.add(w["bund_agent"].pk)
    relayed.clear()

    layer, group = get_channel_layer(), brand_group(w["bund"].brand_id)
    for n in range(30):
        event = {"type": "message", "conversation_id": 1, "message_id": n}
        await stream_send(layer, group, [{"to": [w["bund_agent"].pk, w["admin"].pk],
                                          "payload": event}])

    fast = await _next(fast_screen, 30)
    assert [e["message_id"] for e in fast] == list(range(30))
    # The stalled socket was handed all 30 (the reader never waits on it)...
    await _eventually(lambda: relayed[w["bund_agent"].pk] == 30,
                      "the stalled socket's reader fell behind")
    assert slow_screen.output_queue.empty()  # ...and sent none
    gate.set()
    got = await _next(slow_screen, 2)
    # The one in flight when it stalled, then one overflow instead of the rest.
    assert [e["type"] for e in got] == ["message", "overflow"]
    # Once told, the socket takes events again, and nothing else came first.
    await _send_to(w["bund_agent"], {"type": "message", "message_id": 99})
    assert await _next(slow_screen) == [{"type": "message", "message_id": 99}]
    assert await _settled(fast_screen, w["admin"]) == []
    await _close(slow_screen)
    await _close(fast_screen)


def _fail_next_read(monkeypatch, layer: str) -> None:  # noqa: ANN001
    """The layer's next read from Redis times out."""
    failures = [RedisTimeoutError("Timeout reading from 127.0.0.1:6379")]
    if layer == "redis":
        receive = RedisChannelLayer.receive

        async def flaky_receive(self, channel: str) -> dict:  # noqa: ANN001
            if failures:
                raise failures.pop()
            return await receive(self, channel)

        # The current read is already waiting; the next one fails.
        monkeypatch.setattr(RedisChannelLayer, "receive", flaky_receive)
    else:
        get_message = PubSub.get_message

        async def flaky_get_message(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if failures:
                raise failures.pop()
            return await get_message(self, *args, **kwargs)

        monkeypatch.setattr(PubSub, "get_message", flaky_get_message)


@pytest.mark.parametrize("layer", ["redis", "pubsub"])
async def test_a_redis_read_timeout_costs_a_resync_not_the_socket(monkeypatch, settings, layer):  # noqa: ANN001
    w = await sync_to_async(_world)()
    settings.CHANNEL_LAYERS = {"default": {
        **settings.CHANNEL_LAYERS["default"],
        "BACKEND": f"routing.layers.{LAYER_CLASSES[layer]}",
    }}
    screen = await _open(w["bund_agent"])
    if layer == "redis":
        # The read in flight is not the one that fails: it brings the first message.
        _fail_next_read(monkeypatch, layer)
    await _send_to(w["bund_agent"], {"type": "message", "message_id": 1})
    assert await _next(screen) == [{"type": "message", "message_id": 1}]
    if layer == "pubsub":
        _fail_next_read(monkeypatch, layer)  # the reader polls: its next poll fails

    # The read that fails: the screen is told to reload, and the socket lives on.
    assert await _next(screen) == [{"type": "gap", "reason": "layer"}]
    await _send_to(w["bund_agent"], {"type": "message", "message_id": 2})
    assert await _next(screen) == [{"type": "message", "message_id": 2}]
    assert await _settled(screen, w["bund_agent"]) == []
    await _close(screen)


async def test_presence_follows_the_switch_and_the_last_socket():
    w = await sync_to_async(_world)()
    agent = w["bund_agent"]
    await Membership.objects.filter(pk=agent.pk).aupdate(presence="offline")
    peer, rival = await _open(w["admin"]), await _open(w["rival_admin"])

    first = await _open(agent)
    assert await peer.receive_json_from(timeout=DEADLINE) == {
        "type": "presence", "membership_id": agent.pk, "presence": "online"}
    second = await _open(agent)
    await first.send_json_to({"type": "presence", "presence": "away"})
    assert await peer.receive_json_from(timeout=DEADLINE) == {
        "type": "presence", "membership_id": agent.pk, "presence": "away"}
    assert (await Membership.objects.aget(pk=agent.pk)).presence == "away"

    await _close(first)
    # The second tab is still open: closing the first said nothing.
    assert await _settled(peer, w["admin"], presence=True) == []
    assert (await Membership.objects.aget(pk=agent.pk)).presence == "away"
    await _close(second)
    assert await peer.receive_json_from(timeout=DEADLINE) == {
        "type": "presence", "membership_id": agent.pk, "presence": "offline"}
    assert (await Membership.objects.aget(pk=agent.pk)).presence == "offline"
    assert await _settled(rival, w["rival_admin"], presence=True) == []
    await _close(peer)
    await _close(rival)


async def test_hello_is_answered_with_a_resync_counting_what_was_missed():
    w = await sync_to_async(_world)()
    screen = await _open(w["bund_agent"])
    await screen.send_json_to({"type": "ping"})
    assert await _next(screen) == [{"type": "pong", "live": True}]
    await screen.send_json_to({"type": "hello", "since": None})
    (first,) = await _next(screen)
    assert first["type"] == "resync" and first["missed"] is None
    await _close(screen)

    # Away: a message arrives on the Bund and one on the rival brand.
    await sync_to_async(_inbound_text)(w["bund"], "o_guest_4", "are you there?")
    await sync_to_async(_inbound_text)(w["rival"], "o_rival_1", "not yours")

    screen = await _open(w["bund_agent"])
    await screen.send_json_to({"type": "hello", "since": first["now"]})
    (resync,) = await _next(screen)
    assert resync["type"] == "resync"
    assert resync["missed"] == 1 and resync["since"] == first["now"]
    await _close(screen)


async def test_an_agent_of_another_brand_cannot_listen_in_by_choosing_a_brand():
    w = await sync_to_async(_world)()
    # The session names brand A, but the member belongs to brand B only.
    def cookie_naming_brand_a() -> str:
        key = session_cookie(w["rival_admin"].user)
        store = SessionStore(session_key=key)
        store["active_brand_id"] = w["bund"].brand_id
        store.save()
        return key

    cookie = await sync_to_async(cookie_naming_brand_a)()
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"),
               (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/console/", headers=headers)
    assert (await communicator.connect(timeout=DEADLINE))[0]
    hello = await communicator.receive_json_from(timeout=DEADLINE)
    assert hello["brand_id"] == w["rival"].brand_id
    await sync_to_async(_inbound_text)(w["bund"], "o_guest_5", "secret")
    assert await _settled(communicator, w["rival_admin"]) == []
    await _close(communicator)
