"""The situations behind the access codes: IP allow-lists and the admin's confirmation
(40164, 61004, 89501-89507), banned APIs (48004), the platform's own bundles (61007), the
WeChat user's own state (46004, 50002), big tags (45057) and the mass speed (45083/4)."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_kit import Kit, errcode
from wechat import errors
from wechat.sandbox.server import SandboxServer

LOCAL = "127.0.0.1"  # where the tests call from


def _token_code(kit: Kit, account: dict) -> int:
    return errcode(kit.get("/cgi-bin/token", grant_type="client_credential",
                           appid=account["appid"], secret=account["secret"]))


def test_an_allow_list_admits_only_its_ips(kit: Kit) -> None:
    account = kit.account(ip_whitelist=["203.0.113.7"])
    answer = kit.get("/cgi-bin/token", grant_type="client_credential",
                     appid=account["appid"], secret=account["secret"])
    assert errcode(answer) == 40164 and "invalid ip 127.0.0.1" in answer["errmsg"]
    kit.ctl("PATCH", f"/accounts/{account['appid']}", {"ip_whitelist": ["203.0.113.7", LOCAL]})
    assert _token_code(kit, account) == 0


def test_a_new_ip_waits_for_the_admin_and_two_refusals_block_it_for_a_day(kit: Kit) -> None:
    account = kit.account(ip_confirmation=True)
    appid = account["appid"]
    kit.freeze()
    assert [_token_code(kit, account) for _ in range(2)] == [89503, 89501]

    def refuse() -> None:
        kit.ctl("POST", f"/accounts/{appid}/ip_decisions", {"ip": LOCAL, "decision": "refuse"})

    refuse()
    assert _token_code(kit, account) == 89507
    kit.advance(3600)
    assert [_token_code(kit, account) for _ in range(2)] == [89503, 89501]  # asked again
    refuse()
    assert _token_code(kit, account) == 89506
    kit.advance(24 * 3600 - 1)  # still within a day of the second refusal
    assert _token_code(kit, account) == 89506
    kit.advance(1)
    assert _token_code(kit, account) == 89503
    kit.ctl("POST", f"/accounts/{appid}/ip_decisions", {"ip": LOCAL, "decision": "confirm"})
    assert _token_code(kit, account) == 0


def test_an_ip_decision_needs_an_ip_and_a_known_decision(kit: Kit) -> None:
    account = kit.account(ip_confirmation=True)
    appid = account["appid"]
    kit.ctl("POST", f"/accounts/{appid}/ip_decisions", {"decision": "refuse"}, status=400)
    kit.ctl("POST", f"/accounts/{appid}/ip_decisions", {"ip": LOCAL, "decision": "maybe"},
            status=400)
    assert _token_code(kit, account) == 89503  # nothing was recorded for the IP


def test_a_malformed_allow_list_is_refused_and_the_account_keeps_its_own(kit: Kit) -> None:
    account = kit.account(ip_whitelist=[LOCAL])
    assert "list of strings" in kit.ctl("PATCH", f"/accounts/{account['appid']}",
                                        {"ip_whitelist": "10.0.0.1"}, status=400)["error"]
    assert kit.ctl("GET", f"/accounts/{account['appid']}")["ip_whitelist"] == [LOCAL]


def test_a_banned_api_answers_48004_and_the_others_still_work(kit: Kit) -> None:
    account = kit.account(banned_apis=["/cgi-bin/tags/get"])
    token = kit.token(account)
    assert errcode(kit.get("/cgi-bin/tags/get", token)) == 48004
    assert errcode(kit.get("/cgi-bin/user/get", token)) == 0


def test_the_persons_state_is_seen_by_every_account_it_follows(kit: Kit) -> None:
    first, second = kit.account(), kit.account()
    person = kit.follow(first["appid"])["person_id"]
    other = kit.follow(second["appid"], person_id=person)["openid"]
    token = kit.token(second)
    kit.ctl("PATCH", f"/persons/{person}", {"state": "deleted"})
    assert errcode(kit.get("/cgi-bin/user/info", token, openid=other)) == 46004
    kit.ctl("PATCH", f"/persons/{person}", {"state": "active"})
    assert kit.get("/cgi-bin/user/info", token, openid=other)["subscribe"] == 1


def test_an_unknown_person_state_is_refused_and_the_state_kept(kit: Kit) -> None:
    account = kit.account()
    person = kit.follow(account["appid"])["person_id"]
    kit.ctl("PATCH", f"/persons/{person}", {"state": "restricted"})
    assert "state must be one of" in kit.ctl("PATCH", f"/persons/{person}", {"state": "gone"},
                                             status=400)["error"]
    assert kit.ctl("PATCH", f"/persons/{person}", {})["state"] == "restricted"
    kit.ctl("PATCH", "/persons/person-999", {"state": "deleted"}, status=404)


def test_simulated_fans_count_in_the_tag_list_and_block_its_deletion(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    tag = kit.post("/cgi-bin/tags/create", token, {"tag": {"name": "all"}})["tag"]
    path = f"/accounts/{account['appid']}/tags/{tag['id']}"
    kit.ctl("PATCH", path, {"simulated_fans": 100_000})
    counts = {t["id"]: t["count"] for t in kit.get("/cgi-bin/tags/get", token)["tags"]}
    assert counts[tag["id"]] == 100_000
    kit.follow(account["appid"])
    openid = kit.ctl("GET", f"/accounts/{account['appid']}/followers")["followers"][0]["openid"]
    kit.post("/cgi-bin/tags/members/batchtagging", token,
             {"openid_list": [openid], "tagid": tag["id"]})
    assert errcode(kit.post("/cgi-bin/tags/delete", token, {"tag": {"id": tag["id"]}})) == 45057
    kit.ctl("PATCH", path, {"simulated_fans": -1}, status=400)
    kit.ctl("PATCH", path, {"simulated_fans": 0})
    assert errcode(kit.post("/cgi-bin/tags/delete", token, {"tag": {"id": tag["id"]}})) == 0


def test_the_platforms_own_bundles_come_before_the_accounts_grant(
    sandbox: SandboxServer, kit: Kit
) -> None:
    from tests.wechat.test_every_errcode import COMPONENT, Stage

    stage = Stage.make(sandbox)
    platform = stage.platform(func_ids=[1, 2])
    openid = stage.follower()
    stage.authorised(platform, [1])  # the account grants messages only
    wx = platform.authorizer_client(stage.appid)
    with pytest.raises(errors.ApiUnauthorized) as caught:
        wx.user_info(openid)  # bundle 2: the platform holds it, the account did not grant it
    assert caught.value.errcode == 48001
    with pytest.raises(errors.ApiUnauthorized) as caught:
        wx.qrcode_create_permanent(7)
    assert caught.value.errcode == 61007  # bundle 3: not even the platform holds it
    kit.ctl("PATCH", f"/components/{COMPONENT}", {"func_ids": None})
    assert kit.ctl("GET", f"/components/{COMPONENT}")["func_ids"] is None
    kit.ctl("PATCH", f"/components/{COMPONENT}", {"func_ids": "all"}, status=400)


def test_the_mass_speed_is_read_and_set_through_the_client(sandbox: SandboxServer) -> None:
    from tests.wechat.test_every_errcode import Stage

    wx = Stage.make(sandbox).wx
    assert wx.mass_speed_get() == {"speed": 0, "realspeed": 80}
    wx.mass_speed_set(3)
    assert wx.mass_speed_get() == {"speed": 3, "realspeed": 30}
    with pytest.raises(errors.RequestValidationError):
        wx.mass_speed_set(5)
    assert wx.mass_speed_get()["speed"] == 3
