"""The platform's state: plain dataclasses, one lock, JSON round-trip."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import string
import threading
from dataclasses import dataclass, field
from typing import Any

ALNUM = string.ascii_letters + string.digits


def random_alnum(n: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(n))


@dataclass
class Group:
    id: str
    name: str = ""


@dataclass
class Person:
    id: str
    language: str = "zh_CN"
    wechat_id: str = ""
    # group id -> unionid; one unionid per open-platform group.
    unionids: dict[str, str] = field(default_factory=dict)
    # "active", "restricted" (frozen: sends answer 50002) or "deleted" (the WeChat account
    # was closed: 46004).
    state: str = "active"


@dataclass
class Tag:
    id: int
    name: str
    # Fans counted on top of the real followers, so a tag can be "too big" (45057)
    # without creating 100,000 followers.
    simulated_fans: int = 0


@dataclass
class Account:
    appid: str
    secret: str
    original_id: str
    name: str = ""
    kind: str = "service"  # "service" or "subscription"
    verified: bool = True
    token: str = ""
    encoding_aes_key: str = ""
    message_mode: str = "safe"  # plain / compatible / safe
    data_format: str = "xml"  # xml / json
    callback_url: str = ""
    group_id: str | None = None
    test_account: bool = False
    # Per-path daily limits that override the §13 defaults.
    quotas: dict[str, int] = field(default_factory=dict)
    # When non-empty, template/send accepts only these template ids (40037 otherwise).
    template_ids: list[str] = field(default_factory=list)
    mass_job_seconds: float = 30.0
    mass_job_status: str = "send success"
    created_at: float = 0.0
    tags: list[Tag] = field(default_factory=list)
    next_tag_id: int = 100
    menu: dict | None = None
    conditional_menus: list[dict] = field(default_factory=list)
    next_menu_id: int = 100
    # Successful mass sends: {"at", "is_to_all", "msg_id"}; the quota rules read these.
    mass_sends: list[dict] = field(default_factory=list)
    mass_call_times: list[float] = field(default_factory=list)
    clear_quota_uses: list[float] = field(default_factory=list)
    stable_force_refreshes: list[float] = field(default_factory=list)
    # Where calls may come from (§3.1): a non-empty allow-list refuses other IPs with
    # 40164; with ip_confirmation on, an IP not yet confirmed by the admin gets 89503, then
    # 89501 while pending, 89507/89506 after the admin refuses it.
    ip_whitelist: list[str] = field(default_factory=list)
    ip_confirmation: bool = False
    confirmed_ips: list[str] = field(default_factory=list)
    # ip -> {"pending": bool, "refusals": [epoch, ...], "blocked_until": epoch}
    ip_decisions: dict[str, dict] = field(default_factory=dict)
    # API paths banned for this account (48004).
    banned_apis: list[str] = field(default_factory=list)
    mass_speed: int = 0


@dataclass
class Follower:
    openid: str
    appid: str
    person_id: str
    subscribed: bool = True
    subscribe_time: int = 0
    unsubscribe_time: int = 0
    subscribe_scene: str = "ADD_SCENE_SEARCH"
    qr_scene: int = 0
    qr_scene_str: str = ""
    remark: str = ""
    tagids: list[int] = field(default_factory=list)
    blacklisted: bool = False
    refuses_messages: bool = False
    language: str = "zh_CN"
    inbox: list[dict] = field(default_factory=list)
    # The 48-hour window (a message: 5 sends) and the 1-minute one (follow/scan/click: 3).
    msg_window_at: float | None = None
    msg_window_used: int = 0
    event_window_at: float | None = None
    event_window_used: int = 0
    last_interaction_at: float | None = None
    typing_until: float | None = None
    mass_received: list[float] = field(default_factory=list)


@dataclass
class Token:
    token: str
    kind: str  # token / stable / authorizer / component
    appid: str
    issued_at: float
    expires_at: float
    # Set when a newer token replaced this one: valid until then, 40001 after.
    invalid_after: float | None = None
    component_appid: str | None = None


@dataclass
class QrCode:
    ticket: str
    appid: str
    action_name: str
    scene_id: int = 0
    scene_str: str = ""
    expire_at: float | None = None
    url: str = ""
    created_at: float = 0.0


@dataclass
class Media:
    media_id: str
    appid: str
    type: str
    created_at: float
    filename: str = ""
    content_type: str = "application/octet-stream"
    data_b64: str = ""
    articles: list[dict] = field(default_factory=list)


@dataclass
class MassJob:
    msg_id: int
    appid: str
    msgtype: str
    payload: dict
    created_at: float
    due_at: float
    msg_data_id: int | None = None
    is_to_all: bool = False
    tag_id: int | None = None
    touser: list[str] = field(default_factory=list)
    clientmsgid: str = ""
    status: str = "SENDING"  # SENDING / SEND_SUCCESS / SEND_FAIL / DELETE
    total: int = 0
    filtered: int = 0
    sent: int = 0
    errors: int = 0
    push: dict | None = None


@dataclass
class TemplateJob:
    msgid: int
    appid: str
    openid: str
    status: str
    created_at: float
    done: bool = False
    push: dict | None = None


@dataclass
class Component:
    component_appid: str
    component_appsecret: str
    token: str
    encoding_aes_key: str
    auth_event_url: str = ""
    # Where authorised accounts' user messages go; $APPID$ is replaced.
    message_url: str = ""
    tickets: dict[str, float] = field(default_factory=dict)
    latest_ticket: str = ""
    preauth_codes: dict[str, dict] = field(default_factory=dict)
    auth_codes: dict[str, dict] = field(default_factory=dict)
    # authorizer appid -> {"func_ids", "refresh_token", "auth_time"}
    authorizations: dict[str, dict] = field(default_factory=dict)
    # The platform's own IP allow-list (61004 from elsewhere when non-empty) and the
    # permission bundles it was granted on open.weixin.qq.com (None: all; 61007 otherwise).
    ip_whitelist: list[str] = field(default_factory=list)
    func_ids: list[int] | None = None


@dataclass
class Fault:
    id: str
    kind: str
    appid: str | None = None
    path: str | None = None
    count: int | None = None
    ratio: float | None = None
    delay: float = 0.0
    fired: int = 0
    errcode: int | None = None  # kind "errcode": the code to answer
    errmsg: str | None = None
    until: float | None = None  # sandbox time after which the fault is gone ("seconds")
    how: str = ""  # kind "drop_after": "close" (no answer) or "reset" (TCP RST)


DEFAULT_SETTINGS: dict[str, Any] = {
    "push_timeout": 5.0,
    "token_ttl": 7200,  # seconds; benchmarks shorten it
    "push_attempts": 3,
    "user_page_size": 10000,
    "mass_rate_per_minute": 60,
    # Permanent QR codes per account, integer and string scenes together (§9).
    "permanent_qr_limit": 100_000,
}

_COLLECTIONS: dict[str, type] = {
    "groups": Group,
    "persons": Person,
    "accounts": Account,
    "followers": Follower,
    "tokens": Token,
    "qrcodes": QrCode,
    "media": Media,
    "mass_jobs": MassJob,
    "template_jobs": TemplateJob,
    "components": Component,
}


class SandboxState:
    """All platform data. Mutate only while holding `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.groups: dict[str, Group] = {}
            self.persons: dict[str, Person] = {}
            self.accounts: dict[str, Account] = {}
            self.followers: dict[str, Follower] = {}
            # "<appid>|<person_id>" -> openid
            self.follower_index: dict[str, str] = {}
            self.tokens: dict[str, Token] = {}
            # "<kind>:<appid>" -> the newest token string of that kind
            self.current_tokens: dict[str, str] = {}
            self.qrcodes: dict[str, QrCode] = {}
            self.media: dict[str, Media] = {}
            self.mass_jobs: dict[str, MassJob] = {}
            self.template_jobs: dict[str, TemplateJob] = {}
            self.components: dict[str, Component] = {}
            # "<appid>|<clientmsgid>" -> {"msg_id", "at"}
            self.clientmsgids: dict[str, dict] = {}
            self.faults: list[Fault] = []
            self.calls: list[dict] = []
            self.pushes: list[dict] = []
            # Follows, unfollows and upstream messages, for the datacube.
            self.events: list[dict] = []
            # "<appid>|<path>|<beijing day>" -> calls counted against the daily quota
            self.quota_used: dict[str, int] = {}
            self.counters: dict[str, dict[str, int]] = {
                "token_issued": {},
                "token_requests": {},
                "stable_token_issued": {},
                "calls": {},
                "errors": {},
            }
            self.seq: dict[str, int] = {}
            self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
            self.version = 0

    # -- small helpers -----------------------------------------------------------

    def next_seq(self, name: str, start: int = 1) -> int:
        value = self.seq.get(name, start - 1) + 1
        self.seq[name] = value
        return value

    def bump(self, counter: str, key: str, n: int = 1) -> None:
        bucket = self.counters.setdefault(counter, {})
        bucket[key] = bucket.get(key, 0) + n

    def account_followers(self, appid: str) -> list[Follower]:
        return [f for f in self.followers.values() if f.appid == appid]

    def follower_for_person(self, appid: str, person_id: str) -> Follower | None:
        return self.followers.get(self.follower_index.get(f"{appid}|{person_id}", ""))

    def add_follower(self, follower: Follower) -> None:
        self.followers[follower.openid] = follower
        self.follower_index[f"{follower.appid}|{follower.person_id}"] = follower.openid

    def unionid(self, follower: Follower) -> str:
        """The unionid, or "" when the account belongs to no open-platform group."""
        account = self.accounts[follower.appid]
        if not account.group_id:
            return ""
        person = self.persons[follower.person_id]
        if account.group_id not in person.unionids:
            person.unionids[account.group_id] = "o6_bm" + random_alnum(23)
        return person.unionids[account.group_id]

    # -- persistence ---------------------------------------------------------------

    def to_dict(self) -> dict:
        with self.lock:
            data: dict[str, Any] = {
                name: {k: dataclasses.asdict(v) for k, v in getattr(self, name).items()}
                for name in _COLLECTIONS
            }
            data["faults"] = [dataclasses.asdict(f) for f in self.faults]
            for name in ("current_tokens", "follower_index", "clientmsgids", "calls", "pushes",
                         "events", "quota_used", "counters", "seq", "settings"):
                data[name] = getattr(self, name)
            return json.loads(json.dumps(data))

    def load_dict(self, data: dict) -> None:
        with self.lock:
            self.clear()
            for name, cls in _COLLECTIONS.items():
                setattr(self, name, {k: _build(cls, v) for k, v in data.get(name, {}).items()})
            self.faults = [Fault(**f) for f in data.get("faults", [])]
            for name in ("current_tokens", "follower_index", "clientmsgids", "calls", "pushes",
                         "events", "quota_used", "counters", "seq"):
                if name in data:
                    setattr(self, name, data[name])
            self.settings = {**DEFAULT_SETTINGS, **data.get("settings", {})}

    def save(self, path: str, *, clock: dict | None = None) -> None:
        data = self.to_dict()
        if clock is not None:
            data["clock"] = clock
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
        os.replace(tmp, path)

    def load(self, path: str) -> dict:
        """Load state; returns the saved clock snapshot ({} when none was saved)."""
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        self.load_dict(data)
        return data.get("clock") or {}


def _build(cls: type, data: dict) -> Any:
    if cls is Account:
        data = {**data, "tags": [Tag(**t) for t in data.get("tags", [])]}
    return cls(**data)
