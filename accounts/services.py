"""Writes for brands, accounts, members, teams and API keys.

Plain functions with keyword-only arguments; views, serializers, admin actions and
commands call these and hold no logic of their own.
"""

import logging
import re
import secrets
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import events
from accounts.errors import Conflict, InvalidInput, NotInScope, RoleRequired
from accounts.models import (
    ApiKey,
    Brand,
    Invitation,
    Membership,
    OfficialAccount,
    Role,
    Team,
    User,
    hash_token,
    new_raw_token,
)
from accounts.scope import Scope
from accounts.time_zones import is_time_zone, time_zone_error

logger = logging.getLogger(__name__)

SECRET_GRACE_PERIOD = timedelta(hours=24)
_ALNUM = string.ascii_letters + string.digits
APPID_RE = re.compile(r"^wx[0-9a-f]{16}$")
ORIGINAL_ID_RE = re.compile(r"^gh_[0-9a-zA-Z]{6,32}$")
ENCODING_AES_KEY_RE = re.compile(r"^[A-Za-z0-9]{43}$")
CALLBACK_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{3,32}$")


def generate_callback_token() -> str:
    # The platform accepts 3-32 letters and digits.
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def generate_encoding_aes_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(43))


# --- brands -----------------------------------------------------------------------------


@transaction.atomic
def brand_create(*, name: str, slug: str, owner: User) -> Brand:
    brand = Brand.objects.create(name=name, slug=slug)
    Membership.objects.create(user=owner, brand=brand, role=Role.OWNER)
    logger.info("brand created", extra={"brand_id": brand.pk, "by": owner.pk})
    return brand


def brand_update_settings(
    *, scope: Scope, require_mfa: bool, account_name_pattern: str = "",
    time_zone: str | None = None,
) -> Brand:
    scope.require("brand.settings")
    if time_zone is not None:
        _check_time_zone(time_zone)
    if account_name_pattern:
        try:
            re.compile(account_name_pattern)
        except re.error as exc:
            message = _("The naming convention is not a valid pattern.")
            raise InvalidInput(message, fields={"account_name_pattern": [message]}) from exc
    brand = scope.brand
    brand.require_mfa = require_mfa
    brand.account_name_pattern = account_name_pattern
    if time_zone is not None:
        brand.time_zone = time_zone
    brand.save(update_fields=["require_mfa", "account_name_pattern", "time_zone"])
    return brand


def _check_time_zone(value: str, *, blank: bool = False) -> None:
    """A brand's or member's zone is one `zoneinfo` loads; a member's may be blank (their
    brand's)."""
    if not (blank and value == "") and not is_time_zone(value):
        message = time_zone_error(value)
        raise InvalidInput(message, fields={"time_zone": [message]})


# --- official accounts ------------------------------------------------------------------

ACCOUNT_FIELDS = (
    "name",
    "original_id",
    "appid",
    "kind",
    "verified",
    "is_flagship",
    "connection",
    "message_mode",
    "timezone",
    "languages",
    "address",
    "phone",
    "is_active",
)
SECRET_FIELDS = ("app_secret", "token", "encoding_aes_key")


def account_input_errors(data: dict) -> dict[str, list[str]]:
    """Every field of an account's input that breaks a rule, with the reason: all of them at
    once, so a form can show each beside its field. Fields not given are not checked."""
    errors: dict[str, list[str]] = {}
    if "appid" in data and not APPID_RE.match(data["appid"] or ""):
        errors["appid"] = [_("An AppID is 'wx' followed by 16 hexadecimal characters.")]
    if data.get("original_id") and not ORIGINAL_ID_RE.match(data["original_id"]):
        errors["original_id"] = [_("An original ID starts with 'gh_'.")]
    key = data.get("encoding_aes_key")
    if key and not ENCODING_AES_KEY_RE.match(key):
        errors["encoding_aes_key"] = [_("An EncodingAESKey is 43 letters and digits.")]
    token = data.get("token")
    if token and not CALLBACK_TOKEN_RE.match(token):
        errors["token"] = [_("A token is 3 to 32 letters and digits.")]
    if "timezone" in data and not is_time_zone(data["timezone"]):
        errors["timezone"] = [time_zone_error(data["timezone"])]
    return errors


def _validate_account(data: dict) -> None:
    if errors := account_input_errors(data):
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms), fields=errors)


def _appid_taken() -> Conflict:
    message = _("An account with this AppID is already connected.")
    return Conflict(message, fields={"appid": [message]})


