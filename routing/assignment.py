"""Who holds a conversation: fair assignment within capacity, the team queues, claim next,
a manager's assignment, and the hand-back when an agent goes offline.

An agent holds the conversations assigned to them that are open, pending or snoozed
(`load_of`); their membership's capacity caps that, on every path. The agent's
`AgentState` row is the lock that serialises assignments to them: every path locks the
states it may give to (in pk order, so two paths never wait on each other in a circle),
then counts, then takes conversations. A path that looks for work takes conversations
with SKIP LOCKED and never waits for one, so two agents taking the same conversation at
once never both get it, and the one that lost moves on to the next.

A team's queue is its open, unassigned conversations, oldest wait first (`waiting_since`,
then `opened_at`, then pk). `assign_waiting` drains it to the team's online members who
speak the conversation's language and have room, by the brand's strategy
(`RoutingSettings.strategy`): least busy (fewest held; ties: the one who waited longest
for a conversation, then the earlier member) or round robin (the one who waited longest).
A conversation a transfer is waiting on stays where it is: its receiver answers first.

Every assignment writes a `RoutingDecision` ("assigned", the strategy, the load and the
capacity) and announces ``conversation.assigned``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import Conflict, InvalidInput, RoleRequired
from accounts.models import Membership, Role, Team
from accounts.scope import Scope, access
from followers.window import LONG_WINDOW
from messaging.errors import NoAssignee
from messaging.events import announce_conversation
from messaging.models import Conversation
from messaging.selectors import conversation_queryset
from messaging.visibility import Place, may_hold
from routing.brand_settings import settings_for
from routing.models import AgentState, RoutingDecision, RoutingSettings, Transfer
from routing.row_writes import update_rows
from routing.rules import speaks
from routing.shared_reads import once

__all__ = [
    "assign_to",
    "assign_waiting",
    "assign_waiting_teams",
    "capacity_sentence",
    "conversation_assign",
    "conversation_claim_next",
    "drain_teams",
    "ensure_states",
    "load_of",
    "lock_states",
    "return_on_offline",
    "team_queue",
    "transfer_waiting",
]

logger = logging.getLogger(__name__)

HELD = (Conversation.Status.OPEN, Conversation.Status.PENDING, Conversation.Status.SNOOZED)
# Claim next offers first a conversation whose follower's 48-hour window closes this soon.
WINDOW_CLOSING = timedelta(minutes=60)
QUEUE_ORDER = (F("waiting_since").asc(nulls_last=True), F("opened_at").asc(),
               F("pk").asc())
STRATEGY_MANUAL = "manual"
STRATEGY_CLAIM = "claim_next"
STRATEGY_RULE = "rule"


def load_of(membership_id: int) -> int:
    """How many conversations the member holds: assigned to them, open, pending or
    snoozed."""
    return Conversation.objects.filter(assignee_id=membership_id, status__in=HELD).count()


def _loads(membership_ids: list[int]) -> dict[int, int]:
    rows = (Conversation.objects.filter(assignee_id__in=membership_ids, status__in=HELD)
            .values("assignee_id").annotate(n=Count("pk")))
    held = {row["assignee_id"]: row["n"] for row in rows}
    return {pk: held.get(pk, 0) for pk in membership_ids}


def _speaks(languages: list[str], language: str) -> bool:
    return speaks(list(languages or []), language or "unknown")


def _name(member: Membership) -> str:
    return member.display_name or member.user.get_short_name() or member.user.email


def capacity_sentence(member: Membership, load: int) -> str:
    return _("%(name)s holds %(load)d of %(capacity)d conversations.") % {
        "name": _name(member), "load": load, "capacity": member.capacity}


def teams_of_members(membership_ids: list[int]) -> list[int]:
    """The pks of the teams these members belong to, in one statement."""
    return sorted(set(Membership.teams.through.objects.filter(
        membership_id__in=membership_ids).values_list("team_id", flat=True)))


def ensure_states(membership_ids: list[int]) -> None:
    """Create missing state rows before locking: a row that does not exist cannot be
    locked, and two creators would race outside any lock."""
    AgentState.objects.bulk_create(
        [AgentState(membership_id=pk) for pk in membership_ids], ignore_conflicts=True)


def lock_states(membership_ids: list[int]) -> dict[int, AgentState]:
    """The members' state rows, locked FOR UPDATE in pk order (the caller holds a
    transaction)."""
    rows = AgentState.objects.select_for_update().filter(
        membership_id__in=membership_ids).order_by("pk")
    return {row.membership_id: row for row in rows}


def transfer_waiting() -> Exists:
    """Whether a transfer waits on the outer conversation (its receiver answers first)."""
    return Exists(Transfer.objects.filter(
        conversation_id=OuterRef("pk"),
        status__in=[Transfer.Status.PENDING, Transfer.Status.INVITED]))


def _give(conversation: Conversation, member: Membership, state: AgentState, *, load: int,
          strategy: str, steps: list[dict] | None = None, now: datetime | None = None) -> None:
    """Assign; the caller holds the member's state and the conversation locked, and has
    checked the room (``load`` is what the member held before)."""
    _save_gives([_take(conversation, member, state, load=load, strategy=strategy,
                       steps=steps, now=now)])


def _take(conversation: Conversation, member: Membership, state: AgentState, *, load: int,
          strategy: str, steps: list[dict] | None = None, now: datetime | None = None,
          ) -> _Given:
    """`_give` on the rows in memory (the next choice of a drain reads them); answers
    what `_save_gives` writes."""
    now = now or timezone.now()
    conversation.assignee = member
    # Never back in time nor level with the member's last: the fair choice's tie-break.
    previous = state.last_assigned_at
    state.last_assigned_at = (now if previous is None or now > previous
                              else previous + timedelta(microseconds=1))
    state.assigned_total += 1
    return _Given(state, RoutingDecision(
        brand_id=conversation.brand_id, conversation=conversation,
        kind=RoutingDecision.Kind.ASSIGNED, language=conversation.language,
        account_id=conversation.handling_account_id, team_id=conversation.team_id,
        agent=member,
        steps=[*(steps or []), {"step": "assign", "strategy": strategy, "load": load + 1,
                                "capacity": member.capacity}],
    ))


@dataclass
class _Given:
    state: AgentState
    record: RoutingDecision


def _save_gives(given: list[_Given]) -> None:
    """Write what `_take` did, a statement per table for them all, and announce each
    ``conversation.assigned``."""
    if not given:
        return
    update_rows([g.record.conversation for g in given], ["assignee"])
    states = {g.state.pk: g.state for g in given}
    update_rows(list(states.values()), ["last_assigned_at", "assigned_total"])
    RoutingDecision.objects.bulk_create([g.record for g in given])
    for g in given:
        announce_conversation("conversation.assigned", g.record.conversation)


# -- fair choice ------------------------------------------------------------------------


@dataclass
class _Candidate:
    member: Membership
    state: AgentState
    load: int

    @property
    def room(self) -> int:
        return self.member.capacity - self.load


_NEVER = datetime.min.replace(tzinfo=UTC)  # never assigned: has waited longest


def _waited(candidate: _Candidate) -> datetime:
    return candidate.state.last_assigned_at or _NEVER


def _pick(candidates: list[_Candidate], strategy: str) -> _Candidate | None:
    free = [c for c in candidates if c.room > 0]
    if not free:
        return None
    if strategy == RoutingSettings.Strategy.ROUND_ROBIN:
        return min(free, key=lambda c: (_waited(c), c.member.pk))
    return min(free, key=lambda c: (c.load, _waited(c), c.member.pk))


# -- the queue --------------------------------------------------------------------------


def _queued() -> QuerySet[Conversation]:
    """Every team's waiting conversations: open, unassigned, no transfer waiting on
    them."""
    return (Conversation.objects.filter(status=Conversation.Status.OPEN,
                                        assignee__isnull=True)
            .exclude(transfer_waiting()))


def team_queue(team_id: int) -> QuerySet[Conversation]:
    """The team's waiting conversations, oldest wait first."""
    return _queued().filter(team_id=team_id).order_by(*QUEUE_ORDER)


