"""Quota management (§12): clear_quota, clear_quota/v2, openapi/quota/get and clear."""

from __future__ import annotations

from . import quota
from .clock import beijing_month_key
from .ipcheck import check_account_ip
from .state import Account
from .web import ApiError, Ctx, api, ok

CLEARS_PER_MONTH = 10


def _clear_all(ctx: Ctx, account: Account) -> dict:
    month = beijing_month_key(ctx.now)
    uses = [t for t in account.clear_quota_uses if beijing_month_key(t) == month]
    if len(uses) >= CLEARS_PER_MONTH:
        raise ApiError(48006)
    account.clear_quota_uses = [*uses, ctx.now]
    quota.clear(ctx.state, account.appid, ctx.now)
    return ok()


@api("/cgi-bin/clear_quota")
def clear_quota(ctx: Ctx) -> dict:
    appid = ctx.body().get("appid")
    if appid != ctx.appid:
        raise ApiError(40013)
    if ctx.token is not None and ctx.token.kind == "component":
        raise ApiError(40013)
    return _clear_all(ctx, ctx.account)


@api("/cgi-bin/clear_quota/v2", auth="none")
def clear_quota_v2(ctx: Ctx) -> dict:
    body = ctx.body()
    account = ctx.state.accounts.get(str(body.get("appid") or ""))
    if account is None:
        raise ApiError(40013)
    ctx.appid = account.appid
    if body.get("appsecret") != account.secret:
        raise ApiError(40125)
    check_account_ip(account, ctx.req.client_ip, ctx.now)
    return _clear_all(ctx, account)


def _cgi_path(ctx: Ctx) -> str:
    path = ctx.body().get("cgi_path")
    if not isinstance(path, str) or path not in quota.DAILY_LIMITS:
        raise ApiError(76021)
    return path


@api("/cgi-bin/openapi/quota/get")
def quota_get(ctx: Ctx) -> dict:
    path = _cgi_path(ctx)
    limit = quota.daily_limit(ctx.state, ctx.account.appid, path) or 0
    used = quota.used_today(ctx.state, ctx.account.appid, path, ctx.now)
    return ok(quota={"daily_limit": limit, "used": used, "remain": max(limit - used, 0)})


@api("/cgi-bin/openapi/quota/clear")
def quota_clear(ctx: Ctx) -> dict:
    quota.clear(ctx.state, ctx.account.appid, ctx.now, _cgi_path(ctx))
    return ok()
