"""The beat's token renewals are queued to expire: when the workers are busy or away for a
while, each minute's list of due tokens does not pile up behind the last (a renewal is
idempotent, and the next list queues a fresh one)."""

from __future__ import annotations

import json

import pytest

from accounts.tasks import REFRESH_EXPIRES, tokens_refresh_due_task
from tests.factories import make_account, make_brand
from tests.messaging.worker_support import Broker, broker  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_a_queued_renewal_expires_before_the_next_list_is_drawn(broker: Broker) -> None:  # noqa: F811
    account = make_account(brand=make_brand())  # no token yet: due

    assert tokens_refresh_due_task() == 1
    queued = [json.loads(raw) for raw in broker.client.lrange("celery", 0, -1)]
    renewals = [m["headers"] for m in queued
                if m["headers"]["task"] == "accounts.tasks.token_refresh_task"]
    assert [h["argsrepr"] for h in renewals] == [f"({account.pk},)"]
    assert renewals[0]["expires"] is not None
    assert REFRESH_EXPIRES <= 60
