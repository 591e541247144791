"""QR campaigns: campaigns, their parametric QR codes (made on the platform, §9) and the
attribution of follows and scans to them.

A campaign is brand-wide; a QR code belongs to one account and one campaign. Writing
takes an owner, admin or manager (the "teams.manage" capability), and a manager only
makes codes for the accounts they serve. Attribution happens at follow time (an
unfollow carries no scene): ``qrcode_for_scene`` is what ingestion asks.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import feature_enabled
from accounts.errors import Conflict, InvalidInput
from accounts.models import OfficialAccount
from accounts.scope import Scope
from accounts.wechat_clients import client_for
from followers.models import Campaign, CrmRetention, FollowEvent, QRCode
from wechat.client.qrcode import MAX_PERMANENT_SCENE_ID, MAX_TEMPORARY_SECONDS
from wechat.errors import DailyLimitReached, RequestValidationError, TransportError, WeChatError

logger = logging.getLogger(__name__)

MAX_TEMPORARY_DAYS = MAX_TEMPORARY_SECONDS // 86400  # 30
SCENE_MAX = 64
# Routing's transfer invitations use scenes of their own (routing.account_paths); they are
# never campaign codes, so a campaign scene may not take their prefix.
RESERVED_PREFIXES = ("xfer_",)


# -- selectors ---------------------------------------------------------------------------


def campaign_list(*, scope: Scope) -> QuerySet[Campaign]:
    return Campaign.objects.filter(brand_id=scope.brand_id)


def campaign_list_with_counts(*, scope: Scope) -> QuerySet[Campaign]:
    """Campaigns with follows, scans and codes counted (on the accounts in scope)."""
    on = Q(qrcodes__events__account__in=scope.accounts())
    return campaign_list(scope=scope).annotate(
        follows=Count("qrcodes__events", filter=on & Q(qrcodes__events__kind="follow")),
        scans=Count("qrcodes__events", filter=on & Q(qrcodes__events__kind="scan")),
    ).order_by("name")


def qrcode_list(*, scope: Scope) -> QuerySet[QRCode]:
    return QRCode.objects.filter(brand_id=scope.brand_id, account__in=scope.accounts())


def campaign_counts(*, scope: Scope, campaign: Campaign) -> dict[str, int]:
    """Follows and scans through the campaign's codes, and its codes (accounts in scope)."""
    events = FollowEvent.objects.filter(
        brand_id=scope.brand_id, qrcode__campaign=campaign, account__in=scope.accounts())
    counted = events.aggregate(
        follows=Count("pk", filter=Q(kind=FollowEvent.Kind.FOLLOW)),
        scans=Count("pk", filter=Q(kind=FollowEvent.Kind.SCAN)),
    )
    counted["qrcodes"] = qrcode_list(scope=scope).filter(campaign=campaign).count()
    return counted


def qrcode_for_scene(*, account_id: int, scene: str | None,
                     ticket: str | None = None) -> QRCode | None:
    """The campaign code a subscribe or SCAN event came through, by ticket, else by scene;
    None for a plain follow or a scene that is not a campaign's (a transfer invitation)."""
    if not scene and not ticket:
        return None
    codes = QRCode.objects.filter(account_id=account_id)
    if ticket:
        found = codes.filter(ticket=ticket).first()
        if found is not None:
            return found
    if scene:
        return codes.filter(scene=scene[:SCENE_MAX]).first()
    return None


# -- campaigns ---------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the campaign a name."), fields={"name": [_("Required.")]})
    return name[:80]


def _channel(channel: str) -> str:
    if channel not in Campaign.Channel.values:
        raise InvalidInput(_("Choose one of the channels."), fields={"channel": [
            _("Choose one of the channels.")]})
    return channel


def campaign_create(*, scope: Scope, name: str, channel: str = Campaign.Channel.OTHER
                    ) -> Campaign:
    scope.require("teams.manage")
    try:
        with transaction.atomic():
            return Campaign.objects.create(brand_id=scope.brand_id, name=_clean_name(name),
                                           channel=_channel(channel))
    except IntegrityError as exc:
        raise Conflict(_("A campaign with this name exists already.")) from exc


def campaign_update(*, scope: Scope, campaign: Campaign, name: str | None = None,
                    channel: str | None = None) -> Campaign:
    scope.require("teams.manage")
    if name is not None:
        campaign.name = _clean_name(name)
    if channel is not None:
        campaign.channel = _channel(channel)
    try:
        with transaction.atomic():
            campaign.save(update_fields=["name", "channel"])
    except IntegrityError as exc:
        raise Conflict(_("A campaign with this name exists already.")) from exc
    return campaign


def campaign_delete(*, scope: Scope, campaign: Campaign) -> None:
    """Deletes the campaign and its codes; follows keep their rows (their code is unset)."""
    scope.require("teams.manage")
    if not scope.is_brand_wide and campaign.qrcodes.exclude(
            account__in=scope.accounts()).exists():
        raise Conflict(_("This campaign has QR codes on accounts you do not manage; an "
                         "owner or admin can delete it."))
    campaign.delete()


# -- QR codes ----------------------------------------------------------------------------


