"""What the console's browser tests share."""

from typing import Any

from tests.factories import PASSWORD


def console_sign_in(page: Any, server: str, member: Any) -> None:
    """Open the console as ``member`` (through the sign-in page it redirects to) and wait
    until its socket is online."""
    page.goto(f"{server}/console/")
    page.fill("input[name=login]", member.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=console][data-connection=online]")
