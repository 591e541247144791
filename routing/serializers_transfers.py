"""REST shapes of transfers: the hand-over's input, where it may go, the ownership
history and the receiver's answer."""

from __future__ import annotations

from rest_framework import serializers

from accounts.serializers import StrictInput
from messaging.serializers import NamedRef
from routing.models import Transfer
from routing.transfers import NOTE_LIMIT, REASON_LIMIT, SPEAKER_LANGUAGES


def member_name(member: object) -> str:
    return member.display_name or member.user.get_short_name() or member.user.email  # type: ignore[attr-defined]


class _MemberRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj: object) -> str:
        return member_name(obj)


class TransferSerializer(StrictInput, serializers.Serializer):
    """Hand over to an agent, a team, or another account (optionally one of its teams or
    agents), always with a note."""

    # For the schema (accounts.api_schema): an agent, a team or an account, as validate() says.
    request_schema_extra = {"anyOf": [
        {"required": [name], "properties": {name: {"type": "integer"}}}
        for name in ("agent", "account", "team")
    ]}

    account = serializers.IntegerField(required=False, allow_null=True, default=None,
                                       help_text="the new handling account's id")
    team = serializers.IntegerField(required=False, allow_null=True, default=None,
                                    help_text="the team's id")
    agent = serializers.IntegerField(required=False, allow_null=True, default=None,
                                     help_text="the receiving agent's membership id")
    path = serializers.ChoiceField(
        choices=["", "relay", "continue", "invite"], required=False, default="",
        help_text="account to account: relay, continue or invite; blank: the default path",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=NOTE_LIMIT,
                                 help_text="required: travels with the conversation")

    def validate(self, attrs: dict) -> dict:
        if attrs["account"] is None and attrs["team"] is None and attrs["agent"] is None:
            raise serializers.ValidationError("give an agent, a team or an account")
        if attrs["path"] and attrs["account"] is None:
            raise serializers.ValidationError({"path": ["a path is for an account transfer"]})
        return attrs


class SpeakerSerializer(StrictInput, serializers.Serializer):
    language = serializers.ChoiceField(choices=list(SPEAKER_LANGUAGES))
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=NOTE_LIMIT,
                                 help_text="blank: a note saying which language was asked for")


class TransferListSerializer(serializers.Serializer):
    sent = serializers.BooleanField(required=False, default=False,
                                    help_text="1: the transfers I sent that wait for an answer")


class DeclineSerializer(StrictInput, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   max_length=REASON_LIMIT)


class _TransferTeam(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_central = serializers.BooleanField()
    languages = serializers.ListField(child=serializers.CharField())
    accounts = serializers.SerializerMethodField(
        help_text="ids of the accounts the team answers for; empty means every account"
    )

    def get_accounts(self, obj: object) -> list[int]:
        return sorted(a.pk for a in obj.accounts.all())  # type: ignore[attr-defined]


class _TransferAgent(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()
    presence = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    load = serializers.IntegerField(help_text="conversations held now")
    capacity = serializers.IntegerField()
    accounts = serializers.SerializerMethodField(
        help_text="ids of the accounts they serve; empty means every account")
    teams = serializers.SerializerMethodField()

    def get_name(self, obj: object) -> str:
        return member_name(obj)

    def get_accounts(self, obj: object) -> list[int]:
        return sorted(a.pk for a in obj.accounts.all())  # type: ignore[attr-defined]

    def get_teams(self, obj: object) -> list[int]:
        return sorted(t.pk for t in obj.teams.all())  # type: ignore[attr-defined]


class TransferTargetsSerializer(serializers.Serializer):
    """Where a conversation may be handed: the brand's active accounts, its teams and its
    agents (with presence and load)."""

    accounts = NamedRef(many=True)
    teams = _TransferTeam(many=True)
    agents = _TransferAgent(many=True)


class TransferRecordSerializer(serializers.ModelSerializer):
    """One hand-over: who held it, where it went, why, by which path, how it ended."""

    from_account = NamedRef(allow_null=True)
    from_team = NamedRef(allow_null=True)
    from_agent = _MemberRef(allow_null=True)
    to_account = NamedRef(allow_null=True)
    to_team = NamedRef(allow_null=True)
    to_agent = _MemberRef(allow_null=True)
    by = _MemberRef(allow_null=True)
    decided_by = _MemberRef(allow_null=True)
    conversation = serializers.IntegerField(source="conversation_id")

    class Meta:
        model = Transfer
        fields = [
            "id", "conversation", "kind", "path", "status", "note", "from_account",
            "from_team", "from_agent", "to_account", "to_team", "to_agent", "by",
            "created_at", "expires_at", "decided_at", "decided_by", "decline_reason",
        ]
        read_only_fields = fields
