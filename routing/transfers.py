"""Transfers: handing a conversation to an agent, a team or another account, and the
receiver's answer.

A transfer moves the conversation at once to where it is going, so the receiving side
sees it (the whole history, and the note as a system line in the thread) and can answer;
the `Transfer` row waits (pending) until the receiver accepts or declines, or until the
brand's answer time runs out (`transfers_expire`). The rows are the conversation's
ownership history: who held it, where it went, why, by which path and how it ended.

Account to account, the relay path is done here: the handling account changes and the
target's members own the conversation, while replies still go out through the channel
account. The "continue" and "invite" paths are `routing.account_paths`' work; this module
stores their transfer and hands it over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import events
from accounts.errors import Conflict, InvalidInput, NotInScope, RoleRequired
from accounts.models import Membership, OfficialAccount, Team
from accounts.scope import Scope, access
from messaging.events import (
    announce_conversation,
    announce_message,
    conversation_transferred_for,
)
from messaging.models import Conversation, Message
from messaging.selectors import conversation_queryset
from messaging.services import CONSULTED_ONLY
from messaging.visibility import Place, may_hold, only_consulted
from routing.brand_settings import agent_state_for, settings_for
from routing.models import AgentState, RoutingDecision, RoutingSettings, Transfer

__all__ = [
    "NOTE_LIMIT",
    "REASON_LIMIT",
    "SPEAKER_LANGUAGES",
    "transfer_accept",
    "transfer_create",
    "transfer_decline",
    "transfer_list",
    "transfer_to_speaker",
    "transfers_expire",
    "transfers_incoming",
    "transfers_sent",
]

NOTE_LIMIT = 2000  # characters, as a reply's text
REASON_LIMIT = 255
# The languages "hand to a speaker" offers (routing.language's codes).
SPEAKER_LANGUAGES = ("en", "zh-hans", "zh-hant")
_HELD = (Conversation.Status.OPEN, Conversation.Status.PENDING, Conversation.Status.SNOOZED)


def _name(member: Membership | None) -> str:
    return (member.display_name or member.user.get_short_name() or member.user.email) \
        if member else ""


def _where(conversation: Conversation) -> str:
    """Where the conversation is, as names: "Lily · Concierge · Shanghai Bund"."""
    parts = [conversation.handling_account.name]
    if conversation.team_id:
        parts.insert(0, conversation.team.name)
    if conversation.assignee_id:
        parts.insert(0, _name(conversation.assignee))
    return " · ".join(parts)


# -- reading ----------------------------------------------------------------------------


def transfer_list(*, scope: Scope) -> QuerySet[Transfer]:
    """Transfers the requester may read: those of conversations they see, and those they
    sent, gave up, were named in or answered (a sender keeps sight of their hand-over)."""
    qs = Transfer.objects.filter(brand_id=scope.brand_id)
    mine = Q(conversation__in=conversation_queryset(scope=scope))
    if scope.membership is not None:
        me = scope.membership.pk
        mine |= Q(by_id=me) | Q(from_agent_id=me) | Q(to_agent_id=me) | Q(decided_by_id=me)
    return qs.filter(mine).select_related(
        "conversation", "from_account", "from_team", "from_agent__user", "to_account",
        "to_team", "to_agent__user", "by__user", "decided_by__user",
    ).order_by("-created_at", "-pk")


def _receives(member: Membership, transfer: Transfer, conversation: Conversation) -> bool:
    """Whether ``member`` is on the receiving side of a pending transfer: the agent it
    names, else anyone who may hold the conversation where it is now."""
    if transfer.to_agent_id:
        return member.pk == transfer.to_agent_id
    return may_hold(member, Place.of(conversation))


def _taken_up(transfer: Transfer, conversation: Conversation) -> bool:
    """A team or account transfer is taken up once someone of the receiving side holds
    the conversation (claim next, assignment, a drain); one to an agent, once someone
    else holds it."""
    if conversation.assignee_id is None:
        return False
    if transfer.to_agent_id:
        return conversation.assignee_id != transfer.to_agent_id
    return conversation.assignee_id != transfer.from_agent_id


def transfers_sent(*, scope: Scope) -> QuerySet[Transfer]:
    """My transfers still waiting for the receiver's answer."""
    if scope.membership is None:
        return Transfer.objects.none()
    return transfer_list(scope=scope).filter(status=Transfer.Status.PENDING,
                                             by_id=scope.membership.pk)


