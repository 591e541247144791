"""What routing does when the apps below it announce something (`accounts.events`):
place new conversations, drain queues, follow transfers' QR scans."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from accounts import events
from accounts.models import Membership
from messaging.task_batches import batch_submit

logger = logging.getLogger(__name__)

# -- assignment --------------------------------------------------------------------------

# Placing a conversation is queued at once when this process queued none in the last
# ROUTE_WITHIN seconds, else within them (a leading batch, messaging.task_batches): a
# quiet process adds no wait, a busy one sends a routing task at most every 0.25 s, and
# since each task takes along what waits for the others' (routing.engine.route_due), four
# busy web processes start one about every 60 ms. A routing task costs the worker some
# 25 ms of CPU plus 1-2 ms per conversation, so the window trades CPU for waiting; at
# 100/s (bench/routing.py, 2026-12-04): 0.15 s gave 532 tasks for 2,000 conversations and
# 5.9 ms of the worker's CPU each, 0.25 s 324 and 5.3 ms, 0.4 s 204 and 5.0 ms, 0.6 s 140
# and 4.5 ms, where the p95 to assignment was best at 0.15-0.25 s and worst at 0.6 s.
ROUTE_WITHIN = 0.25


def route_relay(name: str, payload: dict) -> None:
    """A new or reopened conversation: route it in a task (`routing.engine`), batched per
    process like the console's push; a lost batch is the sweep's. A reopened one waits for
    a route again (``routed_at`` emptied): one nobody holds may be taken along by a task
    (`routing.engine.route_due`) and seen by the sweep if its task is lost; one an agent
    holds goes back to them unless that puts them over capacity."""
    from messaging.models import Conversation
    from routing.tasks_assignment import route_batch_task

    if name == "conversation.reopened":
        Conversation.objects.filter(pk=payload["conversation_id"]).update(routed_at=None)
    batch_submit(route_batch_task, payload["conversation_id"], within=ROUTE_WITHIN,
                 leading=True)


def _drain(*, teams: Sequence[int] = (), members: Sequence[int] = ()) -> None:
    """Drain these teams' queues and those of the teams these members belong to, in a
    task (the members' teams are read there, for the whole batch)."""
    from routing.tasks_assignment import drain_team_task

    for team_id in sorted(set(teams)):
        batch_submit(drain_team_task, team_id, within=ROUTE_WITHIN)
    for membership_id in sorted(set(members)):
        batch_submit(drain_team_task, {"member": membership_id}, within=ROUTE_WITHIN)


def resolved_drain(name: str, payload: dict) -> None:
    """A resolved conversation frees a slot of its holder: drain its team's queue and the
    holder's teams."""
    _drain(teams=[payload["team_id"]] if payload["team_id"] is not None else [],
           members=[payload["assignee_id"]] if payload["assignee_id"] is not None else [])


def member_drain(name: str, payload: dict) -> None:
    """An agent came online or changed capacity, languages or teams: drain their teams. An
    agent who went offline may hand their open conversations back first (a brand
    setting: `routing.assignment.return_on_offline`)."""
    from routing.tasks_assignment import agent_offline_task

    presence, before = payload["presence"], payload["previous_presence"]
    if payload["change"] == "presence" and presence == before:
        return
    if presence == Membership.Presence.OFFLINE and payload["change"] == "presence":
        batch_submit(agent_offline_task, payload["membership_id"], within=ROUTE_WITHIN)
    elif presence == Membership.Presence.ONLINE:
        _drain(members=[payload["membership_id"]])


def rules_follow_tag_rename(name: str, payload: dict) -> None:
    """Routing rules name the tags they match (``RoutingRule.tags``): a brand tag's new
    name replaces the old one in every rule of the brand that names it, so the rule goes
    on matching the same followers."""
    from routing.models import RoutingRule

    old, new = payload["old_name"], payload["name"]
    changed = []
    for rule in RoutingRule.objects.filter(brand_id=payload["brand_id"]):
        if old in (rule.tags or []):
            rule.tags = list(dict.fromkeys(new if t == old else t for t in rule.tags))
            changed.append(rule)
    RoutingRule.objects.bulk_update(changed, ["tags"])
    if changed:
        logger.info("routing rules follow a tag's new name",
                    extra={"tag_id": payload["tag_id"], "rules": len(changed)})


def subscribe() -> None:
    # -- assignment (routing.assignment / routing.engine) --
    events.subscribe("conversation.opened", route_relay)
    events.subscribe("conversation.reopened", route_relay)
    events.subscribe("conversation.resolved", resolved_drain)
    events.subscribe("member.changed", member_drain)
    events.subscribe("tag.renamed", rules_follow_tag_rename)
    # -- account-to-account paths (routing.account_paths) --
    from routing.account_paths import invitation_followed

    events.subscribe("follower.subscribed", invitation_followed)
    events.subscribe("follower.scanned", invitation_followed)
    # -- targets (routing.targets) --
    from routing import targets

    targets.subscribe()
    # -- mentions (routing.mentions) --
    from routing import mentions

    mentions.subscribe()
