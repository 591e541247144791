"""Menus: shape limits, get/delete, conditional menus and trymatch."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_kit import Kit, errcode

CLICK = {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"}


@pytest.fixture
def ctx(kit: Kit) -> tuple[Kit, dict, str]:
    account = kit.account()
    return kit, account, kit.token(account)


@pytest.mark.parametrize(("buttons", "expected"), [
    ([], 40016),
    ([CLICK] * 4, 40016),
    ([{**CLICK, "name": "一二三四五六"}], 40018),  # 18 bytes
    ([{"name": "菜单", "sub_button": [CLICK] * 6}], 40023),
    ([{"name": "菜单", "sub_button": [{**CLICK, "key": "k" * 129}]}], 40026),
    ([{"type": "view", "name": "a", "url": "https://x/" + "u" * 1020}], 40020),
    ([{"type": "teleport", "name": "a"}], 40017),
    ([CLICK, {"name": "菜单", "sub_button": [{"type": "view", "name": "搜索",
                                               "url": "https://www.soso.com/"}]}], 0),
])
def test_menu_shape_limits(ctx: tuple, buttons: list, expected: int) -> None:
    kit, _account, token = ctx
    assert errcode(kit.post("/cgi-bin/menu/create", token, {"button": buttons})) == expected


def test_get_delete_and_46003(ctx: tuple) -> None:
    kit, _account, token = ctx
    assert errcode(kit.get("/cgi-bin/menu/get", token)) == 46003
    kit.post("/cgi-bin/menu/create", token, {"button": [CLICK]})
    assert kit.get("/cgi-bin/menu/get", token)["menu"]["button"] == [CLICK]
    assert errcode(kit.get("/cgi-bin/menu/delete", token)) == 0
    assert errcode(kit.get("/cgi-bin/menu/get", token)) == 46003


def test_conditional_menus_refuse_private_data_rules(ctx: tuple) -> None:
    kit, _account, token = ctx
    body = {"button": [CLICK], "matchrule": {"sex": "1"}}
    assert errcode(kit.post("/cgi-bin/menu/addconditional", token, body)) == 65303
    kit.post("/cgi-bin/menu/create", token, {"button": [CLICK]})
    for rule in ({"sex": "1"}, {"language": "zh_CN"}, {"province": "广东"}):
        answer = kit.post("/cgi-bin/menu/addconditional", token,
                          {"button": [CLICK], "matchrule": rule})
        assert errcode(answer) == 65320
    assert "conditionalmenu" not in kit.get("/cgi-bin/menu/get", token)


def test_trymatch_picks_the_newest_menu_for_the_users_tag(ctx: tuple) -> None:
    kit, account, token = ctx
    openid = kit.follow(account["appid"])["openid"]
    kit.post("/cgi-bin/menu/create", token, {"button": [CLICK]})
    tag = kit.post("/cgi-bin/tags/create", token, {"tag": {"name": "vip"}})["tag"]["id"]
    vip = {**CLICK, "key": "VIP"}
    menuid = kit.post("/cgi-bin/menu/addconditional", token,
                      {"button": [vip], "matchrule": {"tag_id": str(tag)}})["menuid"]
    assert kit.post("/cgi-bin/menu/trymatch", token, {"user_id": openid})["button"] == [CLICK]
    kit.post("/cgi-bin/tags/members/batchtagging", token, {"openid_list": [openid],
                                                           "tagid": tag})
    assert kit.post("/cgi-bin/menu/trymatch", token, {"user_id": openid})["button"] == [vip]
    assert errcode(kit.post("/cgi-bin/menu/delconditional", token, {"menuid": menuid})) == 0
    assert errcode(kit.post("/cgi-bin/menu/delconditional", token, {"menuid": menuid})) == 65301
    assert errcode(kit.post("/cgi-bin/menu/trymatch", token, {"user_id": "nobody"})) == 65302