def _scene_of(kind: str, scene: str) -> int | str:
    scene = (scene or "").strip()
    bad = {"scene": [_("Give a number or a text of 1 to 64 characters.")]}
    if not scene or len(scene) > SCENE_MAX:
        raise InvalidInput(_("The scene must be 1 to 64 characters."), fields=bad)
    if scene.startswith(RESERVED_PREFIXES):
        raise InvalidInput(_("Scenes starting with %(prefix)s are reserved for transfer "
                             "invitations.") % {"prefix": RESERVED_PREFIXES[0]}, fields=bad)
    if scene.isdigit():
        number = int(scene)
        top = MAX_PERMANENT_SCENE_ID if kind == QRCode.Kind.PERMANENT else 2**31 - 1
        if not 1 <= number <= top:
            raise InvalidInput(
                _("A numeric scene must be from 1 to %(top)s for this kind of code.")
                % {"top": f"{top:,}"},
                fields={"scene": [_("Out of range.")]})
        return number
    return scene


def qrcode_create(*, scope: Scope, campaign: Campaign, account: OfficialAccount, kind: str,
                  scene: str, expires_in_days: int | None = None) -> QRCode:
    """Make the code on the platform, then keep it. Temporary codes last 1 to 30 days
    (the platform's maximum); permanent ones have no expiry, and a numeric scene must
    be 1..100 000 (a text scene 1..64 characters)."""
    scope.require("teams.manage")
    if campaign.brand_id != scope.brand_id or account.brand_id != scope.brand_id or (
            not scope.serves(account.pk)):
        raise InvalidInput(_("The account and the campaign must be the brand's."))
    if kind not in QRCode.Kind.values:
        raise InvalidInput(_("Choose temporary or permanent."),
                           fields={"kind": [_("Choose temporary or permanent.")]})
    value = _scene_of(kind, scene)
    seconds = None
    if kind == QRCode.Kind.TEMPORARY:
        days = MAX_TEMPORARY_DAYS if expires_in_days is None else expires_in_days
        if not 1 <= days <= MAX_TEMPORARY_DAYS:
            raise InvalidInput(
                _("A temporary code lasts 1 to %(days)s days.") % {"days": MAX_TEMPORARY_DAYS},
                fields={"expires_in_days": [_("Out of range.")]})
        seconds = days * 86400
    elif expires_in_days is not None:
        raise InvalidInput(_("A permanent code has no expiry."),
                           fields={"expires_in_days": [_("A permanent code has no expiry.")]})
    if QRCode.objects.filter(account=account, scene=str(value)).exists():
        raise Conflict(_("This account has a QR code with this scene already."))
    if not feature_enabled(account, "qrcodes"):
        raise Conflict(_("%(account)s cannot make QR codes (a verified service account "
                         "can).") % {"account": account.name})
    client = client_for(account)
    try:
        if seconds is None:
            answer = client.qrcode_create_permanent(value)
        else:
            answer = client.qrcode_create_temporary(value, expire_seconds=seconds)
    except DailyLimitReached as exc:
        logger.warning("qrcode quota reached", extra={"account_id": account.pk})
        raise Conflict(_("%(account)s has used up today's QR code quota (errcode 45009); "
                         "try again tomorrow.") % {"account": account.name}) from exc
    except RequestValidationError as exc:
        raise InvalidInput(str(exc)) from exc
    except (WeChatError, TransportError) as exc:
        logger.warning("qrcode create failed", extra={"account_id": account.pk,
                                                      "reason": str(exc)})
        code = getattr(exc, "errcode", None)
        suffix = f" (errcode {code})" if code is not None else ""
        raise Conflict(_("WeChat did not make the QR code: %(reason)s") % {
            "reason": f"{exc.reason}{suffix}"}) from exc
    now = timezone.now()
    expires = None
    if seconds is not None:
        expires = now + timedelta(seconds=int(answer.get("expire_seconds") or seconds))
    try:
        with transaction.atomic():
            made = QRCode.objects.create(
                brand_id=scope.brand_id, account=account, campaign=campaign, kind=kind,
                scene=str(value), ticket=str(answer.get("ticket") or "")[:255],
                url=str(answer.get("url") or "")[:255], expires_at=expires)
    except IntegrityError as exc:
        raise Conflict(_("This account has a QR code with this scene already.")) from exc
    logger.info("qrcode created", extra={"qrcode_id": made.pk, "campaign_id": campaign.pk})
    return made


def qrcode_delete(*, scope: Scope, qrcode: QRCode) -> None:
    """Forget a code here (the platform keeps it: a permanent code cannot be revoked);
    follows keep their rows, without the code."""
    scope.require("teams.manage")
    qrcode.delete()


# -- the retention setting (followers.erasure) -------------------------------------------


def crm_retention_for(*, scope: Scope) -> CrmRetention:
    """The brand's setting; a brand that never saved one has the default (30 days)."""
    found = CrmRetention.objects.filter(brand_id=scope.brand_id).first()
    return found or CrmRetention(brand_id=scope.brand_id)


def crm_retention_update(*, scope: Scope, erase_after_days: int) -> CrmRetention:
    """Owners and admins of the whole brand (the setting covers every account)."""
    scope.require("accounts.manage")
    if not scope.is_brand_wide:
        raise Conflict(_("The retention setting covers every account of the brand; an owner "
                         "or admin of the whole brand can change it."))
    if not 0 <= erase_after_days <= 3650:
        raise InvalidInput(_("Give 0 (never) to 3650 days."),
                           fields={"erase_after_days": [_("Give 0 (never) to 3650 days.")]})
    row, _created = CrmRetention.objects.update_or_create(
        brand_id=scope.brand_id, defaults={"erase_after_days": erase_after_days})
    logger.info("retention setting changed", extra={"brand_id": scope.brand_id,
                                                   "days": erase_after_days})
    return row
