"""Tag rules: keyword matching (exact, contains, regex; case-insensitive) and behaviour
rules evaluated over many followers at once.

Regex safety. Python's ``re`` has no timeout, so a pattern is judged before it is saved:
- at most `MAX_PATTERN` characters, and it must compile;
- no back-references, and no repeat inside a repeat (``(a+)+``, ``(a|aa)*``, ``(.*)*``):
  the shapes that backtrack exponentially are refused, with the reason;
- then it is run, in a child process killed after `PROBE_SECONDS`, on adversarial texts
  (long runs of one character followed by a mismatch); a pattern that does not answer in
  time is refused.
At match time the text is cut to `MAX_TEXT` characters.

Behaviour conditions on messages and menu clicks need messaging's rows: messaging registers
them here (`register_condition`) from its ``ready()``, since followers may not import it.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import InvalidInput
from accounts.models import Membership
from accounts.scope import Scope, access
from followers import tags as tag_services
from followers.models import Campaign, Follower, Tag, TagRule

try:
    from re import _parser as sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

logger = logging.getLogger(__name__)

MAX_PATTERN = 200
MAX_TEXT = 1000
PROBE_SECONDS = 0.5
_PROBES = ("a" * 5000 + "!", "1" * 5000 + "x", " " * 5000 + "x", "ab" * 2500 + "!",
           "EN" * 2500 + "?", "中" * 3000 + "!")


# -- regex safety ------------------------------------------------------------------------


def _walk(parsed: Iterable, inside_repeat: bool) -> str:
    for op, av in parsed:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return _("Back-references (\\1) are not allowed.")
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, body = av
            repeats = high is sre_parse.MAXREPEAT or high > 1
            if repeats and inside_repeat:
                return _("A repeat inside a repeat (like (a+)+) can take forever to match: "
                         "write it with one repeat.")
            error = _walk(body, inside_repeat or repeats)
            if error:
                return error
        elif name == "SUBPATTERN":
            error = _walk(av[-1], inside_repeat)
            if error:
                return error
        elif name == "BRANCH":
            for branch in av[1]:
                error = _walk(branch, inside_repeat)
                if error:
                    return error
        elif name in ("ASSERT", "ASSERT_NOT"):
            error = _walk(av[1], inside_repeat)
            if error:
                return error
    return ""


def _probe(pattern: str, queue: multiprocessing.Queue) -> None:  # pragma: no cover (child)
    compiled = re.compile(pattern, re.IGNORECASE)
    for text in _PROBES:
        compiled.search(text)
    queue.put(True)


def _answers_in_time(pattern: str) -> bool:
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = ctx.Queue()
    child = ctx.Process(target=_probe, args=(pattern, queue), daemon=True)
    child.start()
    child.join(PROBE_SECONDS)
    if child.is_alive():
        child.kill()
        child.join()
        return False
    return child.exitcode == 0


def regex_error(pattern: str) -> str:
    """Why ``pattern`` cannot be a rule's regex ("" when it can)."""
    if not pattern:
        return _("A pattern is needed.")
    if len(pattern) > MAX_PATTERN:
        return _("A pattern has at most %(limit)s characters.") % {"limit": MAX_PATTERN}
    try:
        re.compile(pattern, re.IGNORECASE)
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except re.error as exc:
        return _("The pattern is not a valid regular expression: %(error)s") % {
            "error": str(exc)}
    error = _walk(parsed, False)
    if error:
        return error
    if not _answers_in_time(pattern):
        return _("The pattern takes too long to match a long text: simplify it.")
    return ""


# -- keyword matching --------------------------------------------------------------------


def rule_matches(rule: TagRule, text: str) -> bool:
    text = text[:MAX_TEXT].strip()
    pattern = rule.pattern.strip()
    if not text or not pattern:
        return False
    if rule.match == TagRule.Match.EXACT:
        return text.casefold() == pattern.casefold()
    if rule.match == TagRule.Match.CONTAINS:
        return pattern.casefold() in text.casefold()
    try:
        return re.search(rule.pattern, text, re.IGNORECASE) is not None
    except re.error:  # validated on save; an old row with a bad pattern matches nothing
        logger.warning("tag rule with a bad pattern", extra={"rule_id": rule.pk})
        return False


