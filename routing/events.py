"""Shapes of what the console's websocket carries, and the group names.

Events are compact on purpose: ids, a status and a snippet. The screen fetches the
details through the REST API, which applies the requester's scope once more.

On the channel layer, an event travels in one of two envelopes. In the brand fan-out
(`CONSOLE_FANOUT=brand`, the default) the push sends one `StreamMessage` per fact to the
brand's group: the events with the membership ids each is addressed to, numbered on the
brand's stream so a socket that misses one can tell. In the per-agent fan-out (`agent`,
the benchmark's baseline) and for one-off sends (tests' markers), a `console.event`
carries one event to one group.
"""

from typing import Literal, TypedDict


def brand_group(brand_id: int) -> str:
    return f"brand.{brand_id}"


def agent_group(membership_id: int) -> str:
    return f"agent.{membership_id}"


# The channel-layer message type of a single event sent to a group; the consumer relays
# `payload` as it is.
CONSOLE_EVENT = "console.event"
# The type of a brand stream's message (`StreamMessage`).
CONSOLE_STREAM = "console.stream"


class StreamPart(TypedDict):
    """One event of a stream message and whom it is for: membership ids of the brand
    (computed by `messaging.visibility.audience`), or None for every member of the brand."""

    to: list[int] | None
    payload: dict


class StreamMessage(TypedDict):
    """What the brand fan-out sends to `brand.<id>`: one message per fact whatever the
    audience. ``seq`` counts the brand's messages (1, 2, 3, …) and ``epoch`` names the
    counter: a new epoch means the counter was lost (Redis restarted) and began again."""

    type: Literal["console.stream"]
    seq: int
    epoch: str
    parts: list[StreamPart]


def addressed_to(message: dict, membership_id: int) -> list[dict]:
    """The events of a channel-layer message that are for ``membership_id``, whichever
    envelope carried them. The consumer relays only these."""
    if message.get("type") == CONSOLE_STREAM:
        return [part["payload"] for part in message.get("parts", ())
                if part["to"] is None or membership_id in part["to"]]
    return [message["payload"]] if "payload" in message else []


class HelloEvent(TypedDict):
    """Server → client right after accept: who this socket speaks for."""

    type: Literal["hello"]
    brand_id: int
    membership_id: int
    role: str


class ResyncEvent(TypedDict):
    """Answer to the client's ``{"type": "hello", "since": …}``: reload from the REST API.

    ``missed`` counts messages in the member's scope newer than ``since`` (None when the
    client gave no usable ``since``); ``now`` is the server's clock, the next ``since``.
    """

    type: Literal["resync"]
    since: str | int | None
    missed: int | None
    now: str


class OverflowEvent(TypedDict):
    """Events for this socket were dropped because it read too slowly: resync."""

    type: Literal["overflow"]


# Why a `gap` was signalled (each also writes a log line on the server).
GAP_SEQUENCE = "sequence"  # a number of the brand stream never arrived
GAP_RESTART = "restart"  # the stream's counter began again: Redis lost its state
GAP_LAYER = "layer"  # the channel layer failed to deliver (a read failed)
GAP_REDIS = "redis"  # the server could not reach Redis for a while; it can again


class GapEvent(TypedDict):
    """Events for this screen may have been lost on the way: reload from the REST API."""

    type: Literal["gap"]
    reason: str


class LinkEvent(TypedDict):
    """The server lost the channel layer (Redis): events stop until it is back, when a
    `gap` follows. The screen shows it is not live meanwhile."""

    type: Literal["link"]
    live: Literal[False]


class PongEvent(TypedDict):
    """Answer to a ping. ``live`` is False while the server cannot reach Redis: the socket
    is up, but events are not flowing."""

    type: Literal["pong"]
    live: bool


class MessageEvent(TypedDict):
    """A message was stored: inbound, an agent's reply, a private note or a system line."""

    type: Literal["message"]
    conversation_id: int
    message_id: int
    account_id: int
    direction: str
    status: str
    # The message's type, and for a text its first words ("" otherwise): the screen names
    # an image, a voice message, ... in its own language.
    msg_type: str
    snippet: str
    at: str


class MessageStatusEvent(TypedDict):
    """An outbound message's delivery outcome: sent, or failed with a plain reason."""

    type: Literal["message.status"]
    conversation_id: int
    message_id: int
    status: str
    errcode: int | None
    error_reason: str
    at: str


class ConversationEvent(TypedDict):
    """A conversation opened, reopened, was assigned, transferred, resolved, snoozed or
    changed status."""

    type: Literal["conversation"]
    conversation_id: int
    account_id: int
    handling_account_id: int
    assignee_id: int | None
    team_id: int | None
    status: str
    reason: str
    at: str


# The reason of the event sent to screens that lose sight of a conversation.
MOVED_AWAY = "moved_away"


class MovedAwayEvent(TypedDict):
    """A conversation this member could see was transferred where they cannot see it: drop
    it. Only the id and the status: nothing about where it went or who the follower is."""

    type: Literal["conversation"]
    reason: Literal["moved_away"]
    conversation_id: int
    status: str
    at: str


class MentionEvent(TypedDict):
    """A colleague @mentioned this member in a private note: sent to the mentioned member
    alone, who may read the conversation while the mention is open. ``by`` is the writer's
    name and ``snippet`` the note's first words."""

    type: Literal["mention"]
    conversation_id: int
    mention_id: int
    by: str
    snippet: str
    at: str


class PresenceEvent(TypedDict):
    """A member's presence changed; sent to the whole brand."""

    type: Literal["presence"]
    membership_id: int
    presence: str


ConsoleEvent = (
    MessageEvent | MessageStatusEvent | ConversationEvent | MovedAwayEvent | PresenceEvent
    | MentionEvent | OverflowEvent | GapEvent | LinkEvent
)
