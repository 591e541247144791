"""Every errcode the protocol reference names can happen in the sandbox, and the client
turns each into its typed error and does what the retry table says.

``errors.REFERENCE_CODES`` is the list; ``CASES`` says, per code, how the sandbox produces
it: its documented situation, or -- where no situation can be modelled locally -- a fault
naming the code and the endpoint. A code without a case fails the test, and so does a
failure table in the sandbox README that disagrees with the cases or the retry table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.wechat.sandbox_helpers import (
    Sleeps,
    calls,
    client_for,
    control,
    fault,
    follow,
    make_account,
    user_says,
)
from wechat import errors
from wechat.client import DEFAULT_POLICY, Action, ComponentClient, Safety, WeChatClient
from wechat.client.retry import outcome_for_errcode
from wechat.sandbox.server import SandboxServer

README = Path(__file__).resolve().parents[2] / "wechat" / "sandbox" / "README.md"

TOKEN = "/cgi-bin/token"
STABLE_TOKEN = "/cgi-bin/stable_token"
TAGS_GET = "/cgi-bin/tags/get"
TAGS_CREATE = "/cgi-bin/tags/create"
TAGS_UPDATE = "/cgi-bin/tags/update"
TAGS_DELETE = "/cgi-bin/tags/delete"
BATCHTAGGING = "/cgi-bin/tags/members/batchtagging"
BLACKLIST = "/cgi-bin/tags/members/batchblacklist"
USER_INFO = "/cgi-bin/user/info"
REMARK = "/cgi-bin/user/info/updateremark"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
TYPING = "/cgi-bin/message/custom/typing"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
SENDALL = "/cgi-bin/message/mass/sendall"
MASS_SEND = "/cgi-bin/message/mass/send"
SPEED_SET = "/cgi-bin/message/mass/speed/set"
CLEAR_QUOTA = "/cgi-bin/clear_quota"
ADD_CONDITIONAL = "/cgi-bin/menu/addconditional"
COMPONENT_TOKEN = "/cgi-bin/component/api_component_token"
AUTHORIZER_TOKEN = "/cgi-bin/component/api_authorizer_token"
COMPONENT = "wxcomponent00001"
ELSEWHERE = "203.0.113.7"  # an allow-listed IP that is not the tests' 127.0.0.1
TEXT = {"content": "hi"}

# How many calls reach the platform for each action of the table when the situation
# persists (sleeps do not move the sandbox's clock here, so nothing wears off).
ATTEMPTS = {
    Action.RAISE: 1,
    Action.SUCCEED: 1,
    Action.BACK_OFF: DEFAULT_POLICY.max_attempts,
    Action.REFRESH_TOKEN: 1 + DEFAULT_POLICY.token_refreshes,
    Action.WAIT_THEN_RETRY: 1 + DEFAULT_POLICY.too_soon_retries,
}


@dataclass
class Stage:
    """A fresh service account, its client and the client's recorded sleeps."""

    sb: SandboxServer
    account: dict[str, Any]
    wx: WeChatClient
    sleeps: Sleeps

    @classmethod
    def make(cls, sb: SandboxServer) -> Stage:
        account = make_account(sb)
        wx, sleeps = client_for(sb, account)
        return cls(sb, account, wx, sleeps)

    @property
    def appid(self) -> str:
        return self.account["appid"]

    def ctl(self, method: str, path: str, body: Any = None) -> Any:
        return control(self.sb, method, path, body)

    def patch_account(self, **fields: Any) -> None:
        self.ctl("PATCH", f"/accounts/{self.appid}", fields)

    def follower(self, *, writes: bool = False) -> str:
        openid = follow(self.sb, self.appid)
        if writes:
            user_says(self.sb, self.appid, openid)
        return openid

    def person_of(self, openid: str) -> str:
        return self.ctl("GET", f"/accounts/{self.appid}/followers/{openid}")["person_id"]

    def fault(self, errcode: int, path: str) -> None:
        fault(self.sb, kind="errcode", errcode=errcode, path=path)

    def client(self, account: dict[str, Any] | None = None, **kwargs: Any) -> WeChatClient:
        return client_for(self.sb, account or self.account, sleep=self.sleeps, **kwargs)[0]

    def with_token(self, token: str) -> WeChatClient:
        """A client whose token cache is stuck on ``token``: a refresh hands it back."""
        return self.client(token_provider=StuckTokens(token))

    def advance(self, seconds: float) -> None:
        self.ctl("POST", "/clock", {"advance": seconds})

    def freeze(self) -> None:
        self.ctl("POST", "/clock", {"freeze": True})

    # -- the third-party platform -------------------------------------------------------

    def platform(self, **fields: Any) -> ComponentClient:
        component = self.ctl("POST", "/components", {"component_appid": COMPONENT, **fields})
        ticket = self.ctl("POST", f"/components/{COMPONENT}/ticket")["ticket"]
        return ComponentClient(
            COMPONENT,
            component["component_appsecret"],
            base_url=self.sb.base_url,
            get_ticket=lambda: ticket,
            clock=self.sb.clock.now,
            sleep=self.sleeps,
        )

    def authorised(self, platform: ComponentClient, func_ids: list[int]) -> str:
        """The account authorises the platform; returns its authorizer refresh token."""
        pre_auth = platform.create_preauth_code()["pre_auth_code"]
        code = self.ctl("POST", f"/components/{COMPONENT}/authorize",
                        {"pre_auth_code": pre_auth, "appid": self.appid, "func_ids": func_ids})
        return platform.query_auth(code["auth_code"])["authorizer_refresh_token"]


