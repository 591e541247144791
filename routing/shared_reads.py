"""Reads a batch of routes shares: the brand's rules, teams, hours and settings.

A worker routes new conversations in batches (`routing.tasks_assignment`). Every route
of a brand reads the same active rules, the same account and team hours, the same
settings; read once per conversation they were most of a route's cost. Inside
``shared_reads()`` each such read is made once and kept until the block ends, which is
the end of one batch (well under a second), so an admin's change reaches the next batch.
Outside the block every read goes to the database as before (the simulator, the map, the
pages).

What is kept is what routing only reads in a batch, and the languages a team's online
members speak as the rules read them for overflow. Loads, queues and who is online for an
assignment are not kept: assignment reads them under its locks (`routing.assignment`).

**Across batches.** The brand's configuration (``LASTING``: rules, teams, hours,
settings) changes when an admin edits it, not from one batch to the next; read again for
every batch it was about a fifth of a routing task's CPU. In the routing engine's blocks
(``shared_reads(lasting=True)``) a process keeps each such read for
``ROUTING_CONFIG_SECONDS`` (default 2) and then reads it again, so an admin's change
reaches live routing within that time; the tester, the map, the pages and the due times
(whose results are stored and shown) read afresh. 0 turns it off, as the test suite
does but where a test sets it. Who is online and the languages they speak are never kept
across batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")

_kept: ContextVar[dict[Hashable, object] | None] = ContextVar("routing_shared_reads",
                                                               default=None)
# The keys (by their first part) whose reads outlast a batch, and what this process keeps
# of them: key -> (time.monotonic() of the read, the value).
LASTING = frozenset({"rules", "local_teams", "central_teams", "hours", "overflow",
                     "strategy"})
_lasting_here: ContextVar[bool] = ContextVar("routing_lasting_reads", default=False)
_lasting: dict[Hashable, tuple[float, object]] = {}
# Past this many entries the expired ones are dropped (a process serving many brands).
_PRUNE_AT = 5000


@contextmanager
def shared_reads(*, lasting: bool = False) -> Iterator[None]:
    """Within the block, `once` reads each key once; with ``lasting``, a ``LASTING`` key
    is also kept across blocks for ``ROUTING_CONFIG_SECONDS``. Nested blocks share the
    outer one."""
    if _kept.get() is not None:
        yield
        return
    token, here = _kept.set({}), _lasting_here.set(lasting)
    try:
        yield
    finally:
        _kept.reset(token)
        _lasting_here.reset(here)


def sharing() -> bool:
    """Whether a `shared_reads` block is open: a reader may then read a whole brand at
    once, where outside it one row is cheaper."""
    return _kept.get() is not None


def once(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, made once per key inside `shared_reads`, every time outside it."""
    kept = _kept.get()
    if kept is None:
        return read()
    if key not in kept:
        kept[key] = _lasting_read(key, read)
    return kept[key]  # type: ignore[return-value]


def _lasting_read(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or what this process read for a ``LASTING`` key less than
    ``ROUTING_CONFIG_SECONDS`` ago."""
    seconds = settings.ROUTING_CONFIG_SECONDS
    if not (seconds and _lasting_here.get() and isinstance(key, tuple) and key
            and key[0] in LASTING):
        return read()
    now = time.monotonic()
    found = _lasting.get(key)
    if found is not None and now - found[0] < seconds:
        return found[1]  # type: ignore[return-value]
    value = read()
    if len(_lasting) >= _PRUNE_AT:
        for stale in [k for k, (at, _value) in _lasting.items() if now - at >= seconds]:
            del _lasting[stale]
    _lasting[key] = (now, value)
    return value


def forget_lasting() -> None:
    """Drop what this process keeps across batches (tests)."""
    _lasting.clear()
