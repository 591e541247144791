"""The demo's routing (called by ``seed_demo``; idempotent): who sits in which team,
business hours, a few ordered rules and response-time targets.

The seeds' case: a guest writes "airport" or "接机" to the flagship or to the Bund hotel
and lands with the Bund's front desk; in Sanlitun with its concierge; a follower writing
Traditional Chinese goes to central care, which also answers around the clock when a
property is closed.
"""

from __future__ import annotations

from accounts import business_hours
from accounts.models import Brand, Membership, OfficialAccount, Role, Team
from accounts.scope import scope_for_membership
from routing import rules_admin
from routing.models import RoutingRule

FLAGSHIP, BUND, SANLITUN = "wx1a2b3c4d5e6f7001", "wx1a2b3c4d5e6f7002", "wx1a2b3c4d5e6f7003"
AIRPORT = ["airport", "pick-up", "接机", "接機", "机场", "機場"]
# team, members (by email)
MEMBERS = {
    "Bund front desk": ["agent@lumen.demo", "manager@lumen.demo"],
    "Sanlitun concierge": ["manager@lumen.demo"],
    "Central care": ["admin@lumen.demo", "owner@lumen.demo"],
}
DAILY = {"Central care": (0, 24 * 60), "Bund front desk": (7 * 60, 23 * 60),
         "Sanlitun concierge": (8 * 60, 22 * 60)}
ACCOUNT_HOURS = {FLAGSHIP: (9 * 60, 21 * 60), BUND: (7 * 60, 23 * 60),
                 SANLITUN: (8 * 60, 22 * 60)}


def _rules(accounts: dict[str, OfficialAccount], teams: dict[str, Team]) -> list[dict]:
    return [
        {"name": "Airport pick-up at the Bund", "keywords": AIRPORT,
         "account_ids": [accounts[FLAGSHIP].pk, accounts[BUND].pk], "action": "account_team",
         "account_id": accounts[BUND].pk},
        {"name": "Airport pick-up in Sanlitun", "keywords": AIRPORT,
         "account_ids": [accounts[SANLITUN].pk], "action": "team",
         "team_id": teams["Sanlitun concierge"].pk},
        {"name": "Traditional Chinese to central care", "languages": ["zh-hant"],
         "action": "central"},
    ]


def seed_routing(brand: Brand) -> int:
    """Teams' members, hours, rules and targets; returns how many rules the brand has."""
    owner = Membership.objects.filter(brand=brand, role=Role.OWNER).first()
    scope = scope_for_membership(owner)
    teams = {t.name: t for t in Team.objects.filter(brand=brand)}
    accounts = {a.appid: a for a in OfficialAccount.objects.filter(brand=brand)}
    for name, emails in MEMBERS.items():
        for membership in Membership.objects.filter(brand=brand, user__email__in=emails):
            membership.teams.add(teams[name])
    for name, (opens, closes) in DAILY.items():
        business_hours.hours_save(scope=scope, team=teams[name], week=[[(opens, closes)]] * 7,
                                  time_zone="", observe_cn_holidays=name != "Central care")
    for appid, (opens, closes) in ACCOUNT_HOURS.items():
        business_hours.hours_save(scope=scope, account=accounts[appid],
                                  week=[[(opens, closes)]] * 7, time_zone="",
                                  observe_cn_holidays=True)
    for fields in _rules(accounts, teams):
        existing = RoutingRule.objects.filter(brand=brand, name=fields["name"]).first()
        if existing is None:
            rules_admin.rule_create(scope=scope, **fields)
        else:
            rules_admin.rule_update(scope=scope, rule=existing, **fields)
    for team in teams.values():
        rules_admin.targets_update(scope=scope, team=team, first=5, next=15)
    return RoutingRule.objects.filter(brand=brand).count()