class StuckTokens:
    def __init__(self, token: str) -> None:
        self.token = token
        self.refreshes = 0

    def get_token(self, appid: str) -> str:
        return self.token

    def refresh_token(self, appid: str, stale: str | None) -> str:
        self.refreshes += 1
        return self.token


Attempt = Callable[[], object]


@dataclass(frozen=True)
class Case:
    path: str  # the endpoint whose calls are counted
    safety: Safety  # as the client declares the call made
    produce: Callable[[Stage], Attempt]  # sets the situation up, returns the call
    faulted: bool  # produced by an injected errcode fault: no local situation


CASES: dict[int, Case] = {}


def case(code: int, path: str, safety: Safety, *, faulted: bool = False
         ) -> Callable[[Callable[[Stage], Attempt]], Callable[[Stage], Attempt]]:
    def register(produce: Callable[[Stage], Attempt]) -> Callable[[Stage], Attempt]:
        assert code not in CASES, code
        CASES[code] = Case(path, safety, produce, faulted)
        return produce

    return register


IDEMPOTENT, DEDUPED, UNSAFE = Safety.IDEMPOTENT, Safety.DEDUPED, Safety.UNSAFE


# -- tokens and credentials ------------------------------------------------------------------


@case(-1, TAGS_GET, IDEMPOTENT, faulted=True)
def _busy(s: Stage) -> Attempt:
    fault(s.sb, kind="busy", path=TAGS_GET, seconds=60)
    return s.wx.tag_list


@case(40001, TAGS_GET, IDEMPOTENT)
def _token_not_latest(s: Stage) -> Attempt:
    # Well-formed but unknown to the platform (another account's, or superseded and past
    # its 5-minute overlap).
    return s.with_token("86_" + "A" * 100).tag_list


@case(40002, TOKEN, IDEMPOTENT)
def _bad_grant_type(s: Stage) -> Attempt:
    params = {"grant_type": "password", "appid": s.appid, "secret": s.account["secret"]}
    return lambda: s.wx.transport.call("GET", TOKEN, params=params, safety=IDEMPOTENT)


@case(40003, CUSTOM_SEND, UNSAFE)
def _another_accounts_openid(s: Stage) -> Attempt:
    other = make_account(s.sb)
    stranger = follow(s.sb, other["appid"])
    return lambda: s.wx.custom_send_text(stranger, "hi")


@case(40013, STABLE_TOKEN, IDEMPOTENT)
def _unknown_appid(s: Stage) -> Attempt:
    return s.client({"appid": "wx0000000000000000", "secret": "s"}).access_token


