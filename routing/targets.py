"""Response-time targets: when a waiting follower's answer is due, and the breaches.

A follower waits from ``Conversation.waiting_since`` (set by ingestion on their message,
cleared by a reply). The team holding the conversation says, in its targets
(`routing.models.TeamTargets`), within how many minutes of open time it is answered: the
first response while nobody has answered yet (``first_response_at`` empty), the next
response after that. Open time is the team's business hours, else the handling account's,
else round the clock (`accounts.business_hours.open_minutes_after`), so a message on a
Friday evening is due on Monday morning.

The due time is stored on the conversation (``response_due_at``) so the lists, the console
and claim-next read it without computing it: refreshed when a message arrives or a reply
goes out, when the conversation changes team or is resolved, and by the sweep for waits
whose due is missing. A wait still open at its due time is a breach: one
`ResponseBreach` per wait (conversation, kind, waiting_since), kept once by the unique
constraint however often the sweep looks.

``targets_sweep`` is the one periodic pass over all of it (`routing.tasks_targets`): due
times, breaches, overflow after waiting and the return (`routing.overflow`), idle
conversations (`routing.auto_resolve`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from accounts import events
from accounts.business_hours import open_minutes_after
from accounts.crypto_fields import secrets_of
from accounts.models import OfficialAccount
from messaging.models import Conversation
from routing.brand_settings import targets_for
from routing.models import ResponseBreach
from routing.rules import schedule_of
from routing.shared_reads import once, shared_reads

logger = logging.getLogger(__name__)

# A follower waits for an answer only in these; snoozed and resolved ones are put aside.
WAITING_STATUSES = (Conversation.Status.OPEN, Conversation.Status.PENDING)
# Rows looked at per pass and per sweep: a sweep runs every 30 seconds, so a backlog is
# worked off over a few of them rather than in one long transaction.
BATCH = 200
# Never read for a due time: the account's platform secrets (each a decryption).
_SECRETS = secrets_of(OfficialAccount, through="handling_account")
_ACCOUNT_SECRETS = secrets_of(OfficialAccount)
REFRESH_EVENTS = ("message.created", "conversation.assigned", "conversation.transferred",
                  "conversation.snoozed", "conversation.updated", "conversation.resolved")


@dataclass(frozen=True)
class Target:
    """The target a wait runs against, and when it is due (None: never, within a year)."""

    kind: str  # ResponseBreach.Kind
    minutes: int
    due: datetime | None


def _wait_target(conversation: Conversation) -> tuple[str, int] | None:
    """The kind of the conversation's current wait and its team's target for it, in
    minutes; None when nobody waits or the team has none (the team's row is not read)."""
    if (conversation.waiting_since is None or conversation.team_id is None
            or conversation.status not in WAITING_STATUSES):
        return None
    targets = once(("targets", conversation.team_id),
                   lambda: targets_for(conversation.team_id))
    if conversation.first_response_at is None:
        kind, minutes = ResponseBreach.Kind.FIRST, targets.first_response_minutes
    else:
        kind, minutes = ResponseBreach.Kind.NEXT, targets.next_response_minutes
    return None if minutes is None else (kind, minutes)


def target_of(conversation: Conversation) -> Target | None:
    """The target of the conversation's current wait; None when nobody waits or its team
    has no target for this kind of wait."""
    wait = _wait_target(conversation)
    if wait is None:
        return None
    kind, minutes = wait
    schedule = (schedule_of(team=conversation.team)
                or schedule_of(account=conversation.handling_account))
    return Target(kind, minutes, open_minutes_after(schedule, conversation.waiting_since,
                                                    minutes))


def due_at(*, conversation: Conversation, at: datetime | None = None) -> datetime | None:
    """The current wait's due time by its team's targets. It follows from the wait alone
    (when it began, the team, the hours), so ``at`` changes nothing; it is accepted so
    every routing function can be handed the caller's clock."""
    target = target_of(conversation)
    return target.due if target is not None else None


def due_flag(due: datetime | None, *, now: datetime, warn_minutes: int) -> str:
    """"overdue" once the due time has come, "near" within ``warn_minutes`` of it (the
    brand's ``warn_before_minutes``), else ""."""
    if due is None:
        return ""
    if now >= due:
        return "overdue"
    return "near" if due - now <= timedelta(minutes=warn_minutes) else ""


def near_breach(queryset: QuerySet[Conversation], *, now: datetime,
                warn_minutes: int) -> QuerySet[Conversation]:
    """The conversations of ``queryset`` whose wait is due within ``warn_minutes`` and not
    yet overdue."""
    return queryset.filter(status__in=WAITING_STATUSES, waiting_since__isnull=False,
                           response_due_at__gt=now,
                           response_due_at__lte=now + timedelta(minutes=warn_minutes))


# -- keeping the due time current -----------------------------------------------------------

def conversation_due_refresh(*, conversation_id: int) -> datetime | None:
    """Compute the conversation's due time again and store it if it changed. The write is
    conditional on the wait it was computed for (its start, team, first answer, status),
    so a reply that lands meanwhile is never overwritten by the due of a finished wait."""
    return conversations_due_refresh([conversation_id]).get(conversation_id)


def conversations_due_refresh(conversation_ids: list[int]) -> dict[int, datetime | None]:
    """`conversation_due_refresh` for a batch: the conversations read in one query, each
    team's targets and hours once (`routing.shared_reads`), a write only where the due
    time changed. Answers each found conversation's due time."""
    dues: dict[int, datetime | None] = {}
    with shared_reads():
        rows = list(Conversation.objects.filter(pk__in=conversation_ids))
        # The team's and the account's hours count only for a wait its team has a target
        # for: their rows are read (a statement each) for those conversations alone.
        timed = [conversation for conversation in rows if _wait_target(conversation)]
        if timed:
            prefetch_related_objects(timed, "team", Prefetch(
                "handling_account",
                queryset=OfficialAccount.objects.defer(*_ACCOUNT_SECRETS)))
        for conversation in rows:
            due = dues[conversation.pk] = due_at(conversation=conversation)
            if due != conversation.response_due_at:
                Conversation.objects.filter(
                    pk=conversation.pk, waiting_since=conversation.waiting_since,
                    team_id=conversation.team_id,
                    first_response_at=conversation.first_response_at,
                    status=conversation.status,
                ).update(response_due_at=due)
    return dues


def team_dues_reset(*, team_id: int) -> int:
    """Forget the due times of the team's waits, for the sweep to compute again: what the
    targets page calls after a team's targets or hours change."""
    return Conversation.objects.filter(team_id=team_id, response_due_at__isnull=False).update(
        response_due_at=None)


def _on_event(name: str, payload: dict) -> None:
    """A follower's message may start a wait and a reply ends one; an assignment or a
    transfer may change the team; a snooze puts the wait aside, a wake-up brings it back,
    a resolution ends it. Notes and system lines change nothing."""
    if name == "message.created" and payload["direction"] not in ("in", "out"):
        return
    from messaging.task_batches import batch_submit
    from routing.tasks_targets import due_refresh_batch_task, dues_refresh

    batch_submit(due_refresh_batch_task, payload["conversation_id"], after_task=dues_refresh)


def subscribe() -> None:
    for name in REFRESH_EVENTS:
        events.subscribe(name, _on_event)


def dues_fill(*, now: datetime, limit: int = BATCH) -> int:
    """Waits whose due time is missing although their team has a target for them (an
    event was lost, a team's targets changed): computed and stored. Answers how many got
    one."""
    missing = Conversation.objects.filter(
        status__in=WAITING_STATUSES, waiting_since__isnull=False, team__isnull=False,
        response_due_at__isnull=True,
    ).filter(
        Q(first_response_at__isnull=True, team__targets__first_response_minutes__isnull=False)
        | Q(first_response_at__isnull=False,
            team__targets__next_response_minutes__isnull=False)
    )
    filled = 0
    with transaction.atomic():
        rows = list(missing.select_related("team", "handling_account").defer(*_SECRETS)
                    .select_for_update(skip_locked=True, of=("self",))
                    .order_by("waiting_since", "pk")[:limit])
        for conversation in rows:
            due = due_at(conversation=conversation, at=now)
            if due is not None:
                conversation.response_due_at = due
                conversation.save(update_fields=["response_due_at"])
                filled += 1
    return filled


# -- breaches -----------------------------------------------------------------------------

def _breach_recorded() -> Exists:
    return Exists(ResponseBreach.objects.filter(conversation_id=OuterRef("pk"),
                                                waiting_since=OuterRef("waiting_since")))


def breaches_record(*, now: datetime, limit: int = BATCH) -> int:
    """Record a breach for every wait still open at its due time, once per wait; a due
    time that no longer holds (the wait ended, the target changed) is corrected instead.
    Answers how many breaches were recorded."""
    overdue = (Conversation.objects.alias(breach_recorded=_breach_recorded())
               .filter(response_due_at__lte=now)
               .exclude(waiting_since__isnull=False, status__in=WAITING_STATUSES,
                        breach_recorded=True))
    recorded = 0
    with transaction.atomic():
        rows = list(overdue.select_related("team", "handling_account").defer(*_SECRETS)
                    .select_for_update(skip_locked=True, of=("self",))
                    .order_by("response_due_at", "pk")[:limit])
        for conversation in rows:
            target = target_of(conversation)
            due = target.due if target is not None else None
            if due != conversation.response_due_at:
                conversation.response_due_at = due
                conversation.save(update_fields=["response_due_at"])
            if target is None or due is None or due > now:
                continue
            recorded += _breach(conversation, target)
    return recorded


def _breach(conversation: Conversation, target: Target) -> int:
    """Record the breach of this wait (the caller holds the conversation locked); 0 when
    it is recorded already."""
    _row, created = ResponseBreach.objects.get_or_create(
        conversation=conversation, kind=target.kind,
        waiting_since=conversation.waiting_since,
        defaults={"brand_id": conversation.brand_id,
                  "account_id": conversation.handling_account_id,
                  "team_id": conversation.team_id, "assignee_id": conversation.assignee_id,
                  "target_minutes": target.minutes, "due_at": target.due},
    )
    if not created:
        return 0
    logger.info(
        "response target breached",
        extra={"brand_id": conversation.brand_id, "conversation_id": conversation.pk,
               "kind": target.kind, "team_id": conversation.team_id,
               "assignee_id": conversation.assignee_id, "target_minutes": target.minutes,
               "due_at": target.due.isoformat()},
    )
    return 1


# -- the sweep ------------------------------------------------------------------------------

def targets_sweep(*, now: datetime | None = None) -> dict:
    """One pass of everything time moves on: missing due times, breaches, overflow after
    waiting and the return to the local team, idle conversations. Each step takes a
    bounded batch, skipping rows someone else holds; answers the counts (None for a step
    that failed, logged)."""
    from routing import auto_resolve, overflow

    now = now or timezone.now()
    steps = {
        "dues": dues_fill,
        "breaches": breaches_record,
        "overflowed": overflow.overflow_after_waiting,
        "returned": overflow.overflow_return,
        "auto_resolved": auto_resolve.idle_resolve,
    }
    counts: dict[str, int | None] = {}
    for name, step in steps.items():
        # One failing step (None in the answer) must not keep the others from running.
        try:
            counts[name] = step(now=now)
        except Exception:
            logger.exception("targets sweep step failed", extra={"step": name})
            counts[name] = None
    logger.info("targets sweep", extra=counts)
    return counts
