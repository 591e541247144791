"""Background work of routing's assignment: placing new conversations, draining team
queues, the offline hand-back, and the sweep that catches what a lost task left
(`routing.engine`, `routing.assignment`).

Each task re-reads the rows and is idempotent: routing a conversation that is already
placed, or draining an empty queue, does nothing. acks_late with reject_on_worker_lost:
a worker killed mid-batch leaves the batch to be delivered again.
"""

from __future__ import annotations

import logging

from celery import shared_task

from routing import assignment, engine
from routing.shared_reads import shared_reads

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def route_batch_task(conversation_ids: list[int]) -> int:
    """Route the batch and what waits behind it (`engine.route_due`: shared reads, drains
    per team as it goes); answers how many were placed. One failing conversation is
    logged and left to the sweep."""
    return len(engine.route_due(conversation_ids))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def drain_team_task(items: list[int | dict]) -> int:
    """Drain each team's queue to its free online agents; answers how many were assigned.
    An item is a team's pk, or ``{"member": pk}`` for every team of that member (one who
    freed a slot or came online), read here for the batch rather than by the request."""
    team_ids = [item for item in items if isinstance(item, int)]
    members = [item["member"] for item in items if isinstance(item, dict)]
    if members:
        team_ids += assignment.teams_of_members(members)
    team_ids = sorted(set(team_ids))
    with shared_reads(lasting=True):  # the teams' settings, kept a while (shared_reads)
        try:
            return assignment.assign_waiting_teams(team_ids)
        except Exception:
            logger.exception("draining team queues failed; one by one now",
                             extra={"teams": team_ids})
        assigned = 0
        for team_id in dict.fromkeys(team_ids):
            try:
                assigned += assignment.assign_waiting(team_id=team_id)
            except Exception:
                logger.exception("draining a team queue failed", extra={"team_id": team_id})
    return assigned


@shared_task(acks_late=True, reject_on_worker_lost=True)
def agent_offline_task(membership_ids: list[int]) -> int:
    """Agents who went offline hand their open conversations back when their brand says
    so, and the queues they went to drain to whoever is free."""
    teams: set[int] = set()
    for membership_id in dict.fromkeys(membership_ids):
        teams.update(assignment.return_on_offline(membership_id=membership_id))
    with shared_reads(lasting=True):
        return assignment.assign_waiting_teams(sorted(teams))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def routing_sweep_task() -> dict:
    """Every 15 s (beat): route conversations a lost task left unrouted, drain queues
    with a free agent."""
    counts = engine.routing_sweep()
    if counts["lost"]:
        logger.warning("routing sweep routed %d conversations whose task was lost",
                       counts["lost"], extra=counts)
    logger.info("routing sweep: %(routed)d routed, %(assigned)d assigned from %(teams)d "
                "queues", counts, extra=counts)
    return counts
