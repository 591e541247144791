"""Facts messaging announces to the apps above it (routing), after the transaction commits.

Messaging cannot import routing (imports go one way), so routing subscribes here from its
``AppConfig.ready()``. Names and payloads are in ``docs/console-contract.md``; payloads are
JSON-clean dicts so a subscriber may hand them straight to a task or a channel layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

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
