"""Which interfaces each type of Official Account may call.

The platform publishes one table for this, "公众号类型的接口权限说明" (Explanation of
interface privileges): four columns, unverified and verified subscription accounts,
unverified and verified service accounts, and a row per interface. This module is that
table, for the rows the portal and the sandbox use, and the only copy of it: the sandbox
answers 48001 "api unauthorized" from it, and the portal's capability list reads it to
say what an account cannot do and why. `wechat/sandbox/README.md` gives the source and
the readings taken where the platform's pages disagree with each other.

An account type is a pair (kind, verified), kind being "subscription" or "service".
"""

from __future__ import annotations

from dataclasses import dataclass

SUBSCRIPTION, SERVICE = "subscription", "service"

AccountType = tuple[str, bool]

UNVERIFIED_SUBSCRIPTION: AccountType = (SUBSCRIPTION, False)
VERIFIED_SUBSCRIPTION: AccountType = (SUBSCRIPTION, True)
UNVERIFIED_SERVICE: AccountType = (SERVICE, False)
VERIFIED_SERVICE: AccountType = (SERVICE, True)

EVERY_TYPE = frozenset(
    {UNVERIFIED_SUBSCRIPTION, VERIFIED_SUBSCRIPTION, UNVERIFIED_SERVICE, VERIFIED_SERVICE}
)
# The table's most common cells: "verified accounts of either kind", and "verified
# service accounts only". Custom menus are the one row with a third shape.
VERIFIED = frozenset({VERIFIED_SUBSCRIPTION, VERIFIED_SERVICE})
VERIFIED_SERVICE_ONLY = frozenset({VERIFIED_SERVICE})
MENU_TYPES = frozenset({VERIFIED_SUBSCRIPTION, UNVERIFIED_SERVICE, VERIFIED_SERVICE})


@dataclass(frozen=True)
class Interface:
    key: str
    row: str  # the table's row, as the platform names it
    types: frozenset[AccountType]
    paths: tuple[str, ...] = ()


INTERFACES: tuple[Interface, ...] = (
    Interface("receive", "接收消息 / 被动回复消息", EVERY_TYPE),
    Interface("quota", "基础支持 (access_token, quota)", EVERY_TYPE, (
        "/cgi-bin/clear_quota", "/cgi-bin/openapi/quota/get", "/cgi-bin/openapi/quota/clear",
    )),
    Interface("customer_service", "发送消息-客服接口", VERIFIED, (
        "/cgi-bin/message/custom/send", "/cgi-bin/message/custom/typing",
    )),
    Interface("mass_send", "发送消息-群发接口", VERIFIED, (
        "/cgi-bin/message/mass/sendall", "/cgi-bin/message/mass/preview",
        "/cgi-bin/message/mass/delete", "/cgi-bin/message/mass/get",
        "/cgi-bin/message/mass/speed/get", "/cgi-bin/message/mass/speed/set",
        "/cgi-bin/media/uploadnews",
    )),
    # The developer centre's own list splits the broadcast row: by tag for every verified
    # account, to an openid list for verified service accounts only.
    Interface("mass_send_openid", "发送消息-群发接口 (根据OpenID列表群发)",
              VERIFIED_SERVICE_ONLY, ("/cgi-bin/message/mass/send",)),
    Interface("template", "发送消息-模板消息接口", VERIFIED_SERVICE_ONLY, (
        "/cgi-bin/message/template/send",
    )),
    Interface("user_info", "用户管理-获取用户基本信息", VERIFIED, (
        "/cgi-bin/user/info", "/cgi-bin/user/info/batchget",
    )),
    Interface("user_list", "用户管理-获取用户列表", VERIFIED, ("/cgi-bin/user/get",)),
    # The table gives remarks to every verified account; the interface's own page opens
    # it to verified service accounts only. The narrower reading is taken.
    Interface("user_remark", "用户管理-设置用户备注名", VERIFIED_SERVICE_ONLY, (
        "/cgi-bin/user/info/updateremark",
    )),
    Interface("tags", "用户管理-用户分组(标签)管理", VERIFIED, (
        "/cgi-bin/tags/create", "/cgi-bin/tags/get", "/cgi-bin/tags/update",
        "/cgi-bin/tags/delete", "/cgi-bin/user/tag/get", "/cgi-bin/tags/getidlist",
        "/cgi-bin/tags/members/batchtagging", "/cgi-bin/tags/members/batchuntagging",
        "/cgi-bin/tags/members/getblacklist", "/cgi-bin/tags/members/batchblacklist",
        "/cgi-bin/tags/members/batchunblacklist",
    )),
    # One row for temporary and permanent codes alike (action_name in the same call).
    Interface("qrcodes", "推广支持-生成带参数二维码", VERIFIED_SERVICE_ONLY, (
        "/cgi-bin/qrcode/create",
    )),
    Interface("menus", "界面丰富-自定义菜单", MENU_TYPES, (
        "/cgi-bin/menu/create", "/cgi-bin/menu/get", "/cgi-bin/menu/delete",
        "/cgi-bin/get_current_selfmenu_info",
    )),
    Interface("menus_conditional", "个性化菜单", VERIFIED, (
        "/cgi-bin/menu/addconditional", "/cgi-bin/menu/delconditional",
        "/cgi-bin/menu/trymatch",
    )),
    Interface("media", "素材管理-素材管理接口", VERIFIED, (
        "/cgi-bin/media/upload", "/cgi-bin/media/get", "/cgi-bin/media/uploadimg",
    )),
    Interface("datacube", "数据统计", VERIFIED, (
        "/datacube/getusersummary", "/datacube/getusercumulate",
        "/datacube/getupstreammsg", "/datacube/getupstreammsghour",
        "/datacube/getupstreammsgweek", "/datacube/getupstreammsgmonth",
        "/datacube/getupstreammsgdist", "/datacube/getupstreammsgdistweek",
        "/datacube/getupstreammsgdistmonth", "/datacube/getarticlesummary",
        "/datacube/getarticletotal", "/datacube/getuserread", "/datacube/getuserreadhour",
        "/datacube/getusershare", "/datacube/getusersharehour",
        "/datacube/getinterfacesummary", "/datacube/getinterfacesummaryhour",
    )),
    Interface("kf_accounts", "多客服-客服管理", VERIFIED_SERVICE_ONLY, (
        "/customservice/kfaccount/add", "/customservice/kfaccount/update",
        "/customservice/kfaccount/del", "/customservice/kfaccount/inviteworker",
        "/customservice/kfsession/create", "/customservice/kfsession/close",
    )),
)
INTERFACES_BY_KEY = {interface.key: interface for interface in INTERFACES}
_BY_PATH = {path: interface for interface in INTERFACES for path in interface.paths}


def interface_for_path(path: str) -> Interface | None:
    """The table's row an API path belongs to, or None for a path the table leaves open."""
    return _BY_PATH.get(path)


def type_has(key: str, *, kind: str, verified: bool) -> bool:
    """True when an account of this kind and verification has the interface `key`."""
    return (kind, bool(verified)) in INTERFACES_BY_KEY[key].types


def path_allowed(path: str, *, kind: str, verified: bool) -> bool:
    """False when the table withholds this API path from the account type (48001)."""
    interface = interface_for_path(path)
    return interface is None or (kind, bool(verified)) in interface.types
