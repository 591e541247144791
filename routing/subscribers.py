"""What routing does when the apps below it announce something (`accounts.events`):
place new conversations, drain queues, follow transfers' QR scans."""

from __future__ import annotations


def subscribe() -> None:
    # -- assignment (routing.assignment / routing.engine) --
    # -- account-to-account paths (routing.account_paths) --
    # -- targets (routing.targets) --
    return None
