"""Tag limits: 100 per account, names, system tags, 20 per user, batch size, bad ids."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_kit import Kit, errcode


@pytest.fixture
def ctx(kit: Kit) -> tuple[Kit, dict, str]:
    account = kit.account()
    return kit, account, kit.token(account)


def _create(kit: Kit, token: str, name: str) -> dict:
    return kit.post("/cgi-bin/tags/create", token, {"tag": {"name": name}})


def _names(kit: Kit, token: str) -> list[str]:
    return [t["name"] for t in kit.get("/cgi-bin/tags/get", token)["tags"]]


def test_the_101st_tag_is_refused(ctx: tuple) -> None:
    kit, _account, token = ctx
    for i in range(100):
        assert _create(kit, token, f"t{i}")["tag"]["id"] == 100 + i
    assert errcode(_create(kit, token, "one too many")) == 45056
    assert len(_names(kit, token)) == 101  # plus the system tag 2


def test_names_longer_than_30_or_duplicated_are_refused(ctx: tuple) -> None:
    kit, _account, token = ctx
    assert "tag" in _create(kit, token, "广" * 30)
    assert errcode(_create(kit, token, "广" * 31)) == 45158
    assert errcode(_create(kit, token, "广" * 30)) == 45157
    assert errcode(_create(kit, token, "星标组")) == 45157
    assert _names(kit, token) == ["星标组", "广" * 30]


def test_system_tags_cannot_be_changed(ctx: tuple) -> None:
    kit, _account, token = ctx
    for tag_id in (0, 1, 2):
        assert errcode(kit.post("/cgi-bin/tags/update", token,
                                {"tag": {"id": tag_id, "name": "x"}})) == 45058
        assert errcode(kit.post("/cgi-bin/tags/delete", token, {"tag": {"id": tag_id}})) == 45058


def test_a_user_carries_at_most_20_tags_and_the_batch_is_all_or_nothing(ctx: tuple) -> None:
    kit, account, token = ctx
    full = kit.follow(account["appid"])["openid"]
    fresh = kit.follow(account["appid"])["openid"]
    ids = [_create(kit, token, f"t{i}")["tag"]["id"] for i in range(21)]
    for tag_id in ids[:20]:
        assert errcode(kit.post("/cgi-bin/tags/members/batchtagging", token,
                                {"openid_list": [full], "tagid": tag_id})) == 0
    answer = kit.post("/cgi-bin/tags/members/batchtagging", token,
                      {"openid_list": [fresh, full], "tagid": ids[20]})
    assert errcode(answer) == 45059
    assert kit.post("/cgi-bin/tags/getidlist", token, {"openid": fresh})["tagid_list"] == []
    assert len(kit.post("/cgi-bin/tags/getidlist", token, {"openid": full})["tagid_list"]) == 20


def test_batches_hold_1_to_50_openids(ctx: tuple) -> None:
    kit, account, token = ctx
    tag_id = _create(kit, token, "vip")["tag"]["id"]
    openids = [kit.follow(account["appid"])["openid"] for _ in range(51)]
    for size in (0, 51):
        answer = kit.post("/cgi-bin/tags/members/batchtagging", token,
                          {"openid_list": openids[:size], "tagid": tag_id})
        assert errcode(answer) == 40032
    assert kit.post("/cgi-bin/user/tag/get", token, {"tagid": tag_id}) == {
        "count": 0, "next_openid": ""}
    assert errcode(kit.post("/cgi-bin/tags/members/batchtagging", token,
                            {"openid_list": openids[:50], "tagid": tag_id})) == 0
    fans = kit.post("/cgi-bin/user/tag/get", token, {"tagid": tag_id})
    assert fans["count"] == 50 and fans["data"]["openid"] == openids[:50]


def test_unknown_tag_ids_answer_45159(ctx: tuple) -> None:
    kit, account, token = ctx
    openid = kit.follow(account["appid"])["openid"]
    assert errcode(kit.post("/cgi-bin/tags/members/batchtagging", token,
                            {"openid_list": [openid], "tagid": 999})) == 45159
    assert errcode(kit.post("/cgi-bin/tags/update", token,
                            {"tag": {"id": 999, "name": "x"}})) == 45159


def test_deleting_a_tag_removes_it_from_its_fans(ctx: tuple) -> None:
    kit, account, token = ctx
    openid = kit.follow(account["appid"])["openid"]
    tag_id = _create(kit, token, "gone")["tag"]["id"]
    kit.post("/cgi-bin/tags/members/batchtagging", token, {"openid_list": [openid],
                                                           "tagid": tag_id})
    assert errcode(kit.post("/cgi-bin/tags/delete", token, {"tag": {"id": tag_id}})) == 0
    assert kit.post("/cgi-bin/tags/getidlist", token, {"openid": openid})["tagid_list"] == []
