"""The sandbox's consent page: the browser side of a third-party platform authorisation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.wechat.sandbox_kit import Kit
from wechat import crypto
from wechat.sandbox.consent import CONSENT_PATH
from wechat.xmlutil import parse_xml

REDIRECT = "https://portal.example/official-accounts/authorize/return/"


@pytest.fixture
def platform(kit: Kit, callback_receiver: object) -> dict:
    return kit.ctl("POST", "/components", {"auth_event_url": callback_receiver.url})


def _pre_auth_code(kit: Kit, platform: dict) -> str:
    cid = platform["component_appid"]
    ticket = kit.ctl("POST", f"/components/{cid}/ticket")["ticket"]
    token = kit.post(
        "/cgi-bin/component/api_component_token",
        None,
        {
            "component_appid": cid,
            "component_appsecret": platform["component_appsecret"],
            "component_verify_ticket": ticket,
        },
    )["component_access_token"]
    return kit.post(
        "/cgi-bin/component/api_create_preauthcode",
        None,
        {"component_appid": cid},
        component_access_token=token,
    )["pre_auth_code"]


def _query(platform: dict, code: str, redirect_uri: str = REDIRECT) -> dict:
    return {
        "component_appid": platform["component_appid"],
        "pre_auth_code": code,
        "redirect_uri": redirect_uri,
        "auth_type": "1",
    }


def _last_push(platform: dict, rec: object) -> dict:
    q = rec.query  # type: ignore[attr-defined]
    mc = crypto.MessageCrypto(
        platform["token"], platform["encoding_aes_key"], platform["component_appid"]
    )
    inner = mc.verify_and_decrypt(
        msg_signature=q["msg_signature"],
        timestamp=q["timestamp"],
        nonce=q["nonce"],
        encrypt=parse_xml(rec.body)["Encrypt"],  # type: ignore[attr-defined]
    )
    return parse_xml(inner)


def test_the_page_lists_accounts_and_prechecks_the_portal_bundles(kit: Kit, platform: dict):
    account = kit.account(name="Harbour Hotel")
    code = _pre_auth_code(kit, platform)
    page = kit.http.get(kit.base + CONSENT_PATH, params=_query(platform, code), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert f'name="appid" value="{account["appid"]}"' in html and "Harbour Hotel" in html
    for bundle in (1, 2, 3, 6, 7, 15):
        assert f'name="func_ids" value="{bundle}" checked' in html
    assert 'name="func_ids" value="11">' in html  # offered, not pre-checked
    assert f'value="{code}"' in html  # carried to the POST


def test_posting_the_form_authorises_pushes_and_redirects_with_the_code(
    kit: Kit, platform: dict, callback_receiver: object
):
    account = kit.account()
    code = _pre_auth_code(kit, platform)
    answer = kit.http.post(
        kit.base + CONSENT_PATH,
        data={
            **_query(platform, code, REDIRECT + "?x=1"),
            "appid": account["appid"],
            "func_ids": ["1", "2", "15"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.netloc == "portal.example" and location.path.endswith("/return/")
    params = parse_qs(location.query)
    assert params["x"] == ["1"] and params["expires_in"] == ["3600"]
    auth_code = params["auth_code"][0]

    pushed = _last_push(platform, callback_receiver.requests[-1])
    assert pushed["InfoType"] == "authorized"
    assert (pushed["AuthorizationCode"], pushed["PreAuthCode"]) == (auth_code, code)
    grant = kit.ctl("GET", f"/components/{platform['component_appid']}")["authorizations"]
    assert grant[account["appid"]]["func_ids"] == [1, 2, 15]


def test_a_used_pre_auth_code_is_refused_with_a_page(kit: Kit, platform: dict):
    account = kit.account()
    code = _pre_auth_code(kit, platform)
    form = {**_query(platform, code), "appid": account["appid"], "func_ids": "1"}
    first = kit.http.post(kit.base + CONSENT_PATH, data=form, allow_redirects=False, timeout=10)
    assert first.status_code == 302
    again = kit.http.post(kit.base + CONSENT_PATH, data=form, allow_redirects=False, timeout=10)
    assert again.status_code == 400 and "used or expired" in again.text
    shown = kit.http.get(kit.base + CONSENT_PATH, params=_query(platform, code), timeout=10)
    assert shown.status_code == 400


def test_it_refuses_no_permissions_unknown_accounts_and_odd_redirects(
    kit: Kit, platform: dict, callback_receiver: object
):
    account = kit.account()
    code = _pre_auth_code(kit, platform)
    post = kit.base + CONSENT_PATH
    none = kit.http.post(
        post,
        data={**_query(platform, code), "appid": account["appid"]},
        allow_redirects=False,
        timeout=10,
    )
    assert none.status_code == 400 and "at least one permission" in none.text
    unknown = kit.http.post(
        post,
        data={**_query(platform, code), "appid": "wxnobody", "func_ids": "1"},
        allow_redirects=False,
        timeout=10,
    )
    assert unknown.status_code == 404
    odd = kit.http.get(post, params=_query(platform, code, "javascript:alert(1)"), timeout=10)
    assert odd.status_code == 400
    # Nothing was authorised and nothing pushed but the ticket.
    assert kit.ctl("GET", f"/components/{platform['component_appid']}")["authorizations"] == {}
    assert len(callback_receiver.requests) == 1
