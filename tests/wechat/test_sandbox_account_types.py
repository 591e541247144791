"""The sandbox answers 48001 for an interface the account's type does not have, as the
platform's interface-permissions table says (wechat/permissions.py)."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_helpers import client_for, follow, make_account, user_says
from tests.wechat.sandbox_kit import Kit, errcode
from wechat.errors import ApiUnauthorized
from wechat.permissions import (
    INTERFACES,
    UNVERIFIED_SERVICE,
    UNVERIFIED_SUBSCRIPTION,
    VERIFIED_SERVICE,
    VERIFIED_SUBSCRIPTION,
)
from wechat.sandbox.server import ROUTES

TYPES = {
    "unverified subscription": UNVERIFIED_SUBSCRIPTION,
    "verified subscription": VERIFIED_SUBSCRIPTION,
    "unverified service": UNVERIFIED_SERVICE,
    "verified service": VERIFIED_SERVICE,
}


def _cases() -> list:
    """Every path of the table the sandbox models, with its row. Asked once a sandbox has
    started: the routes register when the server first loads them."""
    return [(i, path) for i in INTERFACES for path in i.paths if path in ROUTES]


def _call(kit: Kit, token: str, path: str) -> dict:
    if ROUTES[path].method == "GET":
        return kit.get(path, token)
    return kit.post(path, token, {})


@pytest.mark.parametrize("type_name", list(TYPES))
def test_each_interface_answers_48001_exactly_where_the_table_withholds_it(
    kit: Kit, type_name: str
) -> None:
    kind, verified = TYPES[type_name]
    account = kit.account(kind=kind, verified=verified)
    token = kit.token(account)
    cases = _cases()
    assert len(cases) > 50
    refused, wrong = set(), []
    for interface, path in cases:
        code = errcode(_call(kit, token, path))
        if code == 48001:
            refused.add(interface.key)
        if (code == 48001) == ((kind, verified) in interface.types):
            wrong.append((path, code))
    assert wrong == []
    expected = {i.key for i, _ in cases if (kind, verified) not in i.types}
    assert refused == expected


def test_an_unverified_subscription_account_is_refused_kf_qr_and_broadcasts(kit: Kit) -> None:
    account = kit.account(kind="subscription", verified=False)
    openid = kit.follow(account["appid"])["openid"]
    kit.say(account["appid"], openid)  # the 48-hour window is open: only the type refuses
    token = kit.token(account)
    kf = kit.post("/cgi-bin/message/custom/send", token,
                  {"touser": openid, "msgtype": "text", "text": {"content": "hi"}})
    qr = kit.post("/cgi-bin/qrcode/create", token,
                  {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 7}}})
    mass = kit.post("/cgi-bin/message/mass/sendall", token,
                    {"filter": {"is_to_all": True}, "msgtype": "text",
                     "text": {"content": "hi"}})
    assert [errcode(a) for a in (kf, qr, mass)] == [48001, 48001, 48001]
    assert kf["errmsg"].startswith("api unauthorized")
    assert kit.inbox(account["appid"], openid) == []  # nothing was delivered


def test_a_verified_subscription_account_gets_kf_but_not_qr_codes(kit: Kit) -> None:
    account = kit.account(kind="subscription", verified=True)
    openid = kit.follow(account["appid"])["openid"]
    kit.say(account["appid"], openid)
    token = kit.token(account)
    kf = kit.post("/cgi-bin/message/custom/send", token,
                  {"touser": openid, "msgtype": "text", "text": {"content": "hi"}})
    qr = kit.post("/cgi-bin/qrcode/create", token,
                  {"expire_seconds": 600, "action_name": "QR_SCENE",
                   "action_info": {"scene": {"scene_id": 7}}})
    assert (errcode(kf), errcode(qr)) == (0, 48001)


def test_the_client_raises_api_unauthorized_for_a_type_without_the_interface(sandbox) -> None:
    unverified = make_account(sandbox, kind="service", verified=False)
    openid = follow(sandbox, unverified["appid"])
    user_says(sandbox, unverified["appid"], openid)
    wx, _ = client_for(sandbox, unverified)
    with pytest.raises(ApiUnauthorized) as refused:
        wx.qrcode_create_permanent(42)
    assert refused.value.errcode == 48001
    with pytest.raises(ApiUnauthorized):
        wx.custom_send_text(openid, "hello")
    # Menus are in an unverified service account's column.
    assert wx.menu_create([{"type": "click", "name": "Hi", "key": "HI"}])["errcode"] == 0