def transfers_incoming(*, scope: Scope) -> list[Transfer]:
    """Pending transfers waiting for my answer: named to me, or to a queue I may take
    from (and nobody took it yet)."""
    me = scope.membership
    if me is None:
        return []
    pending = transfer_list(scope=scope).filter(status=Transfer.Status.PENDING).exclude(
        by_id=me.pk)
    return [t for t in pending
            if not _taken_up(t, t.conversation) and _receives(me, t, t.conversation)]


# -- writing ----------------------------------------------------------------------------


def _lock(scope: Scope | None, conversation: Conversation) -> Conversation:
    """Re-read through the scope and locked; a member who sees it only because they were
    mentioned does not hand it on (`messaging.visibility.only_consulted`)."""
    qs = Conversation.objects.all() if scope is None else conversation_queryset(scope=scope)
    locked = access(qs.select_for_update(of=("self",)).select_related(
        "handling_account", "team", "assignee__user"), conversation.pk)
    if scope is not None and only_consulted(scope, locked):
        raise RoleRequired(CONSULTED_ONLY)
    return locked


def _check_room(agent: Membership) -> None:
    """Refuse an agent who is full. Their routing-state row is locked first, so two
    hand-overs to one agent at once cannot both pass."""
    from routing.assignment import load_of

    agent_state_for(agent)
    AgentState.objects.select_for_update().filter(membership_id=agent.pk).first()
    if load_of(agent.pk) >= agent.capacity:
        raise Conflict(_("%(name)s is full (%(capacity)d conversations): choose someone "
                         "else or their team.") % {"name": _name(agent),
                                                   "capacity": agent.capacity})


