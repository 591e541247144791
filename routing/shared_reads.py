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
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_kept: ContextVar[dict[Hashable, object] | None] = ContextVar("routing_shared_reads",
                                                               default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within the block, `once` reads each key once. Nested blocks share the outer one."""
    if _kept.get() is not None:
        yield
        return
    token = _kept.set({})
    try:
        yield
    finally:
        _kept.reset(token)


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
        kept[key] = read()
    return kept[key]  # type: ignore[return-value]
