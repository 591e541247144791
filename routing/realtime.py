"""Fan-out of messaging's facts to the console screens allowed to see them.

Messaging announces `message.created`, `message.status` and the `conversation.*` domain
events after commit (`accounts.events`); `subscribe()` (called from `RoutingConfig.ready`)
hands each one to a Celery task (in batches: `messaging.task_batches`), because the push
to screens is slow work that must not hold up the callback. The task works out the
audience and sends to each member's own group `agent.<membership id>`: the brand group
would reach agents who serve other accounts.
The audience is the visibility rule read from the conversation's side
(`messaging.visibility.audience`), the same rule the selectors apply, so a snippet never
reaches a screen that would get a 404 for the details.
"""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from accounts import events
from accounts.events import CONVERSATION_EVENTS
from messaging.models import Conversation, Message
from messaging.task_batches import batch_submit
from messaging.visibility import Place, audience_ids
from routing.events import (
    CONSOLE_EVENT,
    MOVED_AWAY,
    ConversationEvent,
    MessageEvent,
    MessageStatusEvent,
    MovedAwayEvent,
    agent_group,
)

logger = logging.getLogger(__name__)

EVENTS = ("message.created", "message.status", *CONVERSATION_EVENTS)
SNIPPET_CHARS = 80


def console_relay(name: str, payload: dict) -> None:
    """Hand one domain event to the console push (it runs after commit). Batched per
    process (a publish per event would cost the callback more than storing the message); a
    broker outage is logged there, and screens catch up when they reconnect and resync."""
    from routing.tasks import console_push_batch_task

    batch_submit(console_push_batch_task, [name, payload])


def subscribe() -> None:
    for name in EVENTS:
        events.subscribe(name, console_relay)


def audience(*, conversation: Conversation) -> list[int]:
    """Members whose scope shows this conversation now."""
    return audience_ids(Place.of(conversation))


def former_audience(*, conversation: Conversation, payload: dict, now: Iterable[int]) -> list[int]:
    """Members who could see the conversation where it was before a transfer (the
    payload's `previous_*` place) and cannot see it now."""
    if "previous_handling_account_id" not in payload:
        return []
    before = audience_ids(Place(
        brand_id=conversation.brand_id,
        handling_account_id=payload["previous_handling_account_id"],
        team_id=payload.get("previous_team_id"),
        assignee_id=payload.get("previous_assignee_id"),
    ))
    return sorted(set(before) - set(now))


def console_reason(name: str, payload: dict) -> str:
    """What the console's `conversation` event calls the change (routing/events.py)."""
    fact = name.removeprefix("conversation.")
    if fact == "resolved" and payload.get("cause") == "unsubscribed":
        return "unsubscribed"
    if fact == "updated":
        return "unsubscribed" if payload.get("change") == "unsubscribed" else "status"
    return fact


def snippet(message: Message) -> str:
    text = " ".join((message.content or "").split())
    if not text:
        return f"[{message.msg_type}]"
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def push(name: str, payload: dict) -> int:
    """Build the event for one hook payload and send it to its audience; a conversation that
    moved also tells the members who saw it before and do not now (`former_audience`).
    Answers how many screens' groups it went to (0 when the rows are gone)."""
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
    if name != "conversation.transferred":
        return len(members)
    # Screens that showed it before a transfer would keep a stale row: they learn only that
    # it went, not where, nor anything about the follower.
    gone = former_audience(conversation=conversation, payload=payload, now=members)
    if gone:
        moved: MovedAwayEvent = {
            "type": "conversation",
            "reason": MOVED_AWAY,
            "conversation_id": conversation.pk,
            "status": conversation.status,
            "at": event["at"],
        }
        send_to_members(gone, moved)
    return len(members) + len(gone)


def _event(
    name: str, payload: dict, conversation: Conversation
) -> MessageEvent | MessageStatusEvent | ConversationEvent | None:
    at = timezone.now().isoformat()
    if name.startswith("conversation."):
        return {
            "type": "conversation",
            "conversation_id": conversation.pk,
            "account_id": conversation.channel_account_id,
            "handling_account_id": conversation.handling_account_id,
            "assignee_id": conversation.assignee_id,
            "team_id": conversation.team_id,
            "status": conversation.status,
            "reason": console_reason(name, payload),
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
