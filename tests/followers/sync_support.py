"""The sandbox side of follower sync tests: portal accounts wired to sandbox accounts,
followers seeded straight into the sandbox's state (thousands in milliseconds), and the
calls the portal made."""

from __future__ import annotations

from typing import Any

from accounts.models import OfficialAccount
from followers import sync
from wechat.sandbox import world
from wechat.sandbox.server import SandboxServer

USER_GET = "/cgi-bin/user/get"
BATCHGET = "/cgi-bin/user/info/batchget"


def wire(sandbox: SandboxServer, account: OfficialAccount, *, group: str | None = None,
         **fields: Any) -> None:
    """The portal's account exists on the sandbox (same appid and secret)."""
    spec = {"appid": account.appid, "secret": account.app_secret,
            "original_id": account.original_id, "name": account.name, **fields}
    if group:
        spec["group_id"] = group
    sandbox.control("POST", "/accounts", spec)


def group(sandbox: SandboxServer, name: str = "brand") -> str:
    return sandbox.control("POST", "/groups", {"name": name})["id"]


def seed(sandbox: SandboxServer, appid: str, count: int, *, persons: list[str] | None = None,
         language: str = "zh_CN") -> list[str]:
    """``count`` new people (or ``persons``) follow ``appid``; answers the openids."""
    state = sandbox.state
    openids = []
    with state.lock:
        account = state.accounts[appid]
        now = sandbox.clock.now()
        people = [state.persons[p] for p in persons] if persons else [
            world.create_person(state, language) for _ in range(count)]
        for person in people:
            follower, _message = world.follow(state, account, person, now)
            openids.append(follower.openid)
    return openids


def person_of(sandbox: SandboxServer, openid: str) -> str:
    return sandbox.state.followers[openid].person_id


def unfollow(sandbox: SandboxServer, appid: str, openids: list[str]) -> None:
    state = sandbox.state
    with state.lock:
        account = state.accounts[appid]
        for openid in openids:
            world.unfollow(state, account, state.followers[openid], sandbox.clock.now())


def sandbox_followers(sandbox: SandboxServer, appid: str) -> set[str]:
    with sandbox.state.lock:
        return {f.openid for f in sandbox.state.account_followers(appid) if f.subscribed}


def calls(sandbox: SandboxServer, path: str, appid: str, *, ok: bool = False) -> int:
    """How many calls of ``path`` the account made (``ok``: that succeeded)."""
    answer = sandbox.control("GET", "/calls", query={"appid": appid, "path": path})
    return len([c for c in answer["calls"] if not ok or not c.get("errcode")])


def run_to_end(sync_id: int, *, limit: int = 50) -> str:
    """Run the job slice after slice in this process, as the chained tasks would."""
    for _ in range(limit):
        outcome = sync.sync_run(sync_id=sync_id)
        if outcome not in ("continue", "retry"):
            return outcome
    raise AssertionError("the sync never ended")
