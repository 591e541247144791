"""Followers: paging, user info fields, unionid per group, batch and remark limits."""

from __future__ import annotations

from tests.wechat.sandbox_kit import Kit, errcode
from wechat.sandbox import world


def test_user_get_pages_by_10000_and_ends_with_an_empty_cursor(kit: Kit) -> None:
    account = kit.account()
    sb = kit.sb
    with sb.state.lock:
        acc = sb.state.accounts[account["appid"]]
        for _ in range(10001):
            world.follow(sb.state, acc, world.create_person(sb.state), sb.clock.now())
    token = kit.token(account)
    first = kit.get("/cgi-bin/user/get", token)
    assert (first["total"], first["count"]) == (10001, 10000)
    assert first["next_openid"] == first["data"]["openid"][-1]
    second = kit.get("/cgi-bin/user/get", token, next_openid=first["next_openid"])
    assert (second["count"], second["next_openid"]) == (1, "")


def test_user_info_has_deprecated_fields_empty_and_the_scene(kit: Kit) -> None:
    account = kit.account()
    openid = kit.follow(account["appid"], subscribe_scene="ADD_SCENE_PROFILE_CARD")["openid"]
    info = kit.get("/cgi-bin/user/info", kit.token(account), openid=openid, lang="zh_CN")
    assert info["subscribe"] == 1
    assert (info["nickname"], info["sex"], info["headimgurl"], info["city"]) == ("", 0, "", "")
    assert info["subscribe_scene"] == "ADD_SCENE_PROFILE_CARD"
    assert "unionid" not in info


def test_unionid_is_shared_within_an_open_platform_group_only(kit: Kit) -> None:
    group = kit.ctl("POST", "/groups", {"name": "brand"})["id"]
    a, b = kit.account(group_id=group), kit.account(group_id=group)
    loner = kit.account()
    first = kit.follow(a["appid"])
    second = kit.follow(b["appid"], person_id=first["person_id"])
    third = kit.follow(loner["appid"], person_id=first["person_id"])
    assert first["unionid"] and first["unionid"] == second["unionid"]
    assert first["openid"] != second["openid"]
    assert third["unionid"] == ""
    info = kit.get("/cgi-bin/user/info", kit.token(b), openid=second["openid"])
    assert info["unionid"] == first["unionid"]


def test_an_unfollowed_user_shows_only_subscribe_0(kit: Kit) -> None:
    account = kit.account()
    openid = kit.follow(account["appid"])["openid"]
    kit.ctl("POST", f"/accounts/{account['appid']}/followers/{openid}/unfollow", {"push": False})
    info = kit.get("/cgi-bin/user/info", kit.token(account), openid=openid)
    assert info == {"subscribe": 0, "openid": openid}


def test_batchget_takes_at_most_100(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    openid = kit.follow(account["appid"])["openid"]
    too_many = {"user_list": [{"openid": openid, "lang": "zh_CN"}] * 101}
    assert errcode(kit.post("/cgi-bin/user/info/batchget", token, too_many)) == 40032
    ok = kit.post("/cgi-bin/user/info/batchget", token, {"user_list": [{"openid": openid}]})
    assert [u["openid"] for u in ok["user_info_list"]] == [openid]


def test_remarks_must_be_shorter_than_30_bytes(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    openid = kit.follow(account["appid"])["openid"]

    def remark(text: str) -> int:
        return errcode(kit.post("/cgi-bin/user/info/updateremark", token,
                                {"openid": openid, "remark": text}))

    assert remark("九个汉字的备注名字") == 0  # 27 bytes
    assert remark("十个汉字的备注名字啊") == 40092  # 30 bytes
    assert kit.get("/cgi-bin/user/info", token, openid=openid)["remark"] == "九个汉字的备注名字"


def test_remarks_are_for_verified_service_accounts(kit: Kit) -> None:
    account = kit.account(kind="subscription")
    openid = kit.follow(account["appid"])["openid"]
    answer = kit.post("/cgi-bin/user/info/updateremark", kit.token(account),
                      {"openid": openid, "remark": "x"})
    assert errcode(answer) == 48001


def test_blacklist_batches_hold_at_most_20(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    openids = [kit.follow(account["appid"])["openid"] for _ in range(21)]
    assert errcode(kit.post("/cgi-bin/tags/members/batchblacklist", token,
                            {"openid_list": openids})) == 40032
    assert errcode(kit.post("/cgi-bin/tags/members/batchblacklist", token,
                            {"openid_list": openids[:2]})) == 0
    listed = kit.post("/cgi-bin/tags/members/getblacklist", token, {"begin_openid": ""})
    assert listed["data"]["openid"] == openids[:2]
