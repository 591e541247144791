"""Fixtures shared by the messaging tests."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from accounts.models import OfficialAccount
from tests.messaging.callback_support import counts, post


@pytest.fixture
def refused(client: Any, caplog: pytest.LogCaptureFixture) -> Any:
    """refused(account or appid, query, body, status=, reason=) -> the response, asserting
    the clear error, the "callback refused" log line, and that nothing was stored."""

    def check(account_or_appid: OfficialAccount | str, query: dict, body: bytes, *,
              status: int, reason: str, **extra: Any) -> Any:
        before = counts()
        with caplog.at_level(logging.WARNING, logger="messaging.views"):
            response = post(client, account_or_appid, query, body, **extra)
        assert response.status_code == status, response.content
        assert reason in response.content.decode()
        lines = [r for r in caplog.records if r.getMessage() == "callback refused"]
        assert lines and reason in lines[-1].reason
        assert counts() == before
        return response

    return check
