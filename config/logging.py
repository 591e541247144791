"""Structured logs: one JSON object a line, with whatever `extra=` the caller passed.

Both formats stamp each line alike, in UTC and saying so (2026-12-01T06:35:12.345Z: "ts" in
JSON, the line's start in text), whatever zone the process runs in."""

import json
import logging
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def utc_timestamp(record: logging.LogRecord) -> str:
    """When the record was made, in UTC and saying so: 2026-12-01T06:35:12.345Z."""
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UtcFormatter(logging.Formatter):
    """A text formatter whose `%(asctime)s` is UTC with its marker, whatever zone the
    process runs in (Django sets the process's to TIME_ZONE)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return utc_timestamp(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": utc_timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)
