"""Fan-out of messaging's facts to the console screens allowed to see them.

Messaging announces `message.created`, `message.status` and the `conversation.*` domain
events after commit (`accounts.events`); `subscribe()` (called from `RoutingConfig.ready`)
hands each one to a Celery task (in batches: `messaging.task_batches`), because the push
to screens is slow work that must not hold up the callback. The task works out the
audience: the visibility rule read from the conversation's side
(`messaging.visibility.audience`), the same rule the selectors apply, so a snippet never
reaches a screen that would get a 404 for the details. It is the only judge of who sees
what; the sockets only compare their member's id with the list it made.

Then, in the brand fan-out (`CONSOLE_FANOUT=brand`, the default), one channel-layer
message goes to the brand's group, carrying the event and the audience's membership ids,
numbered on the brand's stream (`routing.layers.stream_send`); each socket relays only
what is addressed to its member. An event costs one group send whatever the audience (a
batch of them, `push_batch`, one per brand, its reads shared), and
a socket that misses a number tells its screen to resync. In the per-agent fan-out
(`agent`, the benchmark's baseline) there is one group send per member of the audience,
to `agent.<membership id>`, unnumbered.

A private note's @mention ("mention.created") is the one event with an audience of its own:
the mentioned member alone, who from then on is also in the conversation's audience (the
rule's ground 5) until the mention ends.
"""

import logging
from collections.abc import Callable, Iterable

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from accounts import events
from accounts.events import CONVERSATION_EVENTS
from messaging.models import Conversation, Mention, Message
from messaging.previews import snippet as message_snippet
from messaging.task_batches import batch_submit
from messaging.visibility import Place, audience_ids, audiences
from routing.events import (
    CONSOLE_EVENT,
    MOVED_AWAY,
    ConversationEvent,
    MentionEvent,
    MessageEvent,
    MessageStatusEvent,
    MovedAwayEvent,
    StreamPart,
    agent_group,
    brand_group,
)
from routing.layers import LAYER_ERRORS, stream_send
from routing.push_loop import run_push

logger = logging.getLogger(__name__)

EVENTS = ("message.created", "message.status", *CONVERSATION_EVENTS, "mention.created")
# The push is queued at once when this process queued none in the last PUSH_WITHIN
# seconds, else within them (a leading batch, messaging.task_batches; not the 250 ms of
# background work): a person is watching. A quiet process adds no wait; a busy one sends
# a push task at most every 0.1 s (at 100 callbacks/s, half the tasks of a 50 ms batch:
# each costs the worker some 2 ms besides its events).
PUSH_WITHIN = 0.1


def console_relay(name: str, payload: dict) -> None:
    """Hand one domain event to the console push (it runs after commit). Batched per
    process (a publish per event would cost the callback more than storing the message); a
    broker outage is logged there, and screens catch up when they reconnect and resync."""
    from routing.tasks import console_push_batch_task

    batch_submit(console_push_batch_task, [name, payload], within=PUSH_WITHIN,
                 leading=True, after_task=push_after_task)


def push_after_task(events: list[list]) -> int:
    """The push of what a worker's task announced, run at that task's end in its process
    (`messaging.task_batches`); what the channel layer refused goes to the push task,
    whose retries try again in 1, 2 and 4 s. Answers how many members it went to."""
    from routing.tasks import console_push_batch_task

    sent, unsent = push_batch([(name, payload) for name, payload in events])
    if unsent:
        console_push_batch_task.apply_async(([list(pair) for pair in unsent],), countdown=1)
    return sent


def subscribe() -> None:
    for name in EVENTS:
        events.subscribe(name, console_relay)


def audience(*, conversation: Conversation) -> list[int]:
    """Members whose scope shows this conversation now."""
    return audience_ids(Place.of(conversation))


def former_audience(*, conversation: Conversation, payload: dict, now: Iterable[int],
                    audience_of: Callable[[Place], list[int]] = audience_ids) -> list[int]:
    """Members who could see the conversation where it was before a transfer (the
    payload's `previous_*` place) and cannot see it now."""
    if "previous_handling_account_id" not in payload:
        return []
    before = audience_of(_former_place(conversation, payload))
    return sorted(set(before) - set(now))


def _former_place(conversation: Conversation, payload: dict) -> Place:
    return Place(
        brand_id=conversation.brand_id,
        handling_account_id=payload["previous_handling_account_id"],
        team_id=payload.get("previous_team_id"),
        assignee_id=payload.get("previous_assignee_id"),
    )


def console_reason(name: str, payload: dict) -> str:
    """What the console's `conversation` event calls the change (routing/events.py)."""
    fact = name.removeprefix("conversation.")
    if fact == "resolved" and payload.get("cause") == "unsubscribed":
        return "unsubscribed"
    if fact == "updated":
        return "unsubscribed" if payload.get("change") == "unsubscribed" else "status"
    return fact


def snippet(message: Message) -> str:
    """A text message's first words; "" for another type, which the screen names in its
    own language from the event's `msg_type` (`messaging.previews`)."""
    return message_snippet(msg_type=message.msg_type, content=message.content)


