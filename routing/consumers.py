"""The console's one websocket. Anonymous sockets and non-members are refused at connect.

Everything a socket sends goes through a bounded queue drained by one sender task. A screen
that reads too slowly (a sleeping laptop, a flooded tab) fills only its own queue: what
waits is dropped and replaced by one ``overflow`` event, and the client reloads from the
REST API. The channel layer's reader never waits on a slow socket, so other screens and
the layer itself are not held up.

In the brand fan-out (the default) a socket joins its brand's hub in this process
(`routing.hub`), which reads the brand's numbered stream once for all its sockets, hands
each socket the events addressed to its member, and tells every socket to resync (``gap``)
when a number goes missing or Redis comes back from an outage. In the per-agent fan-out
(the benchmark's baseline) the socket joins ``brand.<id>`` and ``agent.<id>`` itself and
relays what arrives, as before: nothing there notices a lost event.
"""

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.mfa import mfa_setup_required
from accounts.models import Membership
from accounts.scope import scope_for_membership
from accounts.services import membership_set_presence
from routing.events import (
    CONSOLE_EVENT,
    CONSOLE_STREAM,
    GAP_LAYER,
    GapEvent,
    HelloEvent,
    LinkEvent,
    OverflowEvent,
    PongEvent,
    PresenceEvent,
    ResyncEvent,
    addressed_to,
    agent_group,
    brand_group,
)
from routing.hub import BrandHub, hub_join, hub_leave
from routing.layers import LAYER_ERRORS, stream_send
from routing.selectors import messages_missed

logger = logging.getLogger(__name__)

# A member's open sockets, counted in the shared cache so several server processes agree
# on when the last one closed. The timeout bounds the damage of a process that died
# without decrementing.
SOCKETS_KEY = "console:sockets:{}"
SOCKETS_TTL = 24 * 3600
# A channel layer alias that names none (see ConsoleConsumer.__call__).
NO_OWN_CHANNEL = "console-socket-without-a-channel"
# The channel layer's message types and their handlers (see ConsoleConsumer.dispatch).
_LAYER_HANDLERS = {CONSOLE_EVENT: "console_event", CONSOLE_STREAM: "console_stream",
                   "console.gap": "console_gap"}


@database_sync_to_async
def _membership(user_id: int, brand_id: int | None) -> Membership | None:
    memberships = Membership.objects.filter(user_id=user_id).select_related("brand")
    if brand_id is not None:
        chosen = memberships.filter(brand_id=brand_id).first()
        if chosen is not None:
            return chosen
    return memberships.order_by("brand__name").first()


@database_sync_to_async
def _socket_opened(membership_id: int) -> str | None:
    """Count the socket; mark an offline member online. Answers the new presence, if any."""
    key = SOCKETS_KEY.format(membership_id)
    cache.add(key, 0, SOCKETS_TTL)
    cache.incr(key)
    membership = Membership.objects.get(pk=membership_id)
    if membership.presence == Membership.Presence.OFFLINE:
        membership_set_presence(membership=membership, presence=Membership.Presence.ONLINE)
        return membership.presence
    return None


@database_sync_to_async
def _socket_closed(membership_id: int) -> str | None:
    """Uncount the socket; with none left open, mark the member offline."""
    key = SOCKETS_KEY.format(membership_id)
    try:
        left = cache.decr(key)
    except ValueError:  # the key expired: nothing to go by but this socket
        left = 0
    if left > 0:
        return None
    cache.delete(key)
    membership = Membership.objects.filter(pk=membership_id).first()
    if membership is None or membership.presence == Membership.Presence.OFFLINE:
        return None
    membership_set_presence(membership=membership, presence=Membership.Presence.OFFLINE)
    return membership.presence


@database_sync_to_async
def _set_presence(membership_id: int, presence: str) -> str | None:
    membership = Membership.objects.filter(pk=membership_id).first()
    if membership is None or presence not in Membership.Presence.values:
        return None
    membership_set_presence(membership=membership, presence=presence)
    return membership.presence


