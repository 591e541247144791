"""`routing.row_writes.update_rows`: what ``bulk_update`` writes, each row its own values
(a foreign key set and emptied, text, a time, a count), and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Conversation
from routing.assignment import ensure_states
from routing.models import AgentState
from routing.row_writes import update_rows
from tests.factories import make_account, make_brand, make_conversation, make_team
from tests.routing.assignment_support import agent

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=UTC)


def test_each_row_gets_its_own_values_in_one_statement():
    brand = make_brand()
    account = make_account(brand=brand)
    desk, spa = make_team(brand=brand, name="Desk"), make_team(brand=brand, name="Spa")
    first, second, third, untouched = (make_conversation(account=account) for _ in range(4))
    second.team = spa
    second.save(update_fields=["team"])
    first.team, first.language, first.routed_at = desk, "zh-hant", AT
    second.team, second.language, second.routed_at = None, "en", None
    third.team, third.language, third.routed_at = spa, "", AT.replace(microsecond=0)
    untouched.language = "never written"

    with CaptureQueriesContext(connection) as queries:
        assert update_rows([first, second, third], ["team", "language", "routed_at"]) == 3
    assert len(queries.captured_queries) == 1

    rows = {c.pk: (c.team_id, c.language, c.routed_at) for c in Conversation.objects.filter(
        pk__in=[first.pk, second.pk, third.pk, untouched.pk])}
    assert rows[first.pk] == (desk.pk, "zh-hant", AT)
    assert rows[second.pk] == (None, "en", None)
    assert rows[third.pk] == (spa.pk, "", AT.replace(microsecond=0))
    assert rows[untouched.pk][1] != "never written"


def test_counts_and_times_of_agent_states():
    team = make_team(brand=make_brand())
    lily, ming = agent(team), agent(team)
    ensure_states([lily.pk, ming.pk])
    states = list(AgentState.objects.filter(membership__in=[lily, ming]).order_by("pk"))
    states[0].assigned_total, states[0].last_assigned_at = 7, AT
    states[1].assigned_total = 2
    assert update_rows(states, ["last_assigned_at", "assigned_total"]) == 2
    assert [(s.assigned_total, s.last_assigned_at) for s in
            AgentState.objects.filter(pk__in=[s.pk for s in states]).order_by("pk")] == [
        (7, AT), (2, None)]


def test_nothing_to_write_is_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert update_rows([], ["team"]) == 0
    assert queries.captured_queries == []
