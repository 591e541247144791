"""The channel layers the console runs on, hardened against Redis faults, with numbered
brand streams.

Three backends share one small extension (`stream_next`, `stream_position`,
`groups_refresh`), used by `routing.realtime` (the push) and `routing.hub` (the reader):

- `ConsoleRedisChannelLayer`: channels_redis's core layer (sorted sets in Redis, one per
  server process, read with BZPOPMIN);
- `ConsolePubSubChannelLayer`: channels_redis's pub/sub layer (Redis PUBLISH/SUBSCRIBE;
  nothing is stored in Redis);
- `ConsoleInMemoryChannelLayer`: the demo's single process.

`CONSOLE_LAYER` chooses between the first two: `pubsub` by default (bench/console.py
compares them).

**Streams.** Each brand's messages are numbered by a counter in Redis (a hash holding the
number and an *epoch*, a random name given when the counter is created). A Redis restart
loses the counter, the next message starts a new epoch, and a reader that sees one knows
it may have missed anything before. A reader that sees a number skipped knows it missed
that one. Either way the screens resync from the database (`routing.hub`).

**Faults handled here.**

- A pooled connection to a Redis that restarted is dead, and channels_redis builds its
  pools itself, so redis-py's retries (a property of the client, not of the pool) never
  applied: the first command on such a connection failed. That was the 500 answered to the
  first socket opened after a restart (its `group_add`). Each host now gets a retry on a
  connection error, which reconnects and sends the command again. (A command that did
  run before the connection broke may run twice: a repeated stream number is dropped.)
- A read that fails (a timeout, Redis gone) no longer ends the consumer: `receive()` waits
  and tries again, and the first failure of a streak hands the consumer one `console.gap`
  message, so the screen is told to catch up from the database.
- The core layer drops a message for a process whose key is over ``capacity`` and says so
  only at INFO; that line is a WARNING here. The pub/sub layer has no capacity but
  loses what is published while a subscriber's connection is down; its reader hands out
  `console.gap` when it fails. In both cases the stream numbers tell the sockets as well.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import uuid
from collections import defaultdict

from channels.layers import InMemoryChannelLayer
from channels_redis import core as channels_redis_core
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from routing.events import CONSOLE_STREAM, StreamMessage, StreamPart

logger = logging.getLogger(__name__)

GAP = {"type": "console.gap"}
RETRY_FIRST, RETRY_MAX = 0.1, 1.0
# What a layer call raises when Redis cannot be reached or answers too slowly.
LAYER_ERRORS = (RedisError, OSError)

Position = tuple[int, str | None]  # (the last number given, the epoch); (0, None): none yet

# HINCRBY is atomic, so exactly one caller sees 1 and names the epoch.
_NEXT = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n == 1 then redis.call('HSET', KEYS[1], 'epoch', ARGV[1]) end
return {n, redis.call('HGET', KEYS[1], 'epoch')}
"""


def _with_retry(hosts: list | None) -> list:
    """The hosts, each with a retry on a connection error (see the module's docstring)."""
    retried = []
    for host in hosts or [{"address": "redis://localhost:6379"}]:
        host = dict(host) if isinstance(host, dict) else {"address": host}
        host.setdefault("retry", Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 3,
                                       supported_errors=(RedisConnectionError,)))
        retried.append(host)
    return retried


def _position(values: list) -> Position:
    n, epoch = values
    return int(n or 0), (epoch.decode() if isinstance(epoch, bytes) else epoch)


def _stream_key(prefix: str, group: str) -> str:
    return f"{prefix}:stream:{group}"


async def stream_send(layer: object, group: str, parts: list[StreamPart]) -> int:
    """Send ``parts`` to ``group`` as the next message of its stream; answers its number.
    One group send whatever the audience: each socket keeps the parts addressed to it."""
    seq, epoch = await layer.stream_next(group)  # type: ignore[attr-defined]
    message: StreamMessage = {"type": CONSOLE_STREAM, "seq": seq, "epoch": epoch or "",
                              "parts": parts}
    await layer.group_send(group, message)  # type: ignore[attr-defined]
    return seq


# -- channels_redis core ---------------------------------------------------------------


class _DropsAreWarnings:
    """Stands in for channels_redis.core's logger. The library's one word about messages
    it drops for a full channel is an INFO line, hidden at our production LOG_LEVEL; here
    it is a warning. (That line is the module's only use of its logger.)"""

    def __init__(self, wrapped: logging.Logger) -> None:
        self.wrapped = wrapped

    def info(self, msg: str, *args: object, **kwargs: object) -> None:
        self.wrapped.warning(msg, *args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.wrapped, name)


if not isinstance(channels_redis_core.logger, _DropsAreWarnings):
    channels_redis_core.logger = _DropsAreWarnings(channels_redis_core.logger)


class ConsoleRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args: object, hosts: list | None = None, **kwargs: object) -> None:
        super().__init__(*args, hosts=_with_retry(hosts), **kwargs)
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

    async def stream_next(self, group: str) -> Position:
        connection = self.connection(self.consistent_hash(group))
        return _position(await connection.eval(
            _NEXT, 1, _stream_key(self.prefix, group), uuid.uuid4().hex[:12]))

    async def stream_position(self, group: str) -> Position:
        connection = self.connection(self.consistent_hash(group))
        return _position(await connection.hmget(_stream_key(self.prefix, group), "n", "epoch"))

    async def groups_refresh(self, channel: str, groups: list[str],
                             stream: str | None = None) -> Position | None:
        """Join ``groups`` again (a Redis restart forgets them; a membership also lapses
        after ``group_expiry``) and read ``stream``'s position: one round trip a shard."""
        shards: dict[int, list[str]] = defaultdict(list)
        for group in groups:
            shards[self.consistent_hash(group)].append(group)
        if stream is not None:
            shards.setdefault(self.consistent_hash(stream), [])
        now, position = time.time(), None
        for index, members in shards.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group in members:
                key = self._group_key(group)
                pipe.zadd(key, {channel: now})
                pipe.expire(key, self.group_expiry)
            reads = stream is not None and self.consistent_hash(stream) == index
            if reads:
                pipe.hmget(_stream_key(self.prefix, stream), "n", "epoch")
            results = await pipe.execute()
            if reads:
                position = _position(results[-1])
        return position


# -- channels_redis pub/sub ------------------------------------------------------------


class _ConsoleShard(RedisSingleShardConnection):
    # Whether the reader's last read failed: until one succeeds (redis-py subscribes again
    # as it reconnects), what is published to this shard reaches nobody here.
    failing = False

    async def _do_receiving(self) -> None:
        delay = None
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1)
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:  # noqa: BLE001 - the reader must outlive any failure
                if delay is None:
                    # What was published meanwhile is gone: every socket of this shard
                    # is told to catch up (redis-py subscribes again once it reconnects).
                    logger.warning("channel layer subscription failed: %r", exc)
                    for queue in self.channel_layer.channels.values():
                        queue.put_nowait(self.channel_layer.channel_layer.serialize(GAP))
                self.failing = True
                await asyncio.sleep(delay or RETRY_FIRST)
                delay = min(RETRY_MAX, (delay or RETRY_FIRST) * 2)
                continue
            delay, self.failing = None, False

    async def redis(self) -> object:
        async with self._lock:
            self._ensure_redis()
            return self._redis


class _ConsolePubSubLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_ConsoleShard(shard.host, self) for shard in self._shards]

    async def _stream_redis(self, group: str) -> object:
        return await self._get_shard(_stream_key(self.prefix, group)).redis()

    async def stream_next(self, group: str) -> Position:
        redis = await self._stream_redis(group)
        return _position(await redis.eval(  # type: ignore[attr-defined]
            _NEXT, 1, _stream_key(self.prefix, group), uuid.uuid4().hex[:12]))

    async def stream_position(self, group: str) -> Position:
        redis = await self._stream_redis(group)
        return _position(await redis.hmget(  # type: ignore[attr-defined]
            _stream_key(self.prefix, group), "n", "epoch"))

    async def groups_refresh(self, channel: str, groups: list[str],
                             stream: str | None = None) -> Position | None:
        # Subscriptions live in this process (joining again costs nothing when joined)
        # and redis-py renews them when it reconnects. Reading the stream doubles as the
        # check that Redis answers.
        for group in groups:
            await self.group_add(group, channel)
        if any(shard.failing for shard in self._shards):
            # Redis may answer commands already while a subscription is not back: the
            # hub must not call the screens live (and resync them) before it is.
            raise RedisConnectionError("the subscription is not restored yet")
        if stream is None:
            await (await self._stream_redis(channel)).ping()  # type: ignore[attr-defined]
            return None
        return await self.stream_position(stream)


class ConsolePubSubChannelLayer(RedisPubSubChannelLayer):
    def __init__(self, *args: object, hosts: list | None = None, **kwargs: object) -> None:
        # The core layer's settings that mean nothing here.
        for unused in ("capacity", "expiry", "group_expiry", "channel_capacity"):
            kwargs.pop(unused, None)
        super().__init__(*args, hosts=_with_retry(hosts), **kwargs)

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        if loop not in self._layers:
            self._layers[loop] = _ConsolePubSubLoopLayer(
                *self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return self._layers[loop]


# -- in memory (the demo's one process) ------------------------------------------------


class ConsoleInMemoryChannelLayer(InMemoryChannelLayer):
    """The demo's layer: streams are numbered in this process (its only one)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._epoch = uuid.uuid4().hex[:12]
        self._counters: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._last: dict[str, int] = {}
        self._numbering = threading.Lock()  # pushes run in threads of their own

    async def stream_next(self, group: str) -> Position:
        with self._numbering:
            n = self._last[group] = next(self._counters[group])
        return n, self._epoch

    async def stream_position(self, group: str) -> Position:
        n = self._last.get(group, 0)
        return n, self._epoch if n else None

    async def groups_refresh(self, channel: str, groups: list[str],
                             stream: str | None = None) -> Position | None:
        for group in groups:
            await self.group_add(group, channel)
        return await self.stream_position(stream) if stream is not None else None
