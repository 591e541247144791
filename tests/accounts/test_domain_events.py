"""The domain-event registry: facts go out after commit, never for a rollback, in the shape
they declare, and one failing subscriber hurts nobody else."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import transaction

from accounts import events

pytestmark = pytest.mark.django_db(transaction=True)

FACT = {"brand_id": 1, "conversation_id": 2, "account_id": 3, "handling_account_id": 3,
        "assignee_id": None, "team_id": None, "status": "open"}


@pytest.fixture
def heard():
    seen: list[tuple[str, dict]] = []

    def listener(name: str, payload: dict) -> None:
        seen.append((name, payload))

    events.subscribe("conversation.opened", listener)
    yield seen
    events.unsubscribe("conversation.opened", listener)


def test_a_fact_is_delivered_once_the_transaction_commits(heard) -> None:
    with transaction.atomic():
        events.announce("conversation.opened", FACT)
        assert heard == []
    assert heard == [("conversation.opened", FACT)]


def test_a_rolled_back_transaction_announces_nothing(heard) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        events.announce("conversation.opened", FACT)
        raise RuntimeError("the write failed")
    assert heard == []


def test_a_payload_that_does_not_match_its_shape_is_refused(heard) -> None:
    with pytest.raises(ValueError, match="missing \\['status'\\]"):
        events.announce("conversation.opened", {k: v for k, v in FACT.items() if k != "status"})
    with pytest.raises(ValueError, match="unexpected \\['reason'\\]"):
        events.announce("conversation.opened", {**FACT, "reason": "opened"})
    with pytest.raises(events.UnknownEvent):
        events.announce("conversation.changed", FACT)
    assert heard == []


def test_subscribing_to_an_unknown_event_fails_at_start_up() -> None:
    with pytest.raises(events.UnknownEvent):
        events.subscribe("conversation.exploded", lambda name, payload: None)


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(heard, caplog) -> None:
    def broken(name: str, payload: dict) -> None:
        raise RuntimeError("webhook endpoint down")

    events.subscribe("conversation.opened", broken)
    try:
        with caplog.at_level(logging.ERROR, logger="accounts.events"):
            events.announce("conversation.opened", FACT)
    finally:
        events.unsubscribe("conversation.opened", broken)
    assert heard == [("conversation.opened", FACT)]
    assert any(r.getMessage() == "domain event subscriber failed" for r in caplog.records)


def test_subscribing_twice_delivers_once(heard) -> None:
    listener = events._subscribers["conversation.opened"][-1]
    events.subscribe("conversation.opened", listener)
    events.announce("conversation.opened", FACT)
    assert len(heard) == 1


def test_every_declared_shape_is_json_clean() -> None:
    # Subscribers hand payloads to tasks, channel layers and webhooks as they are.
    allowed = {"int", "str", "bool", "int | None", "str | None", "list[int]",
               "list[str]"}
    for name, shape in events.EVENTS.items():
        for field, kind in shape.__annotations__.items():
            written = getattr(kind, "__forward_arg__", kind)
            assert written in allowed, (name, field, written)
    json.dumps(FACT)
