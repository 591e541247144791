"""What the brand pages' browser tests share: signing in through the real form, and
switching the page to Chinese with the language menu."""

from typing import Any

from tests.factories import PASSWORD, make_member, make_user


def sign_in(page: Any, live_server: Any, user: Any, path: str = "/") -> None:
    """Open ``path`` (the sign-in page it redirects to) and sign in as ``user``."""
    page.goto(f"{live_server.url}{path}")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def in_chinese(page: Any) -> None:
    page.select_option("[data-testid=language-select]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans]")


def brand_admin(brand: Any) -> Any:
    """An admin of ``brand`` named Ada: the user to sign in as."""
    return make_member(brand=brand, role="admin", user=make_user(name="Ada")).user
