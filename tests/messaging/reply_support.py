"""A portal account wired to the real sandbox, with a follower who just wrote, and the
conversation an agent answers. Import the fixtures into a test module to use them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from accounts.models import Membership, OfficialAccount
from accounts.scope import Scope, scope_for_membership
from followers.models import Follower
from messaging.models import Conversation
from tests.factories import make_conversation, make_follower
from wechat.sandbox.server import SandboxServer

CUSTOM_SEND = "/cgi-bin/message/custom/send"


@dataclass
class Wired:
    sandbox: SandboxServer
    account: OfficialAccount
    follower: Follower
    conversation: Conversation
    agent: Membership

    @property
    def scope(self) -> Scope:
        return scope_for_membership(self.agent)

    @property
    def appid(self) -> str:
        return self.account.appid

    def inbox(self) -> list[dict]:
        path = f"/accounts/{self.appid}/followers/{self.follower.openid}/inbox"
        return self.sandbox.control("GET", path)["messages"]

    def texts(self) -> list[str]:
        return [m["text"]["content"] for m in self.inbox() if m["msgtype"] == "text"]

    def send_calls(self) -> list[dict]:
        return self.sandbox.control("GET", "/calls", query={"appid": self.appid,
                                                            "path": CUSTOM_SEND})["calls"]

    def follower_says(self, text: str) -> None:
        self.sandbox.control(
            "POST", f"/accounts/{self.appid}/followers/{self.follower.openid}/send",
            {"type": "text", "content": text, "push": False},
        )

    def unfollow_on_the_platform(self) -> None:
        self.sandbox.control(
            "POST", f"/accounts/{self.appid}/followers/{self.follower.openid}/unfollow",
            {"push": False},
        )


@pytest.fixture
def wired(sandbox: SandboxServer, settings, two_brands: dict) -> Wired:  # noqa: ANN001
    """Brand A's flagship on the sandbox; its follower wrote a moment ago (both the sandbox
    and the portal have the 48-hour window open); Lily of team A answers."""
    settings.WECHAT_API_BASE = sandbox.base_url
    # Tokens cached by an earlier test name a sandbox state that was reset since.
    cache.clear()
    account = two_brands["a1"]
    sandbox.control("POST", "/accounts", {
        "appid": account.appid, "secret": account.app_secret,
        "original_id": account.original_id, "name": account.name,
    })
    openid = sandbox.control("POST", f"/accounts/{account.appid}/followers",
                             {"push": False})["openid"]
    # The follow opened a 1-minute, 3-send window; let it pass so the message's 48-hour
    # window is the one in play on both sides.
    sandbox.clock.advance(61)
    follower = make_follower(account=account, openid=openid)
    agent = two_brands["manager_a"]  # serves a1
    agent.display_name = "Lily"
    agent.save(update_fields=["display_name"])
    agent.teams.add(two_brands["team_a"])
    wired = Wired(sandbox, account, follower,
                  make_conversation(follower=follower, team=two_brands["team_a"]), agent)
    wired.follower_says("Is breakfast included?")
    return wired
