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
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["account", "kind", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.scene}".strip()
