"""Fan-out of messaging's facts to the console screens allowed to see them.

Messaging announces `message.created`, `conversation.changed` and `message.status` after
commit (`messaging.hooks`); `subscribe()` (called from `RoutingConfig.ready`) hands each one
to a Celery task, because the push to screens is slow work that must not hold up the
callback. The task works out the audience and sends to each member's own group
`agent.<membership id>`: the brand group would reach agents who serve other accounts.
The audience is exactly who messaging's selectors let read the conversation (its
handling account or its team), so a snippet never reaches a screen that would get a 404
for the details.
"""

import logging
from collections.abc import Callable, Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models import Q
from django.utils import timezone

from accounts.models import BRAND_WIDE_ROLES, Membership
from messaging.models import Conversation, Message
from routing.events import (
    CONSOLE_EVENT,
    ConversationEvent,
    MessageEvent,
    MessageStatusEvent,
    agent_group,
)

logger = logging.getLogger(__name__)

HOOKS = ("message.created", "conversation.changed", "message.status")
SNIPPET_CHARS = 80


def subscribe() -> None:
    from messaging import hooks

    for name, relay in _RELAYS.items():
        hooks.register(name, relay)


def _relay(name: str) -> Callable[[dict], None]:
    def relay(payload: dict) -> None:
        from routing.tasks import console_push_task

        # Hooks run after commit, and the registry logs and swallows a subscriber's failure
        # (a broker outage): screens then catch up when they reconnect and resync.
        console_push_task.delay(name, payload)

    relay.__name__ = f"console_relay_{name.replace('.', '_')}"
    return relay


# Made once, so a second ready() (tests, autoreload) registers the same functions, which
# the hook registry keeps only once.
_RELAYS = {name: _relay(name) for name in HOOKS}


def audience(*, conversation: Conversation) -> list[int]:
    """Members whose scope shows this conversation, mirroring messaging's one door
    (`conversation_queryset`): brand-wide roles, members who serve every account (none
    chosen), members serving its handling account, and members of its team."""
    reach = (
        Q(role__in=BRAND_WIDE_ROLES)
        | Q(accounts__isnull=True)
        | Q(accounts=conversation.handling_account_id)
    )
    if conversation.team_id:
        reach |= Q(teams=conversation.team_id)
    members = Membership.objects.filter(reach, brand_id=conversation.brand_id)
    return sorted(set(members.values_list("pk", flat=True)))


def snippet(message: Message) -> str:
    text = " ".join((message.content or "").split())
    if not text:
        return f"[{message.msg_type}]"
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def push(name: str, payload: dict) -> int:
    """Build the event for one hook payload and send it to its audience. Answers how many
    screens' groups it went to (0 when the rows are gone)."""
    conversation = Conversation.objects.filter(
        pk=payload.get("conversation_id"), brand_id=payload.get("brand_id")
    ).first()
    if conversation is None:
        logger.info("console push skipped: conversation gone", extra={"hook": name})
        return 0
    event = _event(name, payload, conversation)
    if event is None:
        return 0
    members = audience(conversation=conversation)
    send_to_members(members, event)
    return len(members)


def _event(
    name: str, payload: dict, conversation: Conversation
) -> MessageEvent | MessageStatusEvent | ConversationEvent | None:
    at = timezone.now().isoformat()
    if name == "conversation.changed":
        return {
            "type": "conversation",
            "conversation_id": conversation.pk,
            "account_id": conversation.channel_account_id,
            "handling_account_id": conversation.handling_account_id,
            "assignee_id": conversation.assignee_id,
            "team_id": conversation.team_id,
            "status": conversation.status,
            "reason": str(payload.get("reason") or "status"),
            "at": at,
        }
    message = Message.objects.filter(
        pk=payload.get("message_id"), conversation_id=conversation.pk
    ).first()
    if message is None:
        logger.info("console push skipped: message gone", extra={"hook": name})
        return None
    if name == "message.created":
        return {
            "type": "message",
            "conversation_id": conversation.pk,
            "message_id": message.pk,
            "account_id": message.account_id,
            "direction": message.direction,
            "status": message.status,
            "snippet": snippet(message),
            "at": message.created_at.isoformat(),
        }
    if name == "message.status":
        return {
            "type": "message.status",
            "conversation_id": conversation.pk,
            "message_id": message.pk,
            # The row, not the payload: a later outcome may already have overtaken it.
            "status": message.status,
            "errcode": message.errcode,
            "error_reason": message.error_reason,
            "at": at,
        }
    logger.warning("console push: unknown hook", extra={"hook": name})
    return None


def send_to_members(membership_ids: Iterable[int], event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(_send_all)
    send(layer, [agent_group(pk) for pk in membership_ids], event)


async def _send_all(layer: object, groups: list[str], event: dict) -> None:
    message = {"type": CONSOLE_EVENT, "payload": event}
    for group in groups:
        await layer.group_send(group, message)  # type: ignore[attr-defined]
