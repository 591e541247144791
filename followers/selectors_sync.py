"""The follower list: filters, search and keyset pages that stay fast at a million rows.

Pages go by id, newest first (``?after=<id>`` answers the followers with a smaller id),
on the (brand, id) and (account, id) indexes; there is no OFFSET and no COUNT(*) over the
brand's followers. A count is given only when cheap: when the filtered rows fit in one
page, or for the whole of one account when nothing else narrows it (its last sync's
total).
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet, Value
from django.db.models.functions import Concat

from accounts.errors import InvalidInput
from accounts.scope import Scope
from followers.models import Follower
from followers.models_sync import FollowerSync

PAGE_SIZE = 50
# A search's matches per lookup read through its index before it counts as common
# (_page_ids).
SEARCH_CAP = 100_000
MAX_PAGE_SIZE = 200
# What may be an openid or its start: one token of 6+ URL-safe characters.
_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")
# Any whole number is an id to look for (none matches past the ids' range): the schema
# says integer.
_WHOLE = re.compile(r"-?[0-9]{1,30}")


@dataclass
class FollowerFilters:
    account: int | None = None
    following: bool | None = None
    language: str = ""
    tag: int | None = None
    q: str = ""
    after: int | None = None
    size: int = PAGE_SIZE
    # The raw values as given, for links that keep them.
    given: dict[str, str] = field(default_factory=dict)


def _whole(name: str, raw: str) -> int:
    if not _WHOLE.fullmatch(raw):
        raise InvalidInput(fields={name: ["A whole number."]})
    return max(-(2**63), min(int(raw), 2**63 - 1))  # a database integer either way


def follower_filters_from(params: Any) -> FollowerFilters:
    """The list's filters from query parameters (a QueryDict or dict); 400 for bad ones."""
    def get(name: str) -> str:
        return str(params.get(name) or "").strip()

    filters = FollowerFilters()
    if get("account"):
        filters.account = _whole("account", get("account"))
    following = get("following").lower()
    if following in ("1", "true", "yes"):
        filters.following = True
    elif following in ("0", "false", "no"):
        filters.following = False
    elif following:
        raise InvalidInput(fields={"following": ["true or false."]})
    filters.language = get("language")[:16]
    if get("tag"):
        filters.tag = _whole("tag", get("tag"))
    filters.q = get("q")[:64]
    if get("after"):
        filters.after = _whole("after", get("after"))
    if get("page_size"):
        filters.size = max(1, min(_whole("page_size", get("page_size")), MAX_PAGE_SIZE))
    filters.given = {name: get(name) for name in ("account", "following", "language", "tag", "q")
                     if get(name)}
    return filters


def follower_list(*, scope: Scope) -> QuerySet[Follower]:
    """The followers of the accounts the requester serves."""
    query = Follower.objects.filter(brand_id=scope.brand_id)
    if not scope.is_brand_wide:
        query = query.filter(account_id__in=sorted(scope.account_ids or ()))
    return query


def _filtered(scope: Scope, filters: FollowerFilters) -> QuerySet[Follower]:
    """The filters but the search."""
    query = follower_list(scope=scope)
    if filters.account is not None:
        query = query.filter(account_id=filters.account)
    if filters.following is not None:
        query = query.filter(subscribed=filters.following)
    if filters.language:
        query = query.filter(language=filters.language)
    if filters.tag is not None:
        query = query.filter(tags__id=filters.tag)
    return query


def _lookups(text: str) -> list[tuple[str, str]]:
    """Where a search looks: the remark and the customer's name hold it, or the openid
    starts with it (an openid: exact, or its start)."""
    found = [("remark", "icontains"), ("customer__name", "icontains")]
    if _OPENID.fullmatch(text):
        found.append(("openid", "startswith"))
    return found


def _page_ids(base: QuerySet[Follower], text: str, want: int) -> list[int]:
    """The newest ``want`` ids the search finds in ``base``. Per lookup: up to SEARCH_CAP
    matches are read through its index (trigrams, the openid's pattern index) and the
    newest kept, which serves a rare match and a clustered one (a whole account synced
    long ago: its openids share a start and its ids are together) alike; a lookup that
    matches more than that is common enough among the newest followers to be found by
    walking them down the id index (its column wrapped, so the planner cannot take the
    lookup's index and sort every match: 1.5 s for a word in a fifth of the remarks)."""
    ids: set[int] = set()
    for column, lookup in _lookups(text):
        probe = list(base.filter(**{f"{column}__{lookup}": text})
                     .values_list("pk", flat=True)[:SEARCH_CAP + 1])
        if len(probe) <= SEARCH_CAP:
            ids.update(heapq.nlargest(want, probe))
            continue
        walk = (base.annotate(searched=Concat(column, Value("")))
                .filter(**{f"searched__{lookup}": text}).order_by("-pk")
                .values_list("pk", flat=True)[:want])
        ids.update(walk)
    return heapq.nlargest(want, ids)


@dataclass
class FollowerPage:
    rows: list[Follower]
    next_after: int | None
    count: int | None


def follower_page(*, scope: Scope, filters: FollowerFilters) -> FollowerPage:
    """One keyset page, newest first, with the cursor of the next and a cheap count."""
    query = _filtered(scope, filters)
    if filters.after is not None:
        query = query.filter(pk__lt=filters.after)
    if filters.q:
        # The page's ids first (_page_ids), then its rows. Joined to all the matches at
        # once, the planner walked the brand's id index down to where they were (0.6 s
        # when they were all old followers).
        query = Follower.objects.filter(pk__in=_page_ids(query, filters.q, filters.size + 1))
    rows = list(query.select_related("customer", "account").order_by("-pk")[:filters.size + 1])
    more = len(rows) > filters.size
    rows = rows[:filters.size]
    count = None
    if filters.after is None and not more:
        count = len(rows)
    elif (filters.account is not None and not filters.q and filters.tag is None
          and not filters.language and filters.following is not False):
        count = _last_synced_total(filters.account, scope)
    return FollowerPage(rows=rows, next_after=rows[-1].pk if more else None, count=count)


def _last_synced_total(account_id: int, scope: Scope) -> int | None:
    """The platform's total of the account's last finished sync, when there is one."""
    if not scope.serves(account_id):
        return None
    return FollowerSync.objects.filter(
        brand_id=scope.brand_id, account_id=account_id, status=FollowerSync.Status.DONE,
    ).order_by("-finished_at").values_list("list_total", flat=True).first()
