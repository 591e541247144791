"""The channel layer the console runs on: channels_redis, hardened against Redis hiccups.

A consumer waits for its messages with BZPOPMIN, which Redis holds for up to
`brpop_timeout` (5 s). When the client's read timeout is no longer than that (redis-py's
default is 5 s too) or Redis stalls under load, the read times out, `receive()` raises,
and Channels lets the exception end the consumer: the screen's socket dies, and a message
already popped from Redis is lost. Here `receive()` waits and tries again instead, and
the first failure of a streak hands the consumer one `console.gap` message, so the screen
is told to catch up from the database (what it missed is gone from Redis, not from
PostgreSQL).
"""

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

GAP = {"type": "console.gap"}
RETRY_FIRST, RETRY_MAX = 0.1, 5.0


class ConsoleRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Channels whose last receive failed, with the next wait before retrying.
        self._failing: dict[str, float] = {}

    async def receive(self, channel: str) -> dict:
        while True:
            try:
                message = await super().receive(channel)
            except (RedisTimeoutError, RedisConnectionError, OSError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # The consumer is being shut down and the cleanup inside receive()
                    # failed: retrying would swallow the cancellation and never end.
                    raise asyncio.CancelledError from exc
                delay = self._failing.get(channel)
                self._failing[channel] = min(RETRY_MAX, (delay or RETRY_FIRST) * 2)
                await asyncio.sleep(delay or RETRY_FIRST)
                if delay is None:
                    logger.warning("channel layer receive failed: %r", exc)
                    return GAP
                continue
            self._failing.pop(channel, None)
            return message
