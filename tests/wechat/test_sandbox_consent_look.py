"""The sandbox's consent page looks like part of the product: the portal's own stylesheet,
its page frame and buttons, and a note that it stands in for WeChat's page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wechat.sandbox_kit import Kit
from tests.wechat.test_sandbox_consent import _pre_auth_code, _query
from wechat.sandbox.consent import CONSENT_PATH

PORTAL_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "portal.css"


@pytest.fixture
def platform(kit: Kit, callback_receiver: object) -> dict:
    return kit.ctl("POST", "/components", {"auth_event_url": callback_receiver.url})


def test_the_consent_page_wears_the_portals_stylesheet_and_says_it_stands_in(
    kit: Kit, platform: dict
):
    kit.account(name="Harbour Hotel")
    code = _pre_auth_code(kit, platform)
    html = kit.http.get(kit.base + CONSENT_PATH, params=_query(platform, code), timeout=10).text
    assert f"<style>{PORTAL_CSS.read_text(encoding='utf-8')}</style>" in html
    assert '<header class="topbar">' in html and '<main class="page">' in html
    assert '<form method="post" action="/cgi-bin/componentloginpage" class="form">' in html
    assert '<button type="submit" class="button">Authorize</button>' in html
    assert "This page stands in for WeChat's authorization page" in html
    assert "本页是沙盒模拟的微信授权页面" in html


def test_its_error_page_is_dressed_the_same(kit: Kit, platform: dict):
    page = kit.http.get(kit.base + CONSENT_PATH,
                        params=_query(platform, "not-a-code"), timeout=10)
    assert page.status_code == 400
    assert "<style>" in page.text and 'class="standin"' in page.text
    assert '<p class="notice" role="alert">' in page.text
