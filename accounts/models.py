import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.crypto_fields import EncryptedTextField
from accounts.time_zones import validate_time_zone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]


class Brand(models.Model):
    """The tenant. Every row a user can see hangs off exactly one brand."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    require_mfa = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("Members must set up an authenticator app before using the portal."),
    )
    account_name_pattern = models.CharField(
        _("account naming convention"),
        max_length=200,
        blank=True,
        help_text=_("A regular expression every account name of the brand should match."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone],
        help_text=_("Times are shown in it to members who have not chosen their own."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OfficialAccount(models.Model):
    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Subscription account")
        SERVICE = "service", _("Service account")

    class Connection(models.TextChoices):
        DIRECT = "direct", _("Direct (AppID and AppSecret)")
        PLATFORM = "platform", _("Third-party platform authorization")

    class MessageMode(models.TextChoices):
        PLAIN = "plain", _("Plaintext")
        COMPATIBLE = "compatible", _("Compatible")
        SAFE = "safe", _("Safe (encrypted)")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(_("name"), max_length=120)
    original_id = models.CharField(
        _("original ID"), max_length=64, blank=True, help_text=_("Starts with gh_")
    )
    appid = models.CharField(_("AppID"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SERVICE)
    verified = models.BooleanField(_("verified"), default=False)
    is_flagship = models.BooleanField(_("flagship"), default=False)
    connection = models.CharField(
        _("connection"), max_length=20, choices=Connection.choices, default=Connection.DIRECT
    )
    message_mode = models.CharField(
        _("message mode"), max_length=20, choices=MessageMode.choices, default=MessageMode.SAFE
    )
    app_secret = EncryptedTextField(_("AppSecret"), blank=True, default="")
    token = EncryptedTextField(_("token"), blank=True, default="")
    encoding_aes_key = EncryptedTextField(_("EncodingAESKey"), blank=True, default="")
    # The token and key being replaced stay valid for a grace period after a change.
    previous_token = EncryptedTextField(blank=True, default="")
    previous_encoding_aes_key = EncryptedTextField(blank=True, default="")
    previous_secrets_valid_until = models.DateTimeField(null=True, blank=True)
    granted_bundles = models.JSONField(_("granted permission bundles"), default=list, blank=True)
    # Third-party platform connections renew their token through this refresh token.
    authorizer_refresh_token = EncryptedTextField(blank=True, default="")
    disconnected_at = models.DateTimeField(_("disconnected"), null=True, blank=True)
    disconnect_reason = models.CharField(max_length=255, blank=True)
    # A mirror of the cached access token's life, for the health page (never the token).
    token_fetched_at = models.DateTimeField(_("token fetched"), null=True, blank=True)
    token_expires_at = models.DateTimeField(_("token expires"), null=True, blank=True)
    token_error = models.CharField(_("token refresh error"), max_length=255, blank=True)
    token_error_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_callback_at = models.DateTimeField(_("last callback"), null=True, blank=True)
    # When "test connection" last had the platform call us: that call counts as a
    # callback, and last_callback_at equal to it means no real push came since.
    last_test_callback_at = models.DateTimeField(_("last test callback"), null=True, blank=True)
    last_error_code = models.IntegerField(_("last platform error"), null=True, blank=True)
    last_error_message = models.CharField(max_length=255, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("official account")
        verbose_name_plural = _("official accounts")
        ordering = ["-is_flagship", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand"],
                condition=models.Q(is_flagship=True),
                name="one_flagship_per_brand",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_credentials(self) -> bool:
        if self.connection == self.Connection.PLATFORM:
            return bool(self.granted_bundles)
        return bool(self.app_secret)

    @property
    def last_callback_was_test(self) -> bool:
        """True while the last callback on record is the connection test's."""
        return self.last_callback_at is not None and (
            self.last_callback_at == self.last_test_callback_at
        )

    @property
    def health(self) -> str:
        """One word for the brand home: not_connected, error, waiting or ok."""
        if not self.is_active or not self.has_credentials or self.disconnected_at:
            return "not_connected"
        if self.token_error_at and (
            not self.token_fetched_at or self.token_error_at >= self.token_fetched_at
        ):
            return "error"
        if self.last_error_at and (
            not self.last_callback_at or self.last_error_at >= self.last_callback_at
        ):
            return "error"
        if not self.last_callback_at:
            return "waiting"
        return "ok"


