"""Followers (§7): user/get, user/info, batchget, updateremark, blacklist."""

from __future__ import annotations

from .state import Follower, SandboxState
from .web import ApiError, Ctx, api, ok

BATCHGET_MAX = 100
BLACKLIST_BATCH_MAX = 20
REMARK_MAX_BYTES = 30  # the remark must be shorter than this


def follower_of(state: SandboxState, appid: str, openid: object) -> Follower:
    follower = state.followers.get(openid) if isinstance(openid, str) else None
    if follower is None or follower.appid != appid:
        raise ApiError(40003)
    return follower


def person_state(state: SandboxState, follower: Follower) -> str:
    """The WeChat user's own state: "active", "restricted" (50002) or "deleted" (46004)."""
    person = state.persons.get(follower.person_id)
    return person.state if person is not None else "active"


def page_after(openids: list[str], next_openid: str, size: int) -> tuple[list[str], str]:
    """One page of `openids` after `next_openid`; the cursor is "" once the list ends."""
    start = 0
    if next_openid:
        try:
            start = openids.index(next_openid) + 1
        except ValueError:
            raise ApiError(40003) from None
    page = openids[start:start + size]
    more = start + size < len(openids)
    return page, page[-1] if page and more else ""


def paged_answer(total: int, page: list[str], cursor: str) -> dict:
    answer: dict = {"total": total, "count": len(page)}
    if page:
        # The platform leaves out "data" when the page is empty.
        answer["data"] = {"openid": page}
    answer["next_openid"] = cursor
    return answer


def user_info(state: SandboxState, follower: Follower) -> dict:
    if not follower.subscribed:
        return {"subscribe": 0, "openid": follower.openid}
    info: dict = {
        "subscribe": 1,
        "openid": follower.openid,
        # Deprecated since 2021-12-27: always empty or zero.
        "nickname": "",
        "sex": 0,
        "language": follower.language,
        "city": "",
        "province": "",
        "country": "",
        "headimgurl": "",
        "subscribe_time": follower.subscribe_time,
    }
    unionid = state.unionid(follower)
    if unionid:
        info["unionid"] = unionid
    info.update({
        "remark": follower.remark,
        "groupid": 0,
        "tagid_list": list(follower.tagids),
        "subscribe_scene": follower.subscribe_scene,
        "qr_scene": follower.qr_scene,
        "qr_scene_str": follower.qr_scene_str,
    })
    return info


@api("/cgi-bin/user/get", method="GET", bundle=2)
def user_get(ctx: Ctx) -> dict:
    openids = [f.openid for f in ctx.state.account_followers(ctx.account.appid) if f.subscribed]
    size = int(ctx.state.settings.get("user_page_size", 10000))
    page, cursor = page_after(openids, ctx.req.query.get("next_openid", ""), size)
    return paged_answer(len(openids), page, cursor)


@api("/cgi-bin/user/info", method="GET", bundle=2)
def user_info_get(ctx: Ctx) -> dict:
    follower = follower_of(ctx.state, ctx.account.appid, ctx.req.query.get("openid"))
    if person_state(ctx.state, follower) == "deleted":
        raise ApiError(46004)
    return user_info(ctx.state, follower)


@api("/cgi-bin/user/info/batchget", bundle=2)
def user_info_batchget(ctx: Ctx) -> dict:
    user_list = ctx.body().get("user_list")
    if not isinstance(user_list, list) or not 1 <= len(user_list) <= BATCHGET_MAX:
        raise ApiError(40032)
    appid = ctx.account.appid
    followers = [follower_of(ctx.state, appid, u.get("openid") if isinstance(u, dict) else None)
                 for u in user_list]
    return {"user_info_list": [user_info(ctx.state, f) for f in followers]}


@api("/cgi-bin/user/info/updateremark", bundle=2)
def user_updateremark(ctx: Ctx) -> dict:
    body = ctx.body()
    account = ctx.account
    follower = follower_of(ctx.state, account.appid, body.get("openid"))
    remark = body.get("remark")
    if not isinstance(remark, str) or len(remark.encode("utf-8")) >= REMARK_MAX_BYTES:
        raise ApiError(40092)
    follower.remark = remark
    return ok()


@api("/cgi-bin/tags/members/getblacklist", bundle=2)
def blacklist_get(ctx: Ctx) -> dict:
    body = ctx.req.json(required=False)
    listed = [f.openid for f in ctx.state.account_followers(ctx.account.appid) if f.blacklisted]
    page, cursor = page_after(listed, str(body.get("begin_openid") or ""), 10000)
    return paged_answer(len(listed), page, cursor)


def _blacklist_targets(ctx: Ctx) -> list[Follower]:
    openids = ctx.body().get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= BLACKLIST_BATCH_MAX:
        raise ApiError(40032)
    return [follower_of(ctx.state, ctx.account.appid, o) for o in openids]


@api("/cgi-bin/tags/members/batchblacklist", bundle=2)
def blacklist_add(ctx: Ctx) -> dict:
    for follower in _blacklist_targets(ctx):
        follower.blacklisted = True
    return ok()


@api("/cgi-bin/tags/members/batchunblacklist", bundle=2)
def blacklist_remove(ctx: Ctx) -> dict:
    for follower in _blacklist_targets(ctx):
        follower.blacklisted = False
    return ok()