@transaction.atomic
def account_create(*, scope: Scope, **data: object) -> OfficialAccount:
    """Create an account; a token and EncodingAESKey are generated when not given."""
    scope.require("accounts.manage")
    _validate_account(data)
    fields = {k: data[k] for k in ACCOUNT_FIELDS if k in data}
    account = OfficialAccount(brand=scope.brand, **fields)
    account.app_secret = str(data.get("app_secret") or "")
    account.token = str(data.get("token") or generate_callback_token())
    account.encoding_aes_key = str(data.get("encoding_aes_key") or generate_encoding_aes_key())
    if account.is_flagship:
        scope.brand.accounts.filter(is_flagship=True).update(is_flagship=False)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        raise _appid_taken() from exc
    logger.info("account created", extra={"brand_id": scope.brand_id, "account_id": account.pk})
    return account


@transaction.atomic
def account_update(*, scope: Scope, account: OfficialAccount, **data: object) -> OfficialAccount:
    """Change an account. Secrets left blank keep their value; a changed token or
    EncodingAESKey keeps the old one valid for SECRET_GRACE_PERIOD so callbacks in
    flight still verify."""
    scope.require("accounts.manage")
    if account.brand_id != scope.brand_id:
        raise NotInScope()
    _validate_account(data)
    for key in ACCOUNT_FIELDS:
        if key in data:
            setattr(account, key, data[key])
    if data.get("app_secret"):
        account.app_secret = str(data["app_secret"])
        if account.connection == OfficialAccount.Connection.DIRECT:
            # A new AppSecret is how a disconnected direct account connects again.
            account.disconnected_at = None
            account.disconnect_reason = ""
    rotating = (("token", "previous_token"), ("encoding_aes_key", "previous_encoding_aes_key"))
    for key, previous in rotating:
        new = data.get(key)
        if new and new != getattr(account, key):
            setattr(account, previous, getattr(account, key))
            setattr(account, key, str(new))
            account.previous_secrets_valid_until = timezone.now() + SECRET_GRACE_PERIOD
    if account.is_flagship:
        scope.brand.accounts.filter(is_flagship=True).exclude(pk=account.pk).update(
            is_flagship=False
        )
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        raise _appid_taken() from exc
    return account


def account_name_violations(*, scope: Scope) -> list[OfficialAccount]:
    """Accounts whose names break the brand's naming convention."""
    pattern = scope.brand.account_name_pattern
    if not pattern:
        return []
    rx = re.compile(pattern)
    return [a for a in scope.accounts() if not rx.fullmatch(a.name)]


# --- members and invitations ------------------------------------------------------------


def role_grant_errors(*, scope: Scope, role: str) -> dict[str, list[str]]:
    """Whether the scope may give this role (only an owner makes owners), in the shape of
    account_input_errors, so a form reports it with its other fields."""
    if role == Role.OWNER and scope.role != Role.OWNER:
        return {"role": [_("Only an owner can make someone an owner.")]}
    return {}


def _check_role_change(*, scope: Scope, role: str) -> None:
    scope.require("members.manage")
    if errors := role_grant_errors(scope=scope, role=role):
        raise RoleRequired(errors["role"][0], fields=errors)


def _accounts_in_scope(scope: Scope, account_ids: list[int]) -> list[OfficialAccount]:
    accounts = list(scope.accounts().filter(pk__in=account_ids))
    if len(accounts) != len(set(account_ids)):
        raise NotInScope()
    return accounts


@transaction.atomic
def invitation_create(
    *, scope: Scope, email: str, role: str, account_ids: list[int], by: User | None
) -> tuple[Invitation, str]:
    """Invite someone by email. Returns the invitation and the raw token (mailed, not kept).

    Signed by `by`, or else by the scope's API key (an integration has no user)."""
    _check_role_change(scope=scope, role=role)
    # Named now, inside the transaction: the mail goes after commit, when a failure could
    # no longer undo the row.
    key = scope.api_key if by is None else None
    who = by.get_full_name() if by else key.name if key else scope.brand.name
    email = email.strip().lower()
    if Membership.objects.filter(brand=scope.brand, user__email__iexact=email).exists():
        message = _("This person is already a member of the brand.")
        raise Conflict(message, fields={"email": [message]})
    raw = new_raw_token("inv")
    # One open invitation per address: inviting again sends it again, with a new link and
    # expiry and the role and accounts asked for now. The old link stops working (only its
    # hash is kept, so it cannot be mailed again). The brand row lock queues two invitations
    # sent at once (a double click), so the second finds the first's row.
    Brand.objects.select_for_update().get(pk=scope.brand_id)
    pending = Invitation.objects.filter(
        brand=scope.brand, email__iexact=email, accepted_at__isnull=True
    ).order_by("-created_at")
    invitation = pending.first()
    if invitation is None:
        invitation = Invitation.objects.create(
            brand=scope.brand, email=email, role=role, token_hash=hash_token(raw), invited_by=by,
            invited_by_key=key,
        )
    else:
        pending.exclude(pk=invitation.pk).delete()  # duplicates left from before this rule
        invitation.role, invitation.token_hash, invitation.invited_by = role, hash_token(raw), by
        invitation.invited_by_key = key
        invitation.expires_at = Invitation._meta.get_field("expires_at").get_default()
        invitation.save(
            update_fields=["role", "token_hash", "invited_by", "invited_by_key", "expires_at"]
        )
    invitation.accounts.set(_accounts_in_scope(scope, account_ids))
    link = settings.SITE_URL.rstrip("/") + reverse("invitation_accept", args=[raw])
    transaction.on_commit(
        lambda: send_mail(
            subject=_("You are invited to %(brand)s on the brand portal")
            % {"brand": scope.brand.name},
            message=_("%(who)s invited you as %(role)s. Accept here: %(link)s")
            % {"who": who, "role": invitation.get_role_display(), "link": link},
            from_email=None,
            recipient_list=[email],
        )
    )
    logger.info("invitation sent", extra={"brand_id": scope.brand_id, "role": role})
    return invitation, raw