class Team(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=120)
    accounts = models.ManyToManyField(
        OfficialAccount,
        blank=True,
        related_name="teams",
        verbose_name=_("accounts"),
        help_text=_("The accounts this team answers for; none means every account."),
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    is_central = models.BooleanField(
        _("central care team"),
        default=False,
        help_text=_("Covers off-hours and languages the local teams lack."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="unique_team_name_per_brand")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")


# Roles that see every account of the brand whatever their served accounts say.
BRAND_WIDE_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(models.Model):
    class Presence(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    accounts = models.ManyToManyField(
        OfficialAccount,
        blank=True,
        related_name="memberships",
        verbose_name=_("served accounts"),
        help_text=_("None means all accounts of the brand."),
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="members")
    languages = models.JSONField(_("languages"), default=list, blank=True)
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=5, help_text=_("Concurrent conversations.")
    )
    presence = models.CharField(
        _("presence"), max_length=10, choices=Presence.choices, default=Presence.OFFLINE
    )
    display_name = models.CharField(
        _("customer-facing name"), max_length=80, blank=True, help_text=_("For example Lily")
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone],
        help_text=_("Where times are shown in; blank: the brand's."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["brand", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "brand"], name="one_membership_per_brand")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.brand} ({self.role})"

    @property
    def is_brand_wide(self) -> bool:
        return self.role in BRAND_WIDE_ROLES


def _invite_expiry() -> "timezone.datetime":
    return timezone.now() + timedelta(days=7)


class Invitation(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    accounts = models.ManyToManyField(OfficialAccount, blank=True, verbose_name=_("accounts"))
    token_hash = models.CharField(max_length=64, unique=True)
    # Who sent it: a member, or else the brand API key an integration called with.
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    invited_by_key = models.ForeignKey(
        "ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("invited with API key"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invite_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.brand}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class ApiKey(models.Model):
    """A brand-scoped key for integrations. Only its hash is stored; it is shown once."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PlatformApp(models.Model):
    """The portal's own third-party platform registration (operators configure it).

    Not tenant data: one platform serves every brand that authorizes through it.
    """

    component_appid = models.CharField(_("component AppID"), max_length=64, unique=True)
    component_appsecret = EncryptedTextField(_("component AppSecret"))
    token = EncryptedTextField(_("message token"))
    encoding_aes_key = EncryptedTextField(_("message EncodingAESKey"))
    verify_ticket = EncryptedTextField(blank=True, default="")
    ticket_received_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("third-party platform")
        verbose_name_plural = _("third-party platforms")

    def __str__(self) -> str:
        return self.component_appid


class PendingAuthorization(models.Model):
    """A pre-auth code handed to a brand admin, so the authorization that comes back
    (by browser redirect or by the platform's `authorized` push, whichever is first)
    lands in the right brand."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    platform = models.ForeignKey(PlatformApp, on_delete=models.CASCADE, related_name="+")
    pre_auth_code = models.CharField(max_length=255, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    account = models.ForeignKey(
        OfficialAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.brand} · {self.pre_auth_code[:12]}…"


class BusinessHours(models.Model):
    """The weekly opening hours of one official account or one team.

    ``week`` holds seven lists (Monday first) of [opens, closes] in minutes since
    midnight, closes after opens and at most 1440 (24:00): an evening that runs past
    midnight is two intervals, one on each day. Reading them is accounts/business_hours.py.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="business_hours")
    account = models.OneToOneField(
        OfficialAccount, on_delete=models.CASCADE, null=True, blank=True,
        related_name="business_hours", verbose_name=_("official account"),
    )
    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, null=True, blank=True,
        related_name="business_hours", verbose_name=_("team"),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone],
        help_text=_("Empty: the account's time zone, or the brand's for a team."),
    )
    week = models.JSONField(_("weekly hours"), default=list, blank=True)
    observe_cn_holidays = models.BooleanField(
        _("mainland China public holidays"), default=True,
        help_text=_("Closed on public holidays; open on their make-up working days with "
                    "Monday's hours."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(account__isnull=False, team__isnull=True)
                           | models.Q(account__isnull=True, team__isnull=False)),
                name="business_hours_account_xor_team",
            )
        ]

    def __str__(self) -> str:
        return str(self.account or self.team)


class BrandClosure(models.Model):
    """Days a brand is closed on its own account (a refit, a company day): every account,
    or only the ones listed. Teams follow the closures that cover every account."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="closures")
    name = models.CharField(_("name"), max_length=120)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    accounts = models.ManyToManyField(
        OfficialAccount, blank=True, related_name="closures", verbose_name=_("accounts"),
        help_text=_("None means every account of the brand."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["starts_on", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                   name="closure_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.name