def _queues(slots: dict[int, int], spoken: dict[int, set[str] | None],
            ) -> dict[int, tuple[list[Conversation], bool]]:
    """Per team, its oldest waiting conversations, as many as its free ``slots``, in
    ``spoken`` languages (None: any), locked (the caller holds a transaction), in two
    statements for all the teams: the pks of the first twice ``slots`` of each team, by a
    window; then those rows locked, skipping one someone else is taking at this instant,
    and each team's first ``slots`` of them kept (the margin stands in for the skipped).
    With each team's list, whether one was skipped so."""
    if not slots:
        return {}
    wanted = Q()
    for team_id in slots:
        languages = spoken.get(team_id)
        wanted |= (Q(team_id=team_id) if languages is None else
                   Q(team_id=team_id, language__in=[*sorted(languages), "unknown", ""]))
    nth = Window(RowNumber(), partition_by=[F("team_id")], order_by=list(QUEUE_ORDER))
    first = {pk: team_id for pk, team_id, n in _queued().filter(wanted).annotate(nth=nth)
             .filter(nth__lte=2 * max(slots.values()))
             .values_list("pk", "team_id", "nth") if n <= 2 * slots[team_id]}
    read = Counter(first.values())
    locked: dict[int, list[Conversation]] = {}
    if first:
        for conversation in (_queued().filter(pk__in=list(first)).order_by(*QUEUE_ORDER)
                             .select_for_update(skip_locked=True, of=("self",))):
            locked.setdefault(conversation.team_id, []).append(conversation)
    return {team_id: (locked.get(team_id, [])[:slots[team_id]],
                      len(locked.get(team_id, [])) < read[team_id]) for team_id in slots}