def _note(note: str) -> str:
    """The note, trimmed: required, so the receiver knows why it comes to them."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("A transfer needs a note: tell the receiver why you hand it "
                             "on and what the guest needs."), fields={"note": [
                                 _("Write a note for the receiver.")]})
    if len(note) > NOTE_LIMIT:
        raise InvalidInput(_("A transfer note holds at most %(n)d characters.")
                           % {"n": NOTE_LIMIT})
    return note


def _line(conversation: Conversation, *, content: str, payload: dict,
          by: Membership | None) -> None:
    """A system line in the thread. Names and arrows, no sentence: it reads the same in
    every language."""
    line = Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account_id=conversation.channel_account_id, direction=Message.Direction.SYSTEM,
        msg_type="text", content=content, payload={"transfer": payload}, sender=by,
        sender_display=_name(by),
    )
    announce_message(line)


def _decide(conversation: Conversation, transfer: Transfer, step: str, **more: object) -> None:
    RoutingDecision.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        kind=RoutingDecision.Kind.TRANSFERRED, account_id=conversation.handling_account_id,
        team_id=conversation.team_id, agent_id=conversation.assignee_id,
        steps=[{"step": step, "transfer": transfer.pk, "kind": transfer.kind,
                "path": transfer.path, **more}],
    )


def _announce_moved(conversation: Conversation, before: Place, by: Membership | None) -> None:
    events.announce("conversation.transferred", conversation_transferred_for(
        conversation, previous_handling_account_id=before.handling_account_id,
        previous_team_id=before.team_id, previous_assignee_id=before.assignee_id,
        by_membership_id=getattr(by, "pk", None),
    ))


def _after_commit(transfer: Transfer, *, push: bool = True,
                  drain_team: int | None | bool = False) -> None:
    """After the commit: tell the sender of an answered transfer
    (`tasks_transfers.transfer_push_task`), and drain the receiving queue so a free agent
    gets what waits there."""
    from routing.tasks_transfers import transfer_push_task

    if push:
        transaction.on_commit(lambda: transfer_push_task.delay(transfer.pk))
    if drain_team is not False:
        transaction.on_commit(lambda: _drain(drain_team))


def _drain(team_id: int | None) -> None:
    from routing.assignment import assign_waiting

    assign_waiting(team_id=team_id)


def _local_team(account: OfficialAccount) -> Team | None:
    from routing.rules import local_team_for

    return local_team_for(account)


def _default_path(conversation: Conversation, to_account: OfficialAccount) -> str:
    from routing.account_paths import default_path

    return default_path(conversation, to_account)


def _serves(team: Team, account_id: int) -> bool:
    accounts = list(team.accounts.values_list("pk", flat=True))
    return not accounts or account_id in accounts


def transfer_create(
    *, scope: Scope, conversation: Conversation, to_agent: Membership | None = None,
    to_team: Team | None = None, to_account: OfficialAccount | None = None, path: str = "",
    note: str, by: Membership | None,
) -> Transfer:
    """Hand the conversation on, with a note. Anyone who may see it may hand it on.

    - to an agent (who may hold it where it goes, with room): they hold it at once;
    - to a team: it waits unassigned in that team's queue;
    - to another account (optionally one of its teams, such as its local team, or one of
      its agents; else its own queue): by relay here, or by the "continue" / "invite"
      paths of `routing.account_paths` (the default path is theirs to pick).

    The transfer waits for the receiver's answer until the brand's answer time runs out.
    An earlier transfer of the conversation still waiting is cancelled."""
    note = _note(note)
    for target in (to_agent, to_team, to_account):
        if target is not None and target.brand_id != scope.brand_id:
            raise NotInScope()
    if to_account is not None and not to_account.is_active:
        raise NotInScope()
    if to_account is not None:
        kind = Transfer.Kind.ACCOUNT
        path = path or _default_path(conversation, to_account)
        if path not in (Transfer.Path.RELAY, Transfer.Path.CONTINUE, Transfer.Path.INVITE):
            raise InvalidInput(_("Choose relay, continue or invite for an account transfer."))
    elif to_agent is not None:
        kind, path = Transfer.Kind.AGENT, Transfer.Path.NONE
    elif to_team is not None:
        kind, path = Transfer.Kind.TEAM, Transfer.Path.NONE
    else:
        raise InvalidInput(_("Transfer to an agent, a team or another account."))
    if path and to_team is not None and not _serves(to_team, to_account.pk):
        raise InvalidInput(_("%(team)s does not answer for %(account)s.")
                           % {"team": to_team.name, "account": to_account.name})
    now = timezone.now()
    minutes = settings_for(scope.brand_id).transfer_timeout_minutes

    def stored(conversation: Conversation) -> Transfer:
        before = Place.of(conversation)
        return Transfer(
            brand_id=conversation.brand_id, conversation=conversation, kind=kind, path=path,
            from_account_id=before.handling_account_id, from_team_id=before.team_id,
            from_agent_id=before.assignee_id, to_account=to_account, to_team=to_team,
            to_agent=to_agent, note=note, by=by, expires_at=now + timedelta(minutes=minutes),
        )

    if path in (Transfer.Path.CONTINUE, Transfer.Path.INVITE):
        from routing.account_paths import carry_out

        with transaction.atomic():
            # Not locked here: carry_out locks the follower, then the conversation, in
            # ingestion's order.
            conversation = access(conversation_queryset(scope=scope), conversation.pk)
            if only_consulted(scope, conversation):
                raise RoleRequired(CONSULTED_ONLY)
            if conversation.status == Conversation.Status.RESOLVED:
                raise Conflict(_("A resolved conversation cannot be transferred."))
            transfer = stored(conversation)
            transfer.save()
            carry_out(transfer)
            _cancel_pending(conversation, keep=transfer)
        return transfer
    with transaction.atomic():
        conversation = _lock(scope, conversation)
        if conversation.status == Conversation.Status.RESOLVED:
            raise Conflict(_("A resolved conversation cannot be transferred."))
        before = Place.of(conversation)
        transfer = stored(conversation)
        if to_account is not None:
            conversation.handling_account = to_account
            conversation.team = to_team
        elif to_team is not None:
            conversation.team = to_team
        conversation.assignee = to_agent
        after = Place.of(conversation)
        same = after == before if to_agent else (after.handling_account_id, after.team_id) == (
            before.handling_account_id, before.team_id)
        if same:
            raise Conflict(_("The conversation is already there."))
        if to_agent is not None:
            if not may_hold(to_agent, Place.of(conversation)):
                raise Conflict(_("%(name)s cannot hold this conversation there: they do not "
                                 "serve its account or team.") % {"name": _name(to_agent)})
            if before.assignee_id != to_agent.pk:
                _check_room(to_agent)
        conversation.save(update_fields=["handling_account", "team", "assignee"])
        _cancel_pending(conversation)
        transfer.save()
        _decide(conversation, transfer, "transfer", by=getattr(by, "pk", None))
        _line(conversation, content=f"→ {_where(conversation)}\n{note}", by=by, payload={
            "id": transfer.pk, "kind": kind, "path": path,
            "from_account": before.handling_account_id, "from_team": before.team_id,
            "from_agent": before.assignee_id,
            "to_account": conversation.handling_account_id, "to_team": conversation.team_id,
            "to_agent": conversation.assignee_id,
        })
        _announce_moved(conversation, before, by)
        _after_commit(transfer, push=False,
                      drain_team=False if to_agent else conversation.team_id)
    return transfer


def _cancel_pending(conversation: Conversation, *, keep: Transfer | None = None) -> None:
    """An earlier transfer still waiting is overtaken by a new one."""
    Transfer.objects.filter(conversation=conversation, status=Transfer.Status.PENDING).exclude(
        pk=getattr(keep, "pk", None)).update(
        status=Transfer.Status.CANCELLED, decided_at=timezone.now())


def _open(scope: Scope, transfer: Transfer) -> tuple[Transfer, Conversation]:
    """The pending transfer and its conversation, locked, after checking the requester
    answers for the receiving side."""
    me = scope.membership
    # The conversation first, then the transfer: the order every writer here locks in.
    found = access(transfer_list(scope=scope), transfer.pk)
    if me is None:
        raise RoleRequired(_("Only a member answers a transfer."))
    conversation = _lock(None, found.conversation)
    transfer = Transfer.objects.select_for_update().select_related(
        "conversation").get(pk=found.pk)
    if transfer.status != Transfer.Status.PENDING:
        raise Conflict(_("This transfer was already answered (%(status)s).")
                       % {"status": transfer.get_status_display()})
    if _taken_up(transfer, conversation):
        raise Conflict(_("%(name)s has taken this conversation already.")
                       % {"name": _name(conversation.assignee)})
    if not _receives(me, transfer, conversation):
        raise RoleRequired(_("This transfer is for someone else."))
    return transfer, conversation


def transfer_accept(*, scope: Scope, transfer: Transfer) -> Transfer:
    """The receiver takes it: the named agent, or for a team or account transfer any
    member of the receiving side who may hold it (and has room)."""
    me = scope.membership
    with transaction.atomic():
        transfer, conversation = _open(scope, transfer)
        if conversation.assignee_id != me.pk:
            _check_room(me)
            conversation.assignee = me
            conversation.save(update_fields=["assignee"])
        transfer.status = Transfer.Status.ACCEPTED
        transfer.decided_by, transfer.decided_at = me, timezone.now()
        transfer.save(update_fields=["status", "decided_by", "decided_at"])
        _decide(conversation, transfer, "accepted", by=me.pk)
        _line(conversation, content=f"✓ {_name(me)}", by=me,
              payload={"id": transfer.pk, "status": transfer.status})
        announce_conversation("conversation.assigned", conversation)
        _after_commit(transfer)
    return transfer


def _send_back(conversation: Conversation, transfer: Transfer) -> Place:
    """Put the conversation back where the transfer took it from; answers where it was."""
    before = Place.of(conversation)
    conversation.handling_account_id = transfer.from_account_id or conversation.handling_account_id
    conversation.team_id = transfer.from_team_id
    conversation.assignee_id = transfer.from_agent_id
    conversation.save(update_fields=["handling_account", "team", "assignee"])
    return before


def transfer_decline(*, scope: Scope, transfer: Transfer, reason: str = "") -> Transfer:
    """The receiver says no (optionally why): the conversation goes back where it was,
    to the agent who held it, and the sender is told."""
    me = scope.membership
    reason = (reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise InvalidInput(_("A reason holds at most %(n)d characters.") % {"n": REASON_LIMIT})
    with transaction.atomic():
        transfer, conversation = _open(scope, transfer)
        before = _send_back(conversation, transfer)
        transfer.status = Transfer.Status.DECLINED
        transfer.decided_by, transfer.decided_at = me, timezone.now()
        transfer.decline_reason = reason
        transfer.save(update_fields=["status", "decided_by", "decided_at", "decline_reason"])
        _returned(conversation, transfer, before, by=me, step="declined", reason=reason)
    return transfer


def _returned(conversation: Conversation, transfer: Transfer, before: Place, *,
              by: Membership | None, step: str, reason: str = "", **more: object) -> None:
    conversation = Conversation.objects.select_related(
        "handling_account", "team", "assignee__user").get(pk=conversation.pk)
    _decide(conversation, transfer, step, by=getattr(by, "pk", None), **more)
    _line(conversation, content=f"↩ {_where(conversation)}" + (f"\n{reason}" if reason else ""),
          by=by, payload={"id": transfer.pk, "status": transfer.status,
                          "to_account": conversation.handling_account_id,
                          "to_team": conversation.team_id,
                          "to_agent": conversation.assignee_id})
    _announce_moved(conversation, before, by)
    _after_commit(transfer,
                  drain_team=False if conversation.assignee_id else conversation.team_id)


def transfers_expire(*, now: datetime | None = None) -> int:
    """System sweep (every brand): settle pending transfers whose answer time ran out.
    One a receiving member took meanwhile counts as accepted; the others go back to the
    sender or stay in the receiving queue (unassigned), by the brand's setting. Answers
    how many it settled."""
    now = now or timezone.now()
    settled = 0
    due = (Transfer.objects.filter(status=Transfer.Status.PENDING, expires_at__lte=now)
           .order_by("expires_at", "pk").values_list("pk", "conversation_id"))
    for pk, conversation_id in list(due):
        with transaction.atomic():
            # The conversation first, then the transfer, as the answers lock them; one
            # being answered right now is left to its answer.
            conversation = (Conversation.objects.select_for_update(skip_locked=True, of=("self",))
                            .select_related("handling_account", "team", "assignee__user")
                            .filter(pk=conversation_id).first())
            transfer = (Transfer.objects.select_for_update(skip_locked=True)
                        .filter(pk=pk, status=Transfer.Status.PENDING).first())
            if conversation is None or transfer is None:
                continue
            _expire_one(transfer, conversation, now=now)
            settled += 1
    return settled


def _expire_one(transfer: Transfer, conversation: Conversation, *, now: datetime) -> None:
    if _taken_up(transfer, conversation):
        # A queue's transfer someone took counts as accepted by them; one named to an agent
        # that someone else holds now was overtaken.
        transfer.status = (Transfer.Status.CANCELLED if transfer.to_agent_id
                           else Transfer.Status.ACCEPTED)
        transfer.decided_by_id, transfer.decided_at = conversation.assignee_id, now
        transfer.save(update_fields=["status", "decided_by", "decided_at"])
        _decide(conversation, transfer, "taken_up", by=conversation.assignee_id)
        _after_commit(transfer)
        return
    transfer.status = Transfer.Status.EXPIRED
    transfer.decided_at = now
    transfer.save(update_fields=["status", "decided_at"])
    to = settings_for(transfer.brand_id).transfer_timeout_to
    if to == RoutingSettings.TransferTimeout.SENDER:
        before = _send_back(conversation, transfer)
        _returned(conversation, transfer, before, by=None, step="expired", to="sender")
        return
    before = Place.of(conversation)
    if transfer.kind == Transfer.Kind.AGENT and conversation.assignee_id == transfer.to_agent_id:
        conversation.assignee = None
        conversation.save(update_fields=["assignee"])
        _decide(conversation, transfer, "expired", to="queue")
        _announce_moved(conversation, before, None)
    else:
        _decide(conversation, transfer, "expired", to="queue")
    _after_commit(transfer, drain_team=conversation.team_id)


def _speaker(team: Team, language: str, *, conversation: Conversation,
             exclude: set[int]) -> Membership | None:
    """The team's online member who speaks ``language``, may hold the conversation at its
    team and has room; the least busy first."""
    from routing.assignment import load_of
    from routing.rules import speaks

    place = Place(conversation.brand_id, conversation.handling_account_id, team.pk, None)
    best: tuple[int, int, Membership] | None = None
    online = team.members.filter(presence=Membership.Presence.ONLINE).exclude(
        pk__in=exclude).select_related("user")
    for member in online.order_by("pk"):
        if not speaks(member.languages, language) or not may_hold(member, place):
            continue
        load = load_of(member.pk)
        if load < member.capacity and (best is None or load < best[0]):
            best = (load, member.pk, member)
    return best[2] if best else None


def transfer_to_speaker(*, scope: Scope, conversation: Conversation, language: str,
                        note: str, by: Membership | None) -> Transfer:
    """"Hand to a <language> speaker": the local team's online speaker with room, else a
    central team with an online speaker (it waits in their queue), else a Conflict that
    says nobody is free. A blank note says what was asked for."""
    from routing.rules import speaks, team_has_online_speaker

    if language not in SPEAKER_LANGUAGES:
        raise InvalidInput(_("Choose English, Simplified Chinese or Traditional Chinese."))
    label = _language_name(language)
    note = (note or "").strip() or _("Needs a %(language)s speaker.") % {"language": label}
    conversation = access(conversation_queryset(scope=scope).select_related(
        "handling_account"), conversation.pk)
    exclude = {pk for pk in (conversation.assignee_id, getattr(by, "pk", None)) if pk}
    local = _local_team(conversation.handling_account)
    if local is not None:
        agent = _speaker(local, language, conversation=conversation, exclude=exclude)
        if agent is not None:
            return transfer_create(scope=scope, conversation=conversation, to_agent=agent,
                                   to_team=local, note=note, by=by)
    central = Team.objects.filter(brand_id=scope.brand_id, is_central=True).order_by("name")
    for team in central:
        if team.pk != conversation.team_id and speaks(team.languages, language) \
                and team_has_online_speaker(team, language):
            return transfer_create(scope=scope, conversation=conversation, to_team=team,
                                   note=note, by=by)
    raise Conflict(_("Nobody who speaks %(language)s is online with room, in the local team "
                     "or a central team.") % {"language": label})


def _language_name(code: str) -> str:
    return {"en": _("English"), "zh-hans": _("Simplified Chinese"),
            "zh-hant": _("Traditional Chinese")}[code]
