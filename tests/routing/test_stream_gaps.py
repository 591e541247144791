"""A layer or a queue that drops an event: the screen is told to resync, and says why.

The brand fan-out numbers each brand's channel-layer messages; a socket that misses one
sends its screen a `gap` (the client reloads from the REST API), whether a later message
reveals the hole or only the periodic check does (nothing followed the lost one). The
drops are made in the layer itself: a group send that never happens, and the core layer's
own capacity. Sockets are `WebsocketCommunicator`s on the real ASGI app, on a Redis of
the test's own.
"""

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from routing import realtime
from routing.events import CONSOLE_STREAM, brand_group
from routing.hub import BrandHub
from routing.layers import ConsoleRedisChannelLayer, _ConsolePubSubLoopLayer, stream_send
from tests.routing.redis_support import point_layer_at, private_redis  # noqa: F401
from tests.routing.socket_support import close_thread_connections  # noqa: F401
from tests.routing.test_realtime import _close, _eventually, _next, _open, _settled, _world

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]
CHECK, GRACE = 0.1, 0.3
SENDERS = {"redis": ConsoleRedisChannelLayer, "pubsub": _ConsolePubSubLoopLayer}


@pytest.fixture
def quick_checks(monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(BrandHub, "CHECK_SECONDS", CHECK)
    monkeypatch.setattr(BrandHub, "GRACE_SECONDS", GRACE)


def _drop_stream_messages(monkeypatch, layer: str, nth: set[int]) -> list[int]:  # noqa: ANN001
    """The layer loses the brand stream messages sent ``nth`` (1 = the first sent from
    now): they are numbered, then never delivered. Answers the numbers it lost."""
    sender = SENDERS[layer]
    send, sent, lost = sender.group_send, [0], []

    async def lossy_group_send(self, group: str, message: dict) -> None:  # noqa: ANN001
        if message.get("type") == CONSOLE_STREAM:
            sent[0] += 1
            if sent[0] in nth:
                lost.append(message["seq"])
                return
        await send(self, group, message)

    monkeypatch.setattr(sender, "group_send", lossy_group_send)
    return lost


def _note(w: dict, n: int) -> None:
    """The push's own send (`realtime.send`): event ``n`` for the Bund's agent and the
    admin."""
    realtime.send(w["bund"].brand_id, [{"to": [w["bund_agent"].pk, w["admin"].pk],
                                        "payload": {"type": "message", "message_id": n}}])


@pytest.mark.parametrize("layer", ["redis", "pubsub"])
async def test_a_message_the_layer_loses_is_resynced_when_the_next_one_shows_the_hole(
    settings, private_redis, monkeypatch, caplog, quick_checks, layer  # noqa: ANN001, F811
):
    point_layer_at(settings, private_redis, layer)
    w = await sync_to_async(_world)()
    screens = {name: await _open(w[name]) for name in ("bund_agent", "admin")}
    lost = _drop_stream_messages(monkeypatch, layer, {2})
    caplog.set_level(logging.WARNING, logger="routing.hub")

    for n in (1, 2, 3):
        await sync_to_async(_note)(w, n)

    for name, screen in screens.items():
        got = await _next(screen, 3)
        assert got == [{"type": "message", "message_id": 1},
                       {"type": "message", "message_id": 3},
                       {"type": "gap", "reason": "sequence"}], name
    assert len(lost) == 1
    # One line for the hub that reads the brand's stream for both screens.
    assert [r.getMessage() for r in caplog.records if r.name == "routing.hub"] == [
        "console screens missed events (sequence): they resync"]
    # Told once, the sockets go on as before.
    await sync_to_async(_note)(w, 4)
    for name, screen in screens.items():
        assert await _settled(screen, w[name]) == [{"type": "message", "message_id": 4}]
    for screen in screens.values():
        await _close(screen)


@pytest.mark.parametrize("layer", ["redis", "pubsub"])
async def test_a_lost_last_message_is_found_by_the_check_though_nothing_follows(
    settings, private_redis, monkeypatch, quick_checks, layer  # noqa: ANN001, F811
):
    point_layer_at(settings, private_redis, layer)
    w = await sync_to_async(_world)()
    screen = await _open(w["bund_agent"])
    _drop_stream_messages(monkeypatch, layer, {2})

    await sync_to_async(_note)(w, 1)
    await sync_to_async(_note)(w, 2)

    assert await _next(screen, 2) == [{"type": "message", "message_id": 1},
                                      {"type": "gap", "reason": "sequence"}]
    await _close(screen)


async def test_numbers_that_overtake_each_other_in_time_are_no_gap(
    settings, private_redis, monkeypatch, quick_checks  # noqa: ANN001, F811
):
    point_layer_at(settings, private_redis)
    w = await sync_to_async(_world)()
    screen = await _open(w["bund_agent"])
    checks: list[float] = []
    check = BrandHub.check

    async def timed_check(self) -> None:  # noqa: ANN001
        await check(self)
        checks.append(asyncio.get_running_loop().time())

    monkeypatch.setattr(BrandHub, "check", timed_check)
    layer, group = get_channel_layer(), brand_group(w["bund"].brand_id)
    to = [w["bund_agent"].pk]
    # Two workers took 1 and 2; the second sends first.
    (one, epoch), (two, _) = await layer.stream_next(group), await layer.stream_next(group)
    for seq in (two, one):
        await layer.group_send(group, {"type": CONSOLE_STREAM, "seq": seq, "epoch": epoch,
                                       "parts": [{"to": to, "payload": {
                                           "type": "message", "message_id": seq}}]})
    sent = asyncio.get_running_loop().time()

    assert await _next(screen, 2) == [{"type": "message", "message_id": seq}
                                      for seq in (two, one)]
    # Past the grace and a check after it: still nothing owed.
    await _eventually(lambda: checks and checks[-1] > sent + GRACE + CHECK,
                      "no check ran after the grace")
    assert await _settled(screen, w["bund_agent"]) == []
    await _close(screen)


async def test_the_core_layer_dropping_a_full_channel_warns_and_the_screen_resyncs(
    settings, private_redis, monkeypatch, caplog, quick_checks  # noqa: ANN001, F811
):
    # Two messages may wait for the socket's server process; the socket stops reading.
    point_layer_at(settings, private_redis, capacity=2)
    w = await sync_to_async(_world)()
    screen = await _open(w["bund_agent"])
    gate, read = asyncio.Event(), ConsoleRedisChannelLayer.receive_single

    async def stalled_read(self, channel: str) -> tuple:  # noqa: ANN001
        # The process stops reading after the read in flight (a stalled server):
        # messages wait in Redis.
        await gate.wait()
        return await read(self, channel)

    monkeypatch.setattr(ConsoleRedisChannelLayer, "receive_single", stalled_read)
    caplog.set_level(logging.WARNING)
    layer, group = get_channel_layer(), brand_group(w["bund"].brand_id)
    for n in range(1, 6):
        await stream_send(layer, group, [{"to": [w["bund_agent"].pk],
                                          "payload": {"type": "message", "message_id": n}}])

    # The read in flight takes 1; 2 and 3 wait; 4 and 5 are over capacity.
    over = [r for r in caplog.records if r.name == "channels_redis.core"]
    assert [r.levelname for r in over] == ["WARNING", "WARNING"]
    assert "over capacity in group " + group in over[0].getMessage()
    gate.set()
    got = await _next(screen, 4)
    assert got == [{"type": "message", "message_id": n} for n in (1, 2, 3)] + [
        {"type": "gap", "reason": "sequence"}]
    await _close(screen)
