"""Custom menus: default and conditional, with the structural limits checked up front."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wechat.client.base import ApiBase, require, utf8_len
from wechat.client.retry import Safety


def _check_buttons(buttons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    require(1 <= len(buttons) <= 3, "a menu has 1..3 top-level buttons")
    for button in buttons:
        require(utf8_len(str(button.get("name", ""))) <= 16, "top-level names are ≤ 16 bytes")
        subs = button.get("sub_button")
        if subs:
            require(len(subs) <= 5, "a sub-menu has 1..5 buttons")
            for sub in subs:
                require(utf8_len(str(sub.get("name", ""))) <= 60, "sub-menu names are ≤ 60 bytes")
                require(utf8_len(str(sub.get("key", ""))) <= 128, "button keys are ≤ 128 bytes")
        else:
            require("type" in button, f"button {button.get('name')!r} needs a type or sub_button")
            require(utf8_len(str(button.get("key", ""))) <= 128, "button keys are ≤ 128 bytes")
    return [dict(b) for b in buttons]


class MenuApi(ApiBase):
    def menu_create(self, buttons: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Replace the default menu (creating it is a set, so repeating is harmless)."""
        return self._post(
            "/cgi-bin/menu/create", {"button": _check_buttons(buttons)}, safety=Safety.IDEMPOTENT
        )

    def menu_get(self) -> dict[str, Any]:
        """``{"menu": {...}, "conditionalmenu": [...]}``."""
        return self._get("/cgi-bin/menu/get")

    def menu_delete(self) -> dict[str, Any]:
        """Delete every menu, conditional ones included."""
        return self._get("/cgi-bin/menu/delete")

    def menu_current_selfmenu_info(self) -> dict[str, Any]:
        return self._get("/cgi-bin/get_current_selfmenu_info")

    def menu_add_conditional(
        self, buttons: Sequence[Mapping[str, Any]], matchrule: Mapping[str, Any]
    ) -> str:
        """Add a conditional menu (tag / platform rules only); returns its ``menuid``."""
        require(bool(matchrule), "a conditional menu needs a matchrule")
        # Unsafe: each call adds a menu, and the newest one wins.
        answer = self._post(
            "/cgi-bin/menu/addconditional",
            {"button": _check_buttons(buttons), "matchrule": dict(matchrule)},
            safety=Safety.UNSAFE,
        )
        return str(answer["menuid"])

    def menu_delete_conditional(self, menuid: str | int) -> dict[str, Any]:
        return self._post(
            "/cgi-bin/menu/delconditional", {"menuid": str(menuid)}, safety=Safety.IDEMPOTENT
        )

    def menu_try_match(self, user_id: str) -> dict[str, Any]:
        """The menu a follower (openid or WeChat id) would see."""
        return self._post("/cgi-bin/menu/trymatch", {"user_id": user_id}, safety=Safety.IDEMPOTENT)
