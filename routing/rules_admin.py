"""Brand admins' changes to routing: the ordered rules, the brand's routing settings and
each team's response-time targets. Pages and REST both call these.

Who may change what: owners and admins everything; a manager only what stays inside the
accounts they manage. A manager's rule names some of their accounts as its condition
(so it can only ever match conversations there) and sends them to a team, account or
agent they see. A manager may also move their rules among the others, since that only
changes what happens on their own accounts; the rules they cannot change keep their
order among themselves. The brand's settings apply to every account, so only owners and
admins change them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.errors import InvalidInput, NotInScope, RoleRequired
from accounts.forms import LANGUAGE_CHOICES
from accounts.models import Team
from accounts.scope import Scope, access
from routing.brand_settings import settings_for, targets_for
from routing.language import LANGUAGES
from routing.models import RoutingRule, RoutingSettings, TeamTargets

Action = RoutingRule.Action
LIST_FIELDS = ("keywords", "menu_keys", "tags")
SETTINGS_FIELDS = (
    "strategy", "return_on_offline", "overflow", "overflow_after_minutes", "overflow_return",
    "transfer_timeout_minutes", "transfer_timeout_to", "auto_resolve_after_hours",
    "warn_before_minutes",
)
# The target each action needs; the others are cleared when a rule is saved.
TARGET_OF = {Action.TEAM: "team", Action.ACCOUNT_TEAM: "account", Action.AGENT: "agent"}


# -- Reading ------------------------------------------------------------------------------

def rule_list(*, scope: Scope) -> QuerySet[RoutingRule]:
    """The brand's rules in order. A manager sees those that can match on their accounts:
    the ones naming one of them, and the ones for every account."""
    qs = RoutingRule.objects.filter(brand_id=scope.brand_id)
    if scope.account_ids is not None:
        qs = qs.filter(Q(accounts__in=scope.account_ids) | Q(accounts__isnull=True)).distinct()
    return qs.select_related("team", "account", "agent__user").prefetch_related("accounts")


def rule_within_reach(*, scope: Scope, rule: RoutingRule) -> bool:
    if scope.is_brand_wide:
        return True
    covered = {a.pk for a in rule.accounts.all()}
    return bool(covered) and covered <= scope.account_ids


def team_within_reach(*, scope: Scope, team: Team) -> bool:
    if scope.is_brand_wide:
        return True
    covered = set(team.accounts.values_list("pk", flat=True))
    return bool(covered) and covered <= scope.account_ids


def _language_name(code: str) -> str:
    return str(dict(LANGUAGE_CHOICES).get(code, code))


def _quoted(values: list[str]) -> str:
    return _(" or ").join(f"“{v}”" for v in values)


def rule_summary(rule: RoutingRule) -> str:
    """The rule in one line: its conditions, then where it sends the conversation, e.g.
    "Text contains “airport” · any account → Concierge"."""
    parts = []
    if rule.keywords:
        parts.append(_("Text contains %(words)s") % {"words": _quoted(rule.keywords)})
    if rule.menu_keys:
        parts.append(_("Menu key %(keys)s") % {"keys": _quoted(rule.menu_keys)})
    if rule.languages:
        parts.append(_("Language %(names)s") % {
            "names": _(" or ").join(_language_name(c) for c in rule.languages)})
    if rule.first_contact is not None:
        parts.append(_("First contact") if rule.first_contact else _("Returning follower"))
    if rule.off_hours is not None:
        parts.append(_("Outside business hours") if rule.off_hours else _("Within business hours"))
    if rule.tags:
        parts.append(_("Tagged %(tags)s") % {"tags": _quoted(rule.tags)})
    for key, value in sorted(rule.attributes.items()):
        parts.append(f"{key} = {value}")
    names = [a.name for a in rule.accounts.all()]
    parts.append(_("on %(names)s") % {"names": ", ".join(names)} if names
                 else _("any account"))
    return f"{' · '.join(parts)} → {action_summary(rule)}"


def action_summary(rule: RoutingRule) -> str:
    if rule.action == Action.TEAM and rule.team:
        return rule.team.name
    if rule.action == Action.ACCOUNT_TEAM and rule.account:
        return _("the team of %(account)s") % {"account": rule.account.name}
    if rule.action == Action.AGENT and rule.agent:
        name = rule.agent.display_name or rule.agent.user.name or rule.agent.user.email
        return _("agent %(name)s") % {"name": name}
    return _("the central team")


# -- Checking a rule's input ------------------------------------------------------------

def _clean_list(values: list[str] | None) -> list[str]:
    """Trimmed, without empties or repeats, in the order given."""
    seen: list[str] = []
    for value in values or []:
        text = str(value).strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def _clean_attributes(values: dict | None) -> dict[str, str]:
    cleaned = {}
    for key, value in (values or {}).items():
        key, value = str(key).strip(), str(value).strip()
        if key:
            cleaned[key] = value
    return cleaned


def rule_input_errors(*, scope: Scope, data: dict) -> dict[str, list[str]]:
    """Every rule the input breaks, beside its field, as sentences. `data` holds the
    resolved objects (accounts, team, account, agent) as `_resolve` gives them."""
    errors: dict[str, list[str]] = {}
    if not (data.get("name") or "").strip():
        errors["name"] = [_("Give the rule a name.")]
    unknown = [c for c in data.get("languages", []) if c not in LANGUAGES]
    if unknown:
        errors["languages"] = [_("These are not languages routing knows: %(codes)s.")
                               % {"codes": ", ".join(map(str, unknown))}]
    action = data.get("action")
    if action not in Action.values:
        errors["action"] = [_("Choose what the rule does.")]
    elif action == Action.TEAM and data.get("team") is None:
        errors["team"] = [_("Choose the team this rule sends conversations to.")]
    elif action == Action.ACCOUNT_TEAM and data.get("account") is None:
        errors["account"] = [_("Choose the account whose team takes these conversations.")]
    elif action == Action.AGENT and data.get("agent") is None:
        errors["agent"] = [_("Choose the agent who takes these conversations.")]
    team = data.get("team")
    if not scope.is_brand_wide:
        chosen = {a.pk for a in data.get("accounts", [])}
        if not chosen:
            errors["accounts"] = [_("Choose the accounts this rule is for: you manage "
                                    "only some of the brand's accounts.")]
        if action == Action.TEAM and team is not None and not team_within_reach(
                scope=scope, team=team):
            errors["team"] = [_("This team also answers for accounts you do not manage; "
                                "choose one of your teams.")]
    return errors


def _resolve(*, scope: Scope, account_ids: list[int] | None = None,
             team_id: int | None = None, account_id: int | None = None,
             agent_id: int | None = None, action: str = "", **rest: object) -> dict:
    """The ids as objects the scope sees (NotInScope, 404, for any other), only the target
    the action uses, and the lists trimmed."""
    target = TARGET_OF.get(action)
    data: dict = {"action": action, **rest}
    ids = list(dict.fromkeys(account_ids or []))
    accounts = list(scope.accounts().filter(pk__in=ids))
    if len(accounts) != len(ids):
        raise NotInScope()
    data["accounts"] = accounts
    data["team"] = (access(selectors.team_list(scope=scope), team_id)
                    if team_id is not None and target == "team" else None)
    data["account"] = (access(scope.accounts(), account_id)
                       if account_id is not None and target == "account" else None)
    data["agent"] = (access(selectors.member_list(scope=scope), agent_id)
                     if agent_id is not None and target == "agent" else None)
    data["languages"] = list(dict.fromkeys(data.get("languages") or []))
    for name in LIST_FIELDS:
        data[name] = _clean_list(data.get(name))
    data["attributes"] = _clean_attributes(data.get("attributes"))
    data["name"] = (data.get("name") or "").strip()
    return data


def _check(scope: Scope, data: dict) -> None:
    errors = rule_input_errors(scope=scope, data=data)
    if errors:
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms), fields=errors)


def _apply(rule: RoutingRule, data: dict) -> None:
    for name in ("name", "languages", "keywords", "menu_keys", "tags", "attributes",
                 "action", "team", "account", "agent"):
        setattr(rule, name, data[name])
    rule.is_active = bool(data.get("is_active", True))
    rule.first_contact = data.get("first_contact")
    rule.off_hours = data.get("off_hours")


def _require_reach(scope: Scope, rule: RoutingRule) -> None:
    if not rule_within_reach(scope=scope, rule=rule):
        raise RoleRequired(_("This rule can match accounts you do not manage; an owner or "
                             "admin can change it."))


# -- Changing rules ------------------------------------------------------------------------

@transaction.atomic
def rule_create(*, scope: Scope, name: str, action: str, account_ids: list[int] | None = None,
                team_id: int | None = None, account_id: int | None = None,
                agent_id: int | None = None, **conditions: object) -> RoutingRule:
    """A new rule, last in the brand's order."""
    scope.require("teams.manage")
    data = _resolve(scope=scope, name=name, action=action, account_ids=account_ids,
                    team_id=team_id, account_id=account_id, agent_id=agent_id, **conditions)
    _check(scope, data)
    last = (RoutingRule.objects.select_for_update().filter(brand_id=scope.brand_id)
            .order_by("-position").values_list("position", flat=True).first())
    rule = RoutingRule(brand_id=scope.brand_id, position=0 if last is None else last + 1)
    _apply(rule, data)
    rule.save()
    rule.accounts.set(data["accounts"])
    return rule


