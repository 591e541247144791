"""REST shapes of routing rules, the brand's routing settings and teams' targets."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Team
from accounts.serializers import IdListField, StrictInput
from routing.language import LANGUAGES
from routing.models import RoutingRule, RoutingSettings, TeamTargets
from routing.rules_admin import SETTINGS_FIELDS, TARGET_OF, rule_summary

# Minutes in thirty days: a target longer than that is no target.
MAX_TARGET_MINUTES = 60 * 24 * 30


def _words(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=100, allow_blank=True), max_length=50,
        required=False, help_text=help_text)


def _target(name: str, help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(source=f"{name}_id", required=False, allow_null=True,
                                    min_value=1, help_text=help_text)


class RuleSerializer(StrictInput, serializers.ModelSerializer):
    accounts = IdListField(help_text=_("Channel accounts the rule is for; none: any account."))
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=LANGUAGES), max_length=len(LANGUAGES),
        required=False, help_text=_("The follower's language is one of these; none: any."))
    first_contact = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text=_("true: only a first contact; false: only a returning follower; null: "
                    "either."))
    off_hours = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text=_("true: only outside the channel account's business hours; false: only "
                    "within them; null: either."))
    keywords = _words(_("The text contains one of these (ignoring case). Trimmed; empty "
                        "ones are dropped."))
    menu_keys = _words(_("The menu key clicked is one of these."))
    tags = _words(_("The follower has one of these tags."))
    attributes = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True), required=False,
        help_text=_("The customer's attributes have each of these values."))
    action = serializers.ChoiceField(choices=RoutingRule.Action.choices)
    team = _target("team", _("For action team: the team's id."))
    account = _target("account", _("For action account_team: the account whose team takes them."))
    agent = _target("agent", _("For action agent: the member's id."))
    summary = serializers.SerializerMethodField()

    class Meta:
        model = RoutingRule
        fields = ["id", "position", "name", "is_active", "accounts", "languages",
                  "first_contact", "off_hours", "keywords", "menu_keys", "tags", "attributes",
                  "action", "team", "account", "agent", "summary", "created_at", "updated_at"]
        read_only_fields = ["position", "created_at", "updated_at"]

    @property
    def request_schema_extra(self) -> dict:
        """For the schema (accounts.api_schema): the target each action needs. A partial
        update needs it only when it changes the action."""
        branches: list[dict] = [
            {"required": ["action", name],
             "properties": {"action": {"enum": [action]}, name: {"type": "integer"}}}
            for action, name in TARGET_OF.items()
        ]
        branches.append({"required": ["action"],
                         "properties": {"action": {"enum": [RoutingRule.Action.CENTRAL]}}})
        if self.partial:
            branches.append({"not": {"required": ["action"]}})
        return {"anyOf": branches}

    def get_summary(self, obj: RoutingRule) -> str:
        return rule_summary(obj)


class MoveSerializer(StrictInput, serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"],
                                        help_text=_("up: tried sooner; down: later."))


class ReorderSerializer(StrictInput, serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        help_text=_("Every rule's id, once each, in the new order (the first is tried "
                    "first). A list that does not match the current rules answers 409."))


class RoutingSettingsSerializer(StrictInput, serializers.ModelSerializer):
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text=_("When an admin last changed them; null: the defaults, never changed."))

    class Meta:
        model = RoutingSettings
        fields = [*SETTINGS_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]


class TargetsSerializer(StrictInput, serializers.ModelSerializer):
    """A team and its response-time targets, in business minutes (null: no target)."""

    id = serializers.IntegerField(read_only=True, help_text=_("The team's id."))
    name = serializers.CharField(read_only=True)
    is_central = serializers.BooleanField(read_only=True)
    first_response_minutes = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=MAX_TARGET_MINUTES, required=False,
        help_text=_("The first reply is due within this many business minutes."))
    next_response_minutes = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=MAX_TARGET_MINUTES, required=False,
        help_text=_("Each later reply is due within this many business minutes of the "
                    "follower's message."))

    class Meta:
        model = Team
        fields = ["id", "name", "is_central", "first_response_minutes",
                  "next_response_minutes"]

    def to_representation(self, instance: Team) -> dict[str, Any]:
        targets = targets_of(instance)
        return {
            "id": instance.pk, "name": instance.name, "is_central": instance.is_central,
            "first_response_minutes": targets.first_response_minutes if targets else None,
            "next_response_minutes": targets.next_response_minutes if targets else None,
        }


def targets_of(team: Team) -> TeamTargets | None:
    """The team's targets row, or None when it has none yet (read without creating it)."""
    try:
        return team.targets
    except TeamTargets.DoesNotExist:
        return None
