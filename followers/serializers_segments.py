"""REST shapes of segments: the saved filter, a live count, its members."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import StrictInput
from followers.models import Follower, Segment
from followers.names import person_display_name
from followers.segments import (
    ACTIVITY_OPS,
    ATTRIBUTE_OPS,
    GENDERS,
    MAX_ATTRIBUTES,
    MAX_DAYS,
    MAX_ITEMS,
)

_IDS = {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": MAX_ITEMS}
_TEXTS = {"type": "array", "items": {"type": "string"}, "maxItems": MAX_ITEMS}
_DAY = {"type": "string", "format": "date"}
# What followers.segments.definition_clean takes, for the schema's readers; the service
# checks it (and the ids against the requester's brand and accounts).
DEFINITION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": (
        "Every condition given must hold; an empty list is no condition. Ids of another "
        "brand (or of an account you do not serve) are refused as unknown."),
    "properties": {
        "tags": {"type": "object", "additionalProperties": False,
                 "properties": {"any": _IDS, "all": _IDS, "none": _IDS}},
        "languages": _TEXTS,
        "regions": _TEXTS,
        "genders": {"type": "array", "items": {"type": "integer", "enum": list(GENDERS)}},
        "accounts": _IDS,
        "campaigns": _IDS,
        "followed": {"type": "object", "additionalProperties": False,
                     "properties": {"from": {**_DAY, "nullable": True},
                                    "to": {**_DAY, "nullable": True}}},
        "last_activity": {"type": "object", "additionalProperties": False, "properties": {
            "op": {"type": "string", "enum": list(ACTIVITY_OPS)},
            "date": _DAY, "days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS}},
            "required": ["op"]},
        "attributes": {"type": "array", "maxItems": MAX_ATTRIBUTES, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["key", "op", "value"],
            "properties": {"key": {"type": "string", "maxLength": 64},
                           "op": {"type": "string", "enum": list(ATTRIBUTE_OPS)},
                           "value": {"oneOf": [{"type": "string"}, {"type": "number"}]}}}},
        "include_unfollowed": {"type": "boolean", "default": False},
    },
}


# A condition given as null is no condition (followers.segments.definition_clean).
for _name, _part in DEFINITION_SCHEMA["properties"].items():
    if _name != "include_unfollowed":
        _part["nullable"] = True


@extend_schema_field(DEFINITION_SCHEMA)
class CrmSegmentDefinitionField(serializers.JSONField):
    pass


class CrmSegmentSerializer(StrictInput, serializers.ModelSerializer):
    definition = CrmSegmentDefinitionField(required=False, default=dict)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = ["id", "name", "definition", "last_followers", "last_customers",
                  "counted_at", "created_by", "created_at", "updated_at"]
        read_only_fields = ["last_followers", "last_customers", "counted_at", "created_at",
                            "updated_at"]
        extra_kwargs = {"name": {"validators": []}}

    def get_created_by(self, segment: Segment) -> str | None:
        member = segment.created_by
        if member is None:
            return None
        return member.user.get_full_name() or member.user.email


class CrmSegmentCountInputSerializer(StrictInput, serializers.Serializer):
    definition = CrmSegmentDefinitionField()


class CrmSegmentCountSerializer(serializers.Serializer):
    followers = serializers.IntegerField(help_text=_("Followers selected (one per openid)."))
    customers = serializers.IntegerField(help_text=_("The distinct customers behind them."))
    ms = serializers.FloatField(help_text=_("Milliseconds the count took."))


class CrmSegmentMemberSerializer(serializers.ModelSerializer):
    appid = serializers.CharField(source="account.appid")
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = Follower
        fields = ["id", "openid", "account", "appid", "unionid", "customer", "display_name",
                  "language", "region", "gender", "subscribed", "subscribed_at",
                  "last_inbound_at"]

    def get_display_name(self, follower: Follower) -> str:
        return person_display_name(customer=follower.customer, follower=follower)
