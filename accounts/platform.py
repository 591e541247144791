"""The portal as an authorized third-party platform (docs/wechat.md §3.3).

An admin starts an authorization (a pre-auth code, a `PendingAuthorization` row, the
consent URL); the account's WeChat admin consents; the result comes back twice, by the
browser redirect and by the platform's `authorized` push, and whichever arrives first
exchanges the code and connects the account in the pending brand. The other finds the
pending row completed and does nothing. `unauthorized` pushes disconnect the account.
"""

import logging
import time
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.disconnect import account_mark_disconnected
from accounts.errors import Conflict, DomainError, InvalidInput
from accounts.models import (
    BRAND_WIDE_ROLES,
    Membership,
    OfficialAccount,
    PendingAuthorization,
    PlatformApp,
    User,
)
from accounts.scope import Scope
from accounts.wechat_clients import component_client
from wechat import crypto
from wechat.errors import ComponentTicketInvalid, WeChatException
from wechat.messages import InvalidMessage, XmlError, load_body, parse_envelope

logger = logging.getLogger(__name__)
PUSH_MAX_SKEW_SECONDS = 300

CONSENT_PATH = "/cgi-bin/componentloginpage"
SUCCESS = "success"
# service_type_info.id 2 is a service account; 0 and 1 are subscription accounts.
SERVICE_TYPE_SERVICE = 2
# verify_type_info.id -1 means not verified; every other value is some verification.
VERIFY_TYPE_NONE = -1


# --- errors -----------------------------------------------------------------------------


class PushRejected(DomainError):
    """A push to /wechat/platform/ that is refused before anything is stored."""

    status_code = 400
    default_message = gettext_lazy("The push was refused.")


class PushMalformed(PushRejected):
    default_message = gettext_lazy("The push is not a well-formed platform push.")


class PushSignatureInvalid(PushRejected):
    status_code = 403
    default_message = gettext_lazy("The push signature is not valid.")


class PushUndecryptable(PushRejected):
    default_message = gettext_lazy("The push could not be decrypted.")


class UnknownPlatform(PushRejected):
    status_code = 404
    default_message = gettext_lazy("The push is for an unknown platform.")


class ConnectedElsewhere(Conflict):
    # Which brand holds the account is not ours to tell.
    default_message = gettext_lazy(
        "This official account is already connected to the portal by another organisation. "
        "Ask the portal's operators if it should move."
    )


class PlatformUnavailable(DomainError):
    """WeChat refused or could not be reached; the message says what to do."""

    status_code = 502
    default_message = gettext_lazy("WeChat could not be reached. Try again in a minute.")


# --- reads ------------------------------------------------------------------------------


def platform_active() -> PlatformApp | None:
    """The platform the portal authorizes through (operators configure one)."""
    return PlatformApp.objects.filter(is_active=True).order_by("pk").first()


def pending_in_scope(*, scope: Scope) -> QuerySet[PendingAuthorization]:
    """Pending authorizations a request may complete: its own brand's only."""
    return PendingAuthorization.objects.filter(brand_id=scope.brand_id).select_related("platform")


# --- the push endpoint ------------------------------------------------------------------


