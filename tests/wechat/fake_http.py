"""A scripted stand-in for requests.Session, for unit tests of the client's retry logic."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Sent:
    method: str
    url: str
    params: dict[str, Any]
    data: Any
    headers: dict[str, str]
    timeout: Any
    files: Any

    @property
    def json(self) -> Any:
        return json.loads(self.data.decode("utf-8")) if self.data else None


@dataclass
class Reply:
    body: bytes
    status: int = 200
    content_type: str = "application/json"


def reply(payload: Any, status: int = 200) -> Reply:
    return Reply(json.dumps(payload).encode(), status)


class FakeResponse:
    def __init__(self, r: Reply) -> None:
        self.status_code = r.status
        self.content = r.body
        self.headers = {"Content-Type": r.content_type}


@dataclass
class FakeSession:
    """Answers requests in order from ``script``: a dict (JSON), a Reply, or an exception."""

    script: list[Any] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    default: Any = None

    def then(self, *items: Any) -> FakeSession:
        self.script.extend(items)
        return self

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        data: Any = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
        timeout: Any = None,
    ) -> FakeResponse:
        self.sent.append(
            Sent(method, url, dict(params or {}), data, dict(headers or {}), timeout, files)
        )
        item = self.script.pop(0) if self.script else self.default
        if item is None:
            raise AssertionError(f"unscripted request {method} {url}")
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, Reply):
            return FakeResponse(item)
        return FakeResponse(reply(item))

    def paths(self) -> list[str]:
        return [s.url.split("://", 1)[-1].split("/", 1)[-1] for s in self.sent]


class StaticTokens:
    """A TokenProvider that hands out tok-1, tok-2... and records refresh calls."""

    def __init__(self) -> None:
        self.n = 1
        self.refreshes: list[str | None] = []

    def get_token(self, appid: str) -> str:
        return f"tok-{self.n}"

    def refresh_token(self, appid: str, stale: str | None) -> str:
        self.refreshes.append(stale)
        self.n += 1
        return f"tok-{self.n}"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect_refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: proves the request never left."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, "/x", reason))


def ok(**extra: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **extra}


def err(code: int, msg: str = "x") -> dict[str, Any]:
    return {"errcode": code, "errmsg": msg}