@case(40014, TAGS_GET, IDEMPOTENT)
def _malformed_token(s: Stage) -> Attempt:
    return s.with_token("not a token").tag_list


@case(40125, STABLE_TOKEN, IDEMPOTENT)
def _wrong_secret(s: Stage) -> Attempt:
    return s.client({**s.account, "secret": "0" * 32}).access_token


@case(40164, STABLE_TOKEN, IDEMPOTENT)
def _ip_not_on_the_allow_list(s: Stage) -> Attempt:
    s.patch_account(ip_whitelist=[ELSEWHERE])
    return s.wx.access_token


@case(41001, TAGS_GET, IDEMPOTENT)
def _no_token(s: Stage) -> Attempt:
    return lambda: s.wx.transport.call("GET", TAGS_GET, safety=IDEMPOTENT)


@case(42001, TAGS_GET, IDEMPOTENT)
def _expired_token(s: Stage) -> Attempt:
    token = s.wx.access_token()
    s.advance(7201)
    return s.with_token(token).tag_list


@case(89503, STABLE_TOKEN, IDEMPOTENT)
def _new_ip_needs_the_admin(s: Stage) -> Attempt:
    s.patch_account(ip_confirmation=True)
    return s.wx.access_token


def _asked_about_this_ip(s: Stage) -> str:
    s.patch_account(ip_confirmation=True)
    with pytest.raises(errors.IpNotWhitelisted, match="89503"):
        s.wx.access_token()
    return "127.0.0.1"


@case(89501, STABLE_TOKEN, IDEMPOTENT)
def _ip_waiting_for_the_admin(s: Stage) -> Attempt:
    _asked_about_this_ip(s)
    return s.wx.access_token


@case(89502, STABLE_TOKEN, IDEMPOTENT, faulted=True)
def _ip_not_confirmed(s: Stage) -> Attempt:
    s.fault(89502, STABLE_TOKEN)
    return s.wx.access_token


@case(89507, STABLE_TOKEN, IDEMPOTENT)
def _ip_refused_once(s: Stage) -> Attempt:
    ip = _asked_about_this_ip(s)
    s.ctl("POST", f"/accounts/{s.appid}/ip_decisions", {"ip": ip, "decision": "refuse"})
    return s.wx.access_token


@case(89506, STABLE_TOKEN, IDEMPOTENT)
def _ip_refused_twice(s: Stage) -> Attempt:
    ip = _asked_about_this_ip(s)
    s.ctl("POST", f"/accounts/{s.appid}/ip_decisions", {"ip": ip, "decision": "refuse"})
    s.advance(3601)
    with pytest.raises(errors.IpNotWhitelisted, match="89503"):
        s.wx.access_token()  # asked again once the hour is over
    s.ctl("POST", f"/accounts/{s.appid}/ip_decisions", {"ip": ip, "decision": "refuse"})
    return s.wx.access_token


# -- requests the platform refuses -----------------------------------------------------------


@case(40032, BLACKLIST, IDEMPOTENT)
def _list_too_long(s: Stage) -> Attempt:
    openids = [s.follower() for _ in range(21)]
    return lambda: s.wx._post(BLACKLIST, {"openid_list": openids}, safety=IDEMPOTENT)


@case(40033, CUSTOM_SEND, UNSAFE, faulted=True)
def _escaped_characters(s: Stage) -> Attempt:
    # The sandbox refuses any body escaping non-ASCII as \uXXXX, but this client never
    # sends one (encode_json), so only a fault can show what it would do.
    openid = s.follower(writes=True)
    s.fault(40033, CUSTOM_SEND)
    return lambda: s.wx.custom_send_text(openid, "你好")


@case(40036, TEMPLATE_SEND, UNSAFE)
def _template_id_size(s: Stage) -> Attempt:
    openid = s.follower()
    return lambda: s.wx.template_send(openid, "T" * 65, {"first": "x"})


@case(40037, TEMPLATE_SEND, UNSAFE)
def _unknown_template(s: Stage) -> Attempt:
    s.patch_account(template_ids=["TPL_ORDER"])
    openid = s.follower()
    return lambda: s.wx.template_send(openid, "TPL_OTHER", {"first": "x"})


