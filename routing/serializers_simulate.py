"""REST shapes of the "what happens if" tester: the made-up message, and the routing it
would get (routing.simulate)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.serializers import StrictInput
from routing.simulate import year_error

TEXT_LIMIT = 2000
KEY_LIMIT = 128
TAG_LIMIT = 30
TAGS_MAX = 20


class WallTimeField(serializers.DateTimeField):
    """A date and time; one given without an offset stays naive, to be read in the
    account's time zone (routing.simulate), not the server's."""

    def enforce_timezone(self, value: datetime) -> datetime:
        return value if timezone.is_naive(value) else super().enforce_timezone(value)


class SimulateInputSerializer(StrictInput, serializers.Serializer):
    account = serializers.IntegerField(min_value=1, help_text=_("The channel account's id."))
    text = serializers.CharField(max_length=TEXT_LIMIT, required=False, allow_blank=True,
                                 default="", trim_whitespace=False,
                                 help_text=_("What the follower writes."))
    at = WallTimeField(
        required=False, help_text=_("When; default now. Without an offset: the account's "
                                    "time zone."))
    first_contact = serializers.BooleanField(required=False, default=True)
    menu_key = serializers.CharField(max_length=KEY_LIMIT, required=False, allow_blank=True,
                                     default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=TAG_LIMIT),
                                 max_length=TAGS_MAX, required=False, default=list)
    attributes = serializers.DictField(required=False, default=dict,
                                       help_text=_("The customer's attributes."))

    def validate_at(self, value: datetime) -> datetime:
        if error := year_error(value.year):
            raise serializers.ValidationError(error)
        return value


class SimulatedRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SimulatedLanguage(serializers.Serializer):
    code = serializers.ChoiceField(choices=["zh-hans", "zh-hant", "en", "unknown"])
    name = serializers.CharField()
    source = serializers.ChoiceField(choices=["choice", "profile", "text", "given"])
    source_text = serializers.CharField()
    confidence = serializers.FloatField()


class SimulatedHours(serializers.Serializer):
    open = serializers.BooleanField()
    reason = serializers.CharField()


class SimulatedRuleStep(serializers.Serializer):
    rule = serializers.IntegerField()
    name = serializers.CharField()
    matched = serializers.BooleanField()
    why = serializers.CharField(help_text=_("Empty when it matched; else the condition that "
                                            "did not hold."))
    why_text = serializers.CharField()


class SimulatedFallback(serializers.Serializer):
    to = serializers.ChoiceField(choices=["account_team", "central", "none"])
    text = serializers.CharField()


class SimulatedTeam(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_central = serializers.BooleanField()
    open = serializers.BooleanField()
    reason = serializers.CharField()
    online_speaker = serializers.BooleanField()


class SimulatedAgent(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    online = serializers.BooleanField()


class SimulatedOverflow(serializers.Serializer):
    why = serializers.ChoiceField(choices=["closed", "no_speaker"])
    why_text = serializers.CharField()
    to = SimulatedRef(allow_null=True)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = SimulatedRef()  # "from" is a keyword: declared here
        return fields


class SimulationSerializer(serializers.Serializer):
    account = SimulatedRef()
    at = WallTimeField()
    local_time = serializers.DateTimeField()
    time_zone = serializers.CharField()
    language = SimulatedLanguage()
    off_hours = serializers.BooleanField()
    hours = SimulatedHours()
    path = SimulatedRuleStep(many=True)
    fallback = SimulatedFallback(allow_null=True)
    rule = SimulatedRef(allow_null=True)
    team = SimulatedTeam(allow_null=True)
    agent = SimulatedAgent(allow_null=True)
    overflow = SimulatedOverflow(allow_null=True)
    outcome = serializers.CharField()
    steps = serializers.ListField(child=serializers.DictField(),
                                  help_text=_("The decision's steps as codes, as recorded."))
