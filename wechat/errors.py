"""Errors raised by the WeChat client.

Every platform answer with a non-zero ``errcode`` becomes a ``WeChatError`` subclass chosen
from ``ERRORS``, one table of errcode -> (class, plain English reason). Callers catch the
class (``OutsideWindow``, ``NotFollowing``...) and show ``error.reason`` to people; the raw
``errmsg`` stays available for logs. Network trouble, 5xx answers and unreadable bodies are
``TransportError``s, which carry whether the request may have reached the platform: that is
what decides if a send can be repeated safely (see ``wechat.client.retry``).
"""

from __future__ import annotations


class WeChatException(Exception):
    """Root of everything this package raises about talking to WeChat."""


class WeChatError(WeChatException):
    """The platform answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, path: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        super().__init__(errcode, errmsg, path)

    @property
    def reason(self) -> str:
        """A sentence for people; falls back to the platform's errmsg for unknown codes."""
        known = ERRORS.get(self.errcode)
        return known[1] if known else (self.errmsg or f"WeChat error {self.errcode}")

    def __str__(self) -> str:
        where = f" on {self.path}" if self.path else ""
        return f"{self.reason} (errcode {self.errcode}: {self.errmsg!r}{where})"


class BusyError(WeChatError):
    """-1: the platform is busy; the request was not processed."""


class TokenError(WeChatError):
    """The access token was rejected: wrong secret, superseded or expired."""


class ConfigurationError(WeChatError):
    """AppID/AppSecret/grant type wrong: retrying cannot help, a person must fix settings."""


class IpNotWhitelisted(WeChatError):
    """The calling server's IP is not on the account's (or platform's) allow-list."""


class RateLimited(WeChatError):
    """Called too often (per minute) or the API's daily quota is used up."""


class DailyLimitReached(RateLimited):
    """45009: the daily call quota for this API is used up; only tomorrow or clear_quota helps."""


class OutsideWindow(WeChatError):
    """45015: the follower has not interacted recently enough for a customer-service send."""


class SendLimitReached(WeChatError):
    """45047: the sends allowed in the current interaction window are used up."""


class NotFollowing(WeChatError):
    """43004: the recipient does not (or no longer) follow the account."""


class RecipientRefused(WeChatError):
    """The recipient blocked the account, refused its messages or is restricted."""


class InvalidOpenid(WeChatError):
    """The openid does not belong to this account (often another account's openid)."""


class UserNotFound(WeChatError):
    """46004: no such user."""


class QuotaExhausted(WeChatError):
    """45028: the account has no mass-send quota left."""


class ClientMsgIdExists(WeChatError):
    """45065: a mass send with this clientmsgid was already accepted (within 24 h)."""


class ClientMsgIdRetryTooSoon(WeChatError):
    """45066: the same clientmsgid was sent less than a minute ago.

    The platform knows the id, so the broadcast was most likely accepted, but the answer
    carries no msg_id and is not proof. The client waits the minute out and repeats the
    call itself (``RetryPolicy.too_soon_wait``): 45065 then confirms it with the msg_id,
    a success means the first one had not gone through. Raised only when that repeat is
    answered 45066 again, or the policy forbids the wait; the caller then repeats the same
    call, with the same clientmsgid, a minute or more later.
    """


class TagLimit(WeChatError):
    """Tag rules: count, size, system tags, name length/duplicates."""


class ApiUnauthorized(WeChatError):
    """The account (or the third-party platform) lacks the permission for this API."""


class QuotaResetRefused(WeChatError):
    """48006: the month's 10 quota resets (``clear_quota``) are used up."""


class RefreshTokenInvalid(WeChatError):
    """61023: the authorizer refresh token is void; re-fetch it or ask for re-authorisation."""


class ComponentTicketInvalid(WeChatError):
    """61005/61006: the component_verify_ticket is expired or wrong; wait for the next push."""


class InvalidRequest(WeChatError):
    """The request itself is malformed (a bug on our side or bad input)."""


class MenuError(InvalidRequest):
    """The menu definition or match rule was refused."""


class TemplateError(InvalidRequest):
    """Template id unknown or template data refused."""


class TypingRefused(WeChatError):
    """The typing indicator could not be shown (no recent interaction, already on...)."""


class KfError(WeChatError):
    """Customer-service account, invitation or session errors (65400-65415)."""


