"""Connecting an account directly: callback secrets and the "test connection" check."""

import logging
import secrets
import time
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services
from accounts.models import OfficialAccount
from accounts.platform_errors import explain
from accounts.scope import Scope
from accounts.serializers import callback_url
from wechat import crypto
from wechat.errors import WeChatError, WeChatException

logger = logging.getLogger(__name__)


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


@dataclass
class ConnectionReport:
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def account_regenerate_secret(*, scope: Scope, account: OfficialAccount, which: str) -> str:
    """Generate a new callback token or EncodingAESKey; the old one stays valid for the
    grace period so callbacks already signed with it still verify. Returns the new value."""
    if which == "token":
        value = services.generate_callback_token()
    elif which == "encoding_aes_key":
        value = services.generate_encoding_aes_key()
    else:
        raise ValueError(which)
    services.account_update(scope=scope, account=account, **{which: value})
    return value


def _check_token(account: OfficialAccount) -> CheckResult:
    from accounts.wechat_clients import client_for

    name = _("Access token")
    try:
        client = client_for(account)
        client.access_token()
        # One cheap authenticated call proves the token is accepted, not just issued.
        client.quota_get("/cgi-bin/message/custom/send")
    except WeChatError as exc:
        what, fix = explain(exc.errcode, exc.errmsg)
        return CheckResult(name, False, f"{what} (errcode {exc.errcode})", fix)
    except WeChatException as exc:
        return CheckResult(name, False, _("WeChat could not be reached: %(e)s") % {"e": exc})
    return CheckResult(name, True, _("WeChat issued a token and accepted it."))


def _sandbox_trouble(
    name: str, account: OfficialAccount, control: str, exc: Exception
) -> CheckResult:
    """The sandbox could not run the check: a sentence and the fix for the admin, the
    exception (with its URL) for the log only."""
    logger.warning(
        "sandbox callback check failed",
        extra={"account_id": account.pk, "control": control, "error": str(exc)[:300]},
    )
    response = getattr(exc, "response", None)
    if response is not None and response.status_code == 404:
        return CheckResult(
            name, False,
            _("The WeChat sandbox has no account with the AppID %(appid)s.")
            % {"appid": account.appid},
            _("Check the AppID, or register the account on the sandbox first (the demo "
              "registers its own accounts; see wechat/sandbox/README.md)."),
        )
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return CheckResult(
            name, False, _("The WeChat sandbox does not answer."),
            _("Start it with \"python -m wechat.sandbox\" (make demo starts it), or check "
              "WECHAT_API_BASE."),
        )
    return CheckResult(
        name, False, _("The WeChat sandbox could not run the check."),
        _("Try again; if it keeps failing, the portal's log has the details."),
    )


def _check_callback(account: OfficialAccount) -> CheckResult:
    name = _("Callback URL")
    url = callback_url(account)
    if settings.WECHAT_SANDBOX:
        # Point the sandbox's copy of the account at our URL (what the admin pastes into
        # the WeChat admin), then let it verify the way WeChat does. The token is not
        # copied: a token that differs from the one WeChat has must fail this check.
        control = settings.WECHAT_API_BASE.rstrip("/") + "/_sandbox"
        try:
            requests.patch(
                f"{control}/accounts/{account.appid}",
                json={"callback_url": url, "message_mode": account.message_mode},
                timeout=5,
            ).raise_for_status()
            result = requests.post(f"{control}/accounts/{account.appid}/verify_url",
                                   timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            return _sandbox_trouble(name, account, control, exc)
        if result.get("ok"):
            return CheckResult(
                name, True, _("The platform called %(url)s and it answered correctly.")
                % {"url": url},
            )
        return CheckResult(
            name, False, result.get("error") or _("The callback did not answer."),
            _("Check that the token pasted in the WeChat admin is the one shown here."),
        )
    # Against the real platform we cannot make WeChat call us; sign the same request
    # WeChat would send and check our own URL answers it from the outside.
    # Now, not a fixed time: the callback refuses a timestamp outside its window.
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    echostr = "portal-check"
    params = {"signature": crypto.url_signature(account.token, timestamp, nonce),
              "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    try:
        response = requests.get(url, params=params, timeout=10)
    except requests.RequestException as exc:
        detail = _("%(url)s is not reachable: %(e)s") % {"url": url, "e": exc}
        return CheckResult(name, False, detail, _("Set SITE_URL to the portal's public address."))
    if response.status_code == 200 and response.text == echostr:
        return CheckResult(name, True, _("%(url)s answers signed requests.") % {"url": url})
    return CheckResult(name, False, _("%(url)s answered %(status)s.")
                       % {"url": url, "status": response.status_code})


def account_test_connection(*, scope: Scope, account: OfficialAccount) -> ConnectionReport:
    """Fetch a token and confirm a signed callback round trip. Admins only."""
    scope.require("accounts.manage")
    report = ConnectionReport()
    if account.connection == OfficialAccount.Connection.DIRECT and not account.app_secret:
        report.checks.append(CheckResult(
            _("Access token"), False, _("No AppSecret is stored yet."),
            _("Paste the AppSecret from Settings > Basic configuration."),
        ))
    else:
        report.checks.append(_check_token(account))
    # An authorized account's pushes reach the platform's message URL, signed with the
    # platform's token: it has no server configuration of its own to test.
    if account.connection == OfficialAccount.Connection.DIRECT:
        callback = _check_callback(account)
        report.checks.append(callback)
        if callback.ok:
            _record_test_callback(account)
    logger.info("connection tested", extra={"account_id": account.pk, "ok": report.ok})
    return report


def _record_test_callback(account: OfficialAccount) -> None:
    """The platform reached the callback URL and it answered: that is the account's last
    callback, marked as the test's until a real push comes (messaging/views.py moves
    last_callback_at alone, so the two differ from then on)."""
    account.last_callback_at = account.last_test_callback_at = timezone.now()
    # save(), not update(): the callback view's cached copy of the account must learn it.
    account.save(update_fields=["last_callback_at", "last_test_callback_at"])
