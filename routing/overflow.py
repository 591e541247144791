"""Overflow after waiting, and the way back.

With the brand's overflow set to "after waiting" (`RoutingSettings.overflow`), routing
first leaves a conversation with the team its rules chose. If nobody has taken it after
``overflow_after_minutes`` and that team cannot take it now (it is closed, or nobody
online speaks the follower's language), it moves to a central team that is open and
speaks it (`routing.rules.central_team_for`), and that team's queue is drained. A team
that is open with speakers who are merely busy keeps its queue: overflow is for the hours
and languages a local team lacks, not for a busy afternoon.

With ``overflow_return`` on, a conversation still waiting in the central queue whose
latest routing decision is that overflow (here or at once, by the rules) goes back to the
team it came from as soon as that team is open and an online speaker there has room; no
more go back than there is room for, oldest first.

Each move records a `RoutingDecision` ("overflowed" or "returned", with why) and
announces ``conversation.transferred`` (by nobody).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from itertools import groupby

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery

from accounts import events
from accounts.models import Brand, Membership, OfficialAccount, Team
from messaging.events import conversation_transferred_for
from messaging.models import Conversation
from routing.assignment import transfer_waiting
from routing.models import RoutingDecision, RoutingSettings
from routing.rules import central_team_for, speaks, team_has_online_speaker, team_is_open
from routing.targets import BATCH, due_at

logger = logging.getLogger(__name__)


def brand_settings() -> list[RoutingSettings]:
    """Every brand's routing settings, the defaults for a brand that never changed them
    (without creating rows: the sweep only reads)."""
    rows = {row.brand_id: row for row in RoutingSettings.objects.all()}
    return [rows.get(pk) or RoutingSettings(brand_id=pk)
            for pk in Brand.objects.order_by("pk").values_list("pk", flat=True)]


def _unassigned(brand_id: int) -> QuerySet[Conversation]:
    return (Conversation.objects.filter(brand_id=brand_id, status=Conversation.Status.OPEN,
                                        assignee__isnull=True, team__isnull=False)
            .exclude(transfer_waiting()))


def _move(conversation: Conversation, *, to: Team, kind: str, steps: list[dict]) -> None:
    """Put the conversation (locked by the caller) in ``to``'s queue, record why and
    announce it."""
    previous_team_id = conversation.team_id
    conversation.team = to
    conversation.response_due_at = due_at(conversation=conversation)
    conversation.save(update_fields=["team", "response_due_at"])
    RoutingDecision.objects.create(
        brand_id=conversation.brand_id, conversation=conversation, kind=kind,
        language=conversation.language, account_id=conversation.handling_account_id,
        team=to, steps=steps,
    )
    events.announce("conversation.transferred", conversation_transferred_for(
        conversation, previous_handling_account_id=conversation.handling_account_id,
        previous_team_id=previous_team_id, previous_assignee_id=None, by_membership_id=None,
    ))


def _drain(team_ids: set[int], now: datetime) -> None:
    from routing.assignment import assign_waiting

    for team_id in sorted(team_ids):
        assign_waiting(team_id=team_id, now=now)


# -- overflow after waiting ---------------------------------------------------------------

def why_overflow(team: Team, *, account: OfficialAccount, language: str,
                 at: datetime) -> str:
    """Why ``team`` cannot take a conversation in ``language`` now: "closed",
    "no_speaker", or "" when it can (its agents may just be busy)."""
    is_open, _reason = team_is_open(team, account=account, at=at)
    if not is_open:
        return "closed"
    if not team_has_online_speaker(team, language or "unknown"):
        return "no_speaker"
    return ""


def overflow_after_waiting(*, now: datetime, limit: int = BATCH) -> int:
    """Move conversations that waited past their brand's ``overflow_after_minutes`` in a
    local team that cannot take them to a central team that can; answers how many moved."""
    moved = 0
    for settings in brand_settings():
        if settings.overflow != RoutingSettings.Overflow.AFTER or moved >= limit:
            continue
        moved += _overflow_brand(settings, now=now, limit=limit - moved)
    return moved


def _overflow_brand(settings: RoutingSettings, *, now: datetime, limit: int) -> int:
    after = settings.overflow_after_minutes
    waited = _unassigned(settings.brand_id).filter(
        team__is_central=False, waiting_since__lte=now - timedelta(minutes=after))
    # Judged per (team, account, language), not per row: a busy team's old conversations
    # must not fill every batch and keep a closed team's from ever moving.
    groups = (waited.order_by().values_list("team_id", "handling_account_id", "language")
              .distinct())
    moved, drain = 0, set()
    for team_id, account_id, language in groups:
        if moved >= limit:
            break
        team = Team.objects.get(pk=team_id)
        account = OfficialAccount.objects.get(pk=account_id)
        why = why_overflow(team, account=account, language=language, at=now)
        if not why:
            continue
        central = central_team_for(brand_id=settings.brand_id, language=language or "unknown",
                                   at=now)
        if central is None:
            logger.info("no central team can take the overflow",
                        extra={"brand_id": settings.brand_id, "team_id": team_id,
                               "language": language, "why": why})
            continue
        with transaction.atomic():
            rows = list(waited.filter(team_id=team_id, handling_account_id=account_id,
                                      language=language)
                        .select_for_update(skip_locked=True, of=("self",))
                        .order_by("waiting_since", "pk")[:limit - moved])
            for conversation in rows:
                minutes = int((now - conversation.waiting_since).total_seconds() // 60)
                _move(conversation, to=central, kind=RoutingDecision.Kind.OVERFLOWED, steps=[{
                    "step": "overflow", "why": why, "from": team.pk, "from_name": team.name,
                    "to": central.pk, "to_name": central.name, "waited_minutes": minutes,
                    "after_minutes": after,
                }])
        moved += len(rows)
        if rows:
            drain.add(central.pk)
            logger.info("overflowed after waiting",
                        extra={"brand_id": settings.brand_id, "from_team_id": team.pk,
                               "to_team_id": central.pk, "why": why, "count": len(rows)})
    _drain(drain, now)
    return moved


# -- the return -----------------------------------------------------------------------------

def room_for(team: Team, language: str) -> int:
    """Free slots among the team's online members who speak ``language``."""
    from routing.assignment import load_of

    members = Membership.objects.filter(teams=team, presence=Membership.Presence.ONLINE)
    return sum(max(member.capacity - load_of(member.pk), 0) for member in members
               if speaks(list(member.languages or []), language or "unknown"))


