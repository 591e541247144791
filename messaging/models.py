"""Deliveries from the platform, conversations, messages, prepared responses, auto-replies."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, Membership, OfficialAccount, Team
from followers.models import Customer, Follower


class Inbound(models.Model):
    """Every accepted platform delivery, stored before anything else happens.

    The unique (account, dedupe_key) absorbs the platform's retries and replays: a second
    delivery of the same message or event never makes a second row or side effect.
    `processed_at` stays empty until the after-commit work ran; a periodic sweep re-queues
    rows left behind, so a lost task or a broker outage loses nothing.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    # No index of its own: the unique (account, dedupe_key) leads with it, and every
    # delivery pays for each index on this table.
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    dedupe_key = models.CharField(max_length=255)
    msg_type = models.CharField(max_length=32)
    event = models.CharField(max_length=64, blank=True)
    openid = models.CharField(max_length=64)
    payload = models.JSONField()
    created_time = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The text of the passive reply the first answer carried ("" for ``success``). A retry
    # means the platform never got that answer, so it is answered the same reply again.
    # A database default: the hot path's raw INSERTs leave the column out.
    passive_reply = models.TextField(blank=True, db_default="")
    # The inbound sweep leaves the row alone until then: it was queued (by the sweep, or
    # for a retry) and its task may still be waiting. Empty: a minute after it arrived.
    sweep_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "dedupe_key"], name="inbound_once")
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="inbound_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.msg_type}{'/' + self.event if self.event else ''} {self.dedupe_key}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="conversations")
    # The account the follower writes to; replies always go out through it.
    channel_account = models.ForeignKey(
        OfficialAccount, on_delete=models.CASCADE, related_name="conversations"
    )
    # The account whose team handles it (differs after an account-to-account transfer).
    handling_account = models.ForeignKey(
        OfficialAccount, on_delete=models.CASCADE, related_name="handled_conversations"
    )
    follower = models.ForeignKey(Follower, on_delete=models.CASCADE, related_name="conversations")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="conversations")
    assignee = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="conversations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    language = models.CharField(max_length=16, blank=True)
    opened_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    # Since when the follower has waited for an answer (None: nobody is waiting).
    waiting_since = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)
    # When the current wait breaks its team's response target (first or next response, in
    # business hours), written by routing (`routing.targets`); empty: no target applies.
    response_due_at = models.DateTimeField(null=True, blank=True)
    # The conversation this one continues on another account (account-to-account
    # "continue" and "invite to follow"); the two stay linked both ways.
    linked_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="continued_as")

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            # At most one conversation per follower that is not resolved.
            models.UniqueConstraint(
                fields=["follower"],
                condition=~models.Q(status="resolved"),
                name="one_live_conversation_per_follower",
            )
        ]
        indexes = [
            models.Index(fields=["brand", "status", "waiting_since"]),
            models.Index(fields=["brand", "assignee", "status"]),
            # The targets sweep's breaches and claim-next's urgent ones: only rows with a
            # due time (a waiting conversation whose team has a target) are in it.
            models.Index(fields=["response_due_at"],
                         condition=models.Q(response_due_at__isnull=False),
                         name="conversation_due"),
            # Team queues, oldest first: unassigned open conversations of a team.
            models.Index(fields=["team", "waiting_since"],
                         condition=models.Q(status="open", assignee__isnull=True),
                         name="conversation_team_queue"),
            # Waiting for a route (routing.engine): open, unassigned, routed_at empty.
            models.Index(fields=["opened_at"],
                         condition=models.Q(status="open", assignee__isnull=True,
                                            routed_at__isnull=True),
                         name="conversation_unrouted"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk}"


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "in", _("From the follower")
        OUTBOUND = "out", _("To the follower")
        NOTE = "note", _("Private note")
        SYSTEM = "system", _("System")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Every follower's message adds a row here, and a row costs an entry in each index:
    # the account is served by the unique (account, wechat_msg_id) below, and the sender
    # (agents' replies only) by a partial index.
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    msg_type = models.CharField(max_length=32, default="text")
    content = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    media = models.FileField(upload_to="media/%Y/%m/", blank=True)
    # NULL, not "", for "no platform id": the unique constraint below covers only real ids.
    wechat_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    sender = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", db_index=False)
    sender_display = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    errcode = models.IntegerField(null=True, blank=True)
    error_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A reply's last send attempt: when it claimed the row (queued -> sending) or put it
    # back for a retry. The sweeps read it to tell a lost reply from one that is waiting.
    attempted_at = models.DateTimeField(null=True, blank=True)
    # Attempts made since the reply was written (or retried by hand), and when the send
    # sweep is to make the next one after transient trouble (empty: none is scheduled).
    # Database defaults: ingestion's raw INSERTs of followers' messages leave them out.
    send_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # WeChat may have delivered this failed reply (the answer to its send was lost): it is
    # never sent again, by the portal or by hand.
    maybe_delivered = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "wechat_msg_id"],
                condition=models.Q(wechat_msg_id__isnull=False),
                name="one_message_per_wechat_msg_id",
            )
        ]
        indexes = [
            models.Index(fields=["sender"], condition=models.Q(sender__isnull=False),
                         name="message_by_sender"),
            # The send sweeps' rows, a handful at any time; followers' messages stay out.
            models.Index(fields=["status"], condition=models.Q(status__in=["queued", "sending"]),
                         name="message_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.msg_type} {self.pk}"

    @property
    def retryable(self) -> bool:
        """A failed reply an agent may send again (`message_retry`): any but one WeChat may
        have delivered."""
        return (self.direction == self.Direction.OUTBOUND
                and self.status == self.Status.FAILED and not self.maybe_delivered)


class Mention(models.Model):
    """A colleague @mentioned in a private note: they may read the conversation (a ground
    of `messaging.visibility`) until the mention ends (they dismiss it, or the
    conversation is resolved)."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="mentions")
    note = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="mentions")
    by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                           related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["member", "conversation"],
                         condition=models.Q(ended_at__isnull=True), name="mention_open"),
        ]

    def __str__(self) -> str:
        return f"mention of {self.member_id} in {self.conversation_id}"


class PreparedResponse(models.Model):
    """A reusable answer. Brand-wide (account empty) or an account's override of the same
    key; one row per language (en, zh-hans, zh-hant). Variables: {account_name},
    {address}, {phone}, {hours}, {customer_name}, {agent_name}."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, null=True,
                                blank=True, related_name="+")
    key = models.SlugField(_("key"), max_length=60)
    title = models.CharField(_("title"), max_length=120)
    language = models.CharField(_("language"), max_length=16)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("prepared response")
        verbose_name_plural = _("prepared responses")
        ordering = ["key", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "account", "key", "language"],
                name="one_prepared_response_per_scope",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"


class AutoReply(models.Model):
    class Kind(models.TextChoices):
        WELCOME = "welcome", _("Welcome on follow")
        KEYWORD = "keyword", _("Keyword")
        CLICK = "click", _("Menu click")
        OFF_HOURS = "off_hours", _("Off hours")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, null=True,
                                blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    trigger = models.CharField(_("keyword or menu key"), max_length=128, blank=True)
    language = models.CharField(max_length=16, blank=True)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("auto-reply")
        verbose_name_plural = _("auto-replies")

    def __str__(self) -> str:
        return f"{self.kind}: {self.trigger or '*'}"