def keyword_rules_for(*, brand_id: int, account_id: int | None) -> QuerySet[TagRule]:
    """The active keyword rules that apply on ``account_id``, in order (None: brand-wide
    rules only)."""
    qs = TagRule.objects.filter(brand_id=brand_id, kind=TagRule.Kind.KEYWORD, is_active=True)
    qs = qs.filter(account__isnull=True) if account_id is None else qs.filter(
        account_id__in=[account_id]) | qs.filter(account__isnull=True)
    return qs.order_by("position", "pk").prefetch_related("add_tags", "remove_tags")


def keyword_rule_first(*, brand_id: int, account_id: int | None, text: str) -> TagRule | None:
    """The first rule (by position) whose keyword matches: it is the one that acts."""
    return next((r for r in keyword_rules_for(brand_id=brand_id, account_id=account_id)
                 if rule_matches(r, text)), None)


def rules_test(*, scope: Scope, text: str, account_id: int | None = None) -> list[dict]:
    """Each keyword rule against ``text``: which match, and which one would act."""
    if account_id is not None:
        access(scope.accounts(), account_id)
    rows = []
    acting = None
    for rule in keyword_rules_for(brand_id=scope.brand_id, account_id=account_id):
        hit = rule_matches(rule, text)
        if hit and acting is None:
            acting = rule.pk
        rows.append({"rule_id": rule.pk, "name": rule.name, "matches": hit,
                     "acts": hit and acting == rule.pk})
    return rows


def reply_for(rule: TagRule, language: str) -> str:
    """The rule's reply in ``language`` (zh_CN, zh_TW, en), else its single text."""
    replies = rule.replies or {}
    return str(replies.get(language) or rule.reply_text or "").strip()


def follower_actions_apply(*, rule: TagRule, follower_ids: list[int],
                           at: datetime | None = None) -> dict:
    """The rule's tag and language actions on these followers (one brand)."""
    at = at or timezone.now()
    added: dict[str, list[int]] = {}
    removed: dict[str, list[int]] = {}
    for tag in rule.add_tags.all():
        added[tag.name] = tag_services.tag_add(tag=tag, followers=follower_ids,
                                               source=tag_services.RULE, rule_id=rule.pk, at=at)
    for tag in rule.remove_tags.all():
        removed[tag.name] = tag_services.tag_remove(tag=tag, followers=follower_ids,
                                                    source=tag_services.RULE,
                                                    rule_id=rule.pk, at=at)
    return {"added": added, "removed": removed}


# -- behaviour conditions ----------------------------------------------------------------

Condition = Callable[[TagRule, QuerySet[Follower], datetime], QuerySet[Follower]]
_conditions: dict[str, Condition] = {}


def register_condition(behaviour: str, fn: Condition) -> None:
    _conditions[behaviour] = fn


def _campaign(rule: TagRule, followers: QuerySet[Follower], at: datetime) -> QuerySet[Follower]:
    return followers.filter(qrcode__campaign_id=rule.campaign_id)


def _inactive(rule: TagRule, followers: QuerySet[Follower], at: datetime) -> QuerySet[Follower]:
    since = at - timedelta(days=rule.days or 0)
    return (followers.filter(subscribed=True, last_inbound_at__lt=since)
            | followers.filter(subscribed=True, last_inbound_at__isnull=True,
                               subscribed_at__lt=since))


def _multi_account(rule: TagRule, followers: QuerySet[Follower], at: datetime
                   ) -> QuerySet[Follower]:
    many = (Follower.objects.filter(brand_id=rule.brand_id, subscribed=True,
                                    customer__isnull=False)
            .values("customer_id").annotate(n=Count("account_id", distinct=True))
            .filter(n__gte=2).values("customer_id"))
    return followers.filter(subscribed=True, customer_id__in=many)


