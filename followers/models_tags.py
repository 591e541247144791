"""tags models of the CRM (see followers/models.py): tag rules (keyword and behaviour) and
the tag changes still to make on WeChat's side (or refused there, with the reason)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, OfficialAccount

__all__: list[str] = ["TagRule", "TagSync"]


class TagRule(models.Model):
    """A rule that tags followers: on a keyword in an inbound text (kind keyword) or on what
    they did (kind behaviour). Rules are tried in ``position`` order; for keywords the first
    match acts. ``account`` empty: every account of the brand."""

    class Kind(models.TextChoices):
        KEYWORD = "keyword", _("Keyword")
        BEHAVIOUR = "behaviour", _("Behaviour")

    class Match(models.TextChoices):
        EXACT = "exact", _("Is exactly")
        CONTAINS = "contains", _("Contains")
        REGEX = "regex", _("Matches the pattern")

    class Behaviour(models.TextChoices):
        CAMPAIGN = "campaign", _("Came through a QR campaign")
        MENU_CLICK = "menu_click", _("Clicked a menu key")
        MESSAGES = "messages", _("Sent N messages in D days")
        INACTIVE = "inactive", _("Inactive for D days")
        MULTI_ACCOUNT = "multi_account", _("Follows two or more of the brand's accounts")

    class Language(models.TextChoices):
        SIMPLIFIED = "zh_CN", _("Simplified Chinese")
        TRADITIONAL = "zh_TW", _("Traditional Chinese")
        ENGLISH = "en", _("English")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="tag_rules")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, null=True,
                                blank=True, related_name="tag_rules")
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices,
                            default=Kind.KEYWORD)
    match = models.CharField(_("match"), max_length=10, choices=Match.choices,
                             default=Match.EXACT)
    pattern = models.CharField(_("pattern"), max_length=200, blank=True)
    behaviour = models.CharField(_("behaviour"), max_length=16, choices=Behaviour.choices,
                                 blank=True)
    campaign = models.ForeignKey("followers.Campaign", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="tag_rules")
    menu_key = models.CharField(_("menu key"), max_length=128, blank=True)
    count = models.PositiveIntegerField(_("messages"), null=True, blank=True)
    days = models.PositiveIntegerField(_("days"), null=True, blank=True)
    add_tags = models.ManyToManyField("followers.Tag", blank=True, related_name="rules_adding")
    remove_tags = models.ManyToManyField("followers.Tag", blank=True,
                                         related_name="rules_removing")
    set_language = models.CharField(_("set language"), max_length=8, choices=Language.choices,
                                    blank=True)
    # One text for everyone, or one per language ({"en": ..., "zh_CN": ..., "zh_TW": ...}).
    reply_text = models.TextField(_("reply"), blank=True)
    replies = models.JSONField(_("replies by language"), default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("tag rule")
        verbose_name_plural = _("tag rules")
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["brand", "kind", "is_active", "position"])]

    def __str__(self) -> str:
        return self.name


class TagSync(models.Model):
    """A follower's tag change the portal has made and WeChat has not (yet): pending until
    the push task makes it there, or failed with the platform's (or our limit check's)
    reason. The follower keeps the portal tag either way; a row is gone once WeChat agrees."""

    class Op(models.TextChoices):
        ADD = "add", _("Add")
        REMOVE = "remove", _("Remove")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        FAILED = "failed", _("Not on WeChat")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, related_name="+")
    follower = models.ForeignKey("followers.Follower", on_delete=models.CASCADE,
                                 related_name="tag_syncs")
    tag = models.ForeignKey("followers.Tag", on_delete=models.CASCADE, related_name="syncs")
    op = models.CharField(max_length=8, choices=Op.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    reason = models.CharField(max_length=255, blank=True)
    errcode = models.IntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "tag"], name="one_tag_sync_per_tag")
        ]
        indexes = [models.Index(fields=["account", "state"])]

    def __str__(self) -> str:
        return f"{self.op} {self.tag_id} on {self.follower_id}: {self.state}"
