"""The routing map: where a first-time follower of each account goes by day and by night,
and the picture of it (accounts, rules and teams in three columns, joined by lines).

Each account's two routes are ``routing.rules.decide`` on made-up facts: a follower
writing for the first time, with no text, tags or menu click, in the chosen language, at
the chosen times of the chosen day in the account's own time zone. The picture is laid
out here, in plain numbers, and drawn by the template as SVG: no script, so it prints
and reads the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from accounts.models import OfficialAccount, Team
from routing import rules
from routing.models import RoutingRule

COLUMNS = (0, 340, 680)  # x of the accounts, rules and teams columns
NODE_W, NODE_H, GAP, TOP = 260, 46, 16, 36
OVERFLOW_REACH = 70  # how far right of the teams column an overflow arc swings
WIDTH = COLUMNS[2] + NODE_W + OVERFLOW_REACH + 10
SHIFT = {"day": -7, "night": 7}  # the two lines of an account, apart where they start
SLOT_MAX = 6  # at most this far apart where many lines meet on a rule or a team
LABEL_MAX = 30


@dataclass
class Route:
    kind: str  # "day" or "night"
    at: datetime  # in the account's zone
    decision: rules.Decision

    @property
    def overflowed(self) -> bool:
        return self.decision.overflowed_from is not None


@dataclass
class AccountRoutes:
    account: OfficialAccount
    day: Route
    night: Route

    @property
    def routes(self) -> tuple[Route, Route]:
        return self.day, self.night


@dataclass
class Node:
    key: str
    column: int
    label: str
    sub: str = ""
    css: str = ""
    x: int = 0
    y: int = 0
    w: int = NODE_W
    h: int = NODE_H

    @property
    def short(self) -> str:
        return _shorten(self.label)

    @property
    def mid(self) -> int:
        return self.y + self.h // 2

    @property
    def text_y(self) -> int:
        return self.y + (19 if self.sub else 28)


@dataclass
class Line:
    d: str
    css: str
    title: str
    testid: str


@dataclass
class Picture:
    nodes: list[Node] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    width: int = WIDTH
    height: int = 0
    headings: list[tuple[int, str]] = field(default_factory=list)


def routes_for(*, brand_id: int, accounts: list[OfficialAccount], day: date, day_time: time,
               night_time: time, language: str) -> list[AccountRoutes]:
    """Each account's route by day and by night, for a first-time follower."""
    found = []
    for account in accounts:
        zone = ZoneInfo(account.timezone)
        pair = [
            Route(kind, at, rules.decide(_facts(brand_id, account, language, at)))
            for kind, at in (("day", datetime.combine(day, day_time, tzinfo=zone)),
                             ("night", datetime.combine(day, night_time, tzinfo=zone)))
        ]
        found.append(AccountRoutes(account, *pair))
    return found


def _facts(brand_id: int, account: OfficialAccount, language: str, at: datetime) -> rules.Facts:
    return rules.Facts(brand_id=brand_id, account=account, language=language,
                       language_source="given", text="", menu_key="", first_contact=True,
                       at=at, tag_names=frozenset(), attributes={})