def platform_receive_push(*, body: bytes, query: dict) -> str:
    """Verify, decrypt and apply one push to the authorization-event URL; answer `success`.

    Raises a PushRejected subclass (nothing stored) for a body that is malformed or
    hostile, a platform we do not know, a bad signature or an undecryptable payload.
    """
    timestamp, nonce = str(query.get("timestamp", "")), str(query.get("nonce", ""))
    signature = str(query.get("msg_signature", ""))
    if not (timestamp and nonce and signature):
        raise PushMalformed(_("The push lacks timestamp, nonce or msg_signature."))
    # A signed push stays valid forever, so an old one (say an `unauthorized` from before a
    # re-authorization) could be replayed; the platform's own pushes are always fresh.
    # isascii(): str.isdigit() also takes "³", which int() refuses.
    if not (timestamp.isascii() and timestamp.isdigit()) or (
        abs(time.time() - int(timestamp)) > PUSH_MAX_SKEW_SECONDS
    ):
        raise PushMalformed(_("The push's timestamp is too far from now."))
    try:
        envelope = parse_envelope(body, "xml")
    except (XmlError, InvalidMessage) as exc:
        raise PushMalformed(f"{PushMalformed.default_message} ({exc})") from exc
    # The envelope's AppId only picks the key to verify with; it is checked again inside.
    platform = PlatformApp.objects.filter(
        component_appid=envelope.app_id or "", is_active=True
    ).first()
    if platform is None:
        raise UnknownPlatform()
    try:
        mc = crypto.MessageCrypto(
            platform.token, platform.encoding_aes_key, platform.component_appid
        )
        plaintext = mc.verify_and_decrypt(
            msg_signature=signature, timestamp=timestamp, nonce=nonce, encrypt=envelope.encrypt
        )
    except crypto.InvalidSignature as exc:
        raise PushSignatureInvalid() from exc
    except crypto.CryptoError as exc:
        raise PushUndecryptable(f"{PushUndecryptable.default_message} ({exc})") from exc
    try:
        message = load_body(plaintext, "xml")
    except (XmlError, InvalidMessage) as exc:
        raise PushMalformed(f"{PushMalformed.default_message} ({exc})") from exc
    if message.get("AppId") != platform.component_appid:
        raise PushMalformed(_("The push names another platform inside than outside."))

    info_type = str(message.get("InfoType") or "")
    if info_type == "component_verify_ticket":
        platform_store_ticket(
            platform=platform, ticket=str(message.get("ComponentVerifyTicket") or "")
        )
    elif info_type in ("authorized", "updateauthorized"):
        _on_authorized(platform=platform, message=message)
    elif info_type == "unauthorized":
        account_disconnect(
            appid=str(message.get("AuthorizerAppid") or ""),
            reason=_("The account's administrator withdrew the authorization on WeChat."),
        )
    else:
        logger.info("platform push ignored", extra={"info_type": info_type[:40]})
    return SUCCESS


def platform_store_ticket(*, platform: PlatformApp, ticket: str) -> PlatformApp:
    """Keep the latest component_verify_ticket (the platform token is fetched with it)."""
    if not ticket:
        raise PushMalformed(_("The ticket push carries no ticket."))
    platform.verify_ticket = ticket
    platform.ticket_received_at = timezone.now()
    platform.save(update_fields=["verify_ticket", "ticket_received_at"])
    logger.info("component verify ticket stored", extra={"platform_id": platform.pk})
    return platform


def _on_authorized(*, platform: PlatformApp, message: dict) -> None:
    code = str(message.get("AuthorizationCode") or "")
    appid = str(message.get("AuthorizerAppid") or "")
    pre_auth_code = str(message.get("PreAuthCode") or "")
    if not code:
        raise PushMalformed(_("The authorization push carries no AuthorizationCode."))
    pending = PendingAuthorization.objects.filter(
        platform=platform, pre_auth_code=pre_auth_code
    ).first()
    brand_id = pending.brand_id if pending is not None else None
    if pending is None:
        # Not started here (or the row is gone). An account we already hold still gets its
        # new bundles: its admin may have changed them on WeChat's side.
        held = OfficialAccount.objects.filter(
            appid=appid, connection=OfficialAccount.Connection.PLATFORM
        ).first()
        if held is None:
            logger.warning(
                "authorization push without a pending authorization",
                extra={"platform_id": platform.pk, "appid": appid[:64]},
            )
            return
        brand_id = held.brand_id
    if OfficialAccount.objects.filter(appid=appid).exclude(brand_id=brand_id).exists():
        # Leave the code unused: the browser redirect then shows the admin the conflict.
        logger.warning(
            "authorization push for an account of another brand",
            extra={"brand_id": brand_id, "appid": appid[:64]},
        )
        return
    try:
        if pending is not None:
            authorization_complete(auth_code=code, pending=pending)
        else:
            with transaction.atomic():
                _connect(platform=platform, auth_code=code, brand_id=brand_id)
    except (DomainError, WeChatException) as exc:
        # Answering anything but success makes WeChat re-send a push whose code is
        # spent; the browser redirect reports the failure to the admin instead.
        logger.warning(
            "authorization push could not be completed",
            extra={"platform_id": platform.pk, "appid": appid[:64], "error": str(exc)[:200]},
        )


