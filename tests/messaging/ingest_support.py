"""Calling the ingestion service directly with typed messages (no HTTP, no platform)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from django.test import TestCase

from accounts import events
from accounts.models import OfficialAccount
from messaging.ingest import Ingested, inbound_ingest
from wechat import messages as wx

_msg_ids = itertools.count(7_000_000_000)


def deliver(account: OfficialAccount, fields: dict[str, Any]) -> Ingested:
    """Ingest one delivery and run its after-commit work (domain events, the eager task), also
    inside a test's transaction, where nothing really commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return inbound_ingest(account=account, message=wx.message_from_dict(fields))


def text(account: OfficialAccount, openid: str = "oA", content: str = "hi",
         *, at: int | None = None, msg_id: int | None = None) -> dict[str, Any]:
    return {"ToUserName": account.original_id, "FromUserName": openid,
            "CreateTime": str(int(time.time()) if at is None else at), "MsgType": "text",
            "Content": content, "MsgId": str(next(_msg_ids) if msg_id is None else msg_id)}


def event(account: OfficialAccount, name: str, openid: str = "oA", *, at: int | None = None,
          **fields: Any) -> dict[str, Any]:
    return {"ToUserName": account.original_id, "FromUserName": openid,
            "CreateTime": str(int(time.time()) if at is None else at), "MsgType": "event",
            "Event": name, **{k: str(v) for k, v in fields.items()}}


class HookRecorder:
    """Subscribes to every domain event and keeps what was delivered (after commit)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict]] = []
        for name in events.EVENTS:
            events.subscribe(name, self._record)

    def _record(self, name: str, payload: dict) -> None:
        self.seen.append((name, payload))

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]

    def close(self) -> None:
        for name in events.EVENTS:
            events.unsubscribe(name, self._record)
