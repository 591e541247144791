"""What people do on the platform: accounts, persons, follows, messages, clicks, scans.

Each action mutates state (caller holds the lock) and returns the message WeChat would
push to the account's callback, as an ordered dict of the push fields.
"""

from __future__ import annotations

import base64
import secrets

from wechat import windows

from .api_menu import menu_for
from .api_qrcode import scene_value
from .state import Account, Follower, Group, Person, QrCode, SandboxState, random_alnum
from .web import ControlError

# The kf window rules are shared with the portal (wechat/windows.py).
EVENT_WINDOW = windows.SHORT_SECONDS  # follow, scan and three menu buttons: 3 sends, 1 min
EVENT_QUOTA = windows.SHORT_SENDS
MSG_WINDOW = windows.LONG_SECONDS  # a user message: 5 sends, 48 hours
MSG_QUOTA = windows.LONG_SENDS

ACCOUNT_FIELDS = ("appid", "secret", "original_id", "name", "kind", "verified", "token",
                  "encoding_aes_key", "message_mode", "data_format", "callback_url", "group_id",
                  "test_account", "quotas", "template_ids", "mass_job_seconds", "mass_job_status",
                  "ip_whitelist", "ip_confirmation", "banned_apis")
# Account fields holding lists of strings (IP addresses, API paths).
_STRING_LISTS = ("ip_whitelist", "banned_apis", "template_ids")
_CHOICES = {"kind": ("service", "subscription"), "message_mode": ("plain", "compatible", "safe"),
            "data_format": ("xml", "json")}


def new_openid() -> str:
    return "o" + random_alnum(5) + "_" + random_alnum(21)


def create_group(state: SandboxState, name: str) -> Group:
    group = Group(id=f"group-{state.next_seq('group')}", name=name)
    state.groups[group.id] = group
    return group


def _validate_account_fields(state: SandboxState, spec: dict) -> None:
    for key, allowed in _CHOICES.items():
        if key in spec and spec[key] not in allowed:
            raise ControlError(400, f"{key} must be one of {', '.join(allowed)}")
    if spec.get("group_id") and spec["group_id"] not in state.groups:
        raise ControlError(404, "no such group")
    key = spec.get("encoding_aes_key")
    if key and (len(key) != 43 or not key.isalnum()):
        raise ControlError(400, "encoding_aes_key must be 43 letters or digits")
    unknown = set(spec) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ControlError(400, f"unknown fields: {', '.join(sorted(unknown))}")
    for name in _STRING_LISTS:
        if name in spec and not (isinstance(spec[name], list)
                                 and all(isinstance(v, str) for v in spec[name])):
            raise ControlError(400, f"{name} must be a list of strings")


def create_account(state: SandboxState, spec: dict, now: float) -> Account:
    _validate_account_fields(state, spec)
    appid = spec.get("appid") or "wx" + secrets.token_hex(8)
    if appid in state.accounts:
        raise ControlError(409, "appid exists")
    n = state.next_seq("account")
    account = Account(
        appid=appid,
        secret=spec.get("secret") or secrets.token_hex(16),
        original_id=spec.get("original_id") or "gh_" + secrets.token_hex(6),
        name=spec.get("name") or f"Sandbox OA {n}",
        token=spec.get("token") or random_alnum(32),
        encoding_aes_key=spec.get("encoding_aes_key") or random_alnum(43),
        created_at=now,
    )
    update_account(state, account, {k: v for k, v in spec.items()
                                    if k not in ("appid", "secret", "original_id", "name",
                                                 "token", "encoding_aes_key")})
    state.accounts[appid] = account
    return account


def update_account(state: SandboxState, account: Account, spec: dict) -> Account:
    _validate_account_fields(state, spec)
    if "appid" in spec and spec["appid"] != account.appid:
        raise ControlError(400, "appid cannot change")
    for key, value in spec.items():
        setattr(account, key, value)
    return account


def create_person(state: SandboxState, language: str = "zh_CN") -> Person:
    person = Person(id=f"person-{state.next_seq('person')}", language=language,
                    wechat_id="wxid_" + random_alnum(12).lower())
    state.persons[person.id] = person
    return person