# --- starting and completing an authorization -------------------------------------------


def _consent_base_url() -> str:
    # ComponentClient.consent_url appends the page's path to its base.
    return settings.WECHAT_CONSENT_URL.rstrip("/").removesuffix(CONSENT_PATH)


def authorization_start(
    *, scope: Scope, platform: PlatformApp, redirect_uri: str, by: User
) -> tuple[PendingAuthorization, str]:
    """Get a pre-auth code for the scope's brand; returns the pending row and consent URL."""
    scope.require("accounts.manage")
    client = component_client(platform)
    client.consent_base_url = _consent_base_url()
    try:
        code = str(client.create_preauth_code()["pre_auth_code"])
    except ComponentTicketInvalid as exc:
        raise PlatformUnavailable(
            _(
                "WeChat has not sent the platform its verification ticket yet (it comes "
                "every 10 minutes). Try again in a few minutes."
            )
        ) from exc
    except WeChatException as exc:
        logger.warning("pre-auth code refused", extra={"error": str(exc)[:200]})
        raise PlatformUnavailable() from exc
    pending = PendingAuthorization.objects.create(
        brand=scope.brand, platform=platform, pre_auth_code=code, created_by=by
    )
    logger.info(
        "authorization started", extra={"brand_id": scope.brand_id, "pending_id": pending.pk}
    )
    return pending, client.consent_url(code, redirect_uri, auth_type=1)


def _bundle_ids(func_info: Any) -> list[int]:
    ids = set()
    for item in func_info or []:
        category = item.get("funcscope_category") if isinstance(item, dict) else None
        raw = str(category.get("id", "")) if isinstance(category, dict) else ""
        if raw.isascii() and raw.lstrip("-").isdigit():
            ids.add(int(raw))
    return sorted(ids)


def _type_id(info: dict, key: str) -> int | None:
    value = info.get(key)
    value = value.get("id") if isinstance(value, dict) else value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _connect(*, platform: PlatformApp, auth_code: str, brand_id: int) -> OfficialAccount:
    """Exchange the code and create or update the account in the brand.

    The caller holds a transaction; the account row is locked FOR UPDATE.
    """
    if not auth_code:
        raise InvalidInput(_("WeChat did not send an authorization code back."))
    client = component_client(platform)
    try:
        info = client.query_auth(auth_code)
        appid = str(info["authorizer_appid"])
        details = client.get_authorizer_info(appid).get("authorizer_info") or {}
    except WeChatException as exc:
        logger.warning(
            "authorization code exchange failed",
            extra={"brand_id": brand_id, "error": str(exc)[:200]},
        )
        raise InvalidInput(
            _("WeChat refused the authorization (the code may have expired). Start again.")
        ) from exc

    account = OfficialAccount.objects.select_for_update().filter(appid=appid).first()
    if account is not None and account.brand_id != brand_id:
        raise ConnectedElsewhere()
    if account is None:
        account = OfficialAccount(
            brand_id=brand_id,
            appid=appid,
            name=str(details.get("nick_name") or appid)[:120],
            message_mode=OfficialAccount.MessageMode.SAFE,
        )
    account.original_id = str(details.get("user_name") or account.original_id)[:64]
    service_type = _type_id(details, "service_type_info")
    if service_type is not None:
        account.kind = (
            OfficialAccount.Kind.SERVICE
            if service_type == SERVICE_TYPE_SERVICE
            else OfficialAccount.Kind.SUBSCRIPTION
        )
    verify_type = _type_id(details, "verify_type_info")
    if verify_type is not None:
        account.verified = verify_type != VERIFY_TYPE_NONE
    account.connection = OfficialAccount.Connection.PLATFORM
    account.granted_bundles = _bundle_ids(info.get("func_info"))
    account.authorizer_refresh_token = str(info.get("authorizer_refresh_token") or "")
    account.disconnected_at = None
    account.disconnect_reason = ""
    account.is_active = True
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        raise ConnectedElsewhere() from exc
    return account


