"""The sandbox clock: real time plus an offset that tests can move, or frozen."""

from __future__ import annotations

import datetime as dt
import threading
import time

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


class SandboxClock:
    """Everything time-based in the sandbox reads this clock, never time.time()."""

    def __init__(self, *, frozen_at: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at = frozen_at

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        return self.now()

    def set(self, epoch: float) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = float(epoch)
            else:
                self._offset = float(epoch) - time.time()
        return self.now()

    def freeze(self, frozen: bool = True) -> float:
        """Stop (or restart) the clock at the current sandbox time."""
        current = self.now()
        with self._lock:
            if frozen:
                self._frozen_at = current
            else:
                self._frozen_at = None
                self._offset = current - time.time()
        return current

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None

    def snapshot(self) -> dict:
        return {"now": self.now(), "frozen": self.frozen}


def beijing_date(epoch: float) -> dt.date:
    """Quota days and months are counted on the Beijing calendar."""
    return dt.datetime.fromtimestamp(epoch, BEIJING).date()


def beijing_day_key(epoch: float) -> str:
    return beijing_date(epoch).isoformat()


def beijing_month_key(epoch: float) -> str:
    return beijing_date(epoch).strftime("%Y-%m")


def beijing_midnight(day: dt.date) -> float:
    """Epoch seconds of 00:00 Beijing time on `day`."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp()
