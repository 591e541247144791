"""After-commit work, published to Celery in batches rather than one task per delivery.

A Celery publish costs about 0.8 ms of the web process's time (serialising, the broker's
routing table, the round trip), as much as the whole of a request that stores one row. A
callback used to publish two (the processing of the delivery and the push to screens), so
the publishes alone halved what a web worker could accept. Here a web process instead
appends the item to an in-memory batch, and a thread of that process publishes each
batch as one task every ``FLUSH_SECONDS`` (or at once at ``MAX_ITEMS``): at most a few
publishes per second per process, however busy. The task then loops over its items.

A caller whose items are awaited by a person may ask for a shorter wait (``within``), in a
batch of its own, and for it to be ``leading``: an item that finds the last publish a
whole ``within`` ago is published at once, and what follows it waits until ``within``
after that publish. A quiet process then adds no wait at all, and a busy one still
publishes at most once per ``within``: the console's push to screens (0.1 s, so a message
reaches the screens in a fraction of a second; at most 10 publishes a second per
process) and routing's placement of new conversations (0.25 s).

What this trades: an item waits up to ``FLUSH_SECONDS`` before it is queued, and items
still in memory when a process is killed outright are not queued at all. Neither loses
anything stored: the inbound sweep re-queues unprocessed deliveries, and screens catch up
from the database when they reconnect or resync. A clean exit flushes first.

With Celery eager (the demo, tests) ``batch_submit`` runs the task at once with one item,
as ``.delay`` would.

**Inside a worker's task.** What a task announces is mostly work for the same worker (the
console's push of an assignment, the due time of a conversation just routed). Published,
each batch costs the worker a task of its own (about 3 ms of CPU for the hop: the
broker, the pool's pipe, the acknowledgement) and waits in the queue behind the backlog.
A caller that passes ``after_task`` has its items, when they arise inside a task of this
worker, kept for the end of that task and handed to ``after_task`` there, in the same
process, as one batch (`task_finished`, on Celery's ``task_postrun``). If that raises,
the items are published to ``task`` after all, so nothing is dropped that the publishing
path would have kept; a process killed before the task's end loses them as the
in-memory batches do, and the sweeps and resyncs cover both.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from celery import Task
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
MAX_ITEMS = 500


class _Batches:
    """The pending items of this process, per task, and the thread that publishes them."""

    def __init__(self, within: float = FLUSH_SECONDS, *, leading: bool = False) -> None:
        self.within = within
        self.leading = leading
        self.last = float("-inf")  # time.monotonic() of the last publish (leading only)
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.pending: dict[str, tuple[Task, list[Any]]] = {}
        self.thread: threading.Thread | None = None

    def add(self, task: Task, item: Any) -> None:
        with self.lock:
            entry = self.pending.get(task.name)
            if entry is None:
                entry = self.pending[task.name] = (task, [])
            entry[1].append(item)
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="task-batches",
                                               daemon=True)
                self.thread.start()
        self.wake.set()

    def run(self) -> None:
        while True:
            self.wake.wait()
            # Let what arrives meanwhile join the batch; a leading batch waits only for
            # what is left of the window since its last publish.
            pause = (self.last + self.within - time.monotonic() if self.leading
                     else self.within)
            if pause > 0:
                time.sleep(pause)
            self.wake.clear()
            if self.leading:
                self.last = time.monotonic()
            self.flush()

    def take(self) -> list[tuple[Task, list[Any]]]:
        with self.lock:
            taken = [entry for entry in self.pending.values() if entry[1]]
            self.pending = {}
        return taken

    def flush(self) -> int:
        published = 0
        for task, items in self.take():
            for start in range(0, len(items), MAX_ITEMS):
                chunk = items[start:start + MAX_ITEMS]
                if _publish(task, chunk):
                    published += len(chunk)
        return published


_batches = _Batches()
# Batches with a shorter wait (``within``) or leading, each with a thread of its own.
_sooner: dict[tuple[float, bool], _Batches] = {}


def _current(within: float = FLUSH_SECONDS, leading: bool = False) -> _Batches:
    global _batches
    if within != FLUSH_SECONDS or leading:
        batches = _sooner.get((within, leading))
        if batches is None or batches.pid != os.getpid():
            # As below: afresh after a fork.
            batches = _sooner[(within, leading)] = _Batches(within, leading=leading)
        return batches
    if _batches.pid != os.getpid():
        # A forked child (a pre-forking server) inherits the parent's items and a lock
        # that may be held, but not its thread: start afresh.
        _batches = _Batches()
    return _batches


def _publish(task: Task, items: list[Any]) -> bool:
    try:
        # retry=False: with the broker down, give up at once; the sweeps catch up.
        task.apply_async((items,), retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning(
            "could not queue %s for %d items; the sweep will catch up", task.name,
            len(items), extra={"task": task.name, "count": len(items), "error": str(exc)},
        )
        return False
    except Exception:
        logger.exception("could not queue %s", task.name, extra={"task": task.name})
        return False
    return True


def batch_submit(task: Task, item: Any, *, within: float = FLUSH_SECONDS,
                 leading: bool = False,
                 after_task: Callable[[list[Any]], object] | None = None) -> None:
    """Have ``task`` (which takes a list) run for ``item``, in a batch with others, queued
    within ``within`` seconds (``leading``: at once when this process published none in
    the last ``within``); inside a worker's task, with ``after_task``, handed to
    ``after_task`` at that task's end instead (the module's docstring). Never raises: a
    failure to queue is logged, and the caller's sweep catches up."""
    if task.app.conf.task_always_eager:
        _publish(task, [item])
        return
    deferred = getattr(_in_task, "deferred", None)
    if after_task is not None and deferred is not None:
        deferred.setdefault(task.name, (task, after_task, []))[2].append(item)
        return
    _current(within, leading).add(task, item)


# -- inside a worker's task ---------------------------------------------------------------

_in_task = threading.local()


def task_started(**_: object) -> None:
    """From here to `task_finished`, this thread runs a task: keep what asks for it."""
    _in_task.deferred = {}


def task_finished(**_: object) -> None:
    """The task has ended: hand each kept batch to its ``after_task``; one that raises is
    logged and published to its task instead."""
    deferred = getattr(_in_task, "deferred", None)
    _in_task.deferred = None
    for task, after_task, items in (deferred or {}).values():
        try:
            after_task(items)
        except Exception:
            logger.exception("running %s after the task failed; queued instead", task.name,
                             extra={"task": task.name, "count": len(items)})
            for start in range(0, len(items), MAX_ITEMS):
                _publish(task, items[start:start + MAX_ITEMS])


def connect_worker() -> None:
    """Run `task_started` and `task_finished` around every task of this process's
    worker (a no-op where no worker runs)."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, weak=False, dispatch_uid="task-batches-started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="task-batches-finished")


def batch_flush() -> int:
    """Publish what is pending now, in this thread; answers how many items were queued.
    For a clean exit and for tests."""
    return _current().flush() + sum(_current(within, leading).flush()
                                    for within, leading in list(_sooner))


atexit.register(batch_flush)