@case(40092, REMARK, IDEMPOTENT)
def _remark_too_long(s: Stage) -> Attempt:
    openid = s.follower()
    body = {"openid": openid, "remark": "这个备注对于平台来说太长了"}
    return lambda: s.wx._post(REMARK, body, safety=IDEMPOTENT)


@case(45067, MASS_SEND, DEDUPED)
def _clientmsgid_too_long(s: Stage) -> Attempt:
    body = {"touser": [s.follower(), s.follower()], "msgtype": "text", "text": TEXT,
            "clientmsgid": "x" * 65}
    return lambda: s.wx._post(MASS_SEND, body, safety=DEDUPED)


@case(45083, SPEED_SET, IDEMPOTENT)
def _speed_out_of_range(s: Stage) -> Attempt:
    return lambda: s.wx._post(SPEED_SET, {"speed": 7}, safety=IDEMPOTENT)


@case(45084, SPEED_SET, IDEMPOTENT)
def _speed_missing(s: Stage) -> Attempt:
    return lambda: s.wx._post(SPEED_SET, {}, safety=IDEMPOTENT)


# -- limits ----------------------------------------------------------------------------------


@case(45009, TAGS_GET, IDEMPOTENT)
def _daily_quota_used(s: Stage) -> Attempt:
    s.patch_account(quotas={TAGS_GET: 0})
    return s.wx.tag_list


@case(45011, MASS_SEND, DEDUPED)
def _mass_calls_per_minute(s: Stage) -> Attempt:
    s.ctl("POST", "/settings", {"mass_rate_per_minute": 1})
    s.freeze()
    openids = [s.follower(), s.follower()]
    s.wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="first")
    return lambda: s.wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="second")


@case(45028, SENDALL, DEDUPED)
def _no_mass_quota(s: Stage) -> Attempt:
    subscription = make_account(s.sb, kind="subscription")
    wx = s.client(subscription)
    follow(s.sb, subscription["appid"])
    wx.mass_send_by_tag(None, "text", TEXT)
    return lambda: wx.mass_send_by_tag(None, "text", {"content": "again today"})


@case(48006, CLEAR_QUOTA, UNSAFE)
def _quota_resets_used(s: Stage) -> Attempt:
    for _ in range(10):
        s.wx.quota_clear()
    return s.wx.quota_clear


# -- the kf window and the recipient ---------------------------------------------------------


@case(43004, CUSTOM_SEND, UNSAFE)
def _unfollowed(s: Stage) -> Attempt:
    openid = s.follower(writes=True)
    s.ctl("POST", f"/accounts/{s.appid}/followers/{openid}/unfollow", {"push": False})
    return lambda: s.wx.custom_send_text(openid, "hi")


@case(43019, CUSTOM_SEND, UNSAFE)
def _blacklisted(s: Stage) -> Attempt:
    openid = s.follower(writes=True)
    s.ctl("PATCH", f"/accounts/{s.appid}/followers/{openid}", {"blacklisted": True})
    return lambda: s.wx.custom_send_text(openid, "hi")


@case(45015, CUSTOM_SEND, UNSAFE)
def _outside_the_window(s: Stage) -> Attempt:
    openid = s.follower()  # following opens the one-minute window...
    s.advance(61)  # ...which closes
    return lambda: s.wx.custom_send_text(openid, "hi")


@case(45047, CUSTOM_SEND, UNSAFE)
def _window_sends_used(s: Stage) -> Attempt:
    openid = s.follower()  # three sends for a minute
    for n in range(3):
        s.wx.custom_send_text(openid, f"n{n}")
    return lambda: s.wx.custom_send_text(openid, "one too many")


@case(45072, TYPING, UNSAFE)
def _bad_typing_command(s: Stage) -> Attempt:
    openid = s.follower(writes=True)
    body = {"touser": openid, "command": "Dance"}
    return lambda: s.wx._post(TYPING, body, safety=UNSAFE)


