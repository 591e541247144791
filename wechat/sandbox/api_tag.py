"""Tags (§8): create/get/update/delete, fans of a tag, batch (un)tagging, getidlist."""

from __future__ import annotations

from .api_user import follower_of, page_after
from .state import Account, Follower, Tag
from .web import ApiError, Ctx, api, ok

MAX_TAGS = 100
MAX_NAME = 30
MAX_TAGS_PER_USER = 20
BATCH_MAX = 50
DELETE_FAN_LIMIT = 100_000
SYSTEM_TAGS = {0: "未分组", 1: "黑名单", 2: "星标组"}


def _tag_body(ctx: Ctx) -> dict:
    tag = ctx.body().get("tag")
    if not isinstance(tag, dict):
        raise ApiError(47001)
    return tag


def _check_name(account: Account, name: object, *, except_id: int | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ApiError(45157)
    if len(name) > MAX_NAME:
        raise ApiError(45158)
    taken = set(SYSTEM_TAGS.values()) | {t.name for t in account.tags if t.id != except_id}
    if name in taken:
        raise ApiError(45157)
    return name


def _find(account: Account, tag_id: object) -> Tag:
    for tag in account.tags:
        if tag.id == tag_id:
            return tag
    raise ApiError(45159)


def _fans(ctx: Ctx, tag_id: int) -> list[Follower]:
    return [f for f in ctx.state.account_followers(ctx.account.appid)
            if f.subscribed and tag_id in f.tagids]


@api("/cgi-bin/tags/create", bundle=2)
def tags_create(ctx: Ctx) -> dict:
    account = ctx.account
    name = _check_name(account, _tag_body(ctx).get("name"))
    if len(account.tags) >= MAX_TAGS:
        raise ApiError(45056)
    tag = Tag(id=account.next_tag_id, name=name)
    account.next_tag_id += 1
    account.tags.append(tag)
    return {"tag": {"id": tag.id, "name": tag.name}}


@api("/cgi-bin/tags/get", method="GET", bundle=2)
def tags_get(ctx: Ctx) -> dict:
    rows = [{"id": 2, "name": SYSTEM_TAGS[2], "count": len(_fans(ctx, 2))}]
    rows += [{"id": t.id, "name": t.name, "count": len(_fans(ctx, t.id)) + t.simulated_fans}
             for t in ctx.account.tags]
    return {"tags": rows}


@api("/cgi-bin/tags/update", bundle=2)
def tags_update(ctx: Ctx) -> dict:
    body = _tag_body(ctx)
    if body.get("id") in SYSTEM_TAGS:
        raise ApiError(45058)
    tag = _find(ctx.account, body.get("id"))
    tag.name = _check_name(ctx.account, body.get("name"), except_id=tag.id)
    return ok()


@api("/cgi-bin/tags/delete", bundle=2)
def tags_delete(ctx: Ctx) -> dict:
    body = _tag_body(ctx)
    if body.get("id") in SYSTEM_TAGS:
        raise ApiError(45058)
    account = ctx.account
    tag = _find(account, body.get("id"))
    fans = _fans(ctx, tag.id)
    if len(fans) + tag.simulated_fans > DELETE_FAN_LIMIT:
        raise ApiError(45057)
    account.tags.remove(tag)
    for follower in ctx.state.account_followers(account.appid):
        if tag.id in follower.tagids:
            follower.tagids.remove(tag.id)
    return ok()


@api("/cgi-bin/user/tag/get", bundle=2)
def user_tag_get(ctx: Ctx) -> dict:
    body = ctx.body()
    tag_id = body.get("tagid")
    if tag_id != 2:
        _find(ctx.account, tag_id)
    openids = [f.openid for f in _fans(ctx, tag_id)]
    page, cursor = page_after(openids, str(body.get("next_openid") or ""), 10000)
    answer: dict = {"count": len(page)}
    if page:
        answer["data"] = {"openid": page}
    answer["next_openid"] = cursor
    return answer


def _batch(ctx: Ctx) -> tuple[list[Follower], int]:
    body = ctx.body()
    openids = body.get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= BATCH_MAX:
        raise ApiError(40032)
    tag_id = body.get("tagid")
    if tag_id != 2:
        _find(ctx.account, tag_id)
    appid = ctx.account.appid
    return [follower_of(ctx.state, appid, o) for o in openids], tag_id


@api("/cgi-bin/tags/members/batchtagging", bundle=2)
def tags_batchtagging(ctx: Ctx) -> dict:
    followers, tag_id = _batch(ctx)
    # All or nothing: one follower at the limit refuses the whole batch.
    for follower in followers:
        if tag_id not in follower.tagids and len(follower.tagids) >= MAX_TAGS_PER_USER:
            raise ApiError(45059)
    for follower in followers:
        if tag_id not in follower.tagids:
            follower.tagids.append(tag_id)
    return ok()


@api("/cgi-bin/tags/members/batchuntagging", bundle=2)
def tags_batchuntagging(ctx: Ctx) -> dict:
    followers, tag_id = _batch(ctx)
    for follower in followers:
        if tag_id in follower.tagids:
            follower.tagids.remove(tag_id)
    return ok()


@api("/cgi-bin/tags/getidlist", bundle=2)
def tags_getidlist(ctx: Ctx) -> dict:
    follower = follower_of(ctx.state, ctx.account.appid, ctx.body().get("openid"))
    return {"tagid_list": list(follower.tagids)}
