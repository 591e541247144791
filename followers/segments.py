"""Segments: a saved filter over the brand's followers, and its compiler.

A definition is plain JSON (what the API takes and the page's form builds):

    {"tags": {"any": [ids], "all": [ids], "none": [ids]},
     "languages": ["en", "zh_CN"], "regions": ["Shanghai"], "genders": [1, 2],
     "accounts": [ids], "campaigns": [ids],
     "followed": {"from": "2026-01-01", "to": "2026-01-31"},
     "last_activity": {"op": "within", "days": 30},
     "attributes": [{"key": "tier", "op": "eq", "value": "gold"}],
     "include_unfollowed": false}

Every key is optional and every condition given must hold (an empty list is no
condition). `definition_clean` checks one against the requester's scope (ids of another
brand, or of accounts an agent does not serve, are refused as unknown), and
`segment_followers` turns a clean one into a Follower queryset: the brand and the scope's
accounts first, tags as EXISTS over the follower-tag table, attributes as one EXISTS over
the customer, so PostgreSQL can use the indexes of migration 0007 on a million rows.

Dates are days in the brand's time zone; a follow date range includes both ends;
``last_activity`` reads the follower's last message (last_inbound_at): ``before`` and
``after`` a day (neither includes that day), ``within`` the last N days, or
``not_within`` them (never having written counts as not within).

The demo runs the same querysets on SQLite, where an attribute's value is compared as text
too (``followers.sql_portable.JsonText``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, Exists, FloatField, OuterRef, Q, QuerySet, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import InvalidInput, RoleRequired
from accounts.models import Role
from accounts.scope import Scope
from followers.models import Campaign, Customer, Follower, QRCode, Segment, Tag
from followers.sql_portable import JsonText

TAG_MODES = ("any", "all", "none")
ATTRIBUTE_OPS = ("eq", "contains", "gt", "lt", "before", "after")
ACTIVITY_OPS = ("before", "after", "within", "not_within")
GENDERS = (0, 1, 2)
KEYS = ("tags", "languages", "regions", "genders", "accounts", "campaigns", "followed",
        "last_activity", "attributes", "include_unfollowed")
# Enough for any real filter, small enough that a definition stays a cheap query.
MAX_ITEMS = 200
MAX_ATTRIBUTES = 10
MAX_DAYS = 3650
# What a numeric attribute looks like as text (->>), and a date one (its first 10 chars).
NUMBER_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DefinitionInvalid(InvalidInput):
    """A definition that cannot be compiled; ``fields`` names each refused part
    ("tags.any", "attributes.0.value", ...) with its messages."""


@dataclass(frozen=True)
class SegmentCount:
    followers: int
    customers: int
    ms: float


# -- validation -------------------------------------------------------------------------

class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)


def _ids(value: object, path: str, errors: _Errors) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        errors.add(path, _("A list of ids (whole numbers of at least 1)."))
        return []
    if len(value) > MAX_ITEMS:
        errors.add(path, _("At most %(max)s items.") % {"max": MAX_ITEMS})
        return []
    return sorted(set(value))


def _strings(value: object, path: str, errors: _Errors, max_length: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(path, _("A list of texts."))
        return []
    cleaned = sorted({v.strip() for v in value if v.strip()})
    if len(cleaned) > MAX_ITEMS:
        errors.add(path, _("At most %(max)s items.") % {"max": MAX_ITEMS})
    elif any(len(v) > max_length for v in cleaned):
        errors.add(path, _("Each at most %(max)s characters.") % {"max": max_length})
    return cleaned


def _day(value: object, path: str, errors: _Errors) -> str | None:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    errors.add(path, _("A date as YYYY-MM-DD."))
    return None


def _known(ids: list[int], found: set[int], path: str, errors: _Errors, what: str) -> None:
    # Missing and another brand's answer the same, so existence never leaks.
    unknown = [i for i in ids if i not in found]
    if unknown:
        errors.add(path, _("Unknown %(what)s: %(ids)s.") % {
            "what": what, "ids": ", ".join(str(i) for i in unknown)})


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _attribute(item: object, path: str, errors: _Errors) -> dict | None:
    if not isinstance(item, dict) or set(item) != {"key", "op", "value"}:
        errors.add(path, _("Each attribute condition is {key, op, value}."))
        return None
    key, op, value = item["key"], item["op"], item["value"]
    if not isinstance(key, str) or not key.strip() or len(key) > 64:
        errors.add(f"{path}.key", _("An attribute's key: a text of 1 to 64 characters."))
        return None
    if op not in ATTRIBUTE_OPS:
        errors.add(f"{path}.op", _("One of: %(ops)s.") % {"ops": ", ".join(ATTRIBUTE_OPS)})
        return None
    if op in ("gt", "lt"):
        if not _number(value):
            errors.add(f"{path}.value", _("A number, to compare with."))
            return None
    elif op in ("before", "after"):
        value = _day(value, f"{path}.value", errors)
        if value is None:
            return None
    elif op == "eq":
        if not (isinstance(value, str) or _number(value)) or len(str(value)) > 200:
            errors.add(f"{path}.value", _("A text or a number (at most 200 characters)."))
            return None
    elif not isinstance(value, str) or not value.strip() or len(value) > 200:
        errors.add(f"{path}.value", _("A text of 1 to 200 characters."))
        return None
    return {"key": key.strip(), "op": op, "value": value}


def definition_clean(*, scope: Scope, definition: object) -> dict:
    """The definition in its canonical form (sorted ids, no empty parts), or
    DefinitionInvalid naming every part refused. Tag, account and campaign ids must be
    the brand's, and accounts those the requester serves."""
    errors = _Errors()
    if not isinstance(definition, dict):
        raise DefinitionInvalid(_("A segment's definition is a JSON object."),
                                fields={"definition": [_("A JSON object.")]})
    for key in definition:
        if key not in KEYS:
            errors.add(str(key), _("Unknown condition. A definition takes: %(keys)s.")
                       % {"keys": ", ".join(KEYS)})
    clean: dict[str, Any] = {}

    tags = definition.get("tags")
    if tags is not None:
        if not isinstance(tags, dict) or not set(tags) <= set(TAG_MODES):
            errors.add("tags", _("An object with any, all and none, each a list of tag ids."))
        else:
            picked = {mode: _ids(tags.get(mode, []), f"tags.{mode}", errors)
                      for mode in TAG_MODES}
            wanted = sorted({i for ids in picked.values() for i in ids})
            found = set(Tag.objects.filter(brand_id=scope.brand_id, pk__in=wanted)
                        .values_list("pk", flat=True))
            for mode, ids in picked.items():
                _known(ids, found, f"tags.{mode}", errors, _("tags"))
            if picked := {mode: ids for mode, ids in picked.items() if ids}:
                clean["tags"] = picked

    for key, max_length in (("languages", 16), ("regions", 64)):
        if definition.get(key) is not None and (
            values := _strings(definition[key], key, errors, max_length)
        ):
            clean[key] = values
    if definition.get("genders") is not None:
        genders = definition["genders"]
        if not isinstance(genders, list) or not all(
            g in GENDERS and not isinstance(g, bool) for g in genders
        ):
            errors.add("genders", _("A list of 0 (unknown), 1 (male) and 2 (female)."))
        elif genders:
            clean["genders"] = sorted(set(genders))

    if definition.get("accounts") is not None and (
        ids := _ids(definition["accounts"], "accounts", errors)
    ):
        found = set(scope.accounts().filter(pk__in=ids).values_list("pk", flat=True))
        _known(ids, found, "accounts", errors, _("accounts"))
        clean["accounts"] = ids
    if definition.get("campaigns") is not None and (
        ids := _ids(definition["campaigns"], "campaigns", errors)
    ):
        found = set(Campaign.objects.filter(brand_id=scope.brand_id, pk__in=ids)
                    .values_list("pk", flat=True))
        _known(ids, found, "campaigns", errors, _("campaigns"))
        clean["campaigns"] = ids

    followed = definition.get("followed")
    if followed is not None:
        if not isinstance(followed, dict) or not set(followed) <= {"from", "to"}:
            errors.add("followed", _("An object with from and to, each a date or null."))
        else:
            days = {end: _day(followed[end], f"followed.{end}", errors)
                    for end in ("from", "to") if followed.get(end) not in (None, "")}
            if None not in days.values():
                if "from" in days and "to" in days and days["from"] > days["to"]:
                    errors.add("followed.to", _("The end is before the start."))
                elif days:
                    clean["followed"] = days

    activity = definition.get("last_activity")
    if activity is not None:
        op = activity.get("op") if isinstance(activity, dict) else None
        if op in ("before", "after") and set(activity) == {"op", "date"}:
            if day := _day(activity["date"], "last_activity.date", errors):
                clean["last_activity"] = {"op": op, "date": day}
        elif op in ("within", "not_within") and set(activity) == {"op", "days"}:
            days = activity["days"]
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
                errors.add("last_activity.days",
                           _("A whole number of days from 1 to %(max)s.") % {"max": MAX_DAYS})
            else:
                clean["last_activity"] = {"op": op, "days": days}
        else:
            errors.add("last_activity", _(
                "Either {op: before or after, date: YYYY-MM-DD} or "
                "{op: within or not_within, days: N}."))

    attributes = definition.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, list) or len(attributes) > MAX_ATTRIBUTES:
            errors.add("attributes", _("A list of at most %(max)s conditions.")
                       % {"max": MAX_ATTRIBUTES})
        else:
            conditions = [_attribute(item, f"attributes.{i}", errors)
                          for i, item in enumerate(attributes)]
            if conditions := [c for c in conditions if c]:
                clean["attributes"] = conditions

    unfollowed = definition.get("include_unfollowed", False)
    if not isinstance(unfollowed, bool):
        errors.add("include_unfollowed", _("true or false."))
    elif unfollowed:
        clean["include_unfollowed"] = True

    if errors.fields:
        raise DefinitionInvalid(_("The segment's definition is not valid."),
                                fields=errors.fields)
    return clean