@case(45080, TYPING, UNSAFE)
def _no_recent_interaction(s: Stage) -> Attempt:
    openid = s.follower()
    s.advance(31)
    return lambda: s.wx.custom_typing(openid)


@case(45081, TYPING, UNSAFE)
def _already_typing(s: Stage) -> Attempt:
    openid = s.follower(writes=True)
    s.wx.custom_typing(openid)
    return lambda: s.wx.custom_typing(openid)


@case(46004, USER_INFO, IDEMPOTENT)
def _user_gone(s: Stage) -> Attempt:
    openid = s.follower()
    s.ctl("PATCH", f"/persons/{s.person_of(openid)}", {"state": "deleted"})
    return lambda: s.wx.user_info(openid)


@case(48002, CUSTOM_SEND, UNSAFE)
def _refuses_messages(s: Stage) -> Attempt:
    openid = s.follower(writes=True)
    s.ctl("PATCH", f"/accounts/{s.appid}/followers/{openid}", {"refuses_messages": True})
    return lambda: s.wx.custom_send_text(openid, "hi")


@case(49003, USER_INFO, IDEMPOTENT, faulted=True)
def _openid_not_of_this_appid(s: Stage) -> Attempt:
    openid = s.follower()
    s.fault(49003, USER_INFO)
    return lambda: s.wx.user_info(openid)


@case(50002, CUSTOM_SEND, UNSAFE)
def _user_restricted(s: Stage) -> Attempt:
    openid = s.follower(writes=True)
    s.ctl("PATCH", f"/persons/{s.person_of(openid)}", {"state": "restricted"})
    return lambda: s.wx.custom_send_text(openid, "hi")


# -- tags ------------------------------------------------------------------------------------


@case(45056, TAGS_CREATE, UNSAFE)
def _too_many_tags(s: Stage) -> Attempt:
    for n in range(100):
        s.wx.tag_create(f"t{n}")
    return lambda: s.wx.tag_create("one too many")


@case(45057, TAGS_DELETE, IDEMPOTENT)
def _tag_too_big_to_delete(s: Stage) -> Attempt:
    tag = s.wx.tag_create("everyone")
    s.ctl("PATCH", f"/accounts/{s.appid}/tags/{tag['id']}", {"simulated_fans": 100_001})
    return lambda: s.wx.tag_delete(tag["id"])


@case(45058, TAGS_UPDATE, IDEMPOTENT)
def _system_tag(s: Stage) -> Attempt:
    return lambda: s.wx.tag_update(2, "renamed")


@case(45059, BATCHTAGGING, IDEMPOTENT)
def _twenty_tags_per_user(s: Stage) -> Attempt:
    openid = s.follower()
    for n in range(20):
        s.wx.tag_add_users(s.wx.tag_create(f"t{n}")["id"], [openid])
    extra = s.wx.tag_create("twenty-first")
    return lambda: s.wx.tag_add_users(extra["id"], [openid])


@case(45157, TAGS_CREATE, UNSAFE)
def _duplicate_tag_name(s: Stage) -> Attempt:
    s.wx.tag_create("VIP")
    return lambda: s.wx.tag_create("VIP")


@case(45158, TAGS_CREATE, UNSAFE)
def _tag_name_too_long(s: Stage) -> Attempt:
    return lambda: s.wx._post(TAGS_CREATE, {"tag": {"name": "x" * 31}}, safety=UNSAFE)


@case(45159, TAGS_DELETE, IDEMPOTENT)
def _no_such_tag(s: Stage) -> Attempt:
    return lambda: s.wx.tag_delete(12345)


# -- mass sends ------------------------------------------------------------------------------


@case(45065, MASS_SEND, DEDUPED)
def _already_sent(s: Stage) -> Attempt:
    openids = [s.follower(), s.follower()]
    s.wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-1")
    s.advance(61)
    return lambda: s.wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-1")


@case(45066, MASS_SEND, DEDUPED)
def _repeated_within_the_minute(s: Stage) -> Attempt:
    s.freeze()  # the client's wait passes, the platform's minute does not
    openids = [s.follower(), s.follower()]
    s.wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-1")
    return lambda: s.wx.mass_send_by_openids(openids, "text", TEXT, clientmsgid="batch-1")


