"""Conversations idle past the brand's time are resolved automatically, with a note.

``RoutingSettings.auto_resolve_after_hours`` (0: never): an open or pending conversation
whose last message (either side's) is older is resolved, a system line in the thread
says so, a `RoutingDecision` ("auto_resolved") keeps it in the timeline, and
``conversation.resolved`` is announced with the cause "idle" (which drains the team's
queue: a slot came free). The follower's next message reopens it, as after any
resolution (`messaging.ingest`). Snoozed conversations are left alone: someone chose
when to look again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from accounts import events
from messaging.events import conversation_resolved_for
from messaging.ingest import system_note
from messaging.models import Conversation
from routing.models import RoutingDecision, RoutingSettings
from routing.overflow import brand_settings
from routing.targets import BATCH

logger = logging.getLogger(__name__)

IDLE_STATUSES = (Conversation.Status.OPEN, Conversation.Status.PENDING)
# Stored, not translated (as messaging's UNFOLLOWED_NOTE): the console renders system
# lines as written.
IDLE_NOTE = "Resolved automatically: no message for %(hours)d hours"
IDLE_CAUSE = "idle"


def idle_resolve(*, now: datetime, limit: int = BATCH) -> int:
    """Resolve the conversations idle past their brand's time; answers how many."""
    resolved = 0
    for settings in brand_settings():
        if not settings.auto_resolve_after_hours or resolved >= limit:
            continue
        resolved += _resolve_brand(settings, now=now, limit=limit - resolved)
    return resolved


def _resolve_brand(settings: RoutingSettings, *, now: datetime, limit: int) -> int:
    hours = settings.auto_resolve_after_hours
    with transaction.atomic():
        rows = list(
            Conversation.objects.filter(
                brand_id=settings.brand_id, status__in=IDLE_STATUSES,
                last_message_at__lt=now - timedelta(hours=hours),
            ).select_for_update(skip_locked=True, of=("self",))
            .order_by("last_message_at", "pk")[:limit]
        )
        for conversation in rows:
            conversation_idle_resolve(conversation=conversation, hours=hours, now=now)
    if rows:
        logger.info("idle conversations resolved",
                    extra={"brand_id": settings.brand_id, "count": len(rows),
                           "after_hours": hours})
    return len(rows)


def conversation_idle_resolve(*, conversation: Conversation, hours: int,
                              now: datetime) -> Conversation:
    """Resolve one idle conversation; the caller holds its row locked FOR UPDATE."""
    idle_since = conversation.last_message_at
    conversation.status = Conversation.Status.RESOLVED
    conversation.resolved_at = now
    conversation.waiting_since = None
    conversation.snoozed_until = None
    conversation.response_due_at = None
    conversation.save(update_fields=["status", "resolved_at", "waiting_since",
                                     "snoozed_until", "response_due_at"])
    system_note(conversation=conversation, text=IDLE_NOTE % {"hours": hours})
    RoutingDecision.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        kind=RoutingDecision.Kind.AUTO_RESOLVED, language=conversation.language,
        account_id=conversation.handling_account_id, team_id=conversation.team_id,
        agent_id=conversation.assignee_id,
        steps=[{"step": "idle", "hours": hours, "last_message_at": idle_since.isoformat()}],
    )
    events.announce("conversation.resolved",
                    conversation_resolved_for(conversation, cause=IDLE_CAUSE))
    return conversation
