"""sync models of the CRM (see followers/models.py): one row per follower sync job of an
account, and what the last sync learned about each follower that the core model does not
hold (the sync that last listed it, its WeChat tag ids)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, Membership, OfficialAccount
from followers.models import Follower

__all__ = ["FollowerListing", "FollowerSync"]

# Kept on the job: the last errors, newest last.
LAST_ERRORS_KEPT = 20


class FollowerSync(models.Model):
    """One sync of one account's followers: the list (user/get, 10,000 a page), then the
    profiles (user/info/batchget, 100 a call), then the customers by unionid. The cursors
    are saved after every page and every profile batch, so a job goes on where it was."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        FULL = "full", _("Full")
        INCREMENTAL = "incremental", _("Incremental")

    class Phase(models.TextChoices):
        LIST = "list", _("Listing followers")
        RECONCILE = "reconcile", _("Marking who left")
        PROFILES = "profiles", _("Fetching profiles")
        LINK = "link", _("Linking customers")
        FINISHED = "finished", _("Finished")

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.PAUSED)

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE,
                                related_name="follower_syncs")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.QUEUED)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices,
                            default=Kind.FULL)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.LIST)
    # Why the job is paused or failed, in plain words.
    reason = models.TextField(_("reason"), blank=True)
    # The list's cursor: the next_openid the last saved page answered.
    next_openid = models.CharField(max_length=64, blank=True)
    list_total = models.PositiveIntegerField(null=True, blank=True)
    listed = models.PositiveIntegerField(default=0)
    created_followers = models.PositiveIntegerField(default=0)
    unsubscribed_followers = models.PositiveIntegerField(default=0)
    # The profiles' cursor: the last follower id whose batch was saved.
    profile_after_id = models.BigIntegerField(default=0)
    profiles_total = models.PositiveIntegerField(null=True, blank=True)
    profiles_done = models.PositiveIntegerField(default=0)
    linked = models.PositiveIntegerField(default=0)
    errors_count = models.PositiveIntegerField(default=0)
    last_errors = models.JSONField(default=list, blank=True)
    # Transient failures in a row (reset by progress); past the limit the job fails.
    retries = models.PositiveSmallIntegerField(default=0)
    started_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    # The worker holding the job, and when it last showed progress.
    lease = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    resume_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("follower sync")
        verbose_name_plural = _("follower syncs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status__in=["queued", "running", "paused"]),
                name="one_active_follower_sync_per_account",
            )
        ]
        indexes = [models.Index(fields=["brand", "-created_at"], name="follower_sync_brand")]

    def __str__(self) -> str:
        return f"sync {self.pk} of {self.account_id} ({self.status})"


class FollowerListing(models.Model):
    """What a sync last saw of a follower: the job that listed it (so the followers it did
    not list can be marked gone) and the WeChat tag ids of its profile (``tagid_list``, ids
    of that account's tags: the tags part maps them through AccountTag.wechat_id)."""

    follower = models.OneToOneField(Follower, on_delete=models.CASCADE, primary_key=True,
                                    related_name="listing")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, related_name="+")
    sync_id = models.BigIntegerField()
    tagid_list = models.JSONField(default=list, blank=True)
    tags_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "sync_id"], name="follower_listing_sync")]

    def __str__(self) -> str:
        return f"{self.follower_id} listed by {self.sync_id}"
