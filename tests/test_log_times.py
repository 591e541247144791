"""Log lines say their zone: both formats stamp each line in UTC marked "Z", though the
process runs in TIME_ZONE (Asia/Shanghai, which Django sets for the process)."""

import json
import logging
import time
from datetime import UTC, datetime

from config.redact import RedactingFormatter, RedactingJsonFormatter

# 14:35:12.345 in Shanghai.
MOMENT = datetime(2026, 12, 1, 6, 35, 12, 345000, tzinfo=UTC)


def _record() -> logging.LogRecord:
    record = logging.LogRecord("portal.test", logging.INFO, __file__, 1, "hello", (), None)
    record.created = MOMENT.timestamp()
    record.msecs = 345.0
    return record


def _configured_formatter() -> logging.Formatter:
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h.formatter, RedactingFormatter)]
    assert len(handlers) == 1
    return handlers[0].formatter


def test_a_text_line_starts_with_its_moment_in_utc_marked_z():
    assert time.localtime(MOMENT.timestamp()).tm_hour == 14  # the process's own zone
    # The handler LOGGING configured (text while DEBUG is on, as in the tests).
    line = _configured_formatter().format(_record())
    assert line == "2026-12-01T06:35:12.345Z INFO portal.test hello"


def test_a_json_line_carries_the_same_utc_stamp():
    line = json.loads(RedactingJsonFormatter().format(_record()))
    assert line["ts"] == "2026-12-01T06:35:12.345Z"
    assert datetime.fromisoformat(line["ts"]) == MOMENT