def base_message(account: Account, follower: Follower, now: float, msgtype: str) -> dict:
    return {"ToUserName": account.original_id, "FromUserName": follower.openid,
            "CreateTime": int(now), "MsgType": msgtype}


def _open_event_window(follower: Follower, now: float) -> None:
    follower.event_window_at = now
    follower.event_window_used = 0
    follower.last_interaction_at = now


def _record(state: SandboxState, account: Account, follower: Follower, kind: str, now: float,
            **extra: object) -> None:
    state.events.append({"at": now, "appid": account.appid, "openid": follower.openid,
                         "type": kind, **extra})


def follow(state: SandboxState, account: Account, person: Person, now: float, *,
           code: QrCode | None = None, subscribe_scene: str | None = None
           ) -> tuple[Follower, dict | None]:
    """Follow (or re-follow) the account; scanning as a follower gives SCAN instead."""
    follower = state.follower_for_person(account.appid, person.id)
    if follower is not None and follower.subscribed:
        if code is None:
            return follower, None
        return follower, scan(state, account, follower, code, now)
    if follower is None:
        # An openid is stable per (person, account), including after re-following.
        follower = Follower(openid=new_openid(), appid=account.appid, person_id=person.id,
                            language=person.language)
        state.add_follower(follower)
    follower.subscribed = True
    follower.subscribe_time = int(now)
    follower.subscribe_scene = "ADD_SCENE_QR_CODE" if code else (
        subscribe_scene or "ADD_SCENE_SEARCH")
    follower.qr_scene = code.scene_id if code else 0
    follower.qr_scene_str = code.scene_str if code else ""
    _open_event_window(follower, now)
    state.unionid(follower)
    _record(state, account, follower, "subscribe", now, scene=follower.subscribe_scene)
    message = base_message(account, follower, now, "event")
    message["Event"] = "subscribe"
    if code is not None:
        message["EventKey"] = "qrscene_" + scene_value(code)
        message["Ticket"] = code.ticket
    return follower, message


def followers_from_history(state: SandboxState, account: Account, specs: list) -> int:
    """Followers the account has had since before this sandbox ran (a portal's seeded
    history): each ``{"openid", "subscribe_time"?, "language"?, "subscribe_scene"?}``
    follows since ``subscribe_time`` (epoch seconds), a person of its own; no push, no
    event, no window. Openids taken already are skipped; answers how many were added.
    A bad entry refuses the whole list."""
    for spec in specs:
        openid = spec.get("openid") if isinstance(spec, dict) else None
        if not isinstance(openid, str) or not 1 <= len(openid) <= 64:
            raise ControlError(400, "each follower needs an openid of 1 to 64 characters")
        since = spec.get("subscribe_time", 0)
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise ControlError(400, "subscribe_time must be a whole number of seconds")
    added = 0
    for spec in specs:
        if spec["openid"] in state.followers:
            continue
        person = create_person(state, str(spec.get("language") or "zh_CN"))
        state.add_follower(Follower(
            openid=spec["openid"], appid=account.appid, person_id=person.id,
            language=person.language, subscribe_time=spec.get("subscribe_time", 0),
            subscribe_scene=str(spec.get("subscribe_scene") or "ADD_SCENE_SEARCH")))
        added += 1
    return added


def unfollow(state: SandboxState, account: Account, follower: Follower, now: float) -> dict:
    if not follower.subscribed:
        raise ControlError(409, "not following")
    follower.subscribed = False
    follower.unsubscribe_time = int(now)
    follower.tagids = []
    follower.msg_window_at = follower.event_window_at = None
    _record(state, account, follower, "unsubscribe", now)
    message = base_message(account, follower, now, "event")
    message["Event"] = "unsubscribe"
    message["EventKey"] = ""
    return message