@transaction.atomic
def rule_update(*, scope: Scope, rule: RoutingRule, name: str, action: str,
                account_ids: list[int] | None = None, team_id: int | None = None,
                account_id: int | None = None, agent_id: int | None = None,
                **conditions: object) -> RoutingRule:
    """Replace the rule's conditions and action; its place in the order stays."""
    scope.require("teams.manage")
    if rule.brand_id != scope.brand_id:
        raise NotInScope()
    _require_reach(scope, rule)
    data = _resolve(scope=scope, name=name, action=action, account_ids=account_ids,
                    team_id=team_id, account_id=account_id, agent_id=agent_id, **conditions)
    _check(scope, data)
    _apply(rule, data)
    rule.save()
    rule.accounts.set(data["accounts"])
    return rule


def rule_delete(*, scope: Scope, rule: RoutingRule) -> None:
    scope.require("teams.manage")
    if rule.brand_id != scope.brand_id:
        raise NotInScope()
    _require_reach(scope, rule)
    rule.delete()


def _renumber(ordered: list[RoutingRule]) -> None:
    changed = []
    for position, rule in enumerate(ordered):
        if rule.position != position:
            rule.position = position
            changed.append(rule)
    RoutingRule.objects.bulk_update(changed, ["position"])


def _brand_order(scope: Scope) -> list[RoutingRule]:
    """Every rule of the brand, in order, locked: two reorders at once apply one by one."""
    return list(RoutingRule.objects.select_for_update().filter(brand_id=scope.brand_id)
                .order_by("position", "pk"))