def assign_waiting(*, team_id: int | None, now: datetime | None = None) -> int:
    """Drain the team's queue, oldest first, to its online members who speak each
    conversation's language and have room; answers how many were assigned. A conversation
    nobody free speaks for keeps its place while younger ones go. The account queues
    (no team) are not drained: they wait for someone to claim them."""
    return assign_waiting_teams([team_id] if team_id is not None else [], now=now)


def assign_waiting_teams(team_ids: list[int], *, now: datetime | None = None) -> int:
    """`assign_waiting` for several teams at once (a batch of routes, a batch of
    resolutions): the queues, members, locks and loads of all of them read together, each
    team's queue then drained as `assign_waiting` drains it. A member of two of the teams
    counts their load once across both."""
    wanted = sorted(set(team_ids) - {None})
    if not wanted:
        return 0
    # Most drains (a resolve, an agent back online) find the queues empty: one query.
    waiting = set(Conversation.objects.filter(
        team_id__in=wanted, status=Conversation.Status.OPEN, assignee__isnull=True,
    ).exclude(transfer_waiting()).order_by().values_list("team_id", flat=True).distinct())
    if not waiting:
        return 0
    return len(drain_teams(Team.objects.in_bulk(sorted(waiting)), now=now))


def drain_teams(teams: dict[int, Team], *, now: datetime | None = None) -> list[int]:
    """`assign_waiting_teams` for ``teams`` (by pk) known to have waiting conversations:
    the routing engine's, which has just placed conversations in them and holds their
    rows, so neither is read again. Answers the pks of the conversations it assigned."""
    online, stateless = _online_members(list(teams))
    if not online:
        return []
    members = sorted({pk for pks in online.values() for pk in pks})
    if stateless:
        ensure_states(sorted(stateless))
    strategies = {pk: once(("strategy", team.brand_id),
                           lambda team=team: settings_for(team.brand_id).strategy)
                  for pk, team in teams.items()}
    assigned: list[int] = []
    active, stamps = sorted(online), _stamps(now)
    while active:
        done, more = _drain_once([teams[pk] for pk in active], members, strategies, stamps)
        assigned += [pk for pks in done.values() for pk in pks]
        # Another pass only where this one gave some and a slot may still find one.
        active = [pk for pk in active if done.get(pk) and more.get(pk)]
    return assigned


def _online_members(team_ids: list[int]) -> tuple[dict[int, list[int]], set[int]]:
    """Per team, its online members, by pk (teams without one left out); and those of them
    who have no state row yet (`ensure_states`)."""
    online: dict[int, list[int]] = {}
    stateless: set[int] = set()
    for team_id, member_id, state_id in (Membership.teams.through.objects.filter(
            team_id__in=team_ids, membership__presence=Membership.Presence.ONLINE)
            .order_by("membership_id")
            .values_list("team_id", "membership_id", "membership__routing_state")):
        online.setdefault(team_id, []).append(member_id)
        if state_id is None:
            stateless.add(member_id)
    return online, stateless


def _stamps(now: datetime | None) -> Iterator[datetime]:
    """The assignment times of one drain, strictly increasing: `_pick` breaks a tie of
    loads by who was assigned longest ago, so two gives of one pass must not share a
    time, or the tie would fall to the lower pk every time (an unfair spread)."""
    last = None
    while True:
        stamp = now or timezone.now()
        if last is not None and stamp <= last:
            stamp = last + timedelta(microseconds=1)
        last = stamp
        yield stamp