# -- the compiler -----------------------------------------------------------------------

def _start_of(day: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=zone)


def _attribute_filter(conditions: list[dict]) -> Exists:
    """One EXISTS over the follower's customer holding every attribute condition. The
    value is read as text (->>); a numeric or date comparison first checks the text
    looks like one, so a mistyped attribute never breaks the query."""
    customers = Customer.objects.filter(pk=OuterRef("customer_id"))
    for i, condition in enumerate(conditions):
        text, op, value = f"_a{i}", condition["op"], condition["value"]
        customers = customers.annotate(**{text: JsonText(KeyTextTransform(condition["key"],
                                                                          "attributes"))})
        if op == "eq":
            customers = customers.filter(**{text: str(value)})
        elif op == "contains":
            customers = customers.filter(**{f"{text}__icontains": value})
        elif op in ("gt", "lt"):
            number = f"_n{i}"
            customers = customers.annotate(**{number: Case(
                When(**{f"{text}__regex": NUMBER_TEXT}, then=Cast(text, FloatField())),
                default=None, output_field=FloatField())})
            customers = customers.filter(**{f"{number}__{op}": float(value)})
        else:
            day = f"_d{i}"
            customers = customers.annotate(**{day: Case(
                When(**{f"{text}__regex": DATE_TEXT}, then=Substr(text, 1, 10)),
                default=None)})
            customers = customers.filter(**{f"{day}__{'lt' if op == 'before' else 'gt'}":
                                            value})
    return Exists(customers)


