"""Shapes of what the console's websocket carries, and the group names.

Events are compact on purpose: ids, a status and a snippet. The screen fetches the
details through the REST API, which applies the requester's scope once more.
"""

from typing import Literal, TypedDict


def brand_group(brand_id: int) -> str:
    return f"brand.{brand_id}"


def agent_group(membership_id: int) -> str:
    return f"agent.{membership_id}"


# The channel-layer message type every group send uses; the consumer relays `payload`.
CONSOLE_EVENT = "console.event"


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


class PongEvent(TypedDict):
    type: Literal["pong"]


class MessageEvent(TypedDict):
    """A message was stored: inbound, an agent's reply, a private note or a system line."""

    type: Literal["message"]
    conversation_id: int
    message_id: int
    account_id: int
    direction: str
    status: str
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


class PresenceEvent(TypedDict):
    """A member's presence changed; sent to the whole brand."""

    type: Literal["presence"]
    membership_id: int
    presence: str


ConsoleEvent = (
    MessageEvent | MessageStatusEvent | ConversationEvent | MovedAwayEvent | PresenceEvent
    | OverflowEvent
)
