"""Where one socket is in its brand's stream, and whether it missed something.

The push numbers each brand's channel-layer messages 1, 2, 3, … under an epoch
(`routing.layers`). Pushes run in several worker processes at once, so a number may
overtake the one before it by a few milliseconds: a number that has not arrived is given
``grace`` seconds before it counts as lost. A new epoch means the counter began again
(Redis lost it): anything may have been missed. Either answers a gap reason, and the
consumer tells the screen to reload from the REST API (Zulip's event queues work the
same way: a sequence per client, a gap detected, a resync).
"""

from __future__ import annotations

from routing.events import GAP_RESTART, GAP_SEQUENCE
from routing.layers import Position

# A jump this long is a gap at once, rather than this many numbers to wait for.
MAX_AWAITED = 1000


class StreamCursor:
    def __init__(self, position: Position, *, grace: float) -> None:
        self.grace = grace
        self.last, self.epoch = position
        # Numbers skipped over, each with the time after which it counts as lost.
        self.awaited: dict[int, float] = {}

    def reset(self, position: Position) -> None:
        """The screen resyncs now: nothing before ``position`` matters any more."""
        self.last, self.epoch = position
        self.awaited.clear()

    def receive(self, seq: int, epoch: str, now: float) -> tuple[bool, str | None]:
        """A stream message arrived: (relay it?, the gap it reveals, if any)."""
        if epoch != self.epoch:
            if self.epoch is not None:
                self.reset((seq, epoch))
                return True, GAP_RESTART
            # No counter existed when the socket started: this epoch began after that.
            self.epoch = epoch
        if seq == self.last + 1:
            self.last = seq
            return True, None
        if seq > self.last + 1:
            if seq - self.last > MAX_AWAITED:
                self.reset((seq, epoch))
                return True, GAP_SEQUENCE
            for skipped in range(self.last + 1, seq):
                self.awaited[skipped] = now + self.grace
            self.last = seq
            return True, None
        if self.awaited.pop(seq, None) is not None:
            return True, None  # it was overtaken, and arrived in time
        return False, None  # a repeat (a send retried after a lost answer), or too late

    def observe(self, position: Position, now: float) -> str | None:
        """The stream's position as Redis tells it now; answers a gap reason if it shows
        one. Numbers given but not yet seen are awaited (they may be on their way)."""
        seq, epoch = position
        if epoch is None:
            if self.epoch is None:
                return None
            # The counter is gone: Redis restarted (or was flushed) and nothing was sent
            # since. What was in flight is lost.
            self.reset((0, None))
            return GAP_RESTART
        if self.epoch is None:
            self.epoch = epoch
        elif epoch != self.epoch:
            self.reset(position)
            return GAP_RESTART
        if seq - self.last > MAX_AWAITED:
            self.reset(position)
            return GAP_SEQUENCE
        for given in range(self.last + 1, seq + 1):
            self.awaited.setdefault(given, now + self.grace)
        self.last = max(self.last, seq)
        return self.overdue(now)

    def overdue(self, now: float) -> str | None:
        """GAP_SEQUENCE once an awaited number is past its grace."""
        if any(deadline <= now for deadline in self.awaited.values()):
            self.awaited.clear()
            return GAP_SEQUENCE
        return None
