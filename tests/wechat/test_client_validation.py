"""Client-side checks: bad input is refused with a clear error and nothing is sent."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.wechat.fake_http import FakeSession, StaticTokens, ok
from wechat.client import ComponentClient, InMemoryTicketStore, WeChatClient
from wechat.errors import RequestValidationError

# 2024-05-10 12:00 Beijing
NOW = dt.datetime(2024, 5, 10, 4, 0, tzinfo=dt.UTC).timestamp()


def client(*answers: dict) -> tuple[WeChatClient, FakeSession]:
    session = FakeSession(list(answers))
    wx = WeChatClient(
        "wxa",
        base_url="http://wx.test",
        token_provider=StaticTokens(),
        session=session,  # type: ignore[arg-type]
        clock=lambda: NOW,
        sleep=lambda s: None,
    )
    return wx, session


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda wx: wx.qrcode_create_temporary(0), "scene_id must be 1.."),
        (lambda wx: wx.qrcode_create_temporary(2**31), "scene_id must be 1.."),
        (lambda wx: wx.qrcode_create_temporary("x" * 65), "scene_str must be 1..64"),
        (lambda wx: wx.qrcode_create_temporary(""), "scene_str must be 1..64"),
        (lambda wx: wx.qrcode_create_temporary(5, expire_seconds=2_592_001), "expire_seconds"),
        (lambda wx: wx.qrcode_create_permanent(100_001), "scene_id must be 1..100000"),
        (lambda wx: wx.qrcode_create_permanent(0), "scene_id must be 1..100000"),
        (lambda wx: wx.mass_send_by_openids(["o1"], "text", {"content": "x"}), "2..10000"),
        (
            lambda wx: wx.mass_send_by_tag(1, "text", {"content": "x"}, clientmsgid="é" * 33),
            "64 bytes",
        ),
        (lambda wx: wx.mass_preview("text", {"content": "x"}), "exactly one"),
        (lambda wx: wx.media_upload_news([]), "1..8 articles"),
        (lambda wx: wx.media_upload("doc", "a.pdf", b"x"), "media type"),
        (lambda wx: wx.user_update_remark("o1", "很长的备注名字超过十个字"), "under 30 bytes"),
        (lambda wx: wx.tag_create("t" * 31), "1..30"),
        (lambda wx: wx.menu_create([]), "1..3 top-level"),
        (lambda wx: wx.menu_create([{"type": "click", "name": "a", "key": "k"}] * 4), "1..3"),
        (
            lambda wx: wx.menu_create([{"name": "a", "sub_button": [{"type": "click"}] * 6}]),
            "1..5",
        ),
        (lambda wx: wx.menu_create([{"name": "a"}]), "needs a type"),
        (lambda wx: wx.datacube_user_summary("2024-05-01", "2024-05-08"), "at most 7"),
        (lambda wx: wx.datacube_article_summary("2024-05-01", "2024-05-02"), "at most 1"),
        (lambda wx: wx.datacube_user_summary("2024-05-08", "2024-05-10"), "yesterday"),
        (lambda wx: wx.datacube_user_summary("2024-05-03", "2024-05-01"), "after end_date"),
        (lambda wx: wx.datacube_user_summary("2014-11-30", "2014-12-01"), "2014-12-01"),
        (lambda wx: wx.custom_send_text("o1", ""), "must not be empty"),
        (lambda wx: wx.custom_send_msgmenu("o1", items=[]), "at least one item"),
    ],
)
def test_bad_input_is_refused_before_any_request(call, message: str) -> None:
    wx, session = client()
    with pytest.raises(RequestValidationError, match=message):
        call(wx)
    assert session.sent == []


def test_datacube_accepts_the_full_span_up_to_yesterday() -> None:
    wx, session = client(ok(list=[{"ref_date": "2024-05-09"}]))
    rows = wx.datacube_user_summary(dt.date(2024, 5, 3), dt.date(2024, 5, 9))
    assert rows == [{"ref_date": "2024-05-09"}]
    assert session.sent[0].json == {"begin_date": "2024-05-03", "end_date": "2024-05-09"}


def test_batches_are_split_to_the_platform_limits() -> None:
    openids = [f"o{i}" for i in range(230)]
    wx, session = client(*[ok(user_info_list=[{"openid": "x"}])] * 3)
    assert len(wx.user_info_batch(openids)) == 3
    assert [len(s.json["user_list"]) for s in session.sent] == [100, 100, 30]

    wx, session = client(*[ok()] * 5)
    wx.tag_add_users(7, openids)
    assert [len(s.json["openid_list"]) for s in session.sent] == [50, 50, 50, 50, 30]
    assert {s.json["tagid"] for s in session.sent} == {7}


def test_qrcode_image_url_is_urlencoded_and_its_base_configurable() -> None:
    wx, _ = client()
    ticket = (
        "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJ"
        "AAIEZ23sUwMEmm3sUw=="
    )
    url = wx.qrcode_image_url(ticket)
    assert url.startswith("https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=")
    assert parse_qs(urlsplit(url).query)["ticket"] == [ticket]
    assert "+" not in url.split("=", 1)[1] and "/" not in url.split("=", 1)[1]

    wx.showqrcode_url = "http://sandbox.test/showqrcode"
    assert wx.qrcode_image_url("a b").startswith("http://sandbox.test/showqrcode?ticket=a%20b")


def test_consent_urls() -> None:
    component = ComponentClient(
        "wxcomp",
        "secret",
        base_url="http://wx.test",
        get_ticket=InMemoryTicketStore("t"),
    )
    url = component.consent_url("preauth@@@x", "https://portal.test/cb?a=1", auth_type=3)
    parts = urlsplit(url)
    assert parts.netloc == "mp.weixin.qq.com" and parts.path == "/cgi-bin/componentloginpage"
    assert parse_qs(parts.query) == {
        "component_appid": ["wxcomp"],
        "pre_auth_code": ["preauth@@@x"],
        "redirect_uri": ["https://portal.test/cb?a=1"],
        "auth_type": ["3"],
    }
    mobile = component.consent_url("p", "https://portal.test/cb", biz_appid="wxb", mobile=True)
    assert mobile.startswith("https://mp.weixin.qq.com/safe/bindcomponent?action=bindcomponent")
    assert mobile.endswith("#wechat_redirect") and "biz_appid=wxb" in mobile


def test_a_client_needs_a_secret_or_a_provider() -> None:
    with pytest.raises(RequestValidationError):
        WeChatClient("wxa", base_url="http://wx.test")


def test_mass_send_always_carries_a_clientmsgid() -> None:
    wx, session = client(ok(msg_id=1), ok(msg_id=2))
    first = wx.mass_send_by_tag(None, "text", {"content": "hi"})
    wx.mass_send_by_tag(3, "text", {"content": "hi"}, clientmsgid="campaign-42")
    bodies = [s.json for s in session.sent]
    assert bodies[0]["clientmsgid"] == first["clientmsgid"] and len(first["clientmsgid"]) == 32
    assert bodies[0]["filter"] == {"is_to_all": True}
    assert bodies[1]["filter"] == {"is_to_all": False, "tag_id": 3}
    assert bodies[1]["clientmsgid"] == "campaign-42"


def test_user_iterator_stops_on_the_empty_page_after_the_last() -> None:
    wx, session = client(
        ok(total=3, count=2, data={"openid": ["a", "b"]}, next_openid="b"),
        ok(total=3, count=1, data={"openid": ["c"]}, next_openid="c"),
        ok(total=3, count=0, next_openid=""),
    )
    assert list(wx.user_iter_openids()) == ["a", "b", "c"]
    assert [s.params["next_openid"] for s in session.sent] == ["", "b", "c"]
