"""Placing a conversation: the rules decide where it goes (`routing.rules`), the engine
writes that down and hands it to assignment (`routing.assignment`).

A new or reopened conversation is routed once (`route_conversation`, from the
``conversation.opened``/``reopened`` subscription, and from the sweep for one a lost task
left behind): its team, its language when it was unknown, when it was routed, and a
`RoutingDecision` saying which rule sent it there by which steps. Then it goes to the
rule's agent if they can take it, else into the team's queue, which drains at once to
whoever is free. A conversation with no team to go to (no local team, no central team)
waits in its account's queue for someone to claim it.

A worker routes a batch at a time (`route_conversations`): what the routes of a brand
share (rules, hours, teams, settings) is read once for the batch, and each team the batch
sent conversations to is drained once at its end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from messaging.events import announce_conversation
from messaging.models import Conversation
from routing import rules
from routing.assignment import (
    HELD,
    assign_to,
    assign_waiting_teams,
    ensure_states,
    load_of,
    lock_states,
)
from routing.models import RoutingDecision, Transfer
from routing.shared_reads import shared_reads

logger = logging.getLogger(__name__)

# A conversation open this long without being routed lost its task: the sweep routes it.
LOST_AFTER = timedelta(seconds=10)
SWEEP_BATCH = 500


def _transfer_waiting(conversation_id: int) -> bool:
    return Transfer.objects.filter(
        conversation_id=conversation_id,
        status__in=[Transfer.Status.PENDING, Transfer.Status.INVITED]).exists()


def _release_over_capacity(conversation_id: int) -> bool:
    """A reopened conversation goes back to the agent who held it, unless that would put
    them over capacity: then it is released into its queue. True when released."""
    assignee_id = (Conversation.objects.filter(pk=conversation_id, status__in=HELD)
                   .values_list("assignee_id", flat=True).first())
    if assignee_id is None:
        return False
    ensure_states([assignee_id])
    with transaction.atomic():
        lock_states([assignee_id])
        conversation = Conversation.objects.select_for_update(of=("self",)).filter(
            pk=conversation_id, assignee_id=assignee_id).first()
        capacity = Membership.objects.filter(pk=assignee_id).values_list(
            "capacity", flat=True).first()
        if conversation is None or capacity is None:
            return False
        load = load_of(assignee_id)
        if load <= capacity:
            return False
        conversation.assignee = None
        conversation.routed_at = None
        conversation.save(update_fields=["assignee", "routed_at"])
        RoutingDecision.objects.create(
            brand_id=conversation.brand_id, conversation=conversation,
            kind=RoutingDecision.Kind.REQUEUED, language=conversation.language,
            account_id=conversation.handling_account_id, team_id=conversation.team_id,
            steps=[{"step": "over_capacity", "agent": assignee_id, "load": load,
                    "capacity": capacity}],
        )
        announce_conversation("conversation.assigned", conversation)
    return True


@dataclass
class _Placed:
    record: RoutingDecision
    conversation: Conversation
    team_before: int | None
    taken: bool  # given to the rule's agent at once


def route_conversation(conversation_id: int, *, at: datetime | None = None
                       ) -> RoutingDecision | None:
    """Decide where the conversation goes and put it there; answers the decision, or None
    when there was nothing to route (gone, resolved, held by an agent, or waiting on a
    transfer)."""
    placed = route_conversations([conversation_id], at=at)
    return placed[0].record if placed else None


def route_conversations(conversation_ids: list[int], *, at: datetime | None = None
                        ) -> list[_Placed]:
    """Route a batch (`route_conversation` for each, in order): the brand's rules, hours
    and teams read once for the batch (`routing.shared_reads`), then each team the batch
    placed conversations in drained once, oldest first. A conversation that fails is
    logged and left to the sweep. Answers what was placed."""
    at = at or timezone.now()
    ids = list(dict.fromkeys(conversation_ids))
    held = set(Conversation.objects.filter(pk__in=ids, status__in=HELD,
                                           assignee__isnull=False).values_list("pk", flat=True))
    placed: list[_Placed] = []
    with shared_reads():
        for conversation_id in ids:
            try:
                if conversation_id in held:
                    _release_over_capacity(conversation_id)
                outcome = _route_one(conversation_id, at=at)
            except Exception:
                logger.exception("routing a conversation failed",
                                 extra={"conversation_id": conversation_id})
                continue
            if outcome is not None:
                placed.append(outcome)
        teams = sorted({p.conversation.team_id for p in placed if not p.taken} - {None})
        try:
            assign_waiting_teams(teams)
        except Exception:
            logger.exception("draining the team queues failed; the sweep drains them",
                             extra={"teams": teams})
    # Placed in a queue and not taken at once: say where it waits. One taken at once is
    # announced by its assignment alone, which names the team too.
    moved = [p for p in placed if not p.taken and p.conversation.team_id != p.team_before]
    taken = set(Conversation.objects.filter(
        pk__in=[p.conversation.pk for p in moved], assignee__isnull=False,
    ).values_list("pk", flat=True)) if moved else set()
    for p in moved:
        if p.conversation.pk not in taken:
            announce_conversation("conversation.assigned", p.conversation)
    return placed


def _route_one(conversation_id: int, *, at: datetime) -> _Placed | None:
    """Decide and record where one conversation goes, and give it to the rule's agent when
    they can take it; the queue's drain is the batch's."""
    with transaction.atomic():
        conversation = (Conversation.objects.select_for_update(of=("self",))
                        .select_related("follower", "customer", "channel_account")
                        .filter(pk=conversation_id).first())
        if (conversation is None or conversation.status == Conversation.Status.RESOLVED
                or conversation.assignee_id is not None or _transfer_waiting(conversation_id)):
            return None
        decision = rules.decide(rules.facts_for(conversation, at=at))
        team_before = conversation.team_id
        conversation.team = decision.team
        if conversation.language in ("", "unknown"):
            conversation.language = decision.language
        conversation.routed_at = at
        conversation.save(update_fields=["team", "language", "routed_at"])
        steps = list(decision.steps)
        if decision.team is None:
            kind = RoutingDecision.Kind.QUEUED
            steps.append({"step": "queue", "why": "no_team"})
        elif decision.overflowed_from is not None:
            kind = RoutingDecision.Kind.OVERFLOWED
        else:
            kind = RoutingDecision.Kind.ROUTED
        record = RoutingDecision.objects.create(
            brand_id=conversation.brand_id, conversation=conversation, kind=kind,
            rule=decision.rule, rule_name=decision.rule.name if decision.rule else "",
            language=decision.language, account_id=conversation.handling_account_id,
            team=decision.team, agent=decision.agent, steps=steps,
        )
    taken = decision.agent is not None and assign_to(
        conversation_id=conversation_id, membership_id=decision.agent.pk,
        reason_steps=[{"step": "rule_agent", "rule": getattr(decision.rule, "pk", None)}],
    )
    return _Placed(record, conversation, team_before, taken)


def routing_sweep(*, now: datetime | None = None) -> dict:
    """The safety net: route open, unassigned conversations that were never routed (their
    task was lost), then drain every team queue that has waiting conversations (a team
    without a free online member costs one query)."""
    now = now or timezone.now()
    lost = list(Conversation.objects.filter(
        status=Conversation.Status.OPEN, assignee__isnull=True, routed_at__isnull=True,
        opened_at__lte=now - LOST_AFTER,
    ).order_by("opened_at", "pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    routed = len(route_conversations(lost)) if lost else 0
    teams = sorted(set(Conversation.objects.filter(
        status=Conversation.Status.OPEN, assignee__isnull=True, team__isnull=False,
    ).values_list("team_id", flat=True)))
    with shared_reads():
        assigned = assign_waiting_teams(teams, now=now)
    return {"lost": len(lost), "routed": routed, "teams": len(teams), "assigned": assigned}
