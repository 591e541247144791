"""The routing decision: which team (or agent) a conversation goes to, and why.

Pure reads, no writes: the engine (routing/engine.py) records and carries out what
``decide`` answers, the simulator (routing/simulate.py) and the routing map show it.

``facts_for`` reads what routing looks at from a conversation: the channel account, the
follower's language, the latest text and menu click, first contact, tags and the
customer's attributes. ``decide`` walks the brand's active rules in order (position,
then id); the first whose every given condition holds says where the conversation goes.
When none does, it goes to the channel account's local team, else to the central team.
Then, with the brand's overflow set to "at once", a chosen team that is closed or has
nobody online who speaks the language hands over to a central team that is open and
speaks it.

Every step is kept as codes with values (JSON-clean), rendered later in the reader's
language: every rule checked with why it did not match, the fallback, the overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import business_hours
from accounts.models import BusinessHours, Membership, OfficialAccount, Team
from followers.models import Follower
from messaging.models import Conversation, Inbound, Message
from routing import language as lang
from routing.models import RoutingRule, RoutingSettings
from routing.shared_reads import once, sharing

# How far before the conversation opened a menu click still counts as what opened it.
CLICK_REACH = timedelta(minutes=30)
# How many of the follower's latest messages are searched for a language choice ("TC").
CHOICE_REACH = 20

# Why a rule did not match, in the order the conditions are checked.
WHY_CODES = ("account", "language", "first_contact", "off_hours", "keyword", "menu_key",
             "tag", "attribute", "no_target")


@dataclass(frozen=True)
class Facts:
    brand_id: int
    account: OfficialAccount  # the channel account
    language: str  # routing.language codes: "zh-hans"|"zh-hant"|"en"|"unknown"
    language_source: str  # "choice"|"profile"|"text"|"given"
    text: str  # the follower's latest text ("" for events)
    menu_key: str  # the menu click key that opened/was latest ("" none)
    # No earlier conversation of this follower/customer; None: not read, since none of the
    # brand's active rules asks (`facts_for_many`).
    first_contact: bool | None
    at: datetime
    tag_names: frozenset[str]  # the follower's; empty also when no active rule names one
    attributes: dict  # the customer's attributes


@dataclass(frozen=True)
class Decision:
    team: Team | None  # where it waits (None: the account's queue, no team)
    agent: Membership | None  # a rule's specific agent (assign if online with room)
    rule: RoutingRule | None
    language: str
    off_hours: bool  # the channel account is outside its hours at `at`
    overflowed_from: Team | None  # set when the decision overflowed to a central team
    steps: list[dict]


# -- Facts ---------------------------------------------------------------------------------

def facts_for(conversation: Conversation, *, at: datetime | None = None,
              text: str | None = None, menu_key: str = "") -> Facts:
    """What routing looks at for ``conversation`` at ``at`` (default now). ``text`` and
    ``menu_key`` override the latest message and click (the engine knows them already)."""
    at = at or timezone.now()
    inbound = list(
        Message.objects.filter(conversation=conversation, direction=Message.Direction.INBOUND)
        .order_by("-created_at", "-pk").values_list("content", flat=True)[:CHOICE_REACH]
    )
    return _facts(conversation, at=at, inbound=inbound, text=text, menu_key=menu_key,
                  first_contact=_first_contact(conversation),
                  tag_names=frozenset(conversation.follower.tags.values_list("name", flat=True)))


def facts_for_many(conversations: list[Conversation], *, at: datetime) -> dict[int, Facts]:
    """`facts_for` of a batch, by conversation pk, in a few statements for them all: the
    latest texts, the tags and first contact when a rule of the brand asks for them (the
    menu click as one by one: it is read only when a click can have opened the
    conversation)."""
    pks = [c.pk for c in conversations]
    if not pks:
        return {}
    inbound: dict[int, list[str]] = {pk: [] for pk in pks}
    latest = Window(RowNumber(), partition_by=[F("conversation_id")],
                    order_by=[F("created_at").desc(), F("pk").desc()])
    for conversation_id, content in (
            Message.objects.filter(conversation_id__in=pks,
                                   direction=Message.Direction.INBOUND)
            .annotate(nth=latest).filter(nth__lte=CHOICE_REACH)
            .order_by("conversation_id", "nth").values_list("conversation_id", "content")):
        inbound[conversation_id].append(content)
    # Tags and first contact only matter to a rule that names them: read when one of
    # the brands' active rules does (a fact nobody asks for stays unread: None, empty).
    asked = [rule for brand_id in sorted({c.brand_id for c in conversations})
             for rule in active_rules(brand_id)]
    tags: dict[int, set[str]] = {}
    if any(rule.tags for rule in asked):
        for follower_id, name in Follower.tags.through.objects.filter(
                follower_id__in={c.follower_id for c in conversations},
        ).values_list("follower_id", "tag__name"):
            tags.setdefault(follower_id, set()).add(name)
    first: dict[int, bool | None] = dict.fromkeys(pks)
    if any(rule.first_contact is not None for rule in asked):
        first.update((pk, not earlier) for pk, earlier in Conversation.objects.filter(
            pk__in=pks).annotate(earlier=Case(
                When(customer__isnull=False, then=Exists(_earlier("customer_id"))),
                default=Exists(_earlier("follower_id")))).values_list("pk", "earlier"))
    return {c.pk: _facts(c, at=at, inbound=inbound[c.pk], first_contact=first[c.pk],
                         tag_names=frozenset(tags.get(c.follower_id, ())))
            for c in conversations}


def _earlier(key: str) -> QuerySet[Conversation]:
    """The conversations of the outer one's customer or follower (``key``) that opened
    before it."""
    return Conversation.objects.filter(
        Q(opened_at__lt=OuterRef("opened_at"))
        | Q(opened_at=OuterRef("opened_at"), pk__lt=OuterRef("pk")),
        **{key: OuterRef(key)})


def _facts(conversation: Conversation, *, at: datetime, inbound: list[str],
           first_contact: bool | None, tag_names: frozenset[str], text: str | None = None,
           menu_key: str = "") -> Facts:
    """The facts from what was read: the follower's latest texts, newest first."""
    follower = conversation.follower
    customer = conversation.customer
    if text is None:
        text = inbound[0] if inbound else ""
    detection = lang.language_of(text=text, profile_language=follower.language)
    if detection.source != "choice":
        # A follower who answered the welcome's "reply TC, SC or EN" earlier keeps that.
        earlier = next((c for c in map(lang.language_chosen, inbound) if c), None)
        if earlier:
            detection = lang.Detection(earlier, "choice", 1.0)
    return Facts(
        brand_id=conversation.brand_id,
        account=conversation.channel_account,
        language=detection.language,
        language_source=detection.source,
        text=text,
        menu_key=menu_key or _latest_click(conversation, at=at),
        first_contact=first_contact,
        at=at,
        tag_names=tag_names,
        attributes=dict(customer.attributes or {}) if customer is not None else {},
    )