class TransportError(WeChatException):
    """Network failure, 5xx answer or unreadable body: the platform gave no errcode.

    ``maybe_sent`` is False only when the request provably never left (connection refused,
    DNS failure, connect timeout). Anything later -- a read timeout, a reset, a 502 -- may
    have been processed, so a send must not be repeated blindly.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        status: int | None = None,
        maybe_sent: bool = True,
    ) -> None:
        self.path = path
        self.status = status
        self.maybe_sent = maybe_sent
        super().__init__(message)

    @property
    def reason(self) -> str:
        return "WeChat could not be reached or answered with an error page; try again later"


class DownloadRefused(WeChatException):
    """A media URL the platform handed out answered 4xx (expired, unknown) or the file is
    larger than we keep: final, not worth trying again."""


class RequestValidationError(WeChatException, ValueError):
    """Refused on our side before calling WeChat (a batch too big, a span too long...)."""


# errcode -> (class, reason for people). Reasons are written for the portal's users: they
# say what happened and, when there is one, what to do.
ERRORS: dict[int, tuple[type[WeChatError], str]] = {
    -1: (BusyError, "WeChat is busy right now; try again in a moment"),
    40001: (
        TokenError,
        "the access token was rejected (wrong AppSecret, or a newer token replaced it)",
    ),
    40014: (TokenError, "the access token is not valid"),
    42001: (TokenError, "the access token has expired"),
    41001: (ConfigurationError, "the request carried no access token"),
    40002: (ConfigurationError, "invalid grant_type"),
    40013: (ConfigurationError, "the AppID is not valid: check the account settings"),
    40125: (ConfigurationError, "the AppSecret is not valid: check the account settings"),
    40164: (
        IpNotWhitelisted,
        "the server's IP is not on the account's IP allow-list: add it under "
        "Settings > Basic configuration",
    ),
    61004: (
        IpNotWhitelisted,
        "the server's IP is not on the third-party platform's IP allow-list: add it in the "
        "platform's settings on open.weixin.qq.com",
    ),
    89501: (
        IpNotWhitelisted,
        "this server's IP is waiting for an administrator's confirmation in WeChat",
    ),
    89502: (IpNotWhitelisted, "an administrator has not yet confirmed this server's IP"),
    89503: (
        IpNotWhitelisted,
        "calls from this server's IP need an administrator's confirmation: WeChat has asked "
        "the administrator",
    ),
    89506: (
        IpNotWhitelisted,
        "an administrator refused this server's IP twice in 24 hours: it is blocked for a day",
    ),
    89507: (
        IpNotWhitelisted,
        "an administrator refused this server's IP: it is blocked for an hour",
    ),
    45009: (DailyLimitReached, "the daily call limit for this WeChat API is used up"),
    45011: (RateLimited, "WeChat is being called too often; slow down"),
    45015: (OutsideWindow, "outside the 48-hour window: the follower must write first"),
    45047: (
        SendLimitReached,
        "the reply limit for this conversation window is used up: wait for the follower "
        "to write again",
    ),
    43004: (NotFollowing, "the follower has unfollowed"),
    43019: (RecipientRefused, "the follower has blocked the account"),
    48002: (RecipientRefused, "the follower has turned off messages from the account"),
    50002: (RecipientRefused, "the follower's WeChat account is restricted"),
    40003: (InvalidOpenid, "this openid does not belong to the account"),
    49003: (InvalidOpenid, "this openid does not belong to the account"),
    46004: (UserNotFound, "no such WeChat user"),
    45028: (QuotaExhausted, "the account has no broadcast quota left for this period"),
    45065: (ClientMsgIdExists, "this broadcast was already sent"),
    45066: (
        ClientMsgIdRetryTooSoon,
        "this broadcast was submitted moments ago; check again in a minute",
    ),
    45067: (InvalidRequest, "the broadcast id (clientmsgid) is longer than 64 bytes"),
    40032: (InvalidRequest, "the list of followers has the wrong size for this call"),
    40033: (InvalidRequest, "the request contains characters WeChat refuses"),
    40036: (TemplateError, "the template id has the wrong length"),
    40037: (TemplateError, "the template id is not valid"),
    40007: (InvalidRequest, "the media id is not valid"),
    40092: (InvalidRequest, "the remark must be under 30 bytes (about 10 Chinese characters)"),
    # Not in the reference's tables; developers report it past the permanent QR cap
    # (secondary: the sandbox README's Interpretations).
    45029: (InvalidRequest, "the account has reached its 100,000 permanent QR codes"),
    45083: (InvalidRequest, "the broadcast speed must be between 0 and 4"),
    45084: (InvalidRequest, "the broadcast speed is missing"),
    45056: (TagLimit, "the account already has the maximum of 100 tags"),
    45057: (TagLimit, "the tag has more than 100,000 followers: untag them before deleting"),
    45058: (TagLimit, "system tags cannot be changed"),
    45059: (TagLimit, "a follower can carry at most 20 tags"),
    45157: (TagLimit, "a tag with this name already exists, or the name is not allowed"),
    45158: (TagLimit, "the tag name is longer than 30 characters"),
    45159: (TagLimit, "the tag does not exist"),
    45072: (TypingRefused, "invalid typing command"),
    45080: (TypingRefused, "the follower has not interacted in the last 30 seconds"),
    45081: (TypingRefused, "the typing indicator is already on"),
    48001: (ApiUnauthorized, "the account has not been granted this permission"),
    48004: (ApiUnauthorized, "this API is banned for the account: see mp.weixin.qq.com"),
    48006: (QuotaResetRefused, "the 10 quota resets of this month are used up"),
    61003: (ApiUnauthorized, "the account has not authorised the platform"),
    61007: (ApiUnauthorized, "this API is not granted to the third-party platform"),
    61005: (ComponentTicketInvalid, "the component ticket has expired: wait for the next one"),
    61006: (ComponentTicketInvalid, "the component ticket is not valid: wait for the next one"),
    61023: (
        RefreshTokenInvalid,
        "the account's authorisation is no longer valid: ask its admin to authorise again",
    ),
    42007: (
        RefreshTokenInvalid,
        "the WeChat user changed their password, which voided the authorisation: ask for "
        "it again",
    ),
    65316: (MenuError, "conditional menus may link to at most three domains"),
    65320: (MenuError, "conditional menus may only match on tag or platform"),
    65400: (KfError, "the new customer-service feature is not enabled"),
    65401: (KfError, "the customer-service account is not valid"),
    65402: (KfError, "the customer-service account is not bound to a WeChat user"),
    65403: (KfError, "the customer-service nickname is not allowed"),
    65404: (KfError, "the customer-service account name is not allowed"),
    65405: (KfError, "the account already has the maximum number of customer-service accounts"),
    65406: (KfError, "this customer-service account already exists"),
    65407: (KfError, "the invited WeChat user is already an agent of this account"),
    65408: (KfError, "this WeChat user already has an invitation from the account"),
    65409: (KfError, "the WeChat id is not valid"),
    65410: (KfError, "the invited WeChat user is already an agent of five accounts"),
    65411: (KfError, "the customer-service account already has an invitation waiting"),
    65412: (KfError, "the customer-service account is already bound to a WeChat user"),
    65413: (KfError, "the follower has no customer-service session"),
    65414: (KfError, "the follower is being served by another agent"),
    65415: (KfError, "the customer-service agent is offline"),
}


# Every errcode docs/wechat.md names: the §12 table and the codes of §3-§11
# and §13 (40033 from the introduction, 89503 from §3.1). Each one has a class in ERRORS,
# a way for the sandbox to produce it (tests/wechat/test_every_errcode.py) and a row in the
# sandbox README's failure table. Not errcodes, so not here: the ``err(NNNNN)`` review
# statuses of MASSSENDJOBFINISH (§5.6).
REFERENCE_CODES: frozenset[int] = frozenset({
    -1,
    40001, 40002, 40003, 40013, 40014, 40032, 40033, 40036, 40037, 40092, 40125, 40164,
    41001, 42001, 42007, 43004, 43019,
    45009, 45011, 45015, 45028, 45047,
    45056, 45057, 45058, 45059, 45157, 45158, 45159,
    45065, 45066, 45067, 45072, 45080, 45081, 45083, 45084,
    46004, 48001, 48002, 48004, 48006, 49003, 50002,
    61003, 61004, 61005, 61006, 61007, 61023,
    65316, 65320, *range(65400, 65416),
    89501, 89502, 89503, 89506, 89507,
})


def error_for(errcode: int, errmsg: str, path: str | None = None) -> WeChatError:
    """The typed exception for an errcode (plain ``WeChatError`` when the code is unknown)."""
    cls = ERRORS.get(errcode, (WeChatError, ""))[0]
    return cls(errcode, errmsg, path)
