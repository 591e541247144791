"""Custom menus (§10): create/get/delete, conditional menus and trymatch."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

from .api_user import follower_of
from .state import Account, Follower
from .web import ApiError, Ctx, api, ok

KEY_TYPES = ("click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
             "pic_weixin", "location_select")
TYPES = (*KEY_TYPES, "view", "miniprogram", "media_id", "view_limited", "article_id",
         "article_view_limited")
PRIVATE_RULES = ("sex", "country", "province", "city", "language")
MAX_DOMAINS = 3


def _blen(value: object) -> int:
    return len(str(value).encode("utf-8"))


def _check_action(button: dict, *, sub: bool) -> None:
    # Top-level and sub-menu buttons report the same faults under different codes.
    bad_type, bad_key, bad_url = (40024, 40026, 40027) if sub else (40017, 40019, 40020)
    kind = button.get("type")
    if kind not in TYPES:
        raise ApiError(bad_type)
    if kind in KEY_TYPES and not 0 < _blen(button.get("key", "")) <= 128:
        raise ApiError(bad_key)
    if kind in ("view", "miniprogram") and not 0 < _blen(button.get("url", "")) <= 1024:
        raise ApiError(bad_url)
    if kind == "miniprogram" and not (button.get("appid") and button.get("pagepath")):
        raise ApiError(bad_type)
    if kind in ("media_id", "view_limited") and not button.get("media_id"):
        raise ApiError(40007)
    if kind in ("article_id", "article_view_limited") and not button.get("article_id"):
        raise ApiError(bad_type)


def validate_buttons(buttons: object) -> list[dict]:
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016)
    for button in buttons:
        if not isinstance(button, dict):
            raise ApiError(47001)
        if not 0 < _blen(button.get("name", "")) <= 16:
            raise ApiError(40018)
        subs = button.get("sub_button")
        if subs is None or subs == [] and "type" in button:
            _check_action(button, sub=False)
            continue
        # A button with a sub-menu has no action of its own.
        if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            raise ApiError(40023)
        for sub in subs:
            if not isinstance(sub, dict):
                raise ApiError(47001)
            if not 0 < _blen(sub.get("name", "")) <= 60:
                raise ApiError(40025)
            _check_action(sub, sub=True)
    return copy.deepcopy(buttons)


def _domains(buttons: list[dict]) -> set[str]:
    found = set()
    for button in buttons:
        for b in [button, *(button.get("sub_button") or [])]:
            if b.get("type") == "view" and b.get("url"):
                found.add(urlsplit(b["url"]).hostname or "")
    return found


@api("/cgi-bin/menu/create", bundle=15)
def menu_create(ctx: Ctx) -> dict:
    buttons = validate_buttons(ctx.body().get("button"))
    account = ctx.account
    account.menu = {"button": buttons, "menuid": account.next_menu_id}
    account.next_menu_id += 1
    return ok()


@api("/cgi-bin/menu/get", method="GET", bundle=15)
def menu_get(ctx: Ctx) -> dict:
    account = ctx.account
    if account.menu is None:
        raise ApiError(46003)
    answer: dict = {"menu": copy.deepcopy(account.menu)}
    if account.conditional_menus:
        answer["conditionalmenu"] = copy.deepcopy(account.conditional_menus)
    return answer


@api("/cgi-bin/get_current_selfmenu_info", method="GET", bundle=15)
def menu_current(ctx: Ctx) -> dict:
    menu = ctx.account.menu
    if menu is None:
        return {"is_menu_open": 0}
    return {"is_menu_open": 1, "selfmenu_info": {"button": copy.deepcopy(menu["button"])}}


@api("/cgi-bin/menu/delete", method="GET", bundle=15)
def menu_delete(ctx: Ctx) -> dict:
    ctx.account.menu = None
    ctx.account.conditional_menus = []
    return ok()


@api("/cgi-bin/menu/addconditional", bundle=15)
def menu_addconditional(ctx: Ctx) -> dict:
    body = ctx.body()
    account = ctx.account
    if account.menu is None:
        raise ApiError(65303)
    rule = body.get("matchrule")
    if not isinstance(rule, dict) or not any(v not in (None, "") for v in rule.values()):
        raise ApiError(65304)
    if any(rule.get(k) not in (None, "") for k in PRIVATE_RULES):
        raise ApiError(65320)
    buttons = validate_buttons(body.get("button"))
    domains = _domains(buttons).union(*(_domains(m["button"]) for m in account.conditional_menus))
    if len(domains) > MAX_DOMAINS:
        raise ApiError(65316)
    menuid = account.next_menu_id
    account.next_menu_id += 1
    account.conditional_menus.append({"button": buttons, "matchrule": dict(rule),
                                      "menuid": menuid})
    return {"menuid": str(menuid)}


@api("/cgi-bin/menu/delconditional", bundle=15)
def menu_delconditional(ctx: Ctx) -> dict:
    menuid = str(ctx.body().get("menuid", ""))
    account = ctx.account
    kept = [m for m in account.conditional_menus if str(m["menuid"]) != menuid]
    if len(kept) == len(account.conditional_menus):
        raise ApiError(65301)
    account.conditional_menus = kept
    return ok()


@api("/cgi-bin/menu/trymatch", bundle=15)
def menu_trymatch(ctx: Ctx) -> dict:
    account = ctx.account
    user_id = ctx.body().get("user_id")
    try:
        follower = follower_of(ctx.state, account.appid, user_id)
    except ApiError:
        follower = None
        for person in ctx.state.persons.values():
            if person.wechat_id == user_id:
                follower = ctx.state.follower_for_person(account.appid, person.id)
        if follower is None:
            raise ApiError(65302) from None
    buttons = menu_for(account, follower)
    if buttons is None:
        raise ApiError(46003)
    return {"button": copy.deepcopy(buttons)}


def menu_for(account: Account, follower: Follower) -> list[dict] | None:
    """The buttons this follower sees, or None when the account has no menu."""
    if account.menu is None:
        return None
    # The newest matching conditional menu wins; only tag rules can match (the client
    # platform is unknown to the sandbox, and private-data rules no longer match).
    for menu in reversed(account.conditional_menus):
        rule = menu["matchrule"]
        tag = rule.get("tag_id")
        if rule.get("client_platform_type") not in (None, ""):
            continue
        if tag not in (None, "") and int(tag) in follower.tagids:
            return menu["button"]
    return account.menu["button"]
