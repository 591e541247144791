"""Fan-out of messaging's facts to the console screens allowed to see them.

Messaging announces `message.created`, `conversation.changed` and `message.status` after
commit (`messaging.hooks`); `subscribe()` (called from `RoutingConfig.ready`) hands each one
to a Celery task (in batches: `messaging.task_batches`), because the push to screens is
slow work that must not hold up the callback. The task works out the audience and sends
to each member's own group `agent.<membership id>`: the brand group would reach agents
who serve other accounts.
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
from messaging.task_batches import batch_submit
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

HOOKS = ("message.created", "conversation.changed", "message.status")
SNIPPET_CHARS = 80


def subscribe() -> None:
    from messaging import hooks

    for name, relay in _RELAYS.items():
        hooks.register(name, relay)


def _relay(name: str) -> Callable[[dict], None]:
    def relay(payload: dict) -> None:
        from routing.tasks import console_push_batch_task

        # Hooks run after commit. Batched per process (a publish per event would cost the
        # callback more than storing the message); a broker outage is logged there, and
        # screens catch up when they reconnect and resync.
        batch_submit(console_push_batch_task, [name, payload])

    relay.__name__ = f"console_relay_{name.replace('.', '_')}"
    return relay


# Made once, so a second ready() (tests, autoreload) registers the same functions, which
# the hook registry keeps only once.
_RELAYS = {name: _relay(name) for name in HOOKS}


def _reach(*, brand_id: int, handling_account_id: int | None, team_id: int | None) -> list[int]:
    """Members who see a conversation placed on this handling account and team, mirroring
    messaging's one door (`conversation_queryset`): brand-wide roles, members who serve
    every account (none chosen), members serving the handling account, and members of the
    team."""
    reach = Q(role__in=BRAND_WIDE_ROLES) | Q(accounts__isnull=True)
    if handling_account_id:
        reach |= Q(accounts=handling_account_id)
    if team_id:
        reach |= Q(teams=team_id)
    members = Membership.objects.filter(reach, brand_id=brand_id)
    return sorted(set(members.values_list("pk", flat=True)))


def audience(*, conversation: Conversation) -> list[int]:
    """Members whose scope shows this conversation now."""
    return _reach(brand_id=conversation.brand_id,
                  handling_account_id=conversation.handling_account_id,
                  team_id=conversation.team_id)


def former_audience(*, conversation: Conversation, payload: dict, now: Iterable[int]) -> list[int]:
    """Members who could see the conversation where it was before a move (the payload's
    `previous_handling_account_id` and `previous_team_id`) and cannot see it now."""
    if "previous_handling_account_id" not in payload and "previous_team_id" not in payload:
        return []
    before = _reach(brand_id=conversation.brand_id,
                    handling_account_id=payload.get("previous_handling_account_id"),
                    team_id=payload.get("previous_team_id"))
    return sorted(set(before) - set(now))


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
    if name != "conversation.changed":
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
