"""campaigns models of the CRM (see followers/models.py): the brand's retention setting."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand

__all__: list[str] = ["CrmRetention"]

DEFAULT_ERASE_DAYS = 30


class CrmRetention(models.Model):
    """How long a customer's personal profile fields outlive their last unfollow
    (followers.erasure). 0 keeps them (the brand erases by hand); a brand without a row
    erases after DEFAULT_ERASE_DAYS days."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="crm_retention")
    erase_after_days = models.PositiveIntegerField(
        _("erase personal data after (days)"), default=DEFAULT_ERASE_DAYS,
        validators=[MaxValueValidator(3650)],
        help_text=_("Days after a customer's last unfollow; 0 never erases."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("CRM retention setting")

    def __str__(self) -> str:
        return f"{self.brand_id}: {self.erase_after_days} d"