def invitation_by_token(*, raw_token: str) -> Invitation:
    invitation = Invitation.objects.filter(token_hash=hash_token(raw_token)).first()
    if invitation is None or not invitation.is_open:
        raise NotInScope(_("This invitation is not valid any more."))
    return invitation


@transaction.atomic
def invitation_accept(*, raw_token: str, user: User) -> Membership:
    invitation = invitation_by_token(raw_token=raw_token)
    if invitation.email.lower() != user.email.lower():
        raise InvalidInput(_("This invitation was sent to another email address."))
    membership, _created = Membership.objects.get_or_create(
        user=user, brand=invitation.brand, defaults={"role": invitation.role}
    )
    membership.accounts.set(invitation.accounts.all())
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    logger.info("invitation accepted", extra={"brand_id": invitation.brand_id, "user": user.pk})
    return membership


@transaction.atomic
def membership_update(
    *,
    scope: Scope,
    membership: Membership,
    role: str,
    account_ids: list[int],
    capacity: int | None = None,
    languages: list[str] | None = None,
    display_name: str | None = None,
    team_ids: list[int] | None = None,
    time_zone: str | None = None,
) -> Membership:
    _check_role_change(scope=scope, role=role)
    if time_zone is not None:
        _check_time_zone(time_zone, blank=True)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.brand_id != scope.brand_id:
        raise NotInScope()
    if membership.role == Role.OWNER and scope.role != Role.OWNER:
        raise RoleRequired(_("Only an owner can change an owner."))
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    if capacity is not None:
        membership.capacity = capacity
    if languages is not None:
        membership.languages = languages
    if display_name is not None:
        membership.display_name = display_name
    if time_zone is not None:
        membership.time_zone = time_zone
    membership.save()
    membership.accounts.set(_accounts_in_scope(scope, account_ids))
    if team_ids is not None:
        teams = list(Team.objects.filter(brand_id=scope.brand_id, pk__in=team_ids))
        if len(teams) != len(set(team_ids)):
            raise NotInScope()
        membership.teams.set(teams)
    _announce_member(membership, change="profile")
    return membership


def _ensure_another_owner(membership: Membership) -> None:
    others = Membership.objects.filter(brand_id=membership.brand_id, role=Role.OWNER).exclude(
        pk=membership.pk
    )
    if not others.exists():
        message = _("A brand needs at least one owner.")
        raise Conflict(message, fields={"role": [message]})


@transaction.atomic
def membership_remove(*, scope: Scope, membership: Membership) -> None:
    scope.require("members.manage")
    if membership.brand_id != scope.brand_id:
        raise NotInScope()
    if membership.role == Role.OWNER:
        if scope.role != Role.OWNER:
            raise RoleRequired(_("Only an owner can remove an owner."))
        _ensure_another_owner(membership)
    membership.delete()


def membership_set_presence(*, membership: Membership, presence: str) -> Membership:
    if presence not in Membership.Presence.values:
        raise InvalidInput(_("Unknown presence."))
    previous = membership.presence
    membership.presence = presence
    membership.save(update_fields=["presence"])
    if previous != presence:
        _announce_member(membership, change="presence", previous_presence=previous)
    return membership


def _announce_member(membership: Membership, *, change: str,
                     previous_presence: str | None = None) -> None:
    """Tell routing (above) that a member's presence or profile changed: a queue may drain,
    or an agent going offline may hand conversations back."""
    events.announce("member.changed", {
        "brand_id": membership.brand_id, "membership_id": membership.pk,
        "presence": membership.presence,
        "previous_presence": previous_presence or membership.presence, "change": change,
    })


def membership_set_time_zone(*, scope: Scope, time_zone: str) -> Membership:
    """The signed-in member's own zone ("" = their brand's); nobody else's."""
    membership = scope.membership
    if membership is None:
        raise NotInScope()
    _check_time_zone(time_zone, blank=True)
    membership.time_zone = time_zone
    membership.save(update_fields=["time_zone"])
    return membership