@case(48001, SENDALL, DEDUPED)
def _not_verified(s: Stage) -> Attempt:
    unverified = make_account(s.sb, verified=False)
    return lambda: s.client(unverified).mass_send_by_tag(None, "text", TEXT)


@case(48004, CUSTOM_SEND, UNSAFE)
def _api_banned(s: Stage) -> Attempt:
    openid = s.follower(writes=True)
    s.patch_account(banned_apis=[CUSTOM_SEND])
    return lambda: s.wx.custom_send_text(openid, "hi")


# -- menus -----------------------------------------------------------------------------------


@case(65316, ADD_CONDITIONAL, UNSAFE)
def _four_domains(s: Stage) -> Attempt:
    s.wx.menu_create([{"type": "click", "name": "Hi", "key": "hi"}])
    links = [{"type": "view", "name": f"d{n}", "url": f"https://d{n}.example.com/"}
             for n in range(4)]
    return lambda: s.wx.menu_add_conditional([{"name": "Links", "sub_button": links}],
                                             {"tag_id": "2"})


@case(65320, ADD_CONDITIONAL, UNSAFE)
def _private_rule(s: Stage) -> Attempt:
    s.wx.menu_create([{"type": "click", "name": "Hi", "key": "hi"}])
    return lambda: s.wx.menu_add_conditional([{"type": "click", "name": "M", "key": "m"}],
                                             {"sex": "1"})


# -- the third-party platform ----------------------------------------------------------------


@case(42007, AUTHORIZER_TOKEN, IDEMPOTENT, faulted=True)
def _password_changed(s: Stage) -> Attempt:
    platform = s.platform()
    refresh = s.authorised(platform, [1, 2])
    s.fault(42007, AUTHORIZER_TOKEN)
    return lambda: platform.refresh_authorizer_token(s.appid, refresh)


@case(61003, AUTHORIZER_TOKEN, IDEMPOTENT)
def _authorisation_withdrawn(s: Stage) -> Attempt:
    platform = s.platform()
    refresh = s.authorised(platform, [1, 2])
    s.ctl("POST", f"/components/{COMPONENT}/unauthorize", {"appid": s.appid})
    return lambda: platform.refresh_authorizer_token(s.appid, refresh)


@case(61004, COMPONENT_TOKEN, IDEMPOTENT)
def _platform_ip_not_registered(s: Stage) -> Attempt:
    return s.platform(ip_whitelist=[ELSEWHERE]).component_token


@case(61005, COMPONENT_TOKEN, IDEMPOTENT)
def _ticket_expired(s: Stage) -> Attempt:
    platform = s.platform()
    s.advance(12 * 3600 + 1)
    return platform.component_token


@case(61006, COMPONENT_TOKEN, IDEMPOTENT)
def _ticket_invalid(s: Stage) -> Attempt:
    platform = s.platform()
    platform.get_ticket = lambda: "ticket@@@not-one-we-pushed"
    return platform.component_token


@case(61007, USER_INFO, IDEMPOTENT)
def _platform_lacks_the_bundle(s: Stage) -> Attempt:
    platform = s.platform(func_ids=[1])  # the platform holds message management only
    openid = s.follower()
    s.authorised(platform, [1, 2])
    wx = platform.authorizer_client(s.appid)
    return lambda: wx.user_info(openid)


@case(61023, AUTHORIZER_TOKEN, IDEMPOTENT)
def _refresh_token_void(s: Stage) -> Attempt:
    platform = s.platform()
    s.authorised(platform, [1, 2])
    return lambda: platform.refresh_authorizer_token(s.appid, "refreshtoken@@@void")


# -- customer-service accounts and sessions: not modelled, so faults on their endpoints -------