def scan(state: SandboxState, account: Account, follower: Follower, code: QrCode,
         now: float) -> dict:
    if not follower.subscribed:
        person = state.persons[follower.person_id]
        return follow(state, account, person, now, code=code)[1] or {}
    _open_event_window(follower, now)
    _record(state, account, follower, "scan", now)
    message = base_message(account, follower, now, "event")
    message.update({"Event": "SCAN", "EventKey": scene_value(code), "Ticket": code.ticket})
    return message


# Menu button type -> the event pressing it pushes (§2.2, §10). Buttons that only show
# material (media_id, view_limited, article_id, article_view_limited) push nothing.
MENU_EVENTS = {
    "click": "CLICK",
    "view": "VIEW",
    "scancode_push": "scancode_push",
    "scancode_waitmsg": "scancode_waitmsg",
    "pic_sysphoto": "pic_sysphoto",
    "pic_photo_or_album": "pic_photo_or_album",
    "pic_weixin": "pic_weixin",
    "location_select": "location_select",
    "miniprogram": "view_miniprogram",
}
MATERIAL_BUTTONS = ("media_id", "view_limited", "article_id", "article_view_limited")
DEFAULT_SCAN_RESULT = "http://weixin.qq.com/r/sandbox-scan"


def _menu_button(account: Account, follower: Follower, key: str) -> dict | None:
    """The button with this key in the menu the follower sees."""
    for button in menu_for(account, follower) or []:
        for candidate in [button, *(button.get("sub_button") or [])]:
            if candidate.get("key") == key:
                return candidate
    return None


def _pressed(account: Account, follower: Follower, spec: dict) -> str:
    """The type of the button pressed: given, else the menu's button with that key (a
    key found in no menu is a click), else a view for a url."""
    if spec.get("type"):
        kind = str(spec["type"])
        if kind not in MENU_EVENTS and kind not in MATERIAL_BUTTONS:
            raise ControlError(400, f"type must be one of {', '.join(MENU_EVENTS)}")
        return kind
    if spec.get("url"):
        return "view"
    if spec.get("key") is not None:
        button = _menu_button(account, follower, str(spec["key"]))
        return str(button.get("type") or "click") if button else "click"
    raise ControlError(400, "key or url required")


def click(state: SandboxState, account: Account, follower: Follower, spec: dict,
          now: float) -> dict | None:
    """A menu button pressed: the event it pushes (None for a material button, which
    pushes nothing). CLICK and the two scancode buttons open the short window."""
    kind = _pressed(account, follower, spec)
    follower.last_interaction_at = now
    if kind in MATERIAL_BUTTONS:
        return None
    event = MENU_EVENTS[kind]
    message = base_message(account, follower, now, "event")
    message["Event"] = event
    if kind == "view":
        if not spec.get("url"):
            raise ControlError(400, "url required")
        message["EventKey"] = spec["url"]
    elif kind == "miniprogram":
        if not spec.get("pagepath"):
            raise ControlError(400, "pagepath required")
        message["EventKey"] = spec["pagepath"]
    else:
        if spec.get("key") in (None, ""):
            raise ControlError(400, "key required")
        message["EventKey"] = str(spec["key"])
    if kind in ("view", "miniprogram") and spec.get("menu_id") is not None:
        message["MenuId"] = spec["menu_id"]
    if kind.startswith("scancode_"):
        message["ScanCodeInfo"] = {"ScanType": str(spec.get("scan_type", "qrcode")),
                                   "ScanResult": str(spec.get("scan_result",
                                                              DEFAULT_SCAN_RESULT))}
    elif kind.startswith("pic_"):
        count = int(spec.get("pictures", 1))
        message["SendPicsInfo"] = {"Count": count, "PicList": [
            {"PicMd5Sum": secrets.token_hex(16)} for _ in range(count)]}
    elif kind == "location_select":
        message["SendLocationInfo"] = {
            "Location_X": spec.get("latitude", 23.134521),
            "Location_Y": spec.get("longitude", 113.358803),
            "Scale": spec.get("scale", 15), "Label": spec.get("label", ""),
            "Poiname": spec.get("poiname", "")}
    if event in windows.SHORT_WINDOW_EVENTS:
        _open_event_window(follower, now)
    _record(state, account, follower, "click", now)
    return message