register_condition(TagRule.Behaviour.CAMPAIGN, _campaign)
register_condition(TagRule.Behaviour.INACTIVE, _inactive)
register_condition(TagRule.Behaviour.MULTI_ACCOUNT, _multi_account)


def behaviour_rule_apply(*, rule: TagRule, follower_ids: Iterable[int] | None = None,
                         at: datetime | None = None) -> dict:
    """Who meets the rule's condition now (within ``follower_ids`` when given): set-based,
    one query for the condition and one per tag for those still lacking (or holding) it."""
    at = at or timezone.now()
    condition = _conditions.get(rule.behaviour)
    if condition is None:
        logger.warning("behaviour rule without a condition", extra={
            "rule_id": rule.pk, "behaviour": rule.behaviour})
        return {"added": {}, "removed": {}}
    base = Follower.objects.filter(brand_id=rule.brand_id)
    if rule.account_id:
        base = base.filter(account_id=rule.account_id)
    if follower_ids is not None:
        base = base.filter(pk__in=list(follower_ids))
    matching = condition(rule, base, at).values("pk")
    added, removed = {}, {}
    for tag in rule.add_tags.all():
        ids = list(Follower.objects.filter(pk__in=matching).exclude(tags=tag)
                   .values_list("pk", flat=True))
        added[tag.name] = tag_services.tag_add(tag=tag, followers=ids, source="rule",
                                               rule_id=rule.pk, at=at) if ids else []
    for tag in rule.remove_tags.all():
        ids = list(Follower.objects.filter(pk__in=matching, tags=tag)
                   .values_list("pk", flat=True))
        removed[tag.name] = tag_services.tag_remove(tag=tag, followers=ids, source="rule",
                                                    rule_id=rule.pk, at=at) if ids else []
    return {"added": added, "removed": removed}


def behaviour_rules_evaluate(*, brand_id: int | None = None,
                             follower_ids: Iterable[int] | None = None,
                             behaviours: Iterable[str] | None = None,
                             at: datetime | None = None) -> int:
    """Every active behaviour rule (of one brand, of some behaviours, for some followers);
    answers how many tag changes were made."""
    qs = TagRule.objects.filter(kind=TagRule.Kind.BEHAVIOUR, is_active=True)
    if brand_id is not None:
        qs = qs.filter(brand_id=brand_id)
    if behaviours is not None:
        qs = qs.filter(behaviour__in=list(behaviours))
    ids = list(follower_ids) if follower_ids is not None else None
    changes = 0
    for rule in qs.order_by("brand_id", "position", "pk").prefetch_related("add_tags",
                                                                           "remove_tags"):
        try:
            result = behaviour_rule_apply(rule=rule, follower_ids=ids, at=at)
        except Exception:
            logger.exception("behaviour rule failed", extra={"rule_id": rule.pk})
            continue
        changes += sum(len(v) for part in result.values() for v in part.values())
    return changes


# -- rule administration -----------------------------------------------------------------

RULE_FIELDS = ("name", "kind", "match", "pattern", "behaviour", "menu_key", "count", "days",
               "set_language", "reply_text", "replies", "is_active")
LANGUAGE_CODES = tuple(TagRule.Language.values)


