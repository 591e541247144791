"""A follower's message pushed by the sandbox to the portal's real callback is routed and
assigned by a REAL Celery worker: the subscription queues `route_batch_task` on Redis
(not eager), and the worker, on the test database, places the conversation."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import Membership
from messaging.models import Conversation
from routing.models import RoutingDecision
from tests.factories import make_brand, make_team
from tests.messaging.callback_support import connected_account, follow, say
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    Broker,
    ConsoleWatch,
    Workers,
    broker,
    wait_until,
    workers,
)
from tests.routing.assignment_support import agent, held

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_through_the_callback_is_assigned_by_the_worker(
    sandbox, live_server, settings, broker: Broker, workers: Workers  # noqa: ANN001, F811
) -> None:
    settings.WECHAT_API_BASE = sandbox.base_url
    cache.clear()
    worker = workers.default()
    brand = make_brand(name="Lumen Hotels")
    account = connected_account(sandbox, live_server, brand=brand, name="Lumen Shanghai")
    desk = make_team(brand=brand, name="Front desk", accounts=[account])
    lily = agent(desk, name="Lily")
    away = agent(desk, presence=Membership.Presence.AWAY)
    follower = follow(sandbox, account, push=False)
    # Lily's screen is told of the assignment: the worker pushes it at the end of the
    # routing task, in its own process (messaging.task_batches' after_task).
    screen = ConsoleWatch(lily, until=lambda e: e.get("type") == "conversation"
                          and e.get("reason") == "assigned" and e.get("assignee_id") == lily.pk,
                          timeout=40)
    push = say(sandbox, account, follower["openid"], "Hello, is breakfast included?")["push"]
    assert push["status"] == 200 and push["error"] is None, push

    convo = wait_until("the worker to assign the conversation", lambda: Conversation.objects
                       .filter(follower__openid=follower["openid"], assignee__isnull=False)
                       .first(), timeout=30)
    worker.wait_for_log(r"route_batch_task\[[\w-]+\] succeeded")
    assert (convo.assignee, convo.team) == (lily, desk)
    assert convo.routed_at is not None
    kinds = list(RoutingDecision.objects.filter(conversation=convo).order_by("pk")
                 .values_list("kind", flat=True))
    assert kinds == ["routed", "assigned"]
    assert held(away) == []
    assert screen.result()["conversation_id"] == convo.pk