def _latest_click(conversation: Conversation, *, at: datetime) -> str:
    """The key of the follower's latest menu click (CLICK event) on the channel account,
    since shortly before the conversation opened. Clicks are kept in Inbound only.

    A click opens the follower's short reply window, which only moves forward: a window
    opened before the reach means no click since, and spares the search."""
    since = conversation.opened_at - CLICK_REACH
    opened = conversation.follower.short_window_opened_at
    if opened is None or opened < since:
        return ""
    row = (
        Inbound.objects.filter(
            account_id=conversation.channel_account_id, openid=conversation.follower.openid,
            event__iexact="click", created_time__lte=at,
            created_time__gte=since,
        ).order_by("-created_time", "-pk").values_list("payload", flat=True).first()
    )
    return str((row or {}).get("EventKey") or "")


def _first_contact(conversation: Conversation) -> bool:
    key = "customer_id" if conversation.customer_id else "follower_id"
    return not Conversation.objects.filter(
        Q(opened_at__lt=conversation.opened_at)
        | Q(opened_at=conversation.opened_at, pk__lt=conversation.pk),
        **{key: getattr(conversation, key)}).exists()


# -- Teams, hours and speakers --------------------------------------------------------------

def speaks(member_languages: list[str], language: str) -> bool:
    """[] means unrestricted; an "unknown" language is anyone's."""
    return not member_languages or language == lang.UNKNOWN or language in member_languages