def _drain_once(teams: list[Team], member_ids: list[int], strategies: dict[int, str],
                stamps: Iterator[datetime]) -> tuple[dict[int, list[int]], dict[int, bool]]:
    """One pass over each team: as many of its oldest waiting conversations as its free
    members have room for, each to the fairest free speaker. Answers, per team, the pks
    of those assigned and whether another pass may find more."""
    done: dict[int, list[int]] = {}
    more: dict[int, bool] = {}
    records: list[_Given] = []
    with transaction.atomic():
        states = lock_states(member_ids)
        # Re-read under the locks, in one statement: presence, teams and capacity may have
        # changed meanwhile.
        members: dict[int, Membership] = {}
        in_team: dict[int, list[int]] = {}
        for row in (Membership.teams.through.objects.filter(
                team_id__in=[t.pk for t in teams], membership_id__in=member_ids,
                membership__presence=Membership.Presence.ONLINE)
                .select_related("membership").order_by("membership_id")):
            members.setdefault(row.membership_id, row.membership)
            in_team.setdefault(row.team_id, []).append(row.membership_id)
        loads = _loads(list(members))
        # One candidate per member, shared by their teams: a slot taken in one is gone in all.
        candidates = {pk: _Candidate(m, states[pk], loads[pk]) for pk, m in members.items()
                      if pk in states}
        free_of: dict[int, list[_Candidate]] = {}
        for team in teams:
            free = [candidates[pk] for pk in in_team.get(team.pk, ())
                    if pk in candidates and candidates[pk].room > 0]
            if free:
                free_of[team.pk] = free
            else:
                done[team.pk], more[team.pk] = [], False
        slots = {pk: sum(c.room for c in free) for pk, free in free_of.items()}
        queues = _queues(slots, {pk: ({code for c in free for code in c.member.languages}
                                      if all(c.member.languages for c in free) else None)
                                 for pk, free in free_of.items()})
        for team in teams:
            if team.pk not in free_of:
                continue
            free, (waiting, skipped) = free_of[team.pk], queues.get(team.pk, ([], False))
            given: list[int] = []
            for conversation in waiting:
                language = conversation.language or "unknown"
                chosen = _pick([c for c in free if _speaks(c.member.languages, language)],
                               strategies[team.pk])
                if chosen is None:
                    continue
                records.append(_take(conversation, chosen.member, chosen.state,
                                     load=chosen.load, strategy=strategies[team.pk],
                                     now=next(stamps)))
                chosen.load += 1
                given.append(conversation.pk)
            # Another pass may find more while a slot is left: this one read as many as
            # its slots (some nobody free speaks for), or some it read were being taken by
            # someone else meanwhile. With every slot filled it would find nobody free
            # (a slot freed since drains on its own trigger).
            done[team.pk] = given
            more[team.pk] = len(given) < slots[team.pk] and (
                len(waiting) == slots[team.pk] or (skipped and bool(given)))
        _save_gives(records)
    return done, more


def assign_to(*, conversation_id: int, membership_id: int, reason_steps: list[dict]) -> bool:
    """Give the conversation to this member (a rule's specific agent) if they are online,
    have room and may hold it, and it is still open and free; False otherwise (it then
    waits in its queue)."""
    ensure_states([membership_id])
    with transaction.atomic():
        state = lock_states([membership_id]).get(membership_id)
        member = Membership.objects.filter(
            pk=membership_id, presence=Membership.Presence.ONLINE).select_related("user").first()
        if state is None or member is None:
            return False
        conversation = (Conversation.objects.filter(
            pk=conversation_id, status=Conversation.Status.OPEN, assignee__isnull=True,
        ).exclude(transfer_waiting()).select_for_update(skip_locked=True, of=("self",))
            .first())
        if conversation is None or not may_hold(member, Place.of(conversation)):
            return False
        load = load_of(membership_id)
        if load >= member.capacity:
            return False
        _give(conversation, member, state, load=load, strategy=STRATEGY_RULE,
              steps=reason_steps)
    return True


# -- people's actions -------------------------------------------------------------------


def _lock(scope: Scope, conversation: Conversation) -> Conversation:
    return access(conversation_queryset(scope=scope).select_for_update(of=("self",)),
                  conversation.pk)