class _Reads:
    """What a batch of pushes reads, read once: the conversations and messages its events
    name (one query each), and the audiences of the places they are and were at (one
    statement for them all: `messaging.visibility.audiences`)."""

    def __init__(self, pairs: list[tuple[str, dict]]) -> None:
        conversations = {p.get("conversation_id") for _n, p in pairs}
        self.conversations = {c.pk: c for c in Conversation.objects.filter(
            pk__in=[pk for pk in conversations if isinstance(pk, int)])}
        messages = {p.get("message_id") for n, p in pairs if n.startswith("message.")}
        self.messages = {m.pk: m for m in Message.objects.filter(
            pk__in=[pk for pk in messages if isinstance(pk, int)])}
        places = [Place.of(c) for c in self.conversations.values()]
        places += [_former_place(c, p) for _n, p in pairs
                   if (c := self.conversations.get(p.get("conversation_id"))) is not None
                   and "previous_handling_account_id" in p]
        self._audiences: dict[Place, list[int]] = audiences(places)

    def conversation(self, payload: dict) -> Conversation | None:
        found = self.conversations.get(payload.get("conversation_id"))
        return found if found is not None and found.brand_id == payload.get("brand_id") else None

    def message(self, payload: dict, conversation: Conversation) -> Message | None:
        found = self.messages.get(payload.get("message_id"))
        return found if found is not None and found.conversation_id == conversation.pk else None

    def audience(self, place: Place) -> list[int]:
        if place not in self._audiences:
            self._audiences[place] = audience_ids(place)
        return self._audiences[place]


def _parts(name: str, payload: dict, reads: _Reads) -> list[StreamPart]:
    """The stream parts one hook payload sends (none when its rows are gone): the event to
    its audience and, for a conversation that moved, the word that it went to the members
    who saw it before and do not now (`former_audience`)."""
    conversation = reads.conversation(payload)
    if conversation is None:
        logger.info("console push skipped: conversation gone", extra={"hook": name})
        return []
    if name == "mention.created":
        return _mention_parts(payload, conversation)
    event = _event(name, payload, conversation, reads)
    if event is None:
        return []
    members = reads.audience(Place.of(conversation))
    parts: list[StreamPart] = [{"to": members, "payload": event}]
    gone: list[int] = []
    if name == "conversation.transferred":
        # Screens that showed it before a transfer would keep a stale row: they learn only
        # that it went, not where, nor anything about the follower.
        gone = former_audience(conversation=conversation, payload=payload, now=members,
                               audience_of=reads.audience)
    if gone:
        moved: MovedAwayEvent = {
            "type": "conversation",
            "reason": MOVED_AWAY,
            "conversation_id": conversation.pk,
            "status": conversation.status,
            "at": event["at"],
        }
        parts.append({"to": gone, "payload": moved})
    return parts


def _reach(parts: list[StreamPart]) -> int:
    return sum(len(part["to"] or ()) for part in parts)


def push(name: str, payload: dict) -> int:
    """Build the event for one hook payload and send it to its audience. Answers how many
    members it went to (0 when the rows are gone). Raises what the channel layer raises."""
    parts = _parts(name, payload, _Reads([(name, payload)]))
    if parts:
        send(payload["brand_id"], parts)
    return _reach(parts)


def push_batch(pairs: list[tuple[str, dict]]) -> tuple[int, list[tuple[str, dict]]]:
    """`push` for a batch of (name, payload) pairs, in order, reading what they share once
    (`_Reads`) and sending one stream message per brand (its parts numbered in the
    batch's order). Answers how many members it went to and the pairs the channel layer
    refused (to try again); a pair that fails otherwise is logged and skipped."""
    reads = _Reads(pairs)
    by_brand: dict[int, list[tuple[list[StreamPart], tuple[str, dict]]]] = {}
    for name, payload in pairs:
        try:
            parts = _parts(name, payload, reads)
        except Exception:
            logger.exception("console push failed", extra={"hook": name})
            continue
        if parts:
            by_brand.setdefault(payload["brand_id"], []).append((parts, (name, payload)))
    sent, unsent = 0, []
    for brand_id, items in by_brand.items():
        parts = [part for built, _pair in items for part in built]
        try:
            send(brand_id, parts)
        except LAYER_ERRORS as exc:
            logger.warning("console push could not reach the channel layer: %r", exc,
                           extra={"events": len(items)})
            unsent += [pair for _built, pair in items]
        else:
            sent += _reach(parts)
    return sent, unsent


def _mention_parts(payload: dict, conversation: Conversation) -> list[StreamPart]:
    """A mention is news for the mentioned member alone (while it is open), whatever else
    the conversation's audience holds."""
    mention = (Mention.objects.filter(pk=payload.get("mention_id"), conversation=conversation,
                                      ended_at__isnull=True)
               .select_related("note", "by__user").first())
    if mention is None:
        logger.info("console push skipped: mention gone or ended", extra={"hook": "mention"})
        return []
    by = mention.by
    event: MentionEvent = {
        "type": "mention",
        "conversation_id": conversation.pk,
        "mention_id": mention.pk,
        "by": (by.display_name or by.user.get_short_name()) if by else "",
        "snippet": snippet(mention.note),
        "at": timezone.now().isoformat(),
    }
    return [{"to": [mention.member_id], "payload": event}]


def _event(
    name: str, payload: dict, conversation: Conversation, reads: _Reads | None = None
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
    message = (reads or _Reads([(name, payload)])).message(payload, conversation)
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
            "msg_type": message.msg_type,
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


def send(brand_id: int, parts: list[StreamPart]) -> None:
    """Send each part's event to the members it names, by the configured fan-out. Raises
    what the channel layer raises (Redis unreachable): the task retries."""
    layer = get_channel_layer()
    if layer is None or not any(part["to"] for part in parts):
        return
    if settings.CONSOLE_FANOUT == "agent":
        run_push(layer, _send_per_member(layer, parts))
    else:
        run_push(layer, stream_send(layer, brand_group(brand_id), parts))


async def _send_per_member(layer: object, parts: list[StreamPart]) -> None:
    for part in parts:
        message = {"type": CONSOLE_EVENT, "payload": part["payload"]}
        for membership_id in part["to"] or ():
            await layer.group_send(agent_group(membership_id), message)  # type: ignore[attr-defined]
