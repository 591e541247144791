"""The brand fan-out's far end: one reader per brand in each server process.

The push sends one message per fact to the brand's group (`routing.realtime`). In a server
process, the brand's *hub* is that group's only member: it reads each message once,
checks its number (`routing.cursor`) and hands each event to the open sockets of the
members it names, so a process pays for one layer message per event, not one per socket,
and a socket whose member is not named is not even woken. The names come from the
visibility rule; the hub only looks them up. Sockets of another brand are in another
hub, reading another group.

Nothing is lost silently. A number that never arrives, or a counter that began again
(Redis restarted), sends every socket of the hub one ``gap`` and the screens reload from
the REST API. Every ``CHECK_SECONDS`` the hub joins its group again (a Redis restart
forgets it) and compares the stream's position with the last number it saw, so the
screens learn they missed the last event even when nothing follows it. While Redis
cannot be reached the screens are told (``link``; pongs say ``live: false``) and get a
``gap`` once it answers again: an event whose push could not reach Redis has no number
to miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import defaultdict
from typing import Protocol

from routing.cursor import StreamCursor
from routing.events import (
    CONSOLE_EVENT,
    CONSOLE_STREAM,
    GAP_LAYER,
    GAP_REDIS,
    StreamPart,
    brand_group,
)
from routing.layers import LAYER_ERRORS, Position

logger = logging.getLogger(__name__)


class Socket(Protocol):
    membership_id: int

    def enqueue(self, payload: dict) -> None: ...
    def resync(self, reason: str) -> None: ...
    def tell_not_live(self) -> None: ...


class BrandHub:
    # How often the hub joins its group again and reads the stream's position, and how
    # long a missing number may be overtaken before it counts as lost: together they bound
    # how late a screen learns of a loss. A Redis restart is seen at the first check after
    # Redis is back.
    CHECK_SECONDS = 2.0
    GRACE_SECONDS = 3.0
    # A check waits this long for Redis before it counts as failed; while Redis cannot be
    # reached, the checks come this much sooner, so screens are live again soon after.
    CHECK_TIMEOUT = 3.0
    RETRY_SECONDS = 0.5
    # How long closing the hub (its last socket's disconnect) waits for its tasks to end.
    STOP_SECONDS = 2.0

    def __init__(self, layer: object, brand_id: int) -> None:
        self.layer, self.brand_id = layer, brand_id
        self.group = brand_group(brand_id)
        self.sockets: dict[int, set[Socket]] = defaultdict(set)
        self.channel: str | None = None
        self.cursor = StreamCursor((0, None), grace=self.GRACE_SECONDS)
        # Whether the last check could not reach Redis, and the gap owed to the screens
        # once the layer works again after a failure.
        self.unreachable = False
        self.owed: str | None = None
        self.started: asyncio.Task | None = None
        self.tasks: list[asyncio.Task] = []

    # -- life --------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._open()
        except (*LAYER_ERRORS, TimeoutError) as exc:
            # The check opens it once Redis is back; the screens wait, told.
            logger.warning("console hub opened without the channel layer: %r", exc,
                           extra={"brand_id": self.brand_id})
            self.unreachable, self.owed = True, GAP_REDIS
        self.tasks = [asyncio.create_task(self._watch())]
        if self.channel is not None:
            self.tasks.append(asyncio.create_task(self._read()))

    async def _open(self) -> None:
        if self.channel is None:
            self.channel = await self.layer.new_channel()  # type: ignore[attr-defined]
        self.cursor.reset(await self._refresh())

    async def stop(self) -> None:
        # Waited for with asyncio.wait, not awaited: after a Redis restart, awaiting the
        # cancelled reader held the last socket's disconnect (its presence, its count)
        # for as long as the server would wait (tests/routing/test_redis_drills.py).
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _, running = await asyncio.wait(self.tasks, timeout=self.STOP_SECONDS)
            if running:
                logger.warning("console hub tasks still running after it closed",
                               extra={"brand_id": self.brand_id, "tasks": len(running)})
        if self.channel is not None:
            with contextlib.suppress(*LAYER_ERRORS):
                await self.layer.group_discard(self.group, self.channel)  # type: ignore[attr-defined]

    def empty(self) -> bool:
        return not any(self.sockets.values())

    # -- reading -----------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)  # type: ignore[attr-defined]
            except LAYER_ERRORS as exc:
                logger.warning("console hub receive failed: %r", exc,
                               extra={"brand_id": self.brand_id})
                self.owed = self.owed or GAP_LAYER
                await asyncio.sleep(0.5)
                continue
            try:
                self.handle(message)
            except Exception:
                # A message it cannot read must not deafen the brand's screens for good.
                logger.exception("console hub could not handle a message",
                                 extra={"brand_id": self.brand_id})
                self.owed = self.owed or GAP_LAYER
            # A burst already read from Redis would otherwise be handed out without a
            # pause, and fill the sockets' queues before their senders could run: a full
            # queue is meant to show a slow screen, not a busy second.
            await asyncio.sleep(0)

    def handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == CONSOLE_STREAM:
            relay, gap = self.cursor.receive(message["seq"], message["epoch"], _now())
            if gap is not None:
                self.resync(gap)
            if relay:
                self.deliver(message["parts"])
        elif kind == CONSOLE_EVENT:
            # An unnumbered send to the whole brand (the per-agent fan-out's presence).
            self.deliver([{"to": None, "payload": message["payload"]}])
        elif kind == "console.gap":
            # The layer failed a read (routing.layers): owed once it works again.
            self.owed = self.owed or GAP_LAYER

    def deliver(self, parts: list[StreamPart]) -> None:
        for part in parts:
            if part["to"] is None:
                targets = [s for sockets in self.sockets.values() for s in sockets]
            else:
                targets = [s for member in part["to"] for s in self.sockets.get(member, ())]
            for socket in targets:
                socket.enqueue(part["payload"])

    # -- checking ----------------------------------------------------------------------

    async def _refresh(self) -> Position:
        refresh = self.layer.groups_refresh(  # type: ignore[attr-defined]
            self.channel, [self.group], self.group)
        return await asyncio.wait_for(refresh, self.CHECK_TIMEOUT)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.RETRY_SECONDS if self.unreachable else self.CHECK_SECONDS)
            try:
                await self.check()
            except Exception:
                logger.exception("console hub check failed", extra={"brand_id": self.brand_id})

    async def check(self) -> None:
        """Join the group again and compare the stream's position with the last number
        seen; with Redis away, remember to resync once it is back."""
        opening = self.channel is None
        try:
            if opening:
                await self._open()
                position = (self.cursor.last, self.cursor.epoch)
            else:
                position = await self._refresh()
        except (*LAYER_ERRORS, TimeoutError) as exc:
            self.owed = GAP_REDIS
            if not self.unreachable:
                self.unreachable = True
                logger.warning("console hub lost the channel layer: %r", exc,
                               extra={"brand_id": self.brand_id})
                for socket in self.all():
                    socket.tell_not_live()
            return
        if opening:
            self.tasks.append(asyncio.create_task(self._read()))
        self.unreachable = False
        if self.owed is not None:
            reason, self.owed = self.owed, None
            self.cursor.reset(position)
            self.resync(reason)
            return
        gap = self.cursor.observe(position, _now())
        if gap is not None:
            self.resync(gap)

    def resync(self, reason: str) -> None:
        logger.warning("console screens missed events (%s): they resync", reason,
                       extra={"brand_id": self.brand_id, "reason": reason,
                              "sockets": len(self.all())})
        for socket in self.all():
            socket.resync(reason)

    def all(self) -> list[Socket]:
        return [s for sockets in self.sockets.values() for s in sockets]


# Hubs by event loop (a server process has one; each test has its own), then by layer and
# brand. A loop's hubs go with it.
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, int], BrandHub]]
_hubs = weakref.WeakKeyDictionary()


async def hub_join(layer: object, brand_id: int, socket: Socket) -> BrandHub:
    """The brand's hub in this process, started if need be, with ``socket`` in it."""
    hubs = _hubs.setdefault(asyncio.get_running_loop(), {})
    key = (id(layer), brand_id)
    hub = hubs.get(key)
    if hub is None:
        hub = hubs[key] = BrandHub(layer, brand_id)
        hub.started = asyncio.create_task(hub.start())
    # In before waiting, so a last socket leaving meanwhile does not stop it.
    hub.sockets[socket.membership_id].add(socket)
    await asyncio.shield(hub.started)  # type: ignore[arg-type]
    return hub


async def hub_leave(hub: BrandHub, socket: Socket) -> None:
    members = hub.sockets.get(socket.membership_id)
    if members is not None:
        members.discard(socket)
        if not members:
            del hub.sockets[socket.membership_id]
    if not hub.empty():
        return
    hubs = _hubs.get(asyncio.get_running_loop(), {})
    key = (id(hub.layer), hub.brand_id)
    if hubs.get(key) is hub:
        del hubs[key]
        await hub.stop()


def _now() -> float:
    return asyncio.get_running_loop().time()