def conversation_assign(
    *, scope: Scope, conversation: Conversation, assignee: Membership | None
) -> Conversation:
    """Give the conversation to a member who may see it (`messaging.visibility`: they
    serve its handling account, belong to its team, or see the whole brand), or to nobody.
    Agents may only take a free conversation themselves or let go of their own; taking one
    from a colleague is for managers (or a transfer). A member at capacity is refused
    (409, saying how many they hold)."""
    if assignee is not None and assignee.brand_id != scope.brand_id:
        raise NoAssignee()
    if assignee is not None:
        ensure_states([assignee.pk])
    with transaction.atomic():
        state = lock_states([assignee.pk])[assignee.pk] if assignee is not None else None
        conversation = _lock(scope, conversation)
        if scope.role == Role.AGENT:
            me = scope.membership
            mine_or_free = conversation.assignee_id in (None, getattr(me, "pk", None))
            if me is None or not mine_or_free or (assignee is not None and assignee.pk != me.pk):
                raise RoleRequired()
        if assignee is not None and not may_hold(assignee, Place.of(conversation)):
            raise NoAssignee()
        if conversation.assignee_id == getattr(assignee, "pk", None):
            return conversation
        if assignee is None:
            conversation.assignee = None
            conversation.save(update_fields=["assignee"])
            announce_conversation("conversation.assigned", conversation)
            return conversation
        member = Membership.objects.select_related("user").get(pk=assignee.pk)
        load = load_of(member.pk)
        if conversation.status in HELD and load >= member.capacity:
            raise Conflict(capacity_sentence(member, load))
        _give(conversation, member, state, load=load, strategy=STRATEGY_MANUAL,
              steps=[{"step": "manual", "by": getattr(scope.membership, "pk", None)}])
    return conversation


def _urgent(*, now: datetime, warn_before_minutes: int) -> Q:
    """Close to its response target, or the follower's 48-hour window closes soon."""
    closing_from = now - LONG_WINDOW
    return (Q(response_due_at__lte=now + timedelta(minutes=warn_before_minutes))
            | Q(follower__subscribed=True,
                follower__window_opened_at__gt=closing_from,
                follower__window_opened_at__lte=closing_from + WINDOW_CLOSING))


def conversation_claim_next(*, scope: Scope, now: datetime | None = None) -> Conversation | None:
    """Take the next open, unassigned conversation of my queues (what I may see: my teams'
    and my accounts'): first one close to its response target or whose reply window is
    closing, then the longest waiting; None when they are empty. Rows another agent is
    taking at this instant are skipped, never waited for, so two agents never get the
    same one. At capacity: 409, saying how many I hold."""
    me = scope.membership
    if me is None:
        raise InvalidInput("only a member can claim a conversation")
    now = now or timezone.now()
    warn = settings_for(scope.brand_id).warn_before_minutes
    ensure_states([me.pk])
    with transaction.atomic():
        state = lock_states([me.pk])[me.pk]
        member = Membership.objects.select_related("user").get(pk=me.pk)
        load = load_of(me.pk)
        if load >= member.capacity:
            raise Conflict(_("You hold %(load)d of %(capacity)d conversations: resolve one "
                             "before you claim the next.") % {"load": load,
                                                               "capacity": member.capacity})
        urgent = _urgent(now=now, warn_before_minutes=warn)
        conversation = (
            conversation_queryset(scope=scope).filter(
                status=Conversation.Status.OPEN, assignee__isnull=True,
            )
            .exclude(transfer_waiting())
            .annotate(urgency=Case(When(urgent, then=Value(0)), default=Value(1),
                                   output_field=IntegerField()))
            .order_by("urgency", *QUEUE_ORDER)
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if conversation is None:
            return None
        _give(conversation, member, state, load=load, strategy=STRATEGY_CLAIM, now=now,
              steps=[{"step": "claim", "urgent": conversation.urgency == 0}])
    return conversation


# -- going offline ----------------------------------------------------------------------


def return_on_offline(*, membership_id: int) -> list[int]:
    """When the brand says so (`RoutingSettings.return_on_offline`), an agent who went
    offline hands their open conversations (not the snoozed or pending ones) back to their
    team queues; answers the teams to drain. Nothing changes if they are back online."""
    member = Membership.objects.filter(pk=membership_id).first()
    if member is None or not settings_for(member.brand_id).return_on_offline:
        return []
    ensure_states([membership_id])
    teams: set[int] = set()
    with transaction.atomic():
        lock_states([membership_id])
        member = Membership.objects.get(pk=membership_id)
        if member.presence != Membership.Presence.OFFLINE:
            return []
        held = Conversation.objects.filter(
            assignee_id=membership_id, status=Conversation.Status.OPEN,
        ).select_for_update(of=("self",)).order_by("pk")
        for conversation in held:
            conversation.assignee = None
            conversation.save(update_fields=["assignee"])
            RoutingDecision.objects.create(
                brand_id=conversation.brand_id, conversation=conversation,
                kind=RoutingDecision.Kind.REQUEUED, language=conversation.language,
                account_id=conversation.handling_account_id, team_id=conversation.team_id,
                steps=[{"step": "offline", "agent": membership_id}],
            )
            announce_conversation("conversation.assigned", conversation)
            if conversation.team_id is not None:
                teams.add(conversation.team_id)
    return sorted(teams)
