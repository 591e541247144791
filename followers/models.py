"""The shared CRM: followers (one per account and openid) and the customers behind them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, OfficialAccount


class Customer(models.Model):
    """A brand-level person. Followers with the same unionid in one brand share one."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="customers")
    unionid = models.CharField(max_length=64, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    # Set when a person merged this customer into another (followers.merge); the row stays,
    # so an unmerge can bring it back with what it held.
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="absorbed"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "unionid"],
                condition=~models.Q(unionid=""),
                name="one_customer_per_unionid_per_brand",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"customer {self.pk}"


class Tag(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="unique_tag_name")]

    def __str__(self) -> str:
        return self.name


class AccountTag(models.Model):
    """A brand tag on one account: the id the platform gave the tag there (§8). Tags are
    created on an account on demand, the first time a follower of it gets the tag."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="account_tags")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE,
                                related_name="account_tags")
    wechat_id = models.PositiveIntegerField()
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tag", "account"], name="one_wechat_tag_per_account"),
            models.UniqueConstraint(fields=["account", "wechat_id"], name="unique_wechat_tag_id"),
        ]

    def __str__(self) -> str:
        return f"{self.tag_id}@{self.account_id}={self.wechat_id}"


class Campaign(models.Model):
    """What a set of parametric QR codes is for, with the channel that carries it."""

    class Channel(models.TextChoices):
        KOL = "kol", _("KOL")
        EVENT = "event", _("Event")
        GIVEAWAY = "giveaway", _("Giveaway")
        PRINT = "print", _("Print")
        AD = "ad", _("Ad")
        AGENCY = "agency", _("Agency")
        OTHER = "other", _("Other")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=80)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices,
                               default=Channel.OTHER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="unique_campaign_name")
        ]

    def __str__(self) -> str:
        return self.name


class QRCode(models.Model):
    """A parametric QR code of one account (§12): temporary (an expiry) or permanent
    (within the scene range). The scene is what the subscribe or SCAN event carries back."""

    class Kind(models.TextChoices):
        TEMPORARY = "temporary", _("Temporary")
        PERMANENT = "permanent", _("Permanent")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="qrcodes")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE,
                                related_name="qrcodes")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="qrcodes")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    scene = models.CharField(_("scene"), max_length=64)
    ticket = models.CharField(max_length=255, blank=True)
    url = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("QR code")
        verbose_name_plural = _("QR codes")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "scene"], name="one_qrcode_per_scene")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.scene}"


class Follower(models.Model):
    """One openid on one account. The reply window is tracked here because the platform
    keeps it per (account, follower): 5 sends within 48 h of the follower's last message,
    or 3 within a minute of a follow, a scan or a menu click."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="followers")
    account = models.ForeignKey(
        OfficialAccount, on_delete=models.CASCADE, related_name="followers"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="followers"
    )
    openid = models.CharField(max_length=64)
    unionid = models.CharField(max_length=64, blank=True, db_index=True)
    subscribed = models.BooleanField(_("following"), default=True)
    subscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    subscribe_scene = models.CharField(max_length=40, blank=True)
    qr_scene = models.CharField(_("QR scene"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    remark = models.CharField(_("remark"), max_length=30, blank=True)
    # user/info's sex: 0 unknown (what the platform answers since 2021), 1 male, 2 female
    gender = models.PositiveSmallIntegerField(_("gender"), default=0, db_default=0)
    # The campaign code of the follow that brought the follower (the latest follow), kept
    # at follow time since an unfollow event carries no scene.
    qrcode = models.ForeignKey(QRCode, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="followers")
    tags = models.ManyToManyField(Tag, blank=True, related_name="followers")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    location_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(_("last message"), null=True, blank=True)
    # The long window: opened by a message, 5 sends for 48 h.
    window_opened_at = models.DateTimeField(null=True, blank=True)
    window_sends = models.PositiveSmallIntegerField(default=0)
    # The short window: opened by a follow, scan or click, 3 sends for 1 minute.
    short_window_opened_at = models.DateTimeField(null=True, blank=True)
    short_window_sends = models.PositiveSmallIntegerField(default=0)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.UniqueConstraint(fields=["account", "openid"], name="one_follower_per_openid")
        ]
        indexes = [models.Index(fields=["brand", "unionid"])]

    def __str__(self) -> str:
        return f"{self.openid} @ {self.account_id}"


class FollowEvent(models.Model):
    class Kind(models.TextChoices):
        FOLLOW = "follow", _("Follow")
        UNFOLLOW = "unfollow", _("Unfollow")
        SCAN = "scan", _("Scan")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, related_name="+")
    follower = models.ForeignKey(Follower, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    scene = models.CharField(max_length=64, blank=True)
    ticket = models.CharField(max_length=255, blank=True)
    qrcode = models.ForeignKey(QRCode, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="events")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["account", "kind", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.scene}".strip()


class CustomerActivity(models.Model):
    """One line of a customer's timeline across accounts: follows, unfollows, scans, tag
    changes, merges, profile changes (conversations come from messaging's own rows). It
    moves with the customer's followers on a merge and back on an unmerge."""

    class Kind(models.TextChoices):
        FOLLOW = "follow", _("Followed")
        UNFOLLOW = "unfollow", _("Unfollowed")
        SCAN = "scan", _("Scanned a QR code")
        TAG_ADDED = "tag_added", _("Tag added")
        TAG_REMOVED = "tag_removed", _("Tag removed")
        MERGED = "merged", _("Merged")
        UNMERGED = "unmerged", _("Unmerged")
        UPDATED = "updated", _("Profile changed")
        LANGUAGE = "language", _("Language set")
        ERASED = "erased", _("Personal data erased")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="activities")
    follower = models.ForeignKey(Follower, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="activities")
    account = models.ForeignKey(OfficialAccount, on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # What changed, in plain values: {"tag": "VIP", "rule": 3}, {"fields": ["phone"]}, ...
    data = models.JSONField(default=dict, blank=True)
    by = models.ForeignKey("accounts.Membership", on_delete=models.SET_NULL, null=True,
                           blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d}"


# Each part of the CRM keeps its own models in a module of its own; they register here.
from followers.models_campaigns import *  # noqa: E402,F401,F403
from followers.models_identity import *  # noqa: E402,F401,F403
from followers.models_segments import *  # noqa: E402,F401,F403
from followers.models_sync import *  # noqa: E402,F401,F403
from followers.models_tags import *  # noqa: E402,F401,F403
