"""identity models of the CRM (see followers/models.py): custom attributes, merges, dismissed
duplicate suggestions."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand

__all__: list[str] = ["CustomerAttribute", "CustomerMerge", "DuplicateDismissal"]


class CustomerAttribute(models.Model):
    """A brand-defined profile field; the values live in ``Customer.attributes[key]``."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="customer_attributes")
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=80)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer attribute")
        verbose_name_plural = _("customer attributes")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "key"], name="unique_customer_attribute_key")
        ]

    def __str__(self) -> str:
        return self.label or self.key


class CustomerMerge(models.Model):
    """The audit of a person's merge: ``merged`` went into ``kept``; ``moved`` says what moved
    (follower, activity, tag and conversation ids; attribute values and profile fields taken
    over; the notes appended), so ``customer_unmerge`` can put it back."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    kept = models.ForeignKey("followers.Customer", on_delete=models.CASCADE,
                             related_name="merges_kept")
    merged = models.ForeignKey("followers.Customer", on_delete=models.CASCADE,
                               related_name="merges_merged")
    by = models.ForeignKey("accounts.Membership", on_delete=models.SET_NULL, null=True,
                           blank=True, related_name="+")
    at = models.DateTimeField()
    moved = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey("accounts.Membership", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_id} -> {self.kept_id}"


class DuplicateDismissal(models.Model):
    """A person said these two customers are not the same; the pair is not suggested again.
    Stored with ``low`` < ``high`` (customer ids)."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    low = models.ForeignKey("followers.Customer", on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey("followers.Customer", on_delete=models.CASCADE, related_name="+")
    by = models.ForeignKey("accounts.Membership", on_delete=models.SET_NULL, null=True,
                           blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["low", "high"], name="one_dismissal_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.low_id}~{self.high_id}"