def segment_followers(*, scope: Scope, definition: dict,
                      now: datetime | None = None) -> QuerySet[Follower]:
    """The followers a clean definition selects, within the requester's scope (the brand,
    and an agent's or manager's accounts). Following only, unless it says otherwise."""
    d = definition
    zone = ZoneInfo(scope.brand.time_zone)
    now = now or timezone.now()
    followers = Follower.objects.filter(brand_id=scope.brand_id)
    if scope.account_ids is not None:
        followers = followers.filter(account_id__in=sorted(scope.account_ids))
    if not d.get("include_unfollowed"):
        followers = followers.filter(subscribed=True)
    if d.get("accounts"):
        followers = followers.filter(account_id__in=d["accounts"])
    if d.get("languages"):
        followers = followers.filter(language__in=d["languages"])
    if d.get("regions"):
        regions = Q()
        for region in d["regions"]:
            regions |= Q(region__iexact=region)
        followers = followers.filter(regions)
    if d.get("genders"):
        followers = followers.filter(gender__in=d["genders"])
    if d.get("campaigns"):
        codes = QRCode.objects.filter(brand_id=scope.brand_id, campaign_id__in=d["campaigns"])
        followers = followers.filter(qrcode_id__in=codes.values("pk"))
    if followed := d.get("followed"):
        if "from" in followed:
            followers = followers.filter(subscribed_at__gte=_start_of(followed["from"], zone))
        if "to" in followed:
            end = _start_of(followed["to"], zone) + timedelta(days=1)
            followers = followers.filter(subscribed_at__lt=end)
    if activity := d.get("last_activity"):
        op = activity["op"]
        if op == "before":
            followers = followers.filter(last_inbound_at__lt=_start_of(activity["date"], zone))
        elif op == "after":
            start = _start_of(activity["date"], zone) + timedelta(days=1)
            followers = followers.filter(last_inbound_at__gte=start)
        else:
            since = now - timedelta(days=activity["days"])
            recent = Q(last_inbound_at__gte=since)
            followers = followers.filter(recent if op == "within" else ~recent)
    tags = d.get("tags", {})
    through = Follower.tags.through.objects
    if tags.get("any"):
        followers = followers.filter(Exists(
            through.filter(follower_id=OuterRef("pk"), tag_id__in=tags["any"])))
    for tag_id in tags.get("all", []):
        followers = followers.filter(Exists(
            through.filter(follower_id=OuterRef("pk"), tag_id=tag_id)))
    if tags.get("none"):
        followers = followers.exclude(Exists(
            through.filter(follower_id=OuterRef("pk"), tag_id__in=tags["none"])))
    if d.get("attributes"):
        followers = followers.filter(_attribute_filter(d["attributes"]))
    return followers


