"""A conversation's timeline: every routing decision (the rule that made it, where it
went) and every transfer (who held it, where it went, why, by which path, how it ended),
merged by time, each with a sentence in the reader's language.

The rows keep codes and ids (`RoutingDecision.steps`, `Transfer.status`); the sentences
are rendered when read, under the active translation, so a reader in Chinese and one in
English read the same history each in their own words. Decisions of kind "transferred"
are left out: the transfer's own row tells that story, with its note and outcome.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Membership
from messaging.models import Conversation
from routing.models import RoutingDecision, Transfer

# Transfers and decisions made in the same instant: the transfer first (it caused the
# decision that follows it).
_ORDER = {"transfer": 0, "decision": 1}


def _language(code: str) -> str:
    names = {"zh-hans": _("Simplified Chinese"), "zh-hant": _("Traditional Chinese"),
             "en": _("English"), "unknown": _("an unknown language")}
    return names.get(code, code)


def _source(code: str) -> str:
    names = {"choice": _("chosen by the follower"), "profile": _("from the profile"),
             "text": _("from the text"), "given": _("as given")}
    return names.get(code, "")


def _member(member: Membership | None) -> str:
    if member is None:
        return ""
    return member.display_name or member.user.get_short_name() or member.user.get_username()


def _place(*, team: object, account: object, agent: Membership | None = None) -> str:
    """Where a conversation went: the agent, else "team · account" (either alone)."""
    if agent is not None:
        return _member(agent)
    return " · ".join(part.name for part in (team, account) if part is not None)  # type: ignore[attr-defined]


def _step(steps: list, name: str) -> dict:
    return next((s for s in steps if isinstance(s, dict) and s.get("step") == name), {})


def _with_language(sentence: str, decision: RoutingDecision) -> str:
    if not decision.language:
        return sentence
    source = _source(str(_step(decision.steps, "language").get("source", "")))
    language = _language(decision.language)
    if source:
        return _("%(sentence)s (%(language)s, %(source)s)") % {
            "sentence": sentence, "language": language, "source": source}
    return _("%(sentence)s (%(language)s)") % {"sentence": sentence, "language": language}


def _overflow_why(steps: list) -> str:
    why = _step(steps, "overflow").get("why", "")
    return {"closed": _("the team was closed"),
            "no_speaker": _("nobody online spoke the language"),
            "waited": _("it waited too long")}.get(why, "")


def _strategy(steps: list) -> str:
    assign = _step(steps, "assign")
    names = {"least_busy": _("least busy"), "round_robin": _("round robin"),
             "rule": _("the rule's agent"), "claim_next": _("claimed"),
             "manual": _("by hand")}
    name = names.get(assign.get("strategy", ""), "")
    if name and assign.get("load") is not None and assign.get("capacity"):
        return _("%(strategy)s, %(load)s of %(capacity)s") % {
            "strategy": name, "load": assign["load"], "capacity": assign["capacity"]}
    return name


def decision_sentence(decision: RoutingDecision) -> str:
    place = _place(team=decision.team, account=decision.account) or _("the account's queue")
    kind = decision.kind
    values = {"place": place, "rule": decision.rule_name, "agent": _member(decision.agent)}
    K = RoutingDecision.Kind
    if kind == K.ROUTED:
        target = values["agent"] or place
        if decision.rule_name:
            sentence = _("Routed by rule “%(rule)s” to %(place)s") % {**values, "place": target}
        else:
            sentence = _("Routed to %(place)s (no rule matched)") % {**values, "place": target}
        return _with_language(sentence, decision)
    if kind == K.OVERFLOWED:
        why = _overflow_why(decision.steps)
        sentence = (_("Overflowed to %(place)s: %(why)s") % {**values, "why": why} if why
                    else _("Overflowed to %(place)s") % values)
        waited = _step(decision.steps, "overflow").get("waited_minutes")
        if waited is not None:
            sentence = _("%(sentence)s, after %(minutes)s min waiting") % {
                "sentence": sentence, "minutes": waited}
        if decision.rule_name:
            sentence = _("%(sentence)s (rule “%(rule)s”)") % {
                "sentence": sentence, "rule": decision.rule_name}
        return _with_language(sentence, decision)
    if kind == K.ASSIGNED:
        strategy = _strategy(decision.steps)
        if strategy:
            return _("Assigned to %(agent)s (%(strategy)s)") % {**values, "strategy": strategy}
        return _("Assigned to %(agent)s") % values
    if kind == K.QUEUED:
        return _("Waiting in the queue of %(place)s") % values
    if kind == K.RETURNED:
        return _("Returned to %(place)s, open again") % values
    if kind == K.REQUEUED:
        sentence = _("Back in the queue of %(place)s") % values
        if _step(decision.steps, "offline"):
            return _("%(sentence)s: the agent went offline") % {"sentence": sentence}
        if _step(decision.steps, "over_capacity"):
            return _("%(sentence)s: the agent was over capacity") % {"sentence": sentence}
        return sentence
    if kind == K.AUTO_RESOLVED:
        return _("Resolved for inactivity")
    return str(decision.get_kind_display())


def _path(path: str) -> str:
    return {"relay": _("relay"), "continue": _("continuing on the target account"),
            "invite": _("an invitation to follow")}.get(path, "")


def transfer_sentence(transfer: Transfer) -> str:
    values = {
        "by": _member(transfer.by) or _("The portal"),
        "place": _place(team=transfer.to_team, account=transfer.to_account,
                        agent=transfer.to_agent) or _("the account's queue"),
        "path": _path(transfer.path),
    }
    sentence = (_("%(by)s handed it to %(place)s by %(path)s") % values if values["path"]
                else _("%(by)s handed it to %(place)s") % values)
    if transfer.note.strip():
        sentence = _("%(sentence)s: “%(note)s”") % {"sentence": sentence,
                                                   "note": transfer.note.strip()}
    who = _member(transfer.decided_by)
    S = Transfer.Status
    outcome = {
        S.ACCEPTED: (_("%(sentence)s — accepted by %(who)s") if who
                     else _("%(sentence)s — accepted")),
        S.DECLINED: (_("%(sentence)s — declined by %(who)s") if who
                     else _("%(sentence)s — declined")),
        S.EXPIRED: _("%(sentence)s — not answered in time"),
        S.PENDING: _("%(sentence)s — waiting for an answer"),
        S.INVITED: _("%(sentence)s — waiting for the follower"),
        S.COMPLETED: _("%(sentence)s — completed"),
        S.CANCELLED: _("%(sentence)s — cancelled"),
    }.get(transfer.status)
    if outcome:
        sentence = outcome % {"sentence": sentence, "who": who}
    if transfer.status == S.DECLINED and transfer.decline_reason:
        sentence = _("%(sentence)s: %(reason)s") % {"sentence": sentence,
                                                   "reason": transfer.decline_reason}
    return sentence


def _ref(obj: object) -> dict | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None  # type: ignore[attr-defined]


def _member_ref(member: Membership | None) -> dict | None:
    return {"id": member.pk, "name": _member(member)} if member is not None else None


def _decision_entry(d: RoutingDecision) -> dict:
    return {
        "type": "decision", "id": d.pk, "at": d.created_at, "kind": d.kind,
        "sentence": decision_sentence(d),
        "rule": {"id": d.rule_id, "name": d.rule_name} if d.rule_name else None,
        "team": _ref(d.team), "account": _ref(d.account), "agent": _member_ref(d.agent),
        "language": d.language, "steps": d.steps,
    }


def _transfer_entry(t: Transfer) -> dict:
    return {
        "type": "transfer", "id": t.pk, "at": t.created_at, "kind": t.kind,
        "sentence": transfer_sentence(t), "path": t.path, "status": t.status,
        "note": t.note, "by": _member_ref(t.by),
        "from": {"account": _ref(t.from_account), "team": _ref(t.from_team),
                 "agent": _member_ref(t.from_agent)},
        "to": {"account": _ref(t.to_account), "team": _ref(t.to_team),
               "agent": _member_ref(t.to_agent)},
        "decided_at": t.decided_at, "decided_by": _member_ref(t.decided_by),
        "decline_reason": t.decline_reason,
    }


def timeline_for(conversation: Conversation) -> list[dict]:
    """The conversation's decisions and transfers, oldest first. A transfer that continued
    the conversation on another account shows in both: the one it left and the one it
    became."""
    decisions = (RoutingDecision.objects.filter(conversation=conversation)
                 .exclude(kind=RoutingDecision.Kind.TRANSFERRED)
                 .select_related("team", "account", "agent__user"))
    transfers = (Transfer.objects.filter(Q(conversation=conversation)
                                         | Q(target_conversation=conversation))
                 .select_related("to_team", "to_account", "to_agent__user", "from_team",
                                 "from_account", "from_agent__user", "by__user",
                                 "decided_by__user"))
    entries = [_decision_entry(d) for d in decisions] + [_transfer_entry(t) for t in transfers]

    def order(entry: dict) -> tuple[datetime, int, int]:
        return entry["at"], _ORDER[entry["type"]], entry["id"]

    return sorted(entries, key=order)
