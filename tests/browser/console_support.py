"""What the console's browser tests share."""

from typing import Any

from tests.accounts.token_support import twin
from tests.factories import PASSWORD


def console_sign_in(page: Any, server: str, member: Any) -> None:
    """Open the console as ``member`` (through the sign-in page it redirects to) and wait
    until its socket is online."""
    page.goto(f"{server}/console/")
    page.fill("input[name=login]", member.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=console][data-connection=online]")


def mirror_in_sandbox(sandbox: Any, account: Any, server: str) -> None:
    """The account as the sandbox's platform knows it, in safe mode, pushing its followers'
    messages to ``server``'s callback."""
    twin(sandbox, account, token=account.token, encoding_aes_key=account.encoding_aes_key,
         original_id=account.original_id, message_mode="safe",
         callback_url=f"{server}/wechat/{account.appid}/callback/")
