"""One event loop per process for the console's push from synchronous code (the workers'
tasks), kept for the process's life.

The channel layers keep their Redis connections per event loop. `async_to_sync` makes a
new loop for every call when the caller has none, so every push opened a connection to
Redis and closed it again: about 5 ms of a worker's CPU per push, more than building the
event and its audience. Here the pushes of a process run on one loop in a thread of its
own, and the layer's connection stays open between them; a connection that broke is
reconnected by the layer's retry (`routing.layers`).

The demo's in-memory layer is not shared across loops and threads this way: its pushes
keep `async_to_sync`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer

logger = logging.getLogger(__name__)

# A push that has not finished after this many seconds raises TimeoutError (an OSError:
# the push task's retry); the layer's own socket timeout is shorter.
PUSH_TIMEOUT = 30.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def _process_loop() -> asyncio.AbstractEventLoop:
    """This process's push loop, started on first use (and afresh in a forked child,
    which inherits the parent's loop object but not its thread)."""
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_run, args=(loop,), name="console-push-loop",
                                       daemon=True)
            _thread.start()
            _loop, _pid = loop, os.getpid()
        return _loop


def _run(loop: asyncio.AbstractEventLoop) -> None:
    """The loop's thread: run it until `stop`, then close it here, where no other loop
    runs (channels_redis closes its connections by running the loop once more as it
    closes, which a thread with a running loop, Playwright's say, could not)."""
    try:
        loop.run_forever()
    finally:
        try:
            loop.close()
        except Exception:
            logger.warning("closing the push loop's connections failed", exc_info=True)


def stop() -> None:
    """Stop and close this process's push loop, and with it the connections the channel
    layers keep on it (channels_redis closes them with the loop); the next push starts
    a new one. For the tests, which make a new channel layer for every test."""
    global _loop, _thread
    with _lock:
        loop, thread, _loop, _thread = _loop, _thread, None, None
    if loop is None or _pid != os.getpid() or loop.is_closed():
        return
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(PUSH_TIMEOUT)


def run_push(layer: object, coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run the coroutine (a send on ``layer``) to its end from synchronous code; answers
    its result and raises what it raises."""
    if isinstance(layer, InMemoryChannelLayer):
        async def wrapped() -> Any:
            return await coroutine

        return async_to_sync(wrapped)()
    future = asyncio.run_coroutine_threadsafe(coroutine, _process_loop())
    try:
        return future.result(timeout=PUSH_TIMEOUT)
    except TimeoutError:
        future.cancel()
        raise
