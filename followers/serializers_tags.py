"""REST shapes of brand tags (with their per-account WeChat status) and tag rules."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import StrictInput
from followers import tag_limits
from followers.models import Tag, TagRule
from followers.tags import tag_account_status


def _inline_choice(choices: list[str], **kwargs: Any) -> serializers.CharField:
    """A choice written inline in the schema (a string with an enum), not as a shared enum
    component: names like "kind" are taken by other resources' enums."""

    @extend_schema_field({"type": "string", "enum": list(choices)})
    class InlineChoice(serializers.CharField):
        def to_internal_value(self, data: Any) -> str:
            value = super().to_internal_value(data)
            if value not in choices:
                raise serializers.ValidationError(
                    _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)})
            return value

    return InlineChoice(**kwargs)


class CrmTagAccountSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    account = serializers.CharField()
    wechat_id = serializers.IntegerField(allow_null=True,
                                         help_text=_("The tag's id on WeChat; null: not "
                                                     "created on this account yet."))
    synced_at = serializers.DateTimeField(allow_null=True)
    pending = serializers.IntegerField(help_text=_("Changes still to make on WeChat."))
    failed = serializers.IntegerField(help_text=_("Changes WeChat refused (the followers "
                                                  "keep the portal tag)."))
    error = serializers.CharField(help_text=_("The latest refusal's reason."))


class CrmTagSerializer(StrictInput, serializers.ModelSerializer):
    name = serializers.CharField(max_length=tag_limits.MAX_NAME)
    followers = serializers.SerializerMethodField()
    accounts = serializers.SerializerMethodField()

    class Meta:
        model = Tag
        fields = ["id", "name", "followers", "accounts", "created_at"]
        read_only_fields = ["id", "followers", "accounts", "created_at"]

    def get_followers(self, tag: Tag) -> int:
        return getattr(tag, "follower_count", None) or tag.followers.count()

    @extend_schema_field(CrmTagAccountSerializer(many=True))
    def get_accounts(self, tag: Tag) -> list[dict]:
        return CrmTagAccountSerializer(tag_account_status(tag=tag), many=True).data


class CrmTagApplySerializer(StrictInput, serializers.Serializer):
    follower_ids = serializers.ListField(child=serializers.IntegerField(min_value=1),
                                         required=False, max_length=10_000, default=list)
    customer_ids = serializers.ListField(child=serializers.IntegerField(min_value=1),
                                         required=False, max_length=10_000, default=list)

    def validate(self, data: dict) -> dict:
        if not data.get("follower_ids") and not data.get("customer_ids"):
            raise serializers.ValidationError(
                {"follower_ids": [_("Give follower_ids or customer_ids.")]})
        return data


class CrmTagApplyResultSerializer(serializers.Serializer):
    tag = serializers.IntegerField()
    changed = serializers.ListField(child=serializers.IntegerField(),
                                    help_text=_("The followers changed now."))


class _TagNames(serializers.ListField):
    """Tags by name: written as names (made when missing), read from the relation."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(max_length=tag_limits.MAX_NAME))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> list[str]:
        items = value.all() if hasattr(value, "all") else value
        return [getattr(item, "name", item) for item in items]


class CrmTagRuleSerializer(StrictInput, serializers.ModelSerializer):
    kind = _inline_choice(TagRule.Kind.values, default=TagRule.Kind.KEYWORD)
    match = serializers.ChoiceField(choices=TagRule.Match.choices, required=False)
    behaviour = serializers.ChoiceField(choices=TagRule.Behaviour.choices, required=False,
                                        allow_blank=True)
    set_language = serializers.ChoiceField(choices=TagRule.Language.choices, required=False,
                                           allow_blank=True)
    account = serializers.IntegerField(source="account_id", required=False, allow_null=True,
                                       min_value=1,
                                       help_text=_("The account it is for; null: brand-wide."))
    campaign = serializers.IntegerField(source="campaign_id", required=False, allow_null=True,
                                        min_value=1,
                                        help_text=_("For behaviour campaign: the campaign."))
    add_tags = _TagNames(help_text=_("Tag names; made when missing."))
    remove_tags = _TagNames(help_text=_("Tag names."))
    replies = serializers.DictField(child=serializers.CharField(max_length=2000),
                                    required=False,
                                    help_text=_("A reply per language: zh_CN, zh_TW, en."))
    reply_text = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    class Meta:
        model = TagRule
        fields = ["id", "position", "name", "kind", "account", "match", "pattern",
                  "behaviour", "campaign", "menu_key", "count", "days", "add_tags",
                  "remove_tags", "set_language", "reply_text", "replies", "is_active"]
        read_only_fields = ["id", "position"]


class CrmTagRuleMoveSerializer(StrictInput, serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"],
                                        help_text=_("up: tried sooner; down: later."))


class CrmTagRuleTestSerializer(StrictInput, serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    account = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class CrmTagRuleTestRowSerializer(serializers.Serializer):
    rule_id = serializers.IntegerField()
    name = serializers.CharField()
    matches = serializers.BooleanField()
    acts = serializers.BooleanField(help_text=_("The first match: the rule that acts."))
