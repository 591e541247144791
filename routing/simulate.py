"""The "what happens if" tester: the real rules and decision on facts an admin makes up.

A follower who does not exist writes ``text`` to ``account`` at ``at``: which language is
read from it (and how sure), which rules are tried and why each does or does not match,
and the team or agent it would reach, open or closed, overflowed or not. Nothing is
written: ``routing.rules.decide`` only reads. The page (/routing/tester/) and
``POST /api/v1/routing/simulate/`` give the same answer.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, OfficialAccount, Team
from accounts.scope import Scope, access
from followers.names import language_name
from routing import language as lang
from routing import rules
from routing.models import RoutingRule

# Why a rule did not match, in words (rules.WHY_CODES).
WHY_TEXT = {
    "account": gettext_lazy("written to another account"),
    "language": gettext_lazy("in another language"),
    "first_contact": gettext_lazy("first contact differs"),
    "off_hours": gettext_lazy("business hours differ"),
    "keyword": gettext_lazy("no keyword in the text"),
    "menu_key": gettext_lazy("another menu key"),
    "tag": gettext_lazy("none of the tags"),
    "attribute": gettext_lazy("customer attributes differ"),
    "no_target": gettext_lazy("matches, but its team or agent is gone"),
}
OVERFLOW_TEXT = {
    "closed": gettext_lazy("the team is closed"),
    "no_speaker": gettext_lazy("nobody online in the team speaks the language"),
}
SOURCE_TEXT = {
    "choice": gettext_lazy("chosen by the follower"),
    "profile": gettext_lazy("from the WeChat profile"),
    "text": gettext_lazy("detected from the text"),
    "given": gettext_lazy("given"),
}
FALLBACK_TEXT = {
    "account_team": gettext_lazy("No rule matched: the account's own team."),
    "central": gettext_lazy("No rule matched and the account has no team: the central team."),
    "none": gettext_lazy("No rule matched and there is no team: the account's queue."),
}


# Times before or after these years are refused: zones there read in local mean time
# (offsets in seconds), and no holiday calendar covers them.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def year_error(year: int) -> str:
    """Why a time in ``year`` cannot be simulated ("" when it can)."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        return ""
    return _("Pick a day between %(first)s and %(last)s.") % {"first": FIRST_YEAR,
                                                              "last": LAST_YEAR}


def simulate(*, scope: Scope, account: OfficialAccount | int, text: str, at: datetime,
             first_contact: bool = True, menu_key: str = "", tags: list[str] | None = None,
             attributes: dict | None = None) -> dict:
    """The routing of a made-up message, as a JSON-clean dict. 404 (NotInScope) for an
    account outside the scope, 403 without the right to manage teams."""
    scope.require("teams.manage")
    account = access(scope.accounts(), getattr(account, "pk", account))
    zone = ZoneInfo(account.timezone)
    if timezone.is_naive(at):
        at = timezone.make_aware(at, zone)
    detection = lang.language_of(text=text, profile_language=None)
    facts = rules.Facts(
        brand_id=scope.brand_id, account=account, language=detection.language,
        language_source=detection.source, text=text, menu_key=menu_key.strip(),
        first_contact=first_contact, at=at,
        tag_names=frozenset(t.strip() for t in tags or [] if t.strip()),
        attributes=dict(attributes or {}),
    )
    decision = rules.decide(facts)
    account_open, account_reason = rules.account_is_open(account, at)
    return {
        "account": {"id": account.pk, "name": account.name},
        "at": at.isoformat(),
        "local_time": at.astimezone(zone).isoformat(),
        "time_zone": account.timezone,
        "language": {
            "code": detection.language,
            "name": _language_words(detection.language),
            "source": detection.source,
            "source_text": str(SOURCE_TEXT[detection.source]),
            "confidence": round(detection.confidence, 2),
        },
        "off_hours": decision.off_hours,
        "hours": {"open": account_open, "reason": account_reason},
        "path": [_path_step(s) for s in decision.steps if s["step"] == "rule"],
        "fallback": _fallback(decision.steps),
        "rule": None if decision.rule is None else {"id": decision.rule.pk,
                                                     "name": decision.rule.name},
        "team": _team(decision, account=account, at=at),
        "agent": _agent(decision.agent),
        "overflow": _overflow(decision.steps),
        "outcome": outcome(decision),
        "steps": decision.steps,
    }


def _language_words(code: str) -> str:
    return _("Unknown") if code == lang.UNKNOWN else language_name(code)


def _path_step(step: dict) -> dict:
    return {"rule": step["rule"], "name": step["name"], "matched": step["matched"],
            "why": step["why"], "why_text": str(WHY_TEXT.get(step["why"], ""))}


def _fallback(steps: list[dict]) -> dict | None:
    found = next((s for s in steps if s["step"] == "fallback"), None)
    if found is None:
        return None
    return {"to": found["to"], "text": str(FALLBACK_TEXT[found["to"]])}


def _overflow(steps: list[dict]) -> dict | None:
    found = next((s for s in steps if s["step"] == "overflow"), None)
    if found is None:
        return None
    return {
        "why": found["why"], "why_text": str(OVERFLOW_TEXT[found["why"]]),
        "from": {"id": found["from"], "name": found["from_name"]},
        "to": None if found["to"] is None else {"id": found["to"], "name": found["to_name"]},
    }


def _team(decision: rules.Decision, *, account: OfficialAccount, at: datetime) -> dict | None:
    team: Team | None = decision.team
    if team is None:
        return None
    keeps = None if team.is_central else account
    if decision.rule is not None and decision.rule.action == RoutingRule.Action.ACCOUNT_TEAM:
        keeps = decision.rule.account
    is_open, reason = rules.team_is_open(team, account=keeps, at=at)
    return {"id": team.pk, "name": team.name, "is_central": team.is_central,
            "open": is_open, "reason": reason,
            "online_speaker": rules.team_has_online_speaker(team, decision.language)}


def _agent(agent: Membership | None) -> dict | None:
    if agent is None:
        return None
    name = agent.display_name or agent.user.get_short_name() or agent.user.email
    return {"id": agent.pk, "name": name,
            "online": agent.presence == Membership.Presence.ONLINE}


def outcome(decision: rules.Decision) -> str:
    """One sentence: where it goes."""
    if decision.agent is not None:
        return _("To %(agent)s, waiting in %(team)s when busy or offline.") % {
            "agent": _agent(decision.agent)["name"],
            "team": decision.team.name if decision.team else _("the account's queue")}
    if decision.team is None:
        return _("Into the account's queue (no team).")
    if decision.overflowed_from is not None:
        return _("To %(team)s, overflowed from %(local)s.") % {
            "team": decision.team.name, "local": decision.overflowed_from.name}
    return _("To %(team)s.") % {"team": decision.team.name}
