"""In Chromium, a brand admin who gets several account fields wrong sees every error at
once, each right under its own field, on one submit."""

import pytest

from accounts.models import OfficialAccount
from tests.factories import PASSWORD, make_brand, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASONS = {
    "name": "This field is required.",
    "appid": "An AppID is 'wx' followed by 16 hexadecimal characters.",
    "original_id": "An original ID starts with 'gh_'.",
    "token": "A token is 3 to 32 letters and digits.",
    "encoding_aes_key": "An EncodingAESKey is 43 letters and digits.",
}


def test_every_error_shows_at_once_under_its_field(live_server, page, artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    admin = make_member(brand=brand, role="admin").user
    page.goto(f"{live_server.url}/official-accounts/new/")
    page.fill("input[name=login]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    form = page.get_by_test_id("account-form")
    form.wait_for()

    # The name stays empty: the browser must not stop at it and hide the others.
    page.fill("input[name=appid]", "wx-not-an-appid")
    page.fill("input[name=original_id]", "lumen")
    page.fill("input[name=token]", "no!")
    page.fill("input[name=encoding_aes_key]", "too-short")
    form.locator("button[type=submit]").click()
    page.locator("#id_appid_error").wait_for()

    for name, reason in REASONS.items():
        wrapper = page.locator(f".field[data-field={name}]")
        error = wrapper.locator(f"#id_{name}_error")
        assert error.is_visible() and error.inner_text() == reason
        # Under its own input and inside its field's box.
        field, box = wrapper.locator(f"[name={name}]").bounding_box(), wrapper.bounding_box()
        spot = error.bounding_box()
        assert spot["y"] >= field["y"] + field["height"] - 1
        assert box["y"] <= spot["y"] and spot["y"] + spot["height"] <= box["y"] + box["height"]
    assert page.locator(".errors").count() == 0
    assert page.input_value("select[name=timezone]") == "Asia/Shanghai"  # the default, kept
    page.screenshot(path=str(artifacts / "account-form-every-error.png"), full_page=True)
    assert not OfficialAccount.objects.filter(brand=brand).exists()
