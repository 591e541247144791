"""Daily API quotas (protocol §13), counted per account on the Beijing calendar."""

from __future__ import annotations

from .clock import beijing_day_key
from .state import SandboxState

# path -> (limit for a normal account, limit for a test account)
DAILY_LIMITS: dict[str, tuple[int, int]] = {
    "/cgi-bin/token": (2000, 200),
    "/cgi-bin/stable_token": (500000, 500000),
    "/cgi-bin/menu/create": (1000, 100),
    "/cgi-bin/menu/delete": (1000, 100),
    "/cgi-bin/menu/get": (10000, 1000),
    "/cgi-bin/menu/addconditional": (2000, 2000),
    "/cgi-bin/menu/delconditional": (2000, 2000),
    "/cgi-bin/menu/trymatch": (20000, 20000),
    "/cgi-bin/tags/create": (1000, 100),
    "/cgi-bin/tags/get": (1000, 100),
    "/cgi-bin/tags/update": (1000, 100),
    "/cgi-bin/tags/members/batchtagging": (100000, 1000),
    "/cgi-bin/tags/members/batchuntagging": (100000, 1000),
    "/cgi-bin/media/upload": (100000, 500),
    "/cgi-bin/media/get": (200000, 1000),
    "/cgi-bin/message/custom/send": (500000, 50000),
    "/cgi-bin/message/mass/sendall": (100, 100),
    "/cgi-bin/message/mass/send": (100, 100),
    "/cgi-bin/message/mass/preview": (100, 100),
    "/cgi-bin/media/uploadnews": (10, 10),
    "/cgi-bin/message/mass/delete": (10, 10),
    "/cgi-bin/qrcode/create": (100000, 10000),
    "/cgi-bin/user/get": (500, 100),
    "/cgi-bin/user/info": (5000000, 500000),
    "/cgi-bin/user/info/batchget": (5000000, 500000),
    "/cgi-bin/user/info/updateremark": (10000, 10000),
}


# Paths drawing on another path's daily budget. §13 names one "mass send (advanced)"
# limit of 100 a day and no separate one for send or preview, so sendall, send and
# preview share one budget (counted and overridden under the sendall path).
SHARED_BUDGET: dict[str, str] = {
    "/cgi-bin/message/mass/send": "/cgi-bin/message/mass/sendall",
    "/cgi-bin/message/mass/preview": "/cgi-bin/message/mass/sendall",
}


def budget_path(path: str) -> str:
    return SHARED_BUDGET.get(path, path)


def daily_limit(state: SandboxState, appid: str, path: str) -> int | None:
    path = budget_path(path)
    account = state.accounts.get(appid)
    if account and path in account.quotas:
        return int(account.quotas[path])
    limits = DAILY_LIMITS.get(path)
    if limits is None:
        return None
    return limits[1] if account and account.test_account else limits[0]


def used_today(state: SandboxState, appid: str, path: str, now: float) -> int:
    return state.quota_used.get(f"{appid}|{budget_path(path)}|{beijing_day_key(now)}", 0)


def exhausted(state: SandboxState, appid: str, path: str, now: float) -> bool:
    limit = daily_limit(state, appid, path)
    return limit is not None and used_today(state, appid, path, now) >= limit


def count(state: SandboxState, appid: str, path: str, now: float) -> None:
    key = f"{appid}|{budget_path(path)}|{beijing_day_key(now)}"
    state.quota_used[key] = state.quota_used.get(key, 0) + 1


def clear(state: SandboxState, appid: str, now: float, path: str | None = None) -> None:
    """Forget today's counts for the account (or one of its paths)."""
    day = beijing_day_key(now)
    budget = budget_path(path) if path is not None else None
    for key in list(state.quota_used):
        k_appid, k_path, k_day = key.split("|")
        if k_appid == appid and k_day == day and (budget is None or k_path == budget):
            del state.quota_used[key]