def _errors_of(rule: TagRule) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def say(name: str, text: str) -> None:
        errors.setdefault(name, []).append(text)

    if not rule.name.strip():
        say("name", _("A rule needs a name."))
    if rule.kind == TagRule.Kind.KEYWORD:
        if not rule.pattern.strip():
            say("pattern", _("A keyword rule needs a keyword or pattern."))
        elif rule.match == TagRule.Match.REGEX:
            error = regex_error(rule.pattern)
            if error:
                say("pattern", error)
    else:
        if rule.behaviour not in TagRule.Behaviour.values:
            say("behaviour", _("Choose what the follower did."))
        if rule.behaviour == TagRule.Behaviour.CAMPAIGN and not rule.campaign_id:
            say("campaign", _("Choose the QR campaign."))
        if rule.behaviour == TagRule.Behaviour.MENU_CLICK and not rule.menu_key.strip():
            say("menu_key", _("Give the menu key."))
        if rule.behaviour == TagRule.Behaviour.MESSAGES and not (rule.count and rule.days):
            say("count", _("Give the number of messages and the days."))
        if rule.behaviour == TagRule.Behaviour.INACTIVE and not rule.days:
            say("days", _("Give the number of days."))
        if rule.reply_text or rule.replies:
            say("reply_text", _("Only keyword rules reply."))
    bad = [k for k in (rule.replies or {}) if k not in LANGUAGE_CODES]
    if bad:
        say("replies", _("Replies are keyed by zh_CN, zh_TW or en."))
    return errors


def _tags_of(scope: Scope, names: Iterable[str]) -> list[Tag]:
    return [tag_services.tag_get_or_create(brand_id=scope.brand_id, name=n)[0]
            for n in dict.fromkeys(n.strip() for n in names) if n]


@transaction.atomic
def tag_rule_save(*, scope: Scope, rule: TagRule | None = None, data: dict,
                  by: Membership | None = None) -> TagRule:
    """Create (``rule`` None) or change a rule from plain values: the fields above,
    ``account_id``, ``campaign_id``, ``add_tags``/``remove_tags`` (tag names, made when
    missing). Refuses, field by field, what cannot work."""
    rule = rule or TagRule(brand_id=scope.brand_id, position=_next_position(scope.brand_id))
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name] if data[name] is not None else
                    TagRule._meta.get_field(name).get_default())
    if "account_id" in data:
        account_id = data["account_id"]
        if account_id is not None and not scope.accounts().filter(pk=account_id).exists():
            raise InvalidInput(_("Unknown account."), fields={"account": [_("Unknown account.")]})
        rule.account_id = account_id
    if "campaign_id" in data:
        campaign_id = data["campaign_id"]
        if campaign_id is not None and not Campaign.objects.filter(
                brand_id=scope.brand_id, pk=campaign_id).exists():
            raise InvalidInput(_("Unknown campaign."),
                               fields={"campaign": [_("Unknown campaign.")]})
        rule.campaign_id = campaign_id
    try:
        adds = _tags_of(scope, data.get("add_tags") or []) if "add_tags" in data else None
        removes = (_tags_of(scope, data.get("remove_tags") or [])
                   if "remove_tags" in data else None)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, fields={"add_tags": [exc.message]}) from exc
    errors = _errors_of(rule)
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    rule.save()
    if adds is not None:
        rule.add_tags.set(adds)
    if removes is not None:
        rule.remove_tags.set(removes)
    logger.info("tag rule saved", extra={"rule_id": rule.pk, "brand_id": rule.brand_id})
    return rule


def _next_position(brand_id: int) -> int:
    top = TagRule.objects.filter(brand_id=brand_id).aggregate(m=Max("position"))["m"]
    return (top or 0) + 1


def tag_rule_list(*, scope: Scope) -> QuerySet[TagRule]:
    return (TagRule.objects.filter(brand_id=scope.brand_id).select_related("account",
                                                                           "campaign")
            .prefetch_related("add_tags", "remove_tags").order_by("position", "pk"))


@transaction.atomic
def tag_rule_move(*, scope: Scope, rule: TagRule, direction: str) -> TagRule:
    """One place up (tried sooner) or down; at either end it stays."""
    rules = list(TagRule.objects.select_for_update().filter(brand_id=scope.brand_id)
                 .order_by("position", "pk"))
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    for position, row in enumerate(rules, start=1):
        if row.position != position:
            TagRule.objects.filter(pk=row.pk).update(position=position)
    rule.refresh_from_db()
    return rule


def tag_rule_delete(*, scope: Scope, rule: TagRule) -> None:
    access(TagRule.objects.filter(brand_id=scope.brand_id), rule.pk).delete()
