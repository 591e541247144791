"""Serializers of the CRM's campaigns part (names prefixed Crm: unique project-wide)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.serializers import StrictInput
from followers.campaigns import MAX_TEMPORARY_DAYS
from followers.models import Campaign, CrmRetention, QRCode


@extend_schema_field({"type": "string", "pattern": "^(temporary|permanent)$",
                      "description": "temporary or permanent"})
class CrmQRCodeKindField(serializers.ChoiceField):
    # Described by a pattern, not an enum: drf-spectacular names every enum by its field's
    # name, and other parts' "kind" choice sets would collide with this one (W001).

    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=QRCode.Kind.choices, **kwargs)


class CrmCampaignSerializer(serializers.ModelSerializer):
    follows = serializers.IntegerField(read_only=True, default=0,
                                       help_text=_("Follows through the campaign's codes."))
    scans = serializers.IntegerField(read_only=True, default=0,
                                     help_text=_("Scans by people who already followed."))

    class Meta:
        model = Campaign
        fields = ["id", "name", "channel", "follows", "scans", "created_at"]
        read_only_fields = ["id", "follows", "scans", "created_at"]


class CrmCampaignWriteSerializer(StrictInput, serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["name", "channel"]
        extra_kwargs = {"channel": {"required": False}}
        validators: list = []  # the service answers a duplicate name with 409


class CrmQRCodeSerializer(serializers.ModelSerializer):
    png = serializers.SerializerMethodField(help_text=_("The poster PNG's address."))
    kind = CrmQRCodeKindField(read_only=True)

    class Meta:
        model = QRCode
        fields = ["id", "campaign", "account", "kind", "scene", "url", "expires_at",
                  "created_at", "png"]
        read_only_fields = fields

    def get_png(self, obj: QRCode) -> str:
        return f"/api/v1/qrcodes/{obj.pk}/png/"


class CrmQRCodeCreateSerializer(StrictInput, serializers.Serializer):
    campaign = serializers.IntegerField(help_text=_("The campaign's id."))
    account = serializers.IntegerField(help_text=_("The account the code is for."))
    kind = CrmQRCodeKindField(help_text=_("temporary (with an expiry) or permanent."))
    scene = serializers.CharField(
        max_length=64, help_text=_("1..100000 (permanent) or any 32-bit positive number "
                                   "(temporary), or a text of 1 to 64 characters."))
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        max_value=MAX_TEMPORARY_DAYS,
        help_text=_("Temporary codes only: 1 to 30 days (default 30)."))


class CrmRetentionRowSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField(allow_null=True,
                                           help_text=_("None: follows through no campaign."))
    campaign = serializers.CharField()
    channel = serializers.CharField()
    follow_date = serializers.DateField(help_text=_("In the account's time zone."))
    gained = serializers.IntegerField()
    still_following = serializers.IntegerField()
    unfollowed = serializers.IntegerField()
    unfollowed_in_period = serializers.IntegerField()


class CrmRetentionTotalsSerializer(serializers.Serializer):
    gained = serializers.IntegerField()
    still_following = serializers.IntegerField()
    unfollowed = serializers.IntegerField()
    unfollowed_in_period = serializers.IntegerField()


# One report object, which drf-spectacular would draw as an array on the list action.
@extend_schema_serializer(many=False)
class CrmRetentionReportSerializer(serializers.Serializer):
    date_from = serializers.DateField(help_text=_("The period's first day."))
    date_to = serializers.DateField(help_text=_("The period's last day (included)."))
    rows = CrmRetentionRowSerializer(many=True)
    totals = CrmRetentionTotalsSerializer()


class CrmRetentionSettingSerializer(StrictInput, serializers.ModelSerializer):
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                           help_text=_("null until the setting is first saved."))

    class Meta:
        model = CrmRetention
        fields = ["erase_after_days", "updated_at"]
        read_only_fields = ["updated_at"]
