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
share (rules, hours, teams, settings) is read once for the batch; ``ROUTE_CHUNK``
conversations at a time are locked, decided and written together (one transaction, a
few statements for them all), and the teams each chunk sent conversations to are drained
after it.

A routing task (`route_due`) takes along conversations still waiting for their own task
(``routed_at`` empty: a new one, or a reopened one, whose relay empties it), oldest first:
when the worker is behind, the tasks queued after it find their conversations routed and
skip them, so the batches grow with the backlog instead of the queue. Each chunk is
filled with them in its own transaction (FOR UPDATE SKIP LOCKED), so tasks running at
once in several processes take along different ones and never wait for each other.
Nothing is only in memory: a conversation is taken along only as long as its
``routed_at`` is empty, which a crash leaves empty, and its own task is still queued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.crypto_fields import secrets_of
from accounts.models import Membership, OfficialAccount, Team
from messaging.events import announce_conversation
from messaging.models import Conversation
from routing import rules
from routing.assignment import (
    HELD,
    assign_to,
    assign_waiting_teams,
    drain_teams,
    ensure_states,
    load_of,
    lock_states,
    transfer_waiting,
)
from routing.models import RoutingDecision
from routing.row_writes import update_rows
from routing.shared_reads import shared_reads

logger = logging.getLogger(__name__)

# A conversation open this long without being routed lost its task: the sweep routes it.
LOST_AFTER = timedelta(seconds=10)
SWEEP_BATCH = 500
# A routing task takes along at most this many conversations waiting for their own task.
TAKE_ALONG = 40
# A batch is routed this many conversations at a time, each chunk in one transaction;
# the queues a chunk filled are drained after it, so the first of a large batch is not
# assigned only at the batch's end.
ROUTE_CHUNK = 10


def _release_over_capacity(conversation_id: int, *, at: datetime) -> bool:
    """A reopened conversation goes back to the agent who held it, unless that would put
    them over capacity: then it is released into its queue. True when released. Kept,
    it counts as routed at ``at`` (its relay emptied ``routed_at``)."""
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
            if conversation.routed_at is None:
                conversation.routed_at = at
                conversation.save(update_fields=["routed_at"])
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


def route_due(conversation_ids: list[int], *, at: datetime | None = None,
              take_along: int = TAKE_ALONG) -> list[_Placed]:
    """What a routing task runs: its conversations that still wait for a route (another
    task may have taken them along), and up to ``take_along`` others that wait for theirs,
    oldest first, that no other task is routing at this moment. Answers what was
    placed."""
    return route_conversations(conversation_ids, at=at, due_only=True,
                               take_along=take_along)


def _waiting_for_route(conversations=None):  # noqa: ANN001, ANN202 (QuerySets)
    """Open, unassigned conversations (of ``conversations``, default all) never routed
    since they (re)opened, with no transfer waiting on them (index
    ``conversation_unrouted``)."""
    return (Conversation.objects if conversations is None else conversations).filter(
        status=Conversation.Status.OPEN, assignee__isnull=True, routed_at__isnull=True,
    ).exclude(transfer_waiting())


