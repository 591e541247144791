"""Domain events: typed facts an app announces after commit, for the apps above it.

Imports go one way (accounts <- followers <- messaging <- routing), so a lower app cannot
call a higher one when something happens: ingestion (messaging) cannot ask routing to
place a new conversation, linking a follower (followers) cannot tell messaging to move its
conversations. Instead the lower app announces a fact here, and the higher app subscribes
in its ``AppConfig.ready()``. The registry lives in accounts, the lowest app, so every app
may announce and outbound webhooks (accounts) may one day subscribe to everything.

A payload is a ``TypedDict`` of ids and plain values (JSON-clean: a subscriber may hand it
straight to a task, a channel layer or a webhook body). Each is built in one place, next
to the model it describes (``messaging.events``, ``followers.events``). ``announce`` checks
the keys against the declared shape, so a payload cannot drift from its documentation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypedDict

from django.db import transaction

logger = logging.getLogger(__name__)


# -- shapes -----------------------------------------------------------------------------


class MessageCreated(TypedDict):
    """A message was stored: inbound, an agent's reply, a note, an auto-reply, a system
    line."""

    brand_id: int
    conversation_id: int
    message_id: int
    account_id: int
    direction: str


class MessageStatus(TypedDict):
    """An outbound message's delivery outcome changed (sent, or failed with a reason)."""

    brand_id: int
    conversation_id: int
    message_id: int
    status: str
    errcode: int | None
    error_reason: str


class ConversationFact(TypedDict):
    """Where a conversation is and who holds it, after the change the name says."""

    brand_id: int
    conversation_id: int
    account_id: int  # the channel account: the OA the follower writes to
    handling_account_id: int
    assignee_id: int | None  # a membership id
    team_id: int | None
    status: str


class ConversationTransferred(ConversationFact):
    """Handed to another team or account; where it was before, so whoever could see it
    there (and cannot now) can be told."""

    previous_handling_account_id: int
    previous_team_id: int | None
    previous_assignee_id: int | None
    by_membership_id: int | None


class ConversationResolved(ConversationFact):
    # "agent" (someone resolved it), "unsubscribed" (the follower left) or "idle" (no
    # message for the brand's auto-resolve time: routing.auto_resolve)
    cause: str


class ConversationUpdated(ConversationFact):
    # "replied" (the wait ended), "woken" (a snooze ran out), "unsubscribed" (the platform
    # said the follower left: the reply window is gone)
    change: str


class FollowerFact(TypedDict):
    """A follower followed or unfollowed an account, or scanned one's QR code."""

    brand_id: int
    account_id: int
    follower_id: int
    customer_id: int | None
    at: str  # ISO 8601
    qr_scene: str  # the parametric QR code's scene that brought a follow, else ""


class CustomerMerged(TypedDict):
    """Followers moved from one customer to another (the same unionid, or a person's
    merge); the merged customer may be gone."""

    brand_id: int
    customer_id: int  # the one that remains
    merged_customer_id: int
    follower_ids: list[int]
    by_membership_id: int | None  # None: the portal linked them by unionid


class CustomersLinked(TypedDict):
    """Linking by unionid moved many followers to their people's shared customers at once
    (a sync's thousands, a brand's million): the bulk form of ``customer.merged``, one event
    per batch of followers rather than one per customer left behind. Each follower's
    ``customer_id`` is its customer now; the customers they left are gone if nobody wrote
    on them."""

    brand_id: int
    follower_ids: list[int]
    customer_ids: list[int]  # the customers they moved to
    merged_customer_ids: list[int]  # the customers they moved from


class CustomerUpdated(TypedDict):
    """A person changed a customer's profile fields or custom attributes."""

    brand_id: int
    customer_id: int
    fields: list[str]  # "name", "phone", "email", "notes", "attributes.<key>"
    by_membership_id: int | None


class CustomerErased(TypedDict):
    """The retention eraser blanked customers' personal profile fields (followers.erasure);
    messaging blanks the message contents of their conversations."""

    brand_id: int
    customer_ids: list[int]
    follower_ids: list[int]
    at: str  # ISO 8601