def _overflowed_from(steps: object) -> int | None:
    """The team an "overflowed" decision took the conversation from (its overflow step's
    ``from``, as the rules and this module write it)."""
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict) and step.get("step") == "overflow" and step.get("from"):
            return int(step["from"])
    return None


def _group(pair: tuple[Conversation, int]) -> tuple[int, int, str]:
    conversation, origin_id = pair
    return origin_id, conversation.handling_account_id, conversation.language


def overflow_return(*, now: datetime, limit: int = BATCH) -> int:
    """Send conversations waiting in a central queue back to the local team they
    overflowed from, once it is open and has room; answers how many went back."""
    returned = 0
    for settings in brand_settings():
        if not settings.overflow_return or returned >= limit:
            continue
        returned += _return_brand(settings, now=now, limit=limit - returned)
    return returned


def _return_brand(settings: RoutingSettings, *, now: datetime, limit: int) -> int:
    latest = RoutingDecision.objects.filter(conversation_id=OuterRef("pk")).order_by(
        "-created_at", "-pk")
    waiting = (_unassigned(settings.brand_id).filter(team__is_central=True)
               .annotate(last_kind=Subquery(latest.values("kind")[:1]),
                         last_team=Subquery(latest.values("team_id")[:1]),
                         last_steps=Subquery(latest.values("steps")[:1]))
               .filter(last_kind=RoutingDecision.Kind.OVERFLOWED)
               .order_by("waiting_since", "pk"))
    found = [(c, _overflowed_from(c.last_steps)) for c in waiting[:limit * 5]
             if c.last_team == c.team_id]
    found = [(c, origin) for c, origin in found if origin is not None]
    returned, drain = 0, set()
    for (origin_id, account_id, language), pairs in groupby(sorted(found, key=_group),
                                                            key=_group):
        if returned >= limit:
            break
        origin = Team.objects.filter(pk=origin_id, brand_id=settings.brand_id,
                                     is_central=False).first()
        if origin is None:
            continue
        account = OfficialAccount.objects.get(pk=account_id)
        if not team_is_open(origin, account=account, at=now)[0]:
            continue
        room = min(room_for(origin, language), limit - returned)
        if room <= 0:
            continue
        central_of = {c.pk: c.team_id for c, _origin in pairs}
        with transaction.atomic():
            # Re-read under the lock: someone may have taken or moved one meanwhile.
            rows = [c for c in Conversation.objects.filter(
                pk__in=central_of, status=Conversation.Status.OPEN, assignee__isnull=True)
                .select_related("team").select_for_update(skip_locked=True, of=("self",))
                .order_by("waiting_since", "pk") if c.team_id == central_of[c.pk]][:room]
            for conversation in rows:
                central = conversation.team
                _move(conversation, to=origin, kind=RoutingDecision.Kind.RETURNED, steps=[{
                    "step": "return", "from": central.pk, "from_name": central.name,
                    "to": origin.pk, "to_name": origin.name,
                }])
        returned += len(rows)
        if rows:
            drain.add(origin.pk)
            logger.info("returned to the local team",
                        extra={"brand_id": settings.brand_id, "team_id": origin.pk,
                               "count": len(rows)})
    _drain(drain, now)
    return returned
