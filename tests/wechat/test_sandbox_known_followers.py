"""Followers an account had before the sandbox ran (the demo's seeded ones): listed by
user/get with their openid and follow time, made without a push, never twice."""

from __future__ import annotations

from tests.wechat.sandbox_kit import Kit


def test_known_followers_are_listed_with_their_openid_and_follow_time(kit: Kit) -> None:
    account = kit.account()
    appid = account["appid"]
    answer = kit.ctl("POST", f"/accounts/{appid}/known_followers", {"followers": [
        {"openid": "oDEMO_7001_00001", "subscribe_time": 1767225600, "language": "en"},
        {"openid": "oDEMO_7001_00002"},
    ]})
    assert answer == {"added": 2, "known": 0}
    token = kit.token(account)
    listed = kit.get("/cgi-bin/user/get", token)
    assert sorted(listed["data"]["openid"]) == ["oDEMO_7001_00001", "oDEMO_7001_00002"]
    info = kit.get("/cgi-bin/user/info", token, openid="oDEMO_7001_00001")
    assert (info["subscribe"], info["subscribe_time"], info["language"]) == (
        1, 1767225600, "en")
    assert kit.ctl("GET", "/pushes", appid=appid)["pushes"] == []


def test_a_known_openid_is_left_as_it_is(kit: Kit) -> None:
    account = kit.account()
    appid = account["appid"]
    body = {"followers": [{"openid": "oDEMO_1", "subscribe_time": 100}]}
    kit.ctl("POST", f"/accounts/{appid}/known_followers", body)
    kit.ctl("POST", f"/accounts/{appid}/followers/oDEMO_1/unfollow", {"push": False})
    assert kit.ctl("POST", f"/accounts/{appid}/known_followers", body) == {
        "added": 0, "known": 1}
    followers = kit.ctl("GET", f"/accounts/{appid}/followers")["followers"]
    assert [(f["openid"], f["subscribed"]) for f in followers] == [("oDEMO_1", False)]


def test_a_bad_list_is_refused_and_adds_nobody(kit: Kit) -> None:
    appid = kit.account()["appid"]
    for body, status in (({"followers": "oDEMO_1"}, 400),
                         ({"followers": [{"openid": "oDEMO_1"}, {"openid": ""}]}, 400),
                         ({"followers": [{"openid": "oDEMO_2", "subscribe_time": -1}]}, 400),
                         ({"followers": ["oDEMO_2"]}, 400),
                         ({"followers": [{"openid": "oDEMO_3"}]}, 200)):
        kit.ctl("POST", f"/accounts/{appid}/known_followers", body, status=status)
    kit.ctl("POST", "/accounts/wx0000000000000000/known_followers", {"followers": []},
            status=404)
    followers = kit.ctl("GET", f"/accounts/{appid}/followers")["followers"]
    assert [f["openid"] for f in followers] == ["oDEMO_3"]