def team_has_online_speaker(team: Team, language: str) -> bool:
    if sharing():  # a batch: every team of the brand in one query
        spoken = once(("online_languages", team.brand_id), lambda: _online_languages(
            team.brand_id)).get(team.pk, [])
    else:
        spoken = list(team.members.filter(presence=Membership.Presence.ONLINE)
                      .values_list("languages", flat=True))
    return any(speaks(langs, language) for langs in spoken)


def _online_languages(brand_id: int) -> dict[int, list[list[str]]]:
    """Per team of the brand, the languages of each of its online members."""
    spoken: dict[int, list[list[str]]] = {}
    for team_id, languages in Membership.teams.through.objects.filter(
            team__brand_id=brand_id, membership__presence=Membership.Presence.ONLINE,
    ).values_list("team_id", "membership__languages"):
        spoken.setdefault(team_id, []).append(languages)
    return spoken


def local_team_for(account: OfficialAccount) -> Team | None:
    """A non-central team serving ``account``: one naming it first, else one serving
    every account (no accounts chosen), first by name."""
    if not sharing():
        teams = Team.objects.filter(brand_id=account.brand_id, is_central=False)
        return (teams.filter(accounts=account).order_by("name", "pk").first()
                or teams.filter(accounts__isnull=True).order_by("name", "pk").first())
    # A batch: the brand's local teams and the accounts each serves, read once.
    teams, served = once(("local_teams", account.brand_id),
                         lambda: _local_teams(account.brand_id))
    return (next((t for t in teams if account.pk in served.get(t.pk, ())), None)
            or next((t for t in teams if t.pk not in served), None))


def _local_teams(brand_id: int) -> tuple[list[Team], dict[int, set[int]]]:
    teams = list(Team.objects.filter(brand_id=brand_id, is_central=False)
                 .order_by("name", "pk"))
    served: dict[int, set[int]] = {}
    for team_id, account_id in Team.accounts.through.objects.filter(
            team__in=[t.pk for t in teams]).values_list("team_id", "officialaccount_id"):
        served.setdefault(team_id, set()).add(account_id)
    return teams, served


def team_is_open(team: Team, *, account: OfficialAccount | None, at: datetime) -> tuple[bool, str]:
    """The team's own hours, else ``account``'s, else open; with the reason in words."""
    schedule = schedule_of(team=team) or (schedule_of(account=account) if account else None)
    if schedule is None:
        return True, _("no business hours")
    return _state(schedule, at)


def central_team_for(*, brand_id: int, language: str, at: datetime) -> Team | None:
    """A central team open at ``at`` that speaks ``language``: one with an online speaker
    first, else one whose languages cover it; by name."""
    candidates = [team for team in central_teams(brand_id)
                  if team_is_open(team, account=None, at=at)[0]]
    for team in candidates:
        if team_has_online_speaker(team, language):
            return team
    return next((t for t in candidates if speaks(t.languages, language)), None)


def central_teams(brand_id: int) -> list[Team]:
    return once(("central_teams", brand_id), lambda: list(
        Team.objects.filter(brand_id=brand_id, is_central=True).order_by("name", "pk")))


