"""Outages: PostgreSQL down answers 503 (the platform retries); the broker down loses
nothing (stored, answered, and drained by the sweep when Redis returns)."""

import logging
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from followers.models import Follower
from messaging import ingest
from messaging.models import Inbound, Message
from messaging.task_batches import batch_flush
from messaging.tasks import inbound_sweep_task
from tests.factories import make_account, make_brand
from tests.messaging.callback_support import (
    connected_account,
    counts,
    event_message,
    follow,
    post,
    say,
    signed,
    text_message,
)

DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.mark.parametrize(
    ("build", "step"),
    [
        # PostgreSQL stores a follower's message in one call, and an event step by step.
        (text_message, "_user_message_one_call"),
        (lambda account: event_message(account, "subscribe"), "_insert_once"),
    ],
    ids=["message", "event"],
)
@pytest.mark.django_db
def test_a_database_failure_during_ingestion_answers_503(client, caplog, build, step):
    account = make_account(brand=make_brand())
    query, body = signed(account, build(account))
    before = counts()
    with mock.patch.object(ingest, step, side_effect=OperationalError("gone")):
        response = post(client, account, query, body)
    assert response.status_code == 503
    assert "database unavailable" in caplog.text
    assert counts() == before
    # The platform's retry, once the database is back, is accepted and stored.
    assert post(client, account, query, body).status_code == 200
    assert Inbound.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_503_and_the_retry_is_stored(client):
    account = make_account(brand=make_brand())
    query, body = signed(account, text_message(account))
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = 1  # nothing listens there
    try:
        response = post(client, account, query, body)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert response.status_code == 503
    assert Inbound.objects.count() == 0
    assert post(client, account, query, body).status_code == 200
    assert Inbound.objects.count() == 1


def _drop_broker_pools():
    # Celery keeps connection and producer pools per broker URL; forget them all so the
    # next publish connects to whatever broker_url says now.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Celery as in production (not eager) with its broker unreachable."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url)
    _drop_broker_pools()
    conf.task_always_eager, conf.broker_url = False, DEAD_BROKER
    yield
    conf.task_always_eager, conf.broker_url = saved
    _drop_broker_pools()


@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_callbacks_are_stored_and_the_sweep_drains_them(
    sandbox, live_server, settings, tmp_path, broker_down, caplog
):
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MEDIA_ROOT = str(tmp_path)
    account = connected_account(sandbox, live_server, brand=make_brand())

    with caplog.at_level(logging.WARNING, logger="messaging.task_batches"):
        openid = follow(sandbox, account)["openid"]
        pushes = [say(sandbox, account, openid, f"message {n}")["push"] for n in range(3)]
        # The web process queues its after-commit work in batches, from a thread of its
        # own; the failure to reach the broker is logged there, never in the callback.
        batch_flush()
        deadline = time.monotonic() + 5
        while "could not queue messaging.tasks.inbound_process_batch_task" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
    assert all(p["status"] == 200 and p["body"] == "success" and p["attempts"] == 1
               for p in pushes), pushes
    assert all(p["elapsed_ms"] < 5000 for p in pushes), pushes  # inside the deadline
    assert Message.objects.filter(direction="in").count() == 3
    assert Inbound.objects.filter(processed_at__isnull=True).count() == 4
    assert Follower.objects.get(openid=openid).profile_fetched_at is None

    # Redis returns (tasks run in-process again) and a minute has passed: the sweep
    # queues the backlog and it is processed.
    celery_app.conf.task_always_eager = True
    Inbound.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    assert inbound_sweep_task() == 4
    assert Inbound.objects.filter(processed_at__isnull=True).count() == 0
    assert Follower.objects.get(openid=openid).profile_fetched_at is not None
    assert inbound_sweep_task() == 0