def picture(routes: list[AccountRoutes], *, rule_list: list[RoutingRule],
            teams: list[Team]) -> Picture:
    """Lay out the accounts, the rules (and "no rule matched") and the teams (and "no
    team"), with a line per account and time of day, and an arc for each overflow."""
    pic = Picture(headings=[(COLUMNS[0], _("Accounts")), (COLUMNS[1], _("Rules")),
                            (COLUMNS[2], _("Teams"))])
    accounts = [Node(f"account-{r.account.pk}", 0, r.account.name, r.account.timezone,
                     "account") for r in routes]
    rule_nodes = [Node(f"rule-{rule.pk}", 1, rule.name, _sends_to(rule), "rule")
                  for rule in rule_list]
    rule_nodes.append(Node("rule-none", 1, _("No rule matched"),
                           _("the account's team, else the central team"), "rule fallback"))
    wanted = {t.pk: t for t in teams}
    for r in routes:
        for route in r.routes:
            for team in (route.decision.team, route.decision.overflowed_from):
                if team is not None:
                    wanted.setdefault(team.pk, team)
    ordered = sorted(wanted.values(), key=lambda t: (t.is_central, t.name.casefold(), t.pk))
    team_nodes = [Node(f"team-{t.pk}", 2, t.name, _("central") if t.is_central else "",
                       "team central" if t.is_central else "team") for t in ordered]
    if any(route.decision.team is None for r in routes for route in r.routes):
        team_nodes.append(Node("team-none", 2, _("No team"), _("the account's queue"),
                               "team none"))
    for column in (accounts, rule_nodes, team_nodes):
        for index, node in enumerate(column):
            node.x = COLUMNS[node.column]
            node.y = TOP + index * (NODE_H + GAP)
    pic.nodes = accounts + rule_nodes + team_nodes
    by_key = {n.key: n for n in pic.nodes}
    tallest = max(len(accounts), len(rule_nodes), len(team_nodes))
    pic.height = TOP + tallest * (NODE_H + GAP)
    # Each account and time of day meets the rules and teams at its own height, so that
    # lines sharing a node stay apart and can be followed.
    slots = 2 * len(routes)
    step = min(SLOT_MAX, (NODE_H - 10) / max(slots - 1, 1))
    for index, r in enumerate(routes):
        for route in r.routes:
            slot = 2 * index + (route.kind == "night")
            offset = round((slot - (slots - 1) / 2) * step)
            pic.lines.extend(_lines(r.account, route, by_key, offset))
    return pic


def _lines(account: OfficialAccount, route: Route, by_key: dict[str, Node],
           shift: int) -> list[Line]:
    decision = route.decision
    start = by_key[f"account-{account.pk}"]
    rule = by_key[f"rule-{decision.rule.pk}" if decision.rule else "rule-none"]
    first_team = decision.overflowed_from or decision.team
    team = by_key[f"team-{first_team.pk}" if first_team else "team-none"]
    title = describe(account, route)
    testid = f"line-{account.pk}-{route.kind}"
    lines = [
        Line(_curve(start.x + start.w, start.mid + SHIFT[route.kind], rule.x, rule.mid + shift),
             f"line {route.kind}", title, f"{testid}-rule"),
        Line(_curve(rule.x + rule.w, rule.mid + shift, team.x, team.mid + shift),
             f"line {route.kind}", title, f"{testid}-team"),
    ]
    if decision.overflowed_from is not None:
        central = by_key[f"team-{decision.team.pk}"]
        right = team.x + team.w
        lines.append(Line(
            f"M {right} {team.mid + shift} C {right + OVERFLOW_REACH} {team.mid + shift}, "
            f"{right + OVERFLOW_REACH} {central.mid + shift}, {right} {central.mid + shift}",
            f"line {route.kind} overflow", title, f"{testid}-overflow"))
    return lines


def _sends_to(rule: RoutingRule) -> str:
    """Where a rule sends, under its name: "→ Care centre", "→ Bund hotel"."""
    if rule.action == RoutingRule.Action.TEAM and rule.team is not None:
        target = rule.team.name
    elif rule.action == RoutingRule.Action.ACCOUNT_TEAM and rule.account is not None:
        target = rule.account.name
    elif rule.action == RoutingRule.Action.AGENT and rule.agent is not None:
        target = rule.agent.display_name or rule.agent.user.get_short_name() \
            or rule.agent.user.email
    elif rule.action == RoutingRule.Action.CENTRAL:
        target = _("the central team")
    else:
        target = "?"
    return _shorten(f"→ {target}")


def _curve(x1: int, y1: int, x2: int, y2: int) -> str:
    bend = (x2 - x1) // 2
    return f"M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}"


def describe(account: OfficialAccount, route: Route) -> str:
    """One line in words: "Flagship by night (22:00): rule VIP → Care centre"."""
    decision = route.decision
    when = _("by day") if route.kind == "day" else _("by night")
    via = (_("rule %(name)s") % {"name": decision.rule.name} if decision.rule
           else _("no rule matched"))
    to = decision.team.name if decision.team else _("the account's queue")
    text = f"{account.name} {when} ({route.at:%H:%M}): {via} → {to}"
    if decision.overflowed_from is not None:
        text += " " + _("(overflowed from %(team)s)") % {"team": decision.overflowed_from.name}
    return text


def _shorten(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"
