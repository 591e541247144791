"""At most 100 000 permanent QR codes per account (§9), string scenes counted with integer
ones; through the client. The cap is the sandbox setting ``permanent_qr_limit``."""

from __future__ import annotations

import pytest

from tests.wechat.sandbox_helpers import client_for, control, make_account
from wechat import errors
from wechat.sandbox.server import SandboxServer


def test_the_cap_defaults_to_100_000(sandbox: SandboxServer) -> None:
    assert control(sandbox, "GET", "/settings")["permanent_qr_limit"] == 100_000


def test_string_scenes_count_toward_the_permanent_cap(sandbox: SandboxServer) -> None:
    control(sandbox, "POST", "/settings", {"permanent_qr_limit": 3})
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    by_id = wx.qrcode_create_permanent(7)
    shop = wx.qrcode_create_permanent("shop-1")
    wx.qrcode_create_permanent("shop-2")

    with pytest.raises(errors.InvalidRequest) as refused:
        wx.qrcode_create_permanent("shop-3")
    assert refused.value.errcode == 45029
    assert "100,000 permanent QR codes" in refused.value.reason
    with pytest.raises(errors.WeChatError) as refused_id:
        wx.qrcode_create_permanent(8)
    assert refused_id.value.errcode == 45029

    # The codes already made are untouched: asking again returns the same ticket.
    assert wx.qrcode_create_permanent("shop-1")["ticket"] == shop["ticket"]
    assert wx.qrcode_create_permanent(7)["ticket"] == by_id["ticket"]
    permanent = [c for c in control(sandbox, "GET", "/state")["qrcodes"].values()
                 if c["action_name"].startswith("QR_LIMIT")]
    assert sorted(c["scene_str"] or str(c["scene_id"]) for c in permanent) == [
        "7", "shop-1", "shop-2"]
    # Temporary codes are not capped.
    assert wx.qrcode_create_temporary("promo", expire_seconds=600)["ticket"]


def test_the_cap_is_per_account(sandbox: SandboxServer) -> None:
    control(sandbox, "POST", "/settings", {"permanent_qr_limit": 1})
    first, second = make_account(sandbox), make_account(sandbox)
    client_for(sandbox, first)[0].qrcode_create_permanent("a")
    assert client_for(sandbox, second)[0].qrcode_create_permanent("a")["ticket"]
