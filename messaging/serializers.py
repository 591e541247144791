from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import StrictInput, pattern_field
from followers.names import person_display_name
from messaging.models import Conversation, Message, PreparedResponse
from messaging.prepared import LANGUAGES
from messaging.previews import last_message_preview
from messaging.selectors import STATUS_FILTERS, window_closing_at
from messaging.services import TEXT_LIMIT

# `waiting` in minutes: up to a year, so "now minus waiting" is always a real date.
MAX_WAITING_MINUTES = 60 * 24 * 366


class NamedRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AssigneeRef(serializers.Serializer):
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


class _LastMessage(serializers.Serializer):
    msg_type = serializers.CharField(help_text="text, image, voice, video, location, link, ...")
    snippet = serializers.CharField(
        help_text="a text message's first words on one line; empty for any other type"
    )
    direction = serializers.CharField(help_text="in, out or system (notes are left out)")
    at = serializers.DateTimeField(allow_null=True)


class ConversationSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: a second enum named "status" would collide in OpenAPI.
    status = serializers.CharField(read_only=True, help_text="open, pending, snoozed, resolved")
    display_name = serializers.SerializerMethodField(
        help_text="the person's headline: the customer's name, else the follower's remark, "
                  "else \"Customer #<id>\" (in the request's language)"
    )
    last_message = serializers.SerializerMethodField(
        help_text="the newest message that is not a private note (null when none)"
    )
    channel_account = NamedRef()
    handling_account = NamedRef()
    follower = _FollowerRef()
    customer = NamedRef(allow_null=True)
    team = NamedRef(allow_null=True)
    assignee = AssigneeRef(allow_null=True)
    window_closing_at = serializers.SerializerMethodField(
        help_text="when the reply window closes, given only when that is within two hours "
                  "(the console marks the conversation); null otherwise"
    )
    response_due_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="when the current wait breaks its team's response target (first or next "
                  "response, counted in business hours); null when nobody waits or no "
                  "target applies"
    )

    class Meta:
        model = Conversation
        fields = [
            "id", "display_name", "channel_account", "handling_account", "follower",
            "customer", "team", "assignee", "status", "language", "opened_at",
            "last_message_at", "last_message", "waiting_since", "first_response_at",
            "resolved_at", "snoozed_until", "window_closing_at", "response_due_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_window_closing_at(self, obj: Conversation) -> str | None:
        closing = window_closing_at(conversation=obj)
        return closing.isoformat() if closing else None

    def get_display_name(self, obj: Conversation) -> str:
        return person_display_name(customer=obj.customer, follower=obj.follower)

    @extend_schema_field(_LastMessage(allow_null=True))
    def get_last_message(self, obj: Conversation) -> dict | None:
        """From the list's annotation (`messaging.previews.with_last_message`)."""
        return last_message_preview(getattr(obj, "last_message", None))


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
    linked_from = serializers.IntegerField(
        source="linked_from_id", read_only=True, allow_null=True,
        help_text="the conversation on another account this one continues (account-to-"
                  "account \"continue\" or \"invite to follow\"); null when none",
    )
    continued_as = serializers.SerializerMethodField(
        help_text="the conversations on other accounts that continue this one"
    )

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "window", "reply_identity",
                  "linked_from", "continued_as"]
        read_only_fields = fields

    def get_continued_as(self, obj: Conversation) -> list[int]:
        return sorted(obj.continued_as.values_list("pk", flat=True))

    def get_window(self, obj: Conversation) -> dict:
        from messaging.selectors import conversation_window

        return WindowSerializer(conversation_window(conversation=obj)).data

    def get_reply_identity(self, obj: Conversation) -> str:
        """`sender_display` for the requesting member (`by` in the context; an API key has
        none and replies as the account)."""
        from messaging.services import sender_display

        return sender_display(by=self.context.get("by"), conversation=obj)