def account_is_open(account: OfficialAccount, at: datetime) -> tuple[bool, str]:
    """The account's own hours at ``at`` (no hours: open), with the reason in words."""
    schedule = schedule_of(account=account)
    if schedule is None:
        return True, _("no business hours")
    return _state(schedule, at)


def account_is_off_hours(account: OfficialAccount, at: datetime) -> bool:
    """Outside the account's business hours at ``at``; an account without hours is open."""
    schedule = schedule_of(account=account)
    return schedule is not None and not business_hours.is_open(schedule, at)


def schedule_of(*, account: OfficialAccount | None = None,
              team: Team | None = None) -> BusinessHours | None:
    """The account's or team's business hours (None: none kept); in a batch
    (`routing.shared_reads`) the brand's are read once for all its accounts and teams."""
    owner = account if account is not None else team
    if owner is None or not sharing():
        return business_hours.schedule_for(account=account, team=team)
    kept = once(("hours", owner.brand_id), lambda: {
        ("account" if row.account_id else "team", row.account_id or row.team_id): row
        for row in BusinessHours.objects.filter(brand_id=owner.brand_id)
        .select_related("account", "brand")})
    return kept.get(("account" if account is not None else "team", owner.pk))


def _state(schedule: BusinessHours, at: datetime) -> tuple[bool, str]:
    # business_hours.state_of without the search for the next change, which routing
    # does not need and which walks days ahead.
    local = at.astimezone(business_hours.zone_of(schedule))
    day = business_hours.day_of(schedule, local.date())
    minute = local.hour * 60 + local.minute
    if any(a <= minute < b for a, b in day.intervals):
        return True, day.reason or _("within hours")
    if day.intervals or not day.reason:
        return False, ", ".join(filter(None, (day.reason, _("outside hours"))))
    return False, day.reason


# -- The decision -------------------------------------------------------------------------

def active_rules(brand_id: int) -> list[RoutingRule]:
    return once(("rules", brand_id), lambda: list(
        RoutingRule.objects.filter(brand_id=brand_id, is_active=True)
        .select_related("team", "account", "agent__user")
        .prefetch_related("accounts").order_by("position", "pk")
    ))


def why_not(rule: RoutingRule, facts: Facts, *, off_hours: bool) -> str:
    """The first condition of ``rule`` that does not hold for ``facts`` ("" when all do)."""
    if rule.accounts.all() and facts.account.pk not in {a.pk for a in rule.accounts.all()}:
        return "account"
    if rule.languages and facts.language not in rule.languages:
        return "language"
    if rule.first_contact is not None and rule.first_contact != facts.first_contact:
        return "first_contact"
    if rule.off_hours is not None and rule.off_hours != off_hours:
        return "off_hours"
    if rule.keywords:
        text = facts.text.casefold()
        if not any(k and str(k).casefold() in text for k in rule.keywords):
            return "keyword"
    if rule.menu_keys and facts.menu_key not in rule.menu_keys:
        return "menu_key"
    if rule.tags and not facts.tag_names.intersection(rule.tags):
        return "tag"
    for key, wanted in (rule.attributes or {}).items():
        if not _equal(facts.attributes.get(key), wanted):
            return "attribute"
    return ""


def _equal(value: object, wanted: object) -> bool:
    if value == wanted:
        return True
    return value is not None and str(value).strip().casefold() == str(wanted).strip().casefold()


def _target(rule: RoutingRule, facts: Facts) -> tuple[Team | None, Membership | None,
                                                      OfficialAccount | None]:
    """(team, agent, the account whose hours the team keeps) for a matching rule; a team
    of None with no agent means the rule has nothing to send to."""
    action = rule.action
    if action == RoutingRule.Action.TEAM:
        return rule.team, None, facts.account
    if action == RoutingRule.Action.ACCOUNT_TEAM and rule.account is not None:
        return local_team_for(rule.account), None, rule.account
    if action == RoutingRule.Action.CENTRAL:
        return _central(facts), None, None
    if action == RoutingRule.Action.AGENT and rule.agent is not None:
        return _team_of_agent(rule.agent, facts.account), rule.agent, facts.account
    return None, None, None