def route_conversations(conversation_ids: list[int], *, at: datetime | None = None,
                        due_only: bool = False, take_along: int = 0) -> list[_Placed]:
    """Route a batch (`route_conversation` for each, in order), ``ROUTE_CHUNK`` at a time:
    each chunk locked, decided and written in one transaction and a few statements, the
    brand's rules, hours and teams read once for the batch (`routing.shared_reads`), and
    the teams a chunk placed conversations in drained, oldest first, after it. A
    conversation that fails is logged and left to the sweep. Answers what was placed.

    ``due_only``: skip a conversation routed since it last (re)opened (another task took
    it along). ``take_along``: after these, route up to that many others still waiting
    for their own task (`_waiting_for_route`), oldest first, each chunk filled with them;
    one another task is routing at this moment is left to it (SKIP LOCKED), so tasks
    running at once take along different ones."""
    at = at or timezone.now()
    ids = list(dict.fromkeys(conversation_ids))
    rows = {pk: (status, assignee_id, routed_at) for pk, status, assignee_id, routed_at in
            Conversation.objects.filter(pk__in=ids).values_list(
                "pk", "status", "assignee_id", "routed_at")}
    if due_only:  # routed since it (re)opened: another task took it along
        ids = [pk for pk in ids if pk in rows and rows[pk][2] is None]
    held = {pk for pk in ids if pk in rows and rows[pk][0] in HELD and rows[pk][1] is not None}
    placed: list[_Placed] = []
    drained: set[int] = set()  # given by this batch's drains
    seen, left = set(ids), take_along
    with shared_reads(lasting=True):
        start = 0
        while start < len(ids) or left > 0:
            chunk = ids[start:start + ROUTE_CHUNK]
            start += len(chunk)
            for conversation_id in held.intersection(chunk):
                try:
                    _release_over_capacity(conversation_id, at=at)
                except Exception:
                    logger.exception("routing a conversation failed",
                                     extra={"conversation_id": conversation_id})
            fill = min(left, ROUTE_CHUNK - len(chunk))
            outcomes, along = _route_chunk(chunk, at=at, due_only=due_only, fill=fill,
                                           skip=seen)
            if fill and len(along) < fill and start >= len(ids):
                left = 0  # nobody else waits (or every other is being routed)
            left -= len(along)
            seen.update(along)
            placed += outcomes
            drained.update(_drain({p.conversation.team_id: p.conversation.team
                                   for p in outcomes
                                   if not p.taken and p.conversation.team_id is not None}))
    # Placed in a queue and not taken at once: say where it waits. One taken at once is
    # announced by its assignment alone, which names the team too: by this batch's drains
    # (known here) or by another task's meanwhile (asked).
    moved = [p for p in placed if not p.taken and p.conversation.team_id != p.team_before
             and p.conversation.pk not in drained]
    taken = set(Conversation.objects.filter(
        pk__in=[p.conversation.pk for p in moved], assignee__isnull=False,
    ).values_list("pk", flat=True)) if moved else set()
    for p in moved:
        if p.conversation.pk not in taken:
            announce_conversation("conversation.assigned", p.conversation)
    return placed


def _drain(teams: dict[int, Team]) -> list[int]:
    """Drain the queues a chunk just placed conversations in (their teams in memory);
    answers the pks of the conversations it assigned."""
    if not teams:
        return []
    try:
        return drain_teams(teams)
    except Exception:
        logger.exception("draining the team queues failed; the sweep drains them",
                         extra={"teams": sorted(teams)})
        return []


def _route_chunk(ids: list[int], *, at: datetime, due_only: bool, fill: int = 0,
                 skip: set[int] | None = None) -> tuple[list[_Placed], list[int]]:
    """`_route_together`; when that fails, each conversation again on its own (those it
    took along too), so that one that cannot be routed costs only itself. Answers what
    was placed and the conversations taken along."""
    along: list[int] = []
    try:
        return _route_together(ids, at=at, due_only=due_only, fill=fill, skip=skip,
                               along=along)
    except Exception:
        if len(ids) + len(along) == 1:
            logger.exception("routing a conversation failed",
                             extra={"conversation_id": [*ids, *along][0]})
            return [], along
        logger.warning("routing a chunk failed; its conversations one by one",
                       exc_info=True, extra={"conversations": [*ids, *along]})
        alone = [(pk, due_only) for pk in ids] + [(pk, True) for pk in along]
        return [p for pk, due in alone
                for p in _route_chunk([pk], at=at, due_only=due)[0]], along


# Never read to route: the account's platform secrets (each a decryption).
_SECRETS = secrets_of(OfficialAccount, through="channel_account")


