"""Access tokens: /cgi-bin/token, /cgi-bin/stable_token and token validation (§3.1, §3.2)."""

from __future__ import annotations

import re
import secrets

from . import quota
from .clock import beijing_day_key
from .ipcheck import check_account_ip
from .state import SandboxState, Token
from .web import ApiError, Ctx, api

TOKEN_TTL = 7200
OVERLAP = 300  # the previous token stays valid this long after a new fetch
STABLE_RENEW_BEFORE = 300
STABLE_FORCE_PER_DAY = 20
STABLE_FORCE_GAP = 30
_WELL_FORMED = re.compile(r"^[A-Za-z0-9_\-]{32,512}$")


def token_ttl(state: SandboxState) -> int:
    """Lifetime of new tokens: 7200 s unless shortened via /_sandbox/settings (benchmarks)."""
    return int(state.settings.get("token_ttl", TOKEN_TTL))


def _new_token_string() -> str:
    # Real tokens are long opaque strings with a numeric prefix; callers must store 512 chars.
    return "86_" + secrets.token_urlsafe(120)


def issue_token(state: SandboxState, *, kind: str, appid: str, now: float, ttl: int | None = None,
                overlap: float | None = OVERLAP, component_appid: str | None = None) -> Token:
    """Mint a token and retire the previous one of the same kind and appid.

    `overlap` is how long the previous token keeps working; None leaves it valid to its
    natural expiry.
    """
    ttl = token_ttl(state) if ttl is None else ttl
    key = f"{kind}:{appid}"
    previous = state.tokens.get(state.current_tokens.get(key, ""))
    if previous is not None and overlap is not None:
        deadline = now + overlap
        if previous.invalid_after is None or previous.invalid_after > deadline:
            previous.invalid_after = deadline
    token = Token(token=_new_token_string(), kind=kind, appid=appid, issued_at=now,
                  expires_at=now + ttl, component_appid=component_appid)
    state.tokens[token.token] = token
    state.current_tokens[key] = token.token
    return token


def lookup_token(state: SandboxState, value: str) -> Token | None:
    return state.tokens.get(value)


def validate_token(state: SandboxState, value: str | None, now: float,
                   *, kinds: tuple[str, ...] = ("token", "stable", "authorizer")) -> Token:
    """Raise the platform's error for a missing, malformed, stale or expired token."""
    if not value:
        raise ApiError(41001)
    token = state.tokens.get(value)
    if token is None or token.kind not in kinds:
        if not _WELL_FORMED.match(value):
            raise ApiError(40014)
        raise ApiError(40001)
    if token.invalid_after is not None and now >= token.invalid_after:
        raise ApiError(40001)
    if now >= token.expires_at:
        raise ApiError(42001)
    return token


def expire_token(token: Token, now: float) -> None:
    """Make a token answer 42001 from now on (the token_expired fault)."""
    token.expires_at = min(token.expires_at, now)


def _check_credentials(state: SandboxState, appid: str, secret: str) -> None:
    if not appid:
        raise ApiError(41002)
    account = state.accounts.get(appid)
    if account is None:
        raise ApiError(40013)
    if not secret:
        raise ApiError(41004)
    if secret != account.secret:
        raise ApiError(40125, "invalid appsecret, view more at http://t.cn/RAEkdVq")


@api("/cgi-bin/token", method="GET", auth="none")
def get_token(ctx: Ctx) -> dict:
    q = ctx.req.query
    if q.get("grant_type") != "client_credential":
        raise ApiError(40002)
    appid = q.get("appid", "")
    _check_credentials(ctx.state, appid, q.get("secret", ""))
    ctx.appid = appid
    check_account_ip(ctx.state.accounts[appid], ctx.req.client_ip, ctx.now)
    if quota.exhausted(ctx.state, appid, "/cgi-bin/token", ctx.now):
        raise ApiError(45009)
    quota.count(ctx.state, appid, "/cgi-bin/token", ctx.now)
    token = issue_token(ctx.state, kind="token", appid=appid, now=ctx.now)
    ctx.state.bump("token_issued", appid)
    ctx.state.bump("token_requests", appid)
    return {"access_token": token.token, "expires_in": int(token.expires_at - token.issued_at)}


@api("/cgi-bin/stable_token", auth="none")
def stable_token(ctx: Ctx) -> dict:
    body = ctx.body()
    if body.get("grant_type") != "client_credential":
        raise ApiError(40002)
    appid = str(body.get("appid") or "")
    _check_credentials(ctx.state, appid, str(body.get("secret") or ""))
    ctx.appid = appid
    check_account_ip(ctx.state.accounts[appid], ctx.req.client_ip, ctx.now)
    state, now = ctx.state, ctx.now
    if quota.exhausted(state, appid, "/cgi-bin/stable_token", now):
        raise ApiError(45009)
    account = state.accounts[appid]
    current = state.tokens.get(state.current_tokens.get(f"stable:{appid}", ""))
    usable = (current is not None and current.invalid_after is None
              and now < current.expires_at)
    # Short benchmark lifetimes renew in their second half rather than on every call.
    renew_before = min(STABLE_RENEW_BEFORE, token_ttl(state) / 2)
    if body.get("force_refresh") is True:
        today = beijing_day_key(now)
        used = [t for t in account.stable_force_refreshes if beijing_day_key(t) == today]
        if len(used) >= STABLE_FORCE_PER_DAY:
            raise ApiError(45009)
        if account.stable_force_refreshes and now - account.stable_force_refreshes[-1] < (
                STABLE_FORCE_GAP):
            raise ApiError(45011)
        account.stable_force_refreshes = [*used, now]
        # A forced refresh voids the old stable token at once.
        token = issue_token(state, kind="stable", appid=appid, now=now, overlap=0)
        state.bump("stable_token_issued", appid)
    elif usable and current is not None and current.expires_at - now > renew_before:
        token = current
    else:
        # Within the last 5 minutes the platform hands out a fresh token; the old one
        # still lives until its own expiry.
        token = issue_token(state, kind="stable", appid=appid, now=now, overlap=None)
        state.bump("stable_token_issued", appid)
    quota.count(state, appid, "/cgi-bin/stable_token", now)
    state.bump("token_requests", appid)
    return {"access_token": token.token, "expires_in": int(token.expires_at - now)}
