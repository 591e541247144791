"""Facts messaging announces to the apps above it (routing), after the transaction commits.

Messaging cannot import routing (imports go one way), so routing subscribes here from its
``AppConfig.ready()``. Names and payloads are in ``docs/console-contract.md``; payloads are
JSON-clean dicts so a subscriber may hand them straight to a task or a channel layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from messaging.models import Conversation, Message

logger = logging.getLogger(__name__)

Subscriber = Callable[[dict], None]

NAMES = frozenset({"message.created", "conversation.changed", "message.status"})
_subscribers: dict[str, list[Subscriber]] = {name: [] for name in NAMES}


def register(name: str, fn: Subscriber) -> None:
    """Call ``fn(payload)`` after every commit that announced ``name``."""
    if name not in NAMES:
        raise ValueError(f"unknown hook {name!r}")
    # ready() can run more than once (tests, autoreload); subscribe once.
    if fn not in _subscribers[name]:
        _subscribers[name].append(fn)


def _deliver(name: str, fn: Subscriber, payload: dict) -> None:
    try:
        fn(payload)
    except Exception:
        # What is stored is committed; a subscriber's failure (the screens, a webhook)
        # must not fail the callback or the other subscribers. Sweeps catch up.
        logger.exception("hook subscriber failed", extra={"hook": name})


def announce(name: str, payload: dict) -> None:
    """Schedule every subscriber of ``name`` for when the current transaction commits
    (at once outside one)."""
    if name not in NAMES:
        raise ValueError(f"unknown hook {name!r}")
    for fn in tuple(_subscribers[name]):
        transaction.on_commit(lambda fn=fn: _deliver(name, fn, payload))


# --- payloads (one builder each; ingestion and the services both announce) --------------


def message_created_payload(message: Message) -> dict:
    return message_payload(brand_id=message.brand_id, conversation_id=message.conversation_id,
                           message_id=message.pk, account_id=message.account_id,
                           direction=message.direction)


def message_payload(*, brand_id: int, conversation_id: int, message_id: int,
                    account_id: int, direction: str) -> dict:
    return {
        "brand_id": brand_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "account_id": account_id,
        "direction": direction,
    }


def conversation_changed_payload(conversation: Conversation, reason: str) -> dict:
    return conversation_payload(
        brand_id=conversation.brand_id, conversation_id=conversation.pk,
        account_id=conversation.channel_account_id,
        handling_account_id=conversation.handling_account_id,
        assignee_id=conversation.assignee_id, team_id=conversation.team_id,
        status=conversation.status, reason=reason,
    )


def conversation_payload(*, brand_id: int, conversation_id: int, account_id: int,
                         handling_account_id: int, assignee_id: int | None,
                         team_id: int | None, status: str, reason: str) -> dict:
    return {
        "brand_id": brand_id,
        "conversation_id": conversation_id,
        "account_id": account_id,
        "handling_account_id": handling_account_id,
        "assignee_id": assignee_id,
        "team_id": team_id,
        "status": status,
        "reason": reason,
    }