def authorization_complete(*, auth_code: str, pending: PendingAuthorization) -> OfficialAccount:
    """Exchange the consent's code and connect the account in the pending brand.

    Idempotent: the pending row is locked FOR UPDATE, and a completed one returns its
    account without touching the code again (the other path got there first).
    """
    conflict: ConnectedElsewhere | None = None
    with transaction.atomic():
        pending = (
            PendingAuthorization.objects.select_for_update(of=("self",))
            .select_related("platform", "account")
            .get(pk=pending.pk)
        )
        if pending.completed_at is not None:
            if pending.account is None:
                raise Conflict(_("This authorization was completed but its account is gone."))
            return pending.account
        try:
            account = _connect(
                platform=pending.platform, auth_code=auth_code, brand_id=pending.brand_id
            )
        except ConnectedElsewhere as exc:
            # Commit anyway: consenting rotated the refresh token, and the exchange
            # stored the new one on the account's own row, which keeps it working.
            conflict = exc
        else:
            pending.completed_at = timezone.now()
            pending.account = account
            pending.save(update_fields=["completed_at", "account"])
            logger.info(
                "account connected by authorization",
                extra={
                    "brand_id": pending.brand_id,
                    "account_id": account.pk,
                    "bundles": account.granted_bundles,
                },
            )
            return account
    logger.warning(
        "authorization of an account held by another brand",
        extra={"brand_id": pending.brand_id, "pending_id": pending.pk},
    )
    raise conflict


# --- deauthorization ----------------------------------------------------------------------


@transaction.atomic
def account_disconnect(*, appid: str, reason: str) -> OfficialAccount | None:
    """Mark a platform-connected account disconnected and tell its brand's admins.

    The refresh token and bundles are cleared (they are void on WeChat's side anyway), the
    cached access token is dropped, and the admins are emailed once this commits.
    """
    account = (
        OfficialAccount.objects.select_for_update()
        .filter(appid=appid, connection=OfficialAccount.Connection.PLATFORM)
        .select_related("brand")
        .first()
    )
    if account is None:
        logger.info("deauthorization for an account we do not hold", extra={"appid": appid[:64]})
        return None
    if account.disconnected_at is not None:
        # Already disconnected (a repeated push, or a token failure after it): the admins
        # were told once.
        return account
    account_mark_disconnected(account=account, reason=reason)
    recipients = list(
        Membership.objects.filter(brand_id=account.brand_id, role__in=BRAND_WIDE_ROLES)
        .values_list("user__email", flat=True)
        .order_by("user__email")
    )
    link = settings.SITE_URL.rstrip("/") + f"/official-accounts/{account.pk}/"
    subject = _("%(account)s disconnected from the brand portal") % {"account": account.name}
    body = _(
        "%(reason)s\n\nThe portal can no longer receive or send messages for %(account)s. "
        "An admin can connect it again by authorization: %(link)s"
    ) % {"reason": account.disconnect_reason, "account": account.name, "link": link}
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                subject=subject, message=body, from_email=None, recipient_list=recipients
            )
        )
    logger.warning(
        "account disconnected", extra={"brand_id": account.brand_id, "account_id": account.pk}
    )
    return account