def _route_together(ids: list[int], *, at: datetime, due_only: bool, fill: int,
                    skip: set[int] | None, along: list[int]) -> tuple[list[_Placed], list[int]]:
    """Decide and record where each conversation goes, in one transaction, and give one
    to its rule's agent when they can take it; the queue's drain is the batch's. With
    ``fill``, up to that many others waiting for their own task are taken along, oldest
    first, but none in ``skip`` nor one another task holds (their pks are put in
    ``along``). Skipped: one gone, resolved, held, or waiting on a transfer; with
    ``due_only`` one routed since it (re)opened."""
    with transaction.atomic():
        chosen = (Conversation.objects.select_related("follower", "customer",
                                                      "channel_account")
                  .defer(*_SECRETS))
        # Its own are waited for, in pk order (so two tasks never wait on each other);
        # those taken along never are.
        # Its own may wait on a transfer (read with them); those taken along were chosen
        # free of one.
        found = list(chosen.select_for_update(of=("self",)).filter(pk__in=ids)
                     .annotate(transfer_waiting=transfer_waiting())
                     .order_by("pk")) if ids else []
        waiting = {c.pk for c in found if c.transfer_waiting}
        if fill:
            taken = list(_waiting_for_route(chosen).exclude(pk__in=[*ids, *(skip or ())])
                         .order_by("opened_at", "pk")
                         .select_for_update(of=("self",), skip_locked=True)[:fill])
            along.extend(c.pk for c in taken)
            found += taken
            ids = [*ids, *along]
        position = {pk: n for n, pk in enumerate(ids)}
        routable = sorted(
            (c for c in found if c.status != Conversation.Status.RESOLVED
             and c.assignee_id is None and not (due_only and c.routed_at is not None)
             and c.pk not in waiting), key=lambda c: position[c.pk])
        facts = rules.facts_for_many(routable, at=at)
        placed = [_decide(conversation, facts[conversation.pk], at=at)
                  for conversation in routable]
        update_rows([p.conversation for p in placed], ["team", "language", "routed_at"])
        RoutingDecision.objects.bulk_create([p.record for p in placed])
    for p in placed:
        agent = p.record.agent
        p.taken = agent is not None and assign_to(
            conversation_id=p.conversation.pk, membership_id=agent.pk,
            reason_steps=[{"step": "rule_agent", "rule": p.record.rule_id}],
        )
    return placed, along


def _decide(conversation: Conversation, facts: rules.Facts, *, at: datetime) -> _Placed:
    """The rules' decision for one conversation, made on the row (not yet saved) and as
    the record to write."""
    decision = rules.decide(facts)
    team_before = conversation.team_id
    conversation.team = decision.team
    if conversation.language in ("", "unknown"):
        conversation.language = decision.language
    conversation.routed_at = at
    steps = list(decision.steps)
    if decision.team is None:
        kind = RoutingDecision.Kind.QUEUED
        steps.append({"step": "queue", "why": "no_team"})
    elif decision.overflowed_from is not None:
        kind = RoutingDecision.Kind.OVERFLOWED
    else:
        kind = RoutingDecision.Kind.ROUTED
    record = RoutingDecision(
        brand_id=conversation.brand_id, conversation=conversation, kind=kind,
        rule=decision.rule, rule_name=decision.rule.name if decision.rule else "",
        language=decision.language, account_id=conversation.handling_account_id,
        team=decision.team, agent=decision.agent, steps=steps,
    )
    return _Placed(record, conversation, team_before, taken=False)


def routing_sweep(*, now: datetime | None = None) -> dict:
    """The safety net: route open, unassigned conversations not routed since they
    (re)opened, whose follower last wrote ``LOST_AFTER`` ago (their task was lost), then
    drain every team queue that has waiting conversations (a team without a free online
    member costs one query)."""
    now = now or timezone.now()
    lost = list(_waiting_for_route().filter(last_message_at__lte=now - LOST_AFTER)
                .order_by("opened_at", "pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    routed = len(route_conversations(lost, due_only=True)) if lost else 0
    teams = sorted(set(Conversation.objects.filter(
        status=Conversation.Status.OPEN, assignee__isnull=True, team__isnull=False,
    ).values_list("team_id", flat=True)))
    with shared_reads():
        assigned = assign_waiting_teams(teams, now=now)
    return {"lost": len(lost), "routed": routed, "teams": len(teams), "assigned": assigned}
