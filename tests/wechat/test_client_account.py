"""Followers, tags, QR codes, menus, analytics and quotas against the sandbox."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from tests.wechat.sandbox_helpers import calls, client_for, control, follow, make_account
from wechat import errors
from wechat.sandbox.clock import BEIJING, beijing_midnight
from wechat.sandbox.server import SandboxServer


def test_followers_paged_listing_info_batch_and_remark(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    openids = {follow(sandbox, appid) for _ in range(130)}
    control(sandbox, "POST", "/settings", {"user_page_size": 50})

    first = wx.user_list()
    assert first["total"] == 130 and first["count"] == 50
    assert set(wx.user_iter_openids()) == openids
    # 50 + 50 + 30; a platform that names the last openid on the final page costs one more.
    assert len(calls(sandbox, "/cgi-bin/user/get")) in (1 + 3, 1 + 4)

    one = next(iter(openids))
    info = wx.user_info(one)
    assert info["subscribe"] == 1 and info["openid"] == one

    infos = wx.user_info_batch(sorted(openids))
    assert {i["openid"] for i in infos} == openids
    assert len(calls(sandbox, "/cgi-bin/user/info/batchget")) == 2  # 100 + 30

    wx.user_update_remark(one, "老客户")
    assert wx.user_info(one)["remark"] == "老客户"


def test_blacklist(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    openids = [follow(sandbox, account["appid"]) for _ in range(25)]
    wx.blacklist_add(openids)
    assert len(calls(sandbox, "/cgi-bin/tags/members/batchblacklist")) == 2  # 20 + 5
    assert set(wx.blacklist_list()["data"]["openid"]) == set(openids)
    wx.blacklist_remove(openids[:5])
    assert wx.blacklist_list()["count"] == 20


def test_tags_crud_members_and_batches(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    openids = [follow(sandbox, appid) for _ in range(120)]

    tag = wx.tag_create("上海门店")
    assert tag["name"] == "上海门店"
    with pytest.raises(errors.TagLimit) as duplicate:
        wx.tag_create("上海门店")
    assert duplicate.value.errcode == 45157

    wx.tag_add_users(tag["id"], openids)
    assert len(calls(sandbox, "/cgi-bin/tags/members/batchtagging")) == 3  # 50 + 50 + 20
    assert set(wx.tag_iter_members(tag["id"])) == set(openids)
    assert wx.tag_ids_of_user(openids[0]) == [tag["id"]]
    listed = {t["id"]: t for t in wx.tag_list()}
    assert listed[tag["id"]]["count"] == 120

    wx.tag_update(tag["id"], "Shanghai store")
    assert {t["name"] for t in wx.tag_list()} >= {"Shanghai store"}
    wx.tag_remove_users(tag["id"], openids[:60])
    assert len(list(wx.tag_iter_members(tag["id"]))) == 60
    with pytest.raises(errors.TagLimit):
        wx.tag_update(2, "renamed system tag")
    wx.tag_delete(tag["id"])
    assert tag["id"] not in {t["id"] for t in wx.tag_list()}
    with pytest.raises(errors.TagLimit) as missing:
        wx.tag_add_users(tag["id"], openids[:1])
    assert missing.value.errcode == 45159


@pytest.mark.parametrize(
    ("create", "action", "scene_key"),
    [
        (lambda wx: wx.qrcode_create_temporary(4242, expire_seconds=3600), "QR_SCENE", "4242"),
        (lambda wx: wx.qrcode_create_temporary("spring_sale"), "QR_STR_SCENE", "spring_sale"),
        (lambda wx: wx.qrcode_create_permanent(100_000), "QR_LIMIT_SCENE", "100000"),
        (lambda wx: wx.qrcode_create_permanent("store_01"), "QR_LIMIT_STR_SCENE", "store_01"),
    ],
)
def test_qrcodes_of_all_four_kinds_can_be_shown_and_scanned(
    sandbox: SandboxServer, create, action: str, scene_key: str
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    code = create(wx)
    assert code["ticket"] and code["url"]
    assert ("expire_seconds" in code) == action.startswith("QR_S")

    image = requests.get(wx.qrcode_image_url(code["ticket"]), timeout=5)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")

    answer = control(
        sandbox, "POST", f"/accounts/{appid}/followers", {"ticket": code["ticket"], "push": False}
    )
    info = wx.user_info(answer["openid"])
    assert info["subscribe_scene"] == "ADD_SCENE_QR_CODE"
    assert scene_key in (str(info["qr_scene"]), info["qr_scene_str"])


def test_temporary_qrcode_expires(sandbox: SandboxServer) -> None:
    wx, _ = client_for(sandbox, make_account(sandbox))
    code = wx.qrcode_create_temporary(7, expire_seconds=60)
    sandbox.clock.advance(61)
    assert requests.get(wx.qrcode_image_url(code["ticket"]), timeout=5).status_code == 404


MENU = [
    {"type": "click", "name": "最新活动", "key": "MENU_LATEST"},
    {
        "name": "服务",
        "sub_button": [
            {"type": "view", "name": "官网", "url": "https://brand.test/"},
            {"type": "click", "name": "联系客服", "key": "MENU_CONTACT"},
        ],
    },
]
VIP_MENU = [{"type": "click", "name": "VIP", "key": "MENU_VIP"}]


def test_menus_default_conditional_and_trymatch(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    vip, regular = follow(sandbox, appid), follow(sandbox, appid)
    tag = wx.tag_create("VIP")
    wx.tag_add_users(tag["id"], [vip])

    wx.menu_create(MENU)
    assert wx.menu_get()["menu"]["button"][0]["key"] == "MENU_LATEST"
    assert wx.menu_current_selfmenu_info()

    menuid = wx.menu_add_conditional(VIP_MENU, {"tag_id": str(tag["id"])})
    assert wx.menu_try_match(vip)["button"][0]["key"] == "MENU_VIP"
    assert wx.menu_try_match(regular)["button"][0]["key"] == "MENU_LATEST"
    assert len(wx.menu_get()["conditionalmenu"]) == 1

    with pytest.raises(errors.MenuError) as private:
        wx.menu_add_conditional(VIP_MENU, {"sex": "1"})
    assert private.value.errcode == 65320

    wx.menu_delete_conditional(menuid)
    assert wx.menu_try_match(vip)["button"][0]["key"] == "MENU_LATEST"
    wx.menu_delete()
    with pytest.raises(errors.WeChatError):
        wx.menu_get()


def test_datacube_reports(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account)
    follow(sandbox, appid)
    follow(sandbox, appid, scene="spring_sale")
    # To 09:00 in Beijing the next day: yesterday's rows are published at 08:00, so a day
    # later by the clock alone would find none when the test runs after midnight there.
    today = dt.datetime.fromtimestamp(sandbox.clock.now(), BEIJING).date()
    sandbox.clock.advance(
        beijing_midnight(today + dt.timedelta(1)) + 9 * 3600 - sandbox.clock.now())
    yesterday = today
    week_start = yesterday - dt.timedelta(days=6)

    summary = wx.datacube_user_summary(week_start, yesterday)
    assert sum(row["new_user"] for row in summary) == 2
    cumulate = wx.datacube_user_cumulate(week_start, yesterday)
    assert cumulate[-1]["cumulate_user"] == 2
    for rows in (
        wx.datacube_article_summary(yesterday, yesterday),
        wx.datacube_article_total(yesterday, yesterday),
        wx.datacube_user_read(yesterday - dt.timedelta(2), yesterday),
        wx.datacube_user_share(week_start, yesterday),
        wx.datacube_upstream_msg(week_start, yesterday),
        wx.datacube_interface_summary(yesterday - dt.timedelta(29), yesterday),
        wx.datacube("getupstreammsghour", yesterday, yesterday),
    ):
        assert isinstance(rows, list)


def test_api_quota_and_daily_limit(sandbox: SandboxServer) -> None:
    account = make_account(sandbox, quotas={"/cgi-bin/tags/get": 2})
    wx, sleeps = client_for(sandbox, account)
    wx.tag_list()
    wx.tag_list()
    assert wx.quota_get("/cgi-bin/tags/get") == {"daily_limit": 2, "used": 2, "remain": 0}
    with pytest.raises(errors.DailyLimitReached, match="daily call limit"):
        wx.tag_list()
    assert sleeps == []  # a daily limit is not something backing off can fix
    wx.quota_clear()
    wx.tag_list()
