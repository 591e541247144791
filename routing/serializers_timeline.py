"""Shapes of the timeline and of the mentions, for the REST API (`routing.api_timeline`)."""

from rest_framework import serializers

from messaging.models import Mention
from messaging.previews import snippet
from messaging.serializers import NamedRef


class _Ends(serializers.Serializer):
    account = NamedRef(allow_null=True)
    team = NamedRef(allow_null=True)
    agent = NamedRef(allow_null=True)


class TimelineEntrySerializer(serializers.Serializer):
    """One routing decision (``type`` "decision") or one transfer ("transfer"); the fields
    of the other type are absent."""

    type = serializers.CharField(help_text="decision or transfer")
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.CharField(
        help_text="a decision's kind (routed, assigned, queued, overflowed, returned, "
                  "requeued, auto_resolved) or a transfer's (agent, team, account)")
    sentence = serializers.CharField(help_text="what happened, in the reader's language")
    # A decision's
    rule = NamedRef(required=False, allow_null=True, help_text="the rule that decided, by the "
                "name it had then (its id may be gone)")
    team = NamedRef(required=False, allow_null=True)
    account = NamedRef(required=False, allow_null=True)
    agent = NamedRef(required=False, allow_null=True)
    language = serializers.CharField(required=False)
    steps = serializers.ListField(child=serializers.DictField(), required=False)
    # A transfer's
    path = serializers.CharField(required=False, help_text="relay, continue, invite or empty")
    status = serializers.CharField(required=False)
    note = serializers.CharField(required=False)
    by = NamedRef(required=False, allow_null=True)
    # "from" is a Python keyword: the field is declared below.
    to = _Ends(required=False)
    decided_at = serializers.DateTimeField(required=False, allow_null=True)
    decided_by = NamedRef(required=False, allow_null=True)
    decline_reason = serializers.CharField(required=False)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = _Ends(required=False)
        return fields


class MentionSerializer(serializers.ModelSerializer):
    conversation = serializers.IntegerField(source="conversation_id")
    display_name = serializers.SerializerMethodField(
        help_text="the conversation's person, as the conversation list names them")
    by = serializers.SerializerMethodField(help_text="who mentioned me")
    snippet = serializers.SerializerMethodField(help_text="the note's first words")
    note = serializers.IntegerField(source="note_id")

    class Meta:
        model = Mention
        fields = ["id", "conversation", "display_name", "note", "snippet", "by",
                  "created_at", "ended_at"]
        read_only_fields = fields

    def get_display_name(self, obj: Mention) -> str:
        from followers.names import person_display_name

        conversation = obj.conversation
        return person_display_name(customer=conversation.customer,
                                   follower=conversation.follower)

    def get_by(self, obj: Mention) -> str:
        by = obj.by
        return (by.display_name or by.user.get_short_name()) if by else ""

    def get_snippet(self, obj: Mention) -> str:
        return snippet(msg_type=obj.note.msg_type, content=obj.note.content)


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.SerializerMethodField()
    presence = serializers.CharField()

    def get_display_name(self, obj: object) -> str:
        return obj.display_name or obj.user.get_short_name() or obj.user.get_username()
