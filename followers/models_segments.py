"""segments models of the CRM (see followers/models.py): saved filters over followers."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, Membership

__all__: list[str] = ["Segment"]


class Segment(models.Model):
    """A saved filter over the brand's followers (followers.segments compiles it). It
    selects followers, one openid per account, which is what a broadcast sends to; its
    customers are counted beside them. The definition is validated on every write
    (followers.segments.definition_clean), so a stored one always compiles."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("name"), max_length=80)
    definition = models.JSONField(_("definition"), default=dict, blank=True)
    created_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    # The last count (by whoever counted last, within their scope): what the list shows
    # without counting every segment again.
    last_followers = models.PositiveIntegerField(null=True, blank=True)
    last_customers = models.PositiveIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="unique_segment_name")
        ]

    def __str__(self) -> str:
        return self.name