# --- teams ------------------------------------------------------------------------------


def team_input_errors(
    *, scope: Scope, name: str, account_ids: list[int], team: Team | None = None
) -> dict[str, list[str]]:
    """Every rule a team's input breaks, beside its field: a manager's team stays inside
    the accounts they manage, and names are unique in the brand."""
    errors: dict[str, list[str]] = {}
    if not scope.is_brand_wide and not account_ids:
        errors["accounts"] = [_("Choose the accounts this team answers for.")]
    others = Team.objects.filter(brand_id=scope.brand_id, name=name)
    if team is not None:
        others = others.exclude(pk=team.pk)
    if name and others.exists():
        errors["name"] = [_("A team with this name exists.")]
    return errors


def _check_team_input(**kwargs: object) -> None:
    errors = team_input_errors(**kwargs)
    message = " ".join(m for ms in errors.values() for m in ms)
    # A missing account choice is bad input; a taken name alone is a conflict (409).
    if "accounts" in errors:
        raise InvalidInput(message, fields=errors)
    if errors:
        raise Conflict(message, fields=errors)


@transaction.atomic
def team_create(
    *,
    scope: Scope,
    name: str,
    account_ids: list[int],
    languages: list[str] | None = None,
    is_central: bool = False,
) -> Team:
    scope.require("teams.manage")
    _check_team_input(scope=scope, name=name, account_ids=account_ids)
    team = Team.objects.create(
        brand=scope.brand, name=name, languages=languages or [], is_central=is_central
    )
    team.accounts.set(_accounts_in_scope(scope, account_ids))
    return team


@transaction.atomic
def team_update(
    *,
    scope: Scope,
    team: Team,
    name: str,
    account_ids: list[int],
    languages: list[str] | None = None,
    is_central: bool = False,
) -> Team:
    scope.require("teams.manage")
    if team.brand_id != scope.brand_id:
        raise NotInScope()
    _check_team_within_reach(scope=scope, team=team)
    _check_team_input(scope=scope, name=name, account_ids=account_ids, team=team)
    team.name = name
    team.languages = languages or []
    team.is_central = is_central
    team.save()
    team.accounts.set(_accounts_in_scope(scope, account_ids))
    return team


def team_delete(*, scope: Scope, team: Team) -> None:
    scope.require("teams.manage")
    if team.brand_id != scope.brand_id:
        raise NotInScope()
    _check_team_within_reach(scope=scope, team=team)
    team.delete()


def _check_team_within_reach(*, scope: Scope, team: Team) -> None:
    """A manager changes only teams inside the accounts they manage, as they create them.
    A manager sees a team that also answers for other accounts (or for every account, when
    it has none) and may read it, but changing or deleting it would take those accounts'
    queue away from whoever manages them."""
    if scope.is_brand_wide:
        return
    covered = set(team.accounts.values_list("pk", flat=True))
    if not covered or not covered <= scope.account_ids:
        raise RoleRequired(
            _("This team also answers for accounts you do not manage; an owner or admin can "
              "change it.")
        )


# --- API keys ---------------------------------------------------------------------------


def api_key_create(*, brand: Brand, name: str, by: User | None = None) -> tuple[ApiKey, str]:
    """Create a key. The raw key is returned once and never stored."""
    if not name.strip():
        raise InvalidInput(_("Give the key a name."))
    raw = new_raw_token("bp")
    key = ApiKey.objects.create(
        brand=brand, name=name.strip(), prefix=raw[:10], key_hash=hash_token(raw), created_by=by
    )
    logger.info("api key created", extra={"brand_id": brand.pk, "key_id": key.pk})
    return key, raw


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    key = (
        ApiKey.objects.select_related("brand")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if key is not None:
        now = timezone.now()
        # Touch at most once a minute so a busy integration does not write on every call.
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_revoke(*, scope: Scope, key: ApiKey) -> ApiKey:
    scope.require("api_keys.manage")
    if key.brand_id != scope.brand_id:
        raise NotInScope()
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


# --- access tokens ----------------------------------------------------------------------
# The token itself lives in the cache (accounts.tokens); the row mirrors its life for the
# health page. Written with .update() because workers race on these rows.


def account_record_token(*, account_id: int, fetched_at: datetime, expires_at: datetime) -> None:
    OfficialAccount.objects.filter(pk=account_id).update(
        token_fetched_at=fetched_at, token_expires_at=expires_at, token_error=""
    )


def account_record_token_error(*, account_id: int, errcode: int | None, message: str) -> None:
    now = timezone.now()
    OfficialAccount.objects.filter(pk=account_id).update(
        token_error=message[:255],
        token_error_at=now,
        last_error_code=errcode,
        last_error_message=message[:255],
    )
    logger.warning("token refresh failed", extra={"account_id": account_id, "errcode": errcode})