@transaction.atomic
def rule_move(*, scope: Scope, rule: RoutingRule, direction: str) -> RoutingRule:
    """Move the rule one place "up" (earlier, tried sooner) or "down" among the rules the
    scope sees; at either end it stays."""
    scope.require("teams.manage")
    if direction not in ("up", "down"):
        raise InvalidInput(_("Move a rule up or down."),
                           fields={"direction": [_("Move a rule up or down.")]})
    if rule.brand_id != scope.brand_id:
        raise NotInScope()
    _require_reach(scope, rule)
    everything = _brand_order(scope)
    seen = set(rule_list(scope=scope).values_list("pk", flat=True))
    visible = [r.pk for r in everything if r.pk in seen]
    index = visible.index(rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(visible):
        order = [r for r in everything if r.pk != rule.pk]
        at = next(i for i, r in enumerate(order) if r.pk == visible[other])
        moving = next(r for r in everything if r.pk == rule.pk)
        order.insert(at if direction == "up" else at + 1, moving)
        _renumber(order)
    rule.refresh_from_db()
    return rule


@transaction.atomic
def rules_reorder(*, scope: Scope, ids: list[int]) -> list[RoutingRule]:
    """Put the rules the scope sees in the order of `ids` (each of them exactly once).
    Rules the scope does not see keep their places; for a manager, the rules they cannot
    change keep their order among themselves."""
    scope.require("teams.manage")
    everything = _brand_order(scope)
    seen = list(rule_list(scope=scope).order_by("position", "pk"))
    seen_ids = [r.pk for r in seen]
    try:
        given = [int(i) for i in ids]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("Give the rules' ids in their new order."),
                           fields={"ids": [_("Give the rules' ids in their new order.")]}) from exc
    if sorted(given) != sorted(seen_ids) or len(set(given)) != len(given):
        message = _("Give every rule once, in its new order: the list has %(given)s ids, "
                    "and there are %(count)s rules.") % {"given": len(given),
                                                          "count": len(seen_ids)}
        raise InvalidInput(message, fields={"ids": [message]})
    fixed = [r.pk for r in seen if not rule_within_reach(scope=scope, rule=r)]
    if [i for i in given if i in fixed] != fixed:
        raise RoleRequired(_("Rules that can match accounts you do not manage keep their "
                             "order; an owner or admin can change it."))
    # The rules seen take the slots they held, in the new order; the others stay put.
    by_pk = {r.pk: r for r in everything}
    slots, seen_set = iter(given), set(seen_ids)
    order = [by_pk[next(slots)] if r.pk in seen_set else r for r in everything]
    _renumber(order)
    return list(rule_list(scope=scope).order_by("position", "pk"))


# -- Settings and targets ------------------------------------------------------------------

def _fields_of(exc: ValidationError) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}


def settings_update(*, scope: Scope, **fields: object) -> RoutingSettings:
    """Change some of the brand's routing settings (SETTINGS_FIELDS)."""
    scope.require("teams.manage")
    if not scope.is_brand_wide:
        raise RoleRequired(_("Routing settings apply to every account of the brand; an "
                             "owner or admin can change them."))
    unknown = sorted(set(fields) - set(SETTINGS_FIELDS))
    if unknown:
        raise TypeError(f"not routing settings: {unknown}")
    row = settings_for(scope.brand_id)
    for name, value in fields.items():
        setattr(row, name, value)
    try:
        row.full_clean(exclude=["brand"])
    except ValidationError as exc:
        errors = _fields_of(exc)
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms),
                           fields=errors) from exc
    row.save()
    return row


def targets_update(*, scope: Scope, team: Team, first: int | None,
                   next: int | None) -> TeamTargets:
    """A team's first and next response targets in business minutes (None: no target)."""
    scope.require("teams.manage")
    if team.brand_id != scope.brand_id:
        raise NotInScope()
    if not team_within_reach(scope=scope, team=team):
        raise RoleRequired(_("This team also answers for accounts you do not manage; an "
                             "owner or admin can change its targets."))
    errors = {}
    for name, value in (("first_response_minutes", first), ("next_response_minutes", next)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            errors[name] = [_("Give a number of minutes from 1, or leave it empty for no "
                              "target.")]
    if errors:
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms), fields=errors)
    row = targets_for(team)
    row.first_response_minutes, row.next_response_minutes = first, next
    row.save()
    return row
