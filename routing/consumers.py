"""The console's one websocket. Anonymous sockets and non-members are refused at connect."""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.models import Membership
from routing.events import HelloEvent, agent_group, brand_group

logger = logging.getLogger(__name__)


@database_sync_to_async
def _membership(user_id: int, brand_id: int | None) -> Membership | None:
    memberships = Membership.objects.filter(user_id=user_id).select_related("brand")
    if brand_id is not None:
        chosen = memberships.filter(brand_id=brand_id).first()
        if chosen is not None:
            return chosen
    return memberships.order_by("brand__name").first()


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
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
        self.membership_id = membership.pk
        self.groups_joined = [brand_group(membership.brand_id), agent_group(membership.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        hello: HelloEvent = {
            "type": "hello",
            "brand_id": membership.brand_id,
            "membership_id": membership.pk,
            "role": membership.role,
        }
        await self.send_json(hello)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: dict, **kwargs: object) -> None:
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def console_event(self, event: dict) -> None:
        """Relay an event sent to one of this socket's groups."""
        await self.send_json(event["payload"])