def location(follower: Follower, account: Account, spec: dict, now: float) -> dict:
    message = base_message(account, follower, now, "event")
    message.update({"Event": "LOCATION", "Latitude": spec.get("latitude", 23.137466),
                    "Longitude": spec.get("longitude", 113.352425),
                    "Precision": spec.get("precision", 119.385040)})
    return message


def _user_media(state: SandboxState, account: Account, kind: str, now: float) -> str:
    """A temporary media id for something the user sent, fetchable via media/get."""
    from .state import Media

    media_id = random_alnum(64)
    data = {"image": _TINY_PNG, "voice": b"#!AMR\n" + bytes(32),
            "video": b"\x00\x00\x00\x18ftypmp42" + bytes(16),
            "thumb": _TINY_PNG}[kind]
    ctype = {"image": "image/png", "voice": "audio/amr", "video": "video/mp4",
             "thumb": "image/png"}[kind]
    state.media[media_id] = Media(media_id=media_id, appid=account.appid, type=kind,
                                  created_at=now, filename=f"user.{kind}", content_type=ctype,
                                  data_b64=base64.b64encode(data).decode())
    return media_id


UPSTREAM_TYPES = ("text", "image", "voice", "video", "shortvideo", "location", "link")


def user_message(state: SandboxState, account: Account, follower: Follower, spec: dict,
                 now: float) -> dict:
    """A message the follower sends; it opens the 48-hour window with 5 sends."""
    if not follower.subscribed:
        raise ControlError(409, "not following")
    msgtype = spec.get("type", "text")
    if msgtype not in UPSTREAM_TYPES:
        raise ControlError(400, f"type must be one of {', '.join(UPSTREAM_TYPES)}")
    message = base_message(account, follower, now, msgtype)
    if msgtype == "text":
        message["Content"] = str(spec.get("content", ""))
    elif msgtype == "image":
        media_id = _user_media(state, account, "image", now)
        message["PicUrl"] = spec.get("pic_url") or f"http://mmbiz.qpic.cn/sandbox/{media_id[:16]}"
        message["MediaId"] = media_id
    elif msgtype == "voice":
        message["MediaId"] = _user_media(state, account, "voice", now)
        message["Format"] = spec.get("format", "amr")
        if spec.get("recognition") is not None:
            message["Recognition"] = spec["recognition"]
    elif msgtype in ("video", "shortvideo"):
        message["MediaId"] = _user_media(state, account, "video", now)
        message["ThumbMediaId"] = _user_media(state, account, "thumb", now)
    elif msgtype == "location":
        message.update({"Location_X": spec.get("latitude", 23.134521),
                        "Location_Y": spec.get("longitude", 113.358803),
                        "Scale": spec.get("scale", 20), "Label": spec.get("label", "")})
    elif msgtype == "link":
        message.update({"Title": spec.get("title", ""), "Description": spec.get("description", ""),
                        "Url": spec.get("url", "")})
    msg_id = state.next_seq("msgid", 24_000_000_000_000_000)
    message["MsgId"] = msg_id
    follower.msg_window_at = now
    follower.msg_window_used = 0
    follower.last_interaction_at = now
    _record(state, account, follower, "message", now, msgtype=msgtype)
    return message


def follower_view(state: SandboxState, follower: Follower) -> dict:
    return {
        "openid": follower.openid,
        "appid": follower.appid,
        "person_id": follower.person_id,
        "unionid": state.unionid(follower),
        "subscribed": follower.subscribed,
        "subscribe_time": follower.subscribe_time,
        "subscribe_scene": follower.subscribe_scene,
        "qr_scene": follower.qr_scene,
        "qr_scene_str": follower.qr_scene_str,
        "remark": follower.remark,
        "tagid_list": list(follower.tagids),
        "blacklisted": follower.blacklisted,
        "refuses_messages": follower.refuses_messages,
        "language": follower.language,
        "inbox_size": len(follower.inbox),
    }


_TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)
