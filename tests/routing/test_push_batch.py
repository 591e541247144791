"""A batch of console pushes reads what its events share once and sends one stream
message per brand, with the same parts, in the same order, as pushing them one by one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Message
from routing import realtime
from tests.factories import make_account, make_brand, make_conversation, make_member

pytestmark = pytest.mark.django_db


def _fact(conversation) -> dict:  # noqa: ANN001
    return {"brand_id": conversation.brand_id, "conversation_id": conversation.pk,
            "account_id": conversation.channel_account_id,
            "handling_account_id": conversation.handling_account_id,
            "assignee_id": conversation.assignee_id, "team_id": conversation.team_id,
            "status": conversation.status}


def _pairs(conversation) -> list[tuple[str, dict]]:  # noqa: ANN001
    message = Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account=conversation.channel_account, direction="in",
        msg_type="text", content="Is the pool open?")
    created = {"brand_id": conversation.brand_id, "conversation_id": conversation.pk,
               "message_id": message.pk, "account_id": conversation.channel_account_id,
               "direction": "in"}
    return [("message.created", created), ("conversation.opened", _fact(conversation)),
            ("conversation.assigned", _fact(conversation))]


def test_a_batch_reads_once_and_sends_once_per_brand_what_single_pushes_send(monkeypatch):
    sent: list[tuple[int, list]] = []
    monkeypatch.setattr(realtime, "send", lambda brand_id, parts: sent.append((brand_id, parts)))
    lumen, rival = make_brand(name="Lumen"), make_brand(name="Rival")
    bund, other = make_account(brand=lumen), make_account(brand=rival)
    make_member(brand=lumen, accounts=[bund])
    make_member(brand=lumen, role="admin")
    make_member(brand=rival, role="admin")
    pairs = (_pairs(make_conversation(account=bund)) + _pairs(make_conversation(account=bund))
             + _pairs(make_conversation(account=other)))

    for name, payload in pairs:
        realtime.push(name, payload)
    one_by_one = [(brand, [{**part, "payload": {**part["payload"], "at": None}}
                           for part in parts]) for brand, parts in sent]
    sent.clear()
    with CaptureQueriesContext(connection) as queries:
        reached, unsent = realtime.push_batch(pairs)
    # Conversations, messages, then every place's audience in one statement (not one per
    # event, nor per conversation).
    assert len(queries.captured_queries) == 2 + 1
    assert unsent == []
    assert [brand for brand, _parts in sent] == [lumen.pk, rival.pk]
    batched = [{**part, "payload": {**part["payload"], "at": None}}
               for _brand, parts in sent for part in parts]
    assert batched == [part for brand, parts in one_by_one if brand == lumen.pk
                       for part in parts] + [part for brand, parts in one_by_one
                                             if brand == rival.pk for part in parts]
    # Lumen's 6 events reach its owner, admin and the Bund's agent; Rival's 3 two.
    assert reached == sum(len(part["to"]) for part in batched) == 6 * 3 + 3 * 2


def test_an_event_of_a_conversation_of_another_brand_is_skipped(monkeypatch):
    sent: list = []
    monkeypatch.setattr(realtime, "send", lambda brand_id, parts: sent.append(parts))
    conversation = make_conversation(account=make_account(brand=make_brand()))
    forged = [(name, {**payload, "brand_id": conversation.brand_id + 999})
              for name, payload in _pairs(conversation)]
    assert realtime.push_batch(forged) == (0, [])
    assert sent == []


def test_the_pushes_of_a_process_share_one_loop_and_its_connection(settings):
    """A worker's pushes run on one event loop of the process (routing.push_loop), so the
    channel layer's Redis connection is made once, not once per push; stopping the loop
    closes it."""
    import asyncio

    from routing import push_loop
    from routing.layers import ConsolePubSubChannelLayer

    if not settings.REDIS_URL:
        pytest.fail("this test needs REDIS_URL (the suite runs against real Redis)")
    layer = ConsolePubSubChannelLayer(hosts=[{"address": settings.REDIS_URL}],
                                      prefix="push-loop-test")

    async def loop_of() -> asyncio.AbstractEventLoop:
        await layer.group_send("console.test.loop", {"type": "console.noop"})
        return asyncio.get_running_loop()

    first = push_loop.run_push(layer, loop_of())
    assert push_loop.run_push(layer, loop_of()) is first
    assert first in layer._layers  # one per-loop layer (its connection) for both
    push_loop.stop()
    assert first.is_closed() and first not in layer._layers
    assert push_loop.run_push(layer, loop_of()) is not first
