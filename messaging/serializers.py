from django.urls import reverse
from rest_framework import serializers

from messaging.models import Conversation, Message, PreparedResponse
from messaging.prepared import LANGUAGES


class _Ref(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _AssigneeRef(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.SerializerMethodField()

    def get_display_name(self, obj: object) -> str:
        return obj.display_name or obj.user.get_short_name()


class _FollowerRef(serializers.Serializer):
    id = serializers.IntegerField()
    openid = serializers.CharField()
    remark = serializers.CharField()
    language = serializers.CharField()
    subscribed = serializers.BooleanField()
    tags = serializers.SerializerMethodField()

    def get_tags(self, obj: object) -> list[str]:
        return [t.name for t in obj.tags.all()]


class ConversationSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: a second enum named "status" would collide in OpenAPI.
    status = serializers.CharField(read_only=True, help_text="open, pending, snoozed, resolved")
    channel_account = _Ref()
    handling_account = _Ref()
    follower = _FollowerRef()
    customer = _Ref(allow_null=True)
    team = _Ref(allow_null=True)
    assignee = _AssigneeRef(allow_null=True)

    class Meta:
        model = Conversation
        fields = [
            "id", "channel_account", "handling_account", "follower", "customer", "team",
            "assignee", "status", "language", "opened_at", "last_message_at",
            "waiting_since", "first_response_at", "resolved_at", "snoozed_until",
        ]
        read_only_fields = fields


class WindowSerializer(serializers.Serializer):
    open = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    sends_left = serializers.IntegerField()
    kind = serializers.CharField()
    reason = serializers.CharField()


class ConversationDetailSerializer(ConversationSerializer):
    window = serializers.SerializerMethodField()
    reply_identity = serializers.SerializerMethodField(
        help_text="who the requester's replies are from, as a signed reply ends with it"
    )

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "window", "reply_identity"]
        read_only_fields = fields

    def get_window(self, obj: Conversation) -> dict:
        from messaging.selectors import conversation_window

        return WindowSerializer(conversation_window(conversation=obj)).data

    def get_reply_identity(self, obj: Conversation) -> str:
        """`sender_display` for the requesting member (`by` in the context; an API key has
        none and replies as the account)."""
        from messaging.services import sender_display

        return sender_display(by=self.context.get("by"), conversation=obj)


class MessageSerializer(serializers.ModelSerializer):
    account = _Ref()
    direction = serializers.CharField(read_only=True, help_text="in, out, note, system")
    status = serializers.CharField(
        read_only=True, help_text="received, queued, sending, sent, failed"
    )
    media_url = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id", "conversation", "account", "direction", "msg_type", "content", "payload",
            "media_url", "sender", "sender_display", "status", "errcode", "error_reason",
            "created_at", "sent_at",
        ]
        read_only_fields = fields

    def get_media_url(self, obj: Message) -> str | None:
        """The stored file, through the conversation it is read in (`conversation_id` in
        the context; the message's own otherwise), so the same scope check applies."""
        if not obj.media:
            return None
        via = self.context.get("conversation_id") or obj.conversation_id
        return reverse("conversation-media", kwargs={"pk": via, "message_id": obj.pk})


class MessageCreateSerializer(serializers.Serializer):
    """A reply (text, prepared response, image by upload or media id) or a private note."""

    kind = serializers.RegexField(r"^(reply|note)$", default="reply",
                                  help_text="reply (sent to the follower) or note (private)")
    text = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    prepared_key = serializers.CharField(required=False, allow_blank=True, default="")
    language = serializers.CharField(required=False, allow_blank=True, default="")
    media_id = serializers.CharField(required=False, allow_blank=True, default="")
    image = serializers.FileField(required=False, allow_null=True, default=None)
    sign = serializers.BooleanField(
        required=False, default=False,
        help_text="end a text reply with the sender's identity (reply_identity); "
                  "ignored for notes and images",
    )


class TransferSerializer(serializers.Serializer):
    """Hand over to a team, or to an account (optionally with one of its teams)."""

    account = serializers.IntegerField(required=False, allow_null=True, default=None,
                                       help_text="the new handling account's id")
    team = serializers.IntegerField(required=False, allow_null=True, default=None,
                                    help_text="the team's id")
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text="travels with the conversation")

    def validate(self, attrs: dict) -> dict:
        if attrs["account"] is None and attrs["team"] is None:
            raise serializers.ValidationError("give an account, a team or both")
        return attrs


class _TransferTeam(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    accounts = serializers.SerializerMethodField(
        help_text="ids of the accounts the team answers for; empty means every account"
    )

    def get_accounts(self, obj: object) -> list[int]:
        return sorted(a.pk for a in obj.accounts.all())


class TransferTargetsSerializer(serializers.Serializer):
    """Where a conversation may be handed: the brand's active accounts and its teams."""

    accounts = _Ref(many=True)
    teams = _TransferTeam(many=True)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(allow_null=True)


class SnoozeSerializer(serializers.Serializer):
    until = serializers.DateTimeField(required=False)
    minutes = serializers.IntegerField(required=False, min_value=1, max_value=60 * 24 * 90)

    def validate(self, attrs: dict) -> dict:
        if ("until" in attrs) == ("minutes" in attrs):
            raise serializers.ValidationError("give either until or minutes")
        return attrs


class PreparedResponseSerializer(serializers.ModelSerializer):
    account = serializers.IntegerField(source="account_id", allow_null=True, required=False)
    language = serializers.ChoiceField(choices=LANGUAGES)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)

    class Meta:
        model = PreparedResponse
        fields = ["id", "account", "key", "title", "language", "body", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        # The service checks uniqueness per (brand, account, key, language).
        validators: list = []
