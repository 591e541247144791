"""The customer-service reply window (docs/wechat.md §4), as one set of rules.

The sandbox enforces these rules and the portal (``followers/window.py``) predicts them,
so both read them from here: a change of reading is made once and holds on both sides.

A follower's message opens the long window: 5 sends within 48 hours. A follow, a QR scan
or one of three menu buttons opens the short window: 3 sends within a minute.
"""

from __future__ import annotations

from collections.abc import Sequence

LONG_SECONDS = 48 * 3600
LONG_SENDS = 5
SHORT_SECONDS = 60
SHORT_SENDS = 3

# The pushed events that open the short window (§4: follow, scan, and the menu buttons
# click, scancode_push and scancode_waitmsg only). VIEW and the other buttons open none.
SHORT_WINDOW_EVENTS = frozenset(
    {"subscribe", "SCAN", "CLICK", "scancode_push", "scancode_waitmsg"}
)

# Do the quotas of two open windows add up (5 + 3 sends after a message and a click)?
# §4 does not say. We take the conservative reading, unverified against the platform:
# they do not. Every send counts against each open window it falls in, so the follower
# gets as many sends as the larger window allows, never the sum.
OPEN_WINDOWS_ADD_UP = False


def sends_left(left: Sequence[int]) -> int:
    """Sends still allowed, given what each running window has left."""
    positive = [n for n in left if n > 0]
    if not positive:
        return 0
    return sum(positive) if OPEN_WINDOWS_ADD_UP else max(positive)


def windows_charged(left: Sequence[int]) -> list[int]:
    """The indexes into ``left`` (the running windows, the one closing first first) that
    one send is charged to; empty when no send is left."""
    open_ = [i for i, n in enumerate(left) if n > 0]
    if OPEN_WINDOWS_ADD_UP:
        # Spend the window that closes first first, so the fewest sends are lost.
        return open_[:1]
    return open_
