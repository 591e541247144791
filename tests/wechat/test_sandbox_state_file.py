"""State survives a save and load through the JSON file, clock offset included."""

from __future__ import annotations

from pathlib import Path

from tests.wechat.sandbox_kit import Kit
from wechat.sandbox.server import SandboxServer


def test_state_round_trips_through_the_file(kit: Kit, tmp_path: Path) -> None:
    account = kit.account()
    openid = kit.follow(account["appid"])["openid"]
    token = kit.token(account)
    kit.post("/cgi-bin/tags/create", token, {"tag": {"name": "vip"}})
    kit.advance(3600)
    path = str(tmp_path / "state.json")
    assert kit.ctl("POST", "/save", {"path": path})["ok"]

    other = SandboxServer(port=0)
    try:
        other.load(path)
        other.start()
        assert other.clock.now() >= kit.sb.clock.now() - 5
        restored = Kit(other)
        info = restored.get("/cgi-bin/user/info", token, openid=openid)
        assert info["openid"] == openid
        assert [t["name"] for t in restored.get("/cgi-bin/tags/get", token)["tags"]] == [
            "星标组", "vip"]
    finally:
        other.stop()