@database_sync_to_async
def _missed(membership_id: int, since: object) -> int | None:
    membership = Membership.objects.select_related("brand").get(pk=membership_id)
    return messages_missed(scope=scope_for_membership(membership), since=since)


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    # What may wait for one socket before it is told to resync instead.
    QUEUE_SIZE = 200

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if settings.CONSOLE_FANOUT == "brand":
            # Nothing is sent to a socket's own channel (the hub hands it its events), so
            # it gets none: no subscription and no reader per socket, and a socket opens
            # while Redis is away. Channels makes none for a layer alias it does not know.
            self.channel_layer_alias = NO_OWN_CHANNEL
        await super().__call__(scope, receive, send)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            logger.info("console socket refused: anonymous")
            await self.close(code=4401)
            return
        session = self.scope.get("session")
        brand_id = session.get("active_brand_id") if session is not None else None
        membership = await _membership(user.pk, brand_id)
        if membership is None:
            await self.close(code=4403)
            return
        if await database_sync_to_async(mfa_setup_required)(user=user, brand=membership.brand):
            # The pages send this member to the setup page; the socket has no page to show.
            logger.info(
                "console socket refused: two-factor not set up",
                extra={"user": user.pk, "brand_id": membership.brand_id},
            )
            await self.close(code=4428)
            return
        self.membership_id = membership.pk
        self.brand_id = membership.brand_id
        self.queue: asyncio.Queue[dict] = asyncio.Queue(maxsize=self.QUEUE_SIZE)
        self.overflowed = False
        # First in the queue, before any event the groups bring.
        hello: HelloEvent = {
            "type": "hello",
            "brand_id": membership.brand_id,
            "membership_id": membership.pk,
            "role": membership.role,
        }
        self.enqueue(hello)
        self.hub: BrandHub | None = None
        self.groups_joined: list[str] = []
        if settings.CONSOLE_FANOUT == "brand":
            # Joins the brand's group once for the process; a Redis outage is the hub's
            # to wait out (the screen is told it is not live), not a refused socket.
            self.hub = await hub_join(get_channel_layer(), membership.brand_id, self)
        else:
            self.groups_joined = [brand_group(membership.brand_id), agent_group(membership.pk)]
            for group in self.groups_joined:
                await self.channel_layer.group_add(group, self.channel_name)
        try:
            await self._opened()
        except BaseException:
            # A consumer that fails here gets no disconnect(): it must not stay in the hub.
            if self.hub is not None:
                await hub_leave(self.hub, self)
                self.hub = None
            raise

    async def _opened(self) -> None:
        await self.accept()
        self.sender = asyncio.create_task(self._drain())
        if self.hub is not None and self.hub.unreachable:
            self.tell_not_live()
        try:
            presence = await _socket_opened(self.membership_id)
        except LAYER_ERRORS as exc:  # the shared cache is on Redis too
            logger.warning("console socket not counted: %r", exc,
                           extra={"member": self.membership_id})
            return
        self.counted = True
        if presence is not None:
            await self._broadcast_presence(presence)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "hub", None) is not None:
            await hub_leave(self.hub, self)
        for group in getattr(self, "groups_joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except LAYER_ERRORS:
                break  # Redis is away; the membership lapses with it or expires
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if getattr(self, "counted", False):
            self.counted = False
            presence = await _socket_closed(self.membership_id)
            if presence is not None:
                await self._broadcast_presence(presence)

    async def receive_json(self, content: object, **kwargs: object) -> None:
        if not isinstance(content, dict) or not hasattr(self, "queue"):
            return
        kind = content.get("type")
        if kind == "ping":
            pong: PongEvent = {"type": "pong",
                               "live": self.hub is None or not self.hub.unreachable}
            self.enqueue(pong)
        elif kind == "hello":
            since = content.get("since")
            resync: ResyncEvent = {
                "type": "resync",
                "since": since if isinstance(since, str | int) else None,
                "missed": await _missed(self.membership_id, since),
                "now": timezone.now().isoformat(),
            }
            self.enqueue(resync)
        elif kind == "presence":
            presence = await _set_presence(self.membership_id, str(content.get("presence")))
            if presence is not None:
                await self._broadcast_presence(presence)

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every handler, a hop to a
        # worker thread; the channel layer's messages touch no database, and in the
        # per-agent fan-out (every event through every socket's channel) those hops were
        # most of a process's time. Everything else goes the usual way.
        name = _LAYER_HANDLERS.get(message.get("type"))
        if name is not None:
            await getattr(self, name)(message)
        else:
            await super().dispatch(message)

    async def console_event(self, event: dict) -> None:
        """Relay an event sent to one of this socket's groups (through the queue)."""
        self.enqueue(event["payload"])

    async def console_stream(self, message: dict) -> None:
        """A brand stream's message reaching this socket's own groups (the per-agent
        fan-out's sockets are in the brand's group): what names its member."""
        for payload in addressed_to(message, self.membership_id):
            self.enqueue(payload)

    async def console_gap(self, event: dict) -> None:
        """The channel layer failed a read (routing.layers): events may be gone. (In the
        brand fan-out the hub reads, and pays the gap once the layer works again.)"""
        if hasattr(self, "queue"):
            self.resync(GAP_LAYER)

    def enqueue(self, payload: dict) -> None:
        if self.overflowed:
            return  # the client is about to resync; anything more is noise
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            logger.warning("console socket overflowed", extra={"member": self.membership_id})
            overflow: OverflowEvent = {"type": "overflow"}
            self._resync(overflow)

    def resync(self, reason: str) -> None:
        """Events for this screen may be lost (the hub logs why): have it reload."""
        gap: GapEvent = {"type": "gap", "reason": reason}
        self._resync(gap)

    def tell_not_live(self) -> None:
        link: LinkEvent = {"type": "link", "live": False}
        self.enqueue(link)

    def _resync(self, marker: dict) -> None:
        if self.overflowed:
            return
        # Everything waiting is stale once the client reloads, so drop it all and leave one
        # marker that tells it to. Events that come before the marker is sent are dropped
        # too: they were committed before the client's reload reads the database.
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(marker)

    async def _drain(self) -> None:
        while True:
            payload = await self.queue.get()
            if payload.get("type") in ("overflow", "gap"):
                # Events from now on are news to the client after its reload.
                self.overflowed = False
            try:
                await self.deliver(payload)
            except Exception:  # noqa: BLE001 - the socket is closing; disconnect cleans up
                logger.info("console socket send failed", extra={"member": self.membership_id})
                return

    async def deliver(self, payload: dict) -> None:
        await self.send_json(payload)

    async def _broadcast_presence(self, presence: str) -> None:
        event: PresenceEvent = {
            "type": "presence",
            "membership_id": self.membership_id,
            "presence": presence,
        }
        try:
            if self.hub is not None:
                await stream_send(self.hub.layer, self.hub.group,
                                  [{"to": None, "payload": event}])
            else:
                await self.channel_layer.group_send(
                    brand_group(self.brand_id), {"type": CONSOLE_EVENT, "payload": event})
        except LAYER_ERRORS as exc:
            # The brand's other screens resync when Redis is back, and read it then.
            logger.warning("presence not broadcast: %r", exc,
                           extra={"member": self.membership_id})