class MemberChanged(TypedDict):
    """A member's routing-relevant facts changed: presence, capacity, languages, teams."""

    brand_id: int
    membership_id: int
    presence: str
    previous_presence: str
    change: str  # "presence", "profile" (capacity, languages, teams, accounts)


class MentionCreated(TypedDict):
    """A member was @mentioned in a private note: they may read the conversation while the
    mention is open (`messaging.visibility`, ground 5)."""

    brand_id: int
    conversation_id: int
    mention_id: int
    member_id: int  # the mentioned membership
    by_membership_id: int | None


class TagRenamed(TypedDict):
    """A brand tag took a new name (followers.tags.tag_rename, once WeChat took it on
    every account): what names tags, as routing's rules do, follows."""

    brand_id: int
    tag_id: int
    old_name: str
    name: str


class TagChanged(TypedDict):
    """A brand tag was added to (or removed from) followers, by a person, a rule or a pull
    from the platform (followers.tags)."""

    brand_id: int
    tag_id: int
    tag: str  # the tag's name
    follower_ids: list[int]
    source: str  # "portal", "rule" or "wechat"
    rule_id: int | None
    by_membership_id: int | None


EVENTS: dict[str, type] = {
    "message.created": MessageCreated,
    "message.status": MessageStatus,
    "conversation.opened": ConversationFact,
    "conversation.reopened": ConversationFact,
    "conversation.assigned": ConversationFact,
    "conversation.transferred": ConversationTransferred,
    "conversation.snoozed": ConversationFact,
    "conversation.updated": ConversationUpdated,
    "conversation.resolved": ConversationResolved,
    "follower.subscribed": FollowerFact,
    "follower.unsubscribed": FollowerFact,
    # A follower scanned a parametric QR code of an account they already follow (SCAN).
    "follower.scanned": FollowerFact,
    "customer.merged": CustomerMerged,
    "customer.linked": CustomersLinked,
    "customer.updated": CustomerUpdated,
    "customer.erased": CustomerErased,
    "member.changed": MemberChanged,
    "mention.created": MentionCreated,
    "tag.added": TagChanged,
    "tag.renamed": TagRenamed,
    "tag.removed": TagChanged,
}
CONVERSATION_EVENTS = tuple(name for name in EVENTS if name.startswith("conversation."))

Subscriber = Callable[[str, Any], None]
_subscribers: dict[str, list[Subscriber]] = {name: [] for name in EVENTS}


class UnknownEvent(ValueError):
    pass


def _shape(name: str) -> type:
    try:
        return EVENTS[name]
    except KeyError:
        raise UnknownEvent(f"unknown domain event {name!r}") from None


def subscribe(name: str, fn: Subscriber) -> None:
    """Call ``fn(name, payload)`` after every commit that announced ``name``."""
    _shape(name)
    # ready() can run more than once (tests, autoreload); subscribe once.
    if fn not in _subscribers[name]:
        _subscribers[name].append(fn)


def unsubscribe(name: str, fn: Subscriber) -> None:
    if fn in _subscribers.get(name, ()):
        _subscribers[name].remove(fn)


def _check(name: str, payload: dict) -> None:
    shape = _shape(name)
    keys = set(payload)
    missing = shape.__required_keys__ - keys
    extra = keys - shape.__required_keys__ - shape.__optional_keys__
    if missing or extra:
        raise ValueError(
            f"{name} payload does not match {shape.__name__}: "
            f"missing {sorted(missing)}, unexpected {sorted(extra)}"
        )


def _deliver(name: str, fn: Subscriber, payload: dict) -> None:
    try:
        fn(name, payload)
    except Exception:
        # What was stored is committed; one subscriber's failure (the screens, a webhook)
        # must not fail the request or the other subscribers. Each subscriber has its own
        # catch-up (sweeps, resync), and this line says it was needed.
        logger.exception("domain event subscriber failed",
                         extra={"event": name, "subscriber": getattr(fn, "__name__", "?")})


def announce(name: str, payload: dict) -> None:
    """Schedule every subscriber of ``name`` for when the current transaction commits (at
    once outside one). Nothing is delivered for a transaction that rolls back."""
    _check(name, payload)
    for fn in tuple(_subscribers[name]):
        transaction.on_commit(lambda fn=fn: _deliver(name, fn, payload))
