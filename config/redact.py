"""No token reaches a log line.

Links carry tokens: an invitation (`/invite/<token>/`), a password reset
(`/password/reset/key/<key>/`), and the platform's URLs their access token or secret in the
query string (a transport error quotes the URL it failed on). Every line our handler writes
goes through `redact` last, whatever part of the record (message, `extra=`, traceback) the
token hid in. The servers' own loggers (gunicorn's and uvicorn's access logs, which write
each request's path) keep their handlers and get a filter that redacts the message.
"""

import logging
import logging.config
import re
from collections.abc import Mapping

from config.logging import JsonFormatter, UtcFormatter

REDACTED = "[redacted]"

_QUERY_SECRETS = (
    "access_token|component_access_token|authorizer_access_token|authorizer_refresh_token"
    "|refresh_token|secret|app_secret|appsecret|component_appsecret|component_verify_ticket"
    "|pre_auth_code|auth_code|ticket|encoding_aes_key|password"
)
_PATTERNS = [
    # Path segments that are tokens: the invitation link, allauth's password-reset link.
    (re.compile(r"(/invite/)[^/\s'\"?#]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/password/reset/key/)[^/\s'\"?#]+"), rf"\1{REDACTED}"),
    # Raw invitation tokens and API keys, wherever they stand.
    (re.compile(r"\b(inv|bp)_[A-Za-z0-9_-]{8,}"), rf"\1_{REDACTED}"),
    # name=value in a query string, and "name": "value" in a body (its quotes escaped
    # once more when the body sits inside a JSON log line).
    (re.compile(rf"\b({_QUERY_SECRETS})=[^&\s'\"\\#]+"), rf"\1={REDACTED}"),
    (re.compile(rf"(\\?[\"']({_QUERY_SECRETS})\\?[\"']\s*:\s*\\?[\"'])[^\"'\\]+"),
     rf"\1{REDACTED}"),
]

# Loggers with handlers of their own, which our handler never sees.
SERVER_LOGGERS = ("gunicorn.access", "gunicorn.error", "uvicorn.access", "uvicorn.error",
                  "django.server")


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(UtcFormatter):
    """Any formatter, with the finished line redacted (and stamped in UTC)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingJsonFormatter(RedactingFormatter, JsonFormatter):
    pass


class RedactMessage(logging.Filter):
    """For loggers whose handlers are not ours: the message and each of its arguments are
    redacted in place, keeping their shape (uvicorn's access formatter unpacks the
    arguments, gunicorn's names them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(value) for value in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        return True


def _redacted(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


def configure_logging(config: dict) -> None:
    """Django's LOGGING_CONFIG: the dict config, then the filter on the servers' loggers.

    A server that configures its logging later (uvicorn, run from `run_demo`) replaces the
    handlers of these loggers but keeps their filters.
    """
    logging.config.dictConfig(config)
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactMessage) for f in logger.filters):
            logger.addFilter(RedactMessage())