class MessageSerializer(serializers.ModelSerializer):
    account = NamedRef()
    direction = serializers.CharField(read_only=True, help_text="in, out, note, system")
    status = serializers.CharField(
        read_only=True, help_text="received, queued, sending, sent, failed"
    )
    media_url = serializers.SerializerMethodField()
    send_attempts = serializers.IntegerField(
        read_only=True, help_text="send attempts made (a reply; reset by a retry by hand)"
    )
    next_attempt_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="when a queued reply is tried again after WeChat's trouble (null: no "
                  "retry is scheduled)",
    )
    retryable = serializers.BooleanField(
        read_only=True,
        help_text="a failed reply that may be sent again (POST .../messages/<id>/retry/): "
                  "false when WeChat may have delivered it",
    )

    class Meta:
        model = Message
        fields = [
            "id", "conversation", "account", "direction", "msg_type", "content", "payload",
            "media_url", "sender", "sender_display", "status", "errcode", "error_reason",
            "created_at", "sent_at", "send_attempts", "next_attempt_at", "retryable",
        ]
        read_only_fields = fields

    def get_media_url(self, obj: Message) -> str | None:
        """The stored file, through the conversation it is read in (`conversation_id` in
        the context; the message's own otherwise), so the same scope check applies."""
        if not obj.media:
            return None
        via = self.context.get("conversation_id") or obj.conversation_id
        return reverse("conversation-media", kwargs={"pk": via, "message_id": obj.pk})


class ConversationFiltersSerializer(serializers.Serializer):
    """The list's query parameters, checked before they reach the selector."""

    box = pattern_field(
        r"^(all|mine|unassigned|snoozed|team:[0-9]+)$",
        "mine, unassigned, team:<id>, all or snoozed",
        required=False, allow_blank=True,
        help_text="mine, unassigned, team:<id> or all (these leave snoozed conversations "
                  "out), or snoozed; every conversation when absent",
    )
    account = serializers.IntegerField(required=False, help_text="the handling account's id")
    status = serializers.ChoiceField(
        choices=sorted(STATUS_FILTERS), required=False, allow_blank=True,
        help_text="live = not resolved, attention = open or pending; all when absent",
    )
    language = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    tag = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text="a tag's id, or else its name, on the follower",
    )
    waiting = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_WAITING_MINUTES,
        help_text="waiting longer than this many minutes",
    )


class MessageCreateSerializer(StrictInput, serializers.Serializer):
    """A reply (text, prepared response or a media id) or a private note, in JSON. A reply
    sends exactly one thing; a note needs a text."""

    kind = pattern_field(r"^(reply|note)$", "reply or note", default="reply",
                         help_text="reply (sent to the follower) or note (private)")
    text = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False,
        max_length=TEXT_LIMIT,
    )
    prepared_key = serializers.CharField(required=False, allow_blank=True, default="")
    language = serializers.CharField(required=False, allow_blank=True, default="")
    media_id = serializers.CharField(required=False, allow_blank=True, default="")
    sign = serializers.BooleanField(
        required=False, default=False,
        help_text="end a text reply with the sender's identity (reply_identity); "
                  "ignored for notes and images",
    )
    mentions = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list,
        max_length=20,
        help_text="a note's @mentions: membership ids of the brand's members, who may "
                  "read the conversation until they dismiss the mention or it is resolved",
    )


class MessageUploadSerializer(MessageCreateSerializer):
    """The same as multipart, which can carry an image file as well."""

    image = serializers.FileField(required=False, allow_null=True, default=None)


class AssignSerializer(StrictInput, serializers.Serializer):
    assignee = serializers.IntegerField(allow_null=True)


class SnoozeSerializer(StrictInput, serializers.Serializer):
    # For the schema (accounts.api_schema): one of the two, as validate() says.
    request_schema_extra = {"oneOf": [{"required": ["until"]}, {"required": ["minutes"]}]}

    until = serializers.DateTimeField(required=False)
    minutes = serializers.IntegerField(required=False, min_value=1, max_value=60 * 24 * 90)

    def validate(self, attrs: dict) -> dict:
        if ("until" in attrs) == ("minutes" in attrs):
            raise serializers.ValidationError("give either until or minutes")
        return attrs


class PreparedResponseSerializer(StrictInput, serializers.ModelSerializer):
    account = serializers.IntegerField(
        source="account_id", allow_null=True, required=False,
        help_text="the account this version overrides; null for the brand's own. "
                  "Set when the version is created: it cannot move to another account",
    )
    language = serializers.ChoiceField(choices=LANGUAGES)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)

    class Meta:
        model = PreparedResponse
        fields = ["id", "account", "key", "title", "language", "body", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        # The service checks uniqueness per (brand, account, key, language).
        validators: list = []



class PreparedResponseUpdateSerializer(PreparedResponseSerializer):
    """A version's account is set when it is created: an update that names one is refused
    (it would read back with the old one), so the body has no `account`."""

    account = serializers.IntegerField(source="account_id", read_only=True)