KF_ENDPOINTS = {
    65400: "/customservice/kfaccount/add",
    65401: "/customservice/kfsession/create",
    65402: "/customservice/kfsession/create",
    65403: "/customservice/kfaccount/add",
    65404: "/customservice/kfaccount/add",
    65405: "/customservice/kfaccount/add",
    65406: "/customservice/kfaccount/add",
    65407: "/customservice/kfaccount/inviteworker",
    65408: "/customservice/kfaccount/inviteworker",
    65409: "/customservice/kfaccount/inviteworker",
    65410: "/customservice/kfaccount/inviteworker",
    65411: "/customservice/kfaccount/inviteworker",
    65412: "/customservice/kfaccount/inviteworker",
    65413: "/customservice/kfsession/close",
    65414: "/customservice/kfsession/create",
    65415: "/customservice/kfsession/create",
}


def _kf_case(code: int, path: str) -> None:
    def produce(s: Stage) -> Attempt:
        s.fault(code, path)
        body = {"kf_account": "agent1@gh_sandbox", "openid": s.follower(),
                "invite_wx": "wxid_agent"}
        return lambda: s.wx._post(path, body, safety=UNSAFE)

    case(code, path, UNSAFE, faulted=True)(produce)


for _code, _path in KF_ENDPOINTS.items():
    _kf_case(_code, _path)


# -- the tests -------------------------------------------------------------------------------


def expected_action(code: int) -> Action:
    return DEFAULT_POLICY.action(outcome_for_errcode(code), CASES[code].safety)


@pytest.mark.parametrize("code", sorted(errors.REFERENCE_CODES))
def test_every_errcode_of_the_reference_happens_and_the_client_handles_it(
    sandbox: SandboxServer, code: int
) -> None:
    assert code in CASES, f"errcode {code}: the sandbox has no way to produce it"
    stage = Stage.make(sandbox)
    attempt = CASES[code].produce(stage)
    path = CASES[code].path
    made_before, slept_before = len(calls(sandbox, path)), len(stage.sleeps)
    action = expected_action(code)

    if action is Action.SUCCEED:
        answer = attempt()
        assert isinstance(answer, dict) and answer["already_sent"] is True
    else:
        with pytest.raises(errors.WeChatError) as caught:
            attempt()
        cls, reason = errors.ERRORS[code]
        assert type(caught.value) is cls
        assert (caught.value.errcode, caught.value.reason) == (code, reason)

    made = [c["errcode"] for c in calls(sandbox, path)[made_before:]]
    assert made == [code] * ATTEMPTS[action]
    slept = stage.sleeps[slept_before:]
    if action is Action.BACK_OFF:
        assert len(slept) == ATTEMPTS[action] - 1
    elif action is Action.WAIT_THEN_RETRY:
        assert slept == [DEFAULT_POLICY.too_soon_wait]
    else:
        assert slept == []


def test_only_the_references_codes_have_cases() -> None:
    assert set(CASES) <= errors.REFERENCE_CODES


def _readme_rows() -> dict[int, list[str]]:
    """The failure table of the sandbox README: errcode -> its cells."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Failures", 1)[1].split("\n## ", 1)[0]
    rows: dict[int, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or not re.match(r"^-?\d", cells[0]):
            continue
        for part in cells[0].split(","):
            bounds = [int(b) for b in re.findall(r"-?\d+", part.replace("–", " "))]
            codes = range(bounds[0], bounds[-1] + 1) if "–" in part else bounds
            for code in codes:
                assert code not in rows, f"errcode {code} twice in the README table"
                rows[code] = cells
    return rows


VERBS = {
    Action.RAISE: "raises",
    Action.BACK_OFF: "backs off",
    Action.REFRESH_TOKEN: "refreshes",
    Action.WAIT_THEN_RETRY: "waits",
    Action.SUCCEED: "succeeds",
}


def test_the_readme_failure_table_has_every_code_as_the_sandbox_and_client_treat_it() -> None:
    rows = _readme_rows()
    assert set(rows) == errors.REFERENCE_CODES
    for code, (_, _situation, produced, client) in rows.items():
        assert produced.startswith("fault") is CASES[code].faulted, (code, produced)
        action = expected_action(code)
        assert client.startswith(VERBS[action]), (code, client)
        if action is not Action.SUCCEED:
            assert errors.ERRORS[code][0].__name__ in client, (code, client)