def _central(facts: Facts) -> Team | None:
    """The central team for these facts, else any central team (closed: it waits there)."""
    return (central_team_for(brand_id=facts.brand_id, language=facts.language, at=facts.at)
            or next(iter(central_teams(facts.brand_id)), None))


def _team_of_agent(agent: Membership, account: OfficialAccount) -> Team | None:
    """Where a conversation for a named agent waits while they are busy or away: their
    team serving the account, else their first team (where they will see it), else the
    account's local team."""
    teams = agent.teams.order_by("name", "pk")
    return (teams.filter(accounts=account).first() or teams.first()
            or local_team_for(account))


def decide(facts: Facts) -> Decision:
    """Where the conversation these facts describe goes, and the steps that led there."""
    off_hours = account_is_off_hours(facts.account, facts.at)
    steps: list[dict] = [
        {"step": "language", "language": facts.language, "source": facts.language_source},
        {"step": "hours", "account": facts.account.pk, "off_hours": off_hours},
    ]
    team = agent = rule = hours_account = None
    for candidate in active_rules(facts.brand_id):
        why = why_not(candidate, facts, off_hours=off_hours)
        if not why:
            team, agent, hours_account = _target(candidate, facts)
            if team is None and agent is None:
                why = "no_target"
        step = {"step": "rule", "rule": candidate.pk, "name": candidate.name,
                "matched": not why, "why": why}
        if not why:
            step.update(action=candidate.action, team=_pk(team), team_name=_name(team),
                        agent=_pk(agent))
            steps.append(step)
            rule = candidate
            break
        steps.append(step)
    if rule is None:
        team = local_team_for(facts.account)
        hours_account = facts.account
        to = "account_team"
        if team is None:
            team, hours_account, to = _central(facts), None, "central"
        steps.append({"step": "fallback", "to": to if team else "none", "team": _pk(team),
                      "team_name": _name(team)})
    overflowed_from = None
    if agent is None and team is not None and not team.is_central:
        team, overflowed_from = _overflow(team, facts, hours_account, steps)
    return Decision(team=team, agent=agent, rule=rule, language=facts.language,
                    off_hours=off_hours, overflowed_from=overflowed_from, steps=steps)


def _overflow(team: Team, facts: Facts, hours_account: OfficialAccount | None,
              steps: list[dict]) -> tuple[Team, Team | None]:
    """With overflow "at once": a closed team, or one nobody online speaks the language
    in, hands over to an open central team that speaks it (when there is one)."""
    if overflow_mode(facts.brand_id) != RoutingSettings.Overflow.AT_ONCE:
        return team, None
    is_open, _reason = team_is_open(team, account=hours_account, at=facts.at)
    if is_open and team_has_online_speaker(team, facts.language):
        return team, None
    why = "no_speaker" if is_open else "closed"
    central = central_team_for(brand_id=facts.brand_id, language=facts.language, at=facts.at)
    steps.append({"step": "overflow", "why": why, "from": team.pk, "from_name": team.name,
                  "to": _pk(central), "to_name": _name(central)})
    if central is None:
        return team, None
    return central, team


def overflow_mode(brand_id: int) -> str:
    """The brand's overflow setting, read without creating the settings row (the decision
    writes nothing): the model's default until an admin saves the settings."""
    saved = once(("overflow", brand_id), lambda: RoutingSettings.objects.filter(
        brand_id=brand_id).values_list("overflow", flat=True).first())
    return saved or RoutingSettings._meta.get_field("overflow").default


def _pk(row: object) -> int | None:
    return getattr(row, "pk", None)


def _name(team: Team | None) -> str:
    return team.name if team is not None else ""
