"""REST shapes of the CRM's identity part. Names are prefixed (Crm...) to stay unique."""

from __future__ import annotations

from rest_framework import serializers

from accounts.serializers import StrictInput
from followers.models import Customer, CustomerAttribute, CustomerMerge, Follower
from followers.names import person_display_name


class CrmCustomerFollowerSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    campaign = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Follower
        fields = ["id", "account", "account_name", "openid", "subscribed", "subscribed_at",
                  "unsubscribed_at", "remark", "campaign", "tags"]
        read_only_fields = fields

    def get_campaign(self, obj: Follower) -> str | None:
        qrcode = obj.qrcode
        return qrcode.campaign.name if qrcode is not None else None

    def get_tags(self, obj: Follower) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class CrmCustomerSerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()
    followers = serializers.SerializerMethodField()
    # Text as stored: "" when unknown (the model's EmailField would promise an address).
    email = serializers.CharField(read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "display_name", "name", "phone", "email", "notes", "language",
                  "unionid", "attributes", "merged_into", "followers", "created_at",
                  "updated_at"]
        read_only_fields = fields

    def _followers(self, obj: Customer) -> list[Follower]:
        scope = self.context.get("scope")
        rows = list(obj.followers.all())
        if scope is not None and scope.account_ids is not None:
            rows = [f for f in rows if f.account_id in scope.account_ids]
        return rows

    def get_display_name(self, obj: Customer) -> str:
        rows = self._followers(obj)
        return person_display_name(customer=obj, follower=rows[0] if rows else None)

    def get_followers(self, obj: Customer) -> list[dict]:
        return CrmCustomerFollowerSerializer(self._followers(obj), many=True).data


class CrmCustomerUpdateSerializer(StrictInput, serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    attributes = serializers.DictField(required=False, allow_empty=True,
                                       child=serializers.JSONField(allow_null=True),
                                       help_text="key -> value; null removes the value")


class CrmCustomerOtherSerializer(StrictInput, serializers.Serializer):
    other = serializers.IntegerField(help_text="The other customer's id")


class CrmCustomerMergeSerializer(serializers.ModelSerializer):
    by_name = serializers.SerializerMethodField()

    class Meta:
        model = CustomerMerge
        fields = ["id", "kept", "merged", "by", "by_name", "at", "moved", "undone_at",
                  "undone_by"]
        read_only_fields = fields

    def get_by_name(self, obj: CustomerMerge) -> str:
        return obj.by.user.get_full_name() or obj.by.user.email if obj.by else ""


class CrmSuggestionSerializer(serializers.Serializer):
    low = serializers.IntegerField(help_text="A customer id")
    high = serializers.IntegerField(help_text="The other customer's id")
    # Plain text, not an enum: other "reason" enums would clash in the schema.
    reason = serializers.CharField(help_text="phone, email or remark")
    value = serializers.CharField()


class CrmCustomerAttributeSerializer(StrictInput, serializers.ModelSerializer):
    # Checked by followers.attributes; plain text so the schema's "kind" enums don't clash.
    kind = serializers.CharField(required=False, default="text",
                                 help_text="text, number, date or choice")
    choices = serializers.ListField(child=serializers.CharField(), required=False,
                                    default=list)

    class Meta:
        model = CustomerAttribute
        fields = ["id", "key", "label", "kind", "choices", "position"]
        read_only_fields = ["id"]
        extra_kwargs = {"position": {"required": False}}


class CrmTimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    label = serializers.CharField()
    account = serializers.CharField(allow_null=True)
    data = serializers.DictField()
    url = serializers.CharField(allow_null=True)
