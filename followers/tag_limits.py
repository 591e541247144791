"""The platform's tag limits (docs/wechat.md §8; the sandbox enforces the same,
wechat/sandbox/api_tag.py), checked before calling and said in plain words when hit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MAX_TAGS_PER_ACCOUNT = 100  # 45056
MAX_TAGS_PER_FOLLOWER = 20  # 45059
MAX_NAME = 30  # 45158
BATCH_SIZE = 50  # 40032 past it
# Ids 0, 1 and 2 are the platform's own (未分组, 黑名单, 星标组): never brand tags.
SYSTEM_TAG_IDS = frozenset({0, 1, 2})

ACCOUNT_FULL = _("This account already has %(limit)s WeChat tags, the platform's limit: "
                 "delete one on WeChat first.")
FOLLOWER_FULL = _("This follower already carries %(limit)s WeChat tags, the platform's "
                  "limit: the tag stays in the portal only.")
NAME_TOO_LONG = _("A tag name has at most %(limit)s characters.")
NAME_BLANK = _("A tag needs a name.")

# Platform errcodes -> the sentence the portal shows (the follower keeps the portal tag),
# in the language active when it is said (a request's; a worker's default).
REASONS: dict[int, object] = {
    45056: ACCOUNT_FULL,
    45057: _("The tag has more than 100,000 followers on WeChat: untag them first."),
    45058: _("WeChat's system tags cannot be changed."),
    45059: FOLLOWER_FULL,
    45157: _("WeChat refused the tag name (taken or not allowed)."),
    45158: NAME_TOO_LONG,
    45159: _("WeChat does not know this tag id on the account."),
    40032: _("WeChat refused the batch size (1 to 50 openids a call)."),
}


def reason_for(errcode: int | None, fallback: str = "") -> str:
    """The plain sentence for a platform errcode, formatted with the limits."""
    text = str(REASONS.get(errcode or 0, fallback or f"WeChat error {errcode}"))
    return text % {"limit": MAX_TAGS_PER_ACCOUNT if errcode == 45056
                   else MAX_TAGS_PER_FOLLOWER if errcode == 45059 else MAX_NAME}


def name_error(name: str) -> str:
    """Why ``name`` cannot be a tag name ("" when it can)."""
    if not name.strip():
        return str(NAME_BLANK)
    if len(name) > MAX_NAME:
        return str(NAME_TOO_LONG % {"limit": MAX_NAME})
    return ""