def segment_count(*, scope: Scope, definition: dict) -> SegmentCount:
    """How many followers a clean definition selects, and how many distinct customers
    they are, in one query; with the milliseconds it took."""
    started = time.perf_counter()
    counted = segment_followers(scope=scope, definition=definition).aggregate(
        followers=Count("pk"), customers=Count("customer_id", distinct=True))
    ms = round((time.perf_counter() - started) * 1000, 1)
    return SegmentCount(followers=counted["followers"], customers=counted["customers"], ms=ms)


# -- saved segments ---------------------------------------------------------------------

def segment_list(*, scope: Scope) -> QuerySet[Segment]:
    """The brand's segments: every member sees them all; what each selects is counted
    within the member's own accounts."""
    return Segment.objects.filter(brand_id=scope.brand_id).select_related("created_by__user")


def _require_editor(scope: Scope) -> None:
    if scope.role == Role.AGENT:
        raise RoleRequired(_("Agents can use segments; a manager or admin changes them."))


def _check_name(*, scope: Scope, name: str, segment: Segment | None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the segment a name."), fields={"name": [_("Required.")]})
    if len(name) > Segment._meta.get_field("name").max_length:
        raise InvalidInput(_("The name is too long."),
                           fields={"name": [_("At most 80 characters.")]})
    clash = segment_list(scope=scope).filter(name__iexact=name)
    if segment is not None:
        clash = clash.exclude(pk=segment.pk)
    if clash.exists():
        raise InvalidInput(_("A segment with this name exists."),
                           fields={"name": [_("A segment with this name exists.")]})
    return name


def segment_create(*, scope: Scope, name: str, definition: object) -> Segment:
    """A new segment of the requester's brand, counted once within their scope."""
    _require_editor(scope)
    name = _check_name(scope=scope, name=name, segment=None)
    clean = definition_clean(scope=scope, definition=definition)
    segment = Segment.objects.create(brand_id=scope.brand_id, name=name, definition=clean,
                                     created_by=scope.membership)
    segment_recount(scope=scope, segment=segment)
    return segment


def segment_update(*, scope: Scope, segment: Segment, name: str | None = None,
                   definition: object = None) -> Segment:
    """Rename the segment or give it a new definition (None leaves either as it is)."""
    _require_editor(scope)
    if name is not None:
        segment.name = _check_name(scope=scope, name=name, segment=segment)
    if definition is not None:
        segment.definition = definition_clean(scope=scope, definition=definition)
    segment.save(update_fields=["name", "definition", "updated_at"])
    segment_recount(scope=scope, segment=segment)
    return segment


def segment_delete(*, scope: Scope, segment: Segment) -> None:
    _require_editor(scope)
    segment.delete()


def segment_definition(*, scope: Scope, segment: Segment) -> dict:
    """The stored definition, checked again against the requester's scope: a tag or a
    campaign deleted since, or an account an agent does not serve, drops out of it rather
    than widening or breaking the segment."""
    try:
        return definition_clean(scope=scope, definition=segment.definition)
    except DefinitionInvalid:
        return _definition_within(scope=scope, definition=segment.definition)


def _definition_within(*, scope: Scope, definition: dict) -> dict:
    """The stored definition with ids the scope does not see removed. A condition that
    named only such ids matches nobody (an id that cannot match), so removing it never
    widens the segment."""
    kept = dict(definition)
    gone = [-1]  # no row has this id
    tags = dict(kept.get("tags", {}))
    known_tags = set(Tag.objects.filter(brand_id=scope.brand_id).values_list("pk", flat=True))
    for mode in TAG_MODES:
        if mode in tags:
            ids = [i for i in tags[mode] if i in known_tags]
            tags[mode] = ids or (gone if mode != "none" else [])
    if tags:
        kept["tags"] = tags
    if kept.get("accounts"):
        served = set(scope.accounts().values_list("pk", flat=True))
        kept["accounts"] = [i for i in kept["accounts"] if i in served] or gone
    if kept.get("campaigns"):
        known = set(Campaign.objects.filter(brand_id=scope.brand_id)
                    .values_list("pk", flat=True))
        kept["campaigns"] = [i for i in kept["campaigns"] if i in known] or gone
    return kept


def segment_members(*, scope: Scope, segment: Segment) -> QuerySet[Follower]:
    return segment_followers(scope=scope, definition=segment_definition(scope=scope,
                                                                         segment=segment))


def segment_recount(*, scope: Scope, segment: Segment) -> SegmentCount:
    """Count the segment within the requester's scope and keep the figures on it."""
    counted = segment_count(scope=scope, definition=segment_definition(scope=scope,
                                                                       segment=segment))
    Segment.objects.filter(pk=segment.pk).update(
        last_followers=counted.followers, last_customers=counted.customers,
        counted_at=timezone.now())
    segment.last_followers, segment.last_customers = counted.followers, counted.customers
    return counted
