"""The follower list: filters, search and keyset pages that stay fast at a million rows.

Pages go by id, newest first (``?after=<id>`` answers the followers with a smaller id),
on the (brand, id) and (account, id) indexes; there is no OFFSET and no COUNT(*) over the
brand's followers. A count is given only when cheap: when the filtered rows fit in one
page, or for the whole of one account when nothing else narrows it (its last sync's
total).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from accounts.errors import InvalidInput
from accounts.scope import Scope
from followers.models import Follower
from followers.models_sync import FollowerSync

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# What may be an openid or its start: one token of 6+ URL-safe characters.
_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")
_WHOLE = re.compile(r"[0-9]+")


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
    return int(raw)


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


def follower_search(*, scope: Scope, filters: FollowerFilters) -> QuerySet[Follower]:
    query = follower_list(scope=scope)
    if filters.account is not None:
        query = query.filter(account_id=filters.account)
    if filters.following is not None:
        query = query.filter(subscribed=filters.following)
    if filters.language:
        query = query.filter(language=filters.language)
    if filters.tag is not None:
        query = query.filter(tags__id=filters.tag)
    if filters.q:
        text = filters.q
        match = Q(remark__icontains=text) | Q(customer__name__icontains=text)
        if _OPENID.fullmatch(text):
            # An openid: exact, or its start (the openid index serves both).
            match |= Q(openid__startswith=text)
        query = query.filter(match)
    return query


@dataclass
class FollowerPage:
    rows: list[Follower]
    next_after: int | None
    count: int | None


def follower_page(*, scope: Scope, filters: FollowerFilters) -> FollowerPage:
    """One keyset page, newest first, with the cursor of the next and a cheap count."""
    query = follower_search(scope=scope, filters=filters)
    if filters.after is not None:
        query = query.filter(pk__lt=filters.after)
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
