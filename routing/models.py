"""Routing's own rows: the brand's routing settings, team targets, agents' routing state,
ordered routing rules, the decision record, transfers and response-time breaches.

Messaging keeps conversations, messages and replies; routing places them (team, agent)
and keeps why. Business hours live in accounts (`accounts.business_hours`), where
messaging's off-hours auto-reply reads them too.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, Membership, OfficialAccount, Team
from messaging.models import Conversation


class RoutingSettings(models.Model):
    """One per brand (created on first read: `routing.settings.settings_for`)."""

    class Strategy(models.TextChoices):
        LEAST_BUSY = "least_busy", _("Least busy")
        ROUND_ROBIN = "round_robin", _("Round robin")

    class Overflow(models.TextChoices):
        OFF = "off", _("Never")
        AT_ONCE = "at_once", _("At once")
        AFTER = "after", _("After waiting")

    class TransferTimeout(models.TextChoices):
        SENDER = "sender", _("Back to the sender")
        QUEUE = "queue", _("Into the receiving queue")

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE,
                                 related_name="routing_settings")
    strategy = models.CharField(
        _("assignment"), max_length=16, choices=Strategy.choices, default=Strategy.LEAST_BUSY,
        help_text=_("Least busy: the free agent with the fewest open conversations (ties: "
                    "the one who waited longest for one). Round robin: the free agent who "
                    "waited longest for one."),
    )
    return_on_offline = models.BooleanField(
        _("return conversations when an agent goes offline"), default=False,
        help_text=_("An agent going offline hands their open conversations back to the "
                    "queue."),
    )
    overflow = models.CharField(
        _("overflow to the central team"), max_length=10, choices=Overflow.choices,
        default=Overflow.AT_ONCE,
        help_text=_("When the chosen team is closed or has nobody online who speaks the "
                    "language."),
    )
    overflow_after_minutes = models.PositiveSmallIntegerField(
        _("overflow after (minutes)"), default=10)
    overflow_return = models.BooleanField(
        _("return to the local team when it opens"), default=True,
        help_text=_("Conversations still waiting in the central queue go back to the team "
                    "they overflowed from once it can take them."),
    )
    transfer_timeout_minutes = models.PositiveSmallIntegerField(
        _("transfer answer time (minutes)"), default=10,
        help_text=_("A transfer nobody accepts or declines in this time is taken back."),
    )
    transfer_timeout_to = models.CharField(
        _("an unanswered transfer goes"), max_length=10, choices=TransferTimeout.choices,
        default=TransferTimeout.SENDER,
    )
    auto_resolve_after_hours = models.PositiveSmallIntegerField(
        _("resolve idle conversations after (hours)"), default=72,
        help_text=_("0: never. The follower's next message reopens it."),
    )
    warn_before_minutes = models.PositiveSmallIntegerField(
        _("flag a response target this many minutes before it is due"), default=5)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("routing settings")
        verbose_name_plural = _("routing settings")

    def __str__(self) -> str:
        return f"routing settings of {self.brand}"


class TeamTargets(models.Model):
    """A team's response-time targets, in business minutes (empty: no target)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="targets")
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (minutes)"), null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(
        _("next response within (minutes)"), null=True, blank=True)

    class Meta:
        verbose_name = _("response-time targets")
        verbose_name_plural = _("response-time targets")

    def __str__(self) -> str:
        return f"targets of {self.team}"


class AgentState(models.Model):
    """An agent's routing state. Its row is the lock that serialises assignments to the
    agent, so capacity holds under concurrency (`routing.assignment`). Capacity, languages
    and presence stay on the membership (accounts), where the member pages edit them."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE,
                                      related_name="routing_state")
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_total = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"routing state of {self.membership_id}"


class RoutingRule(models.Model):
    """One ordered rule of a brand: when every condition given holds (an empty one holds
    always), the action says where the conversation goes. The first matching rule wins."""

    class Action(models.TextChoices):
        TEAM = "team", _("A team")
        ACCOUNT_TEAM = "account_team", _("Another account's team")
        CENTRAL = "central", _("The central team")
        AGENT = "agent", _("A specific agent")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="routing_rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    # Conditions
    accounts = models.ManyToManyField(OfficialAccount, blank=True, related_name="+",
                                      verbose_name=_("channel accounts"))
    languages = models.JSONField(_("languages"), default=list, blank=True)
    first_contact = models.BooleanField(_("first contact"), null=True, blank=True)
    off_hours = models.BooleanField(_("off hours"), null=True, blank=True)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    menu_keys = models.JSONField(_("menu keys"), default=list, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    attributes = models.JSONField(_("customer attributes"), default=dict, blank=True)
    # Action
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+", verbose_name=_("team"))
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, null=True,
                                blank=True, related_name="+", verbose_name=_("account"))
    agent = models.ForeignKey(Membership, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="+", verbose_name=_("agent"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["brand", "position", "pk"]
        indexes = [models.Index(fields=["brand", "position"])]

    def __str__(self) -> str:
        return self.name


class RoutingDecision(models.Model):
    """What routing did to a conversation and why: the rule (its name kept, the rule may
    be gone), the steps it took, and where the conversation went. Shown in the
    conversation's timeline."""

    class Kind(models.TextChoices):
        ROUTED = "routed", _("Routed")
        ASSIGNED = "assigned", _("Assigned")
        QUEUED = "queued", _("Waiting in the queue")
        OVERFLOWED = "overflowed", _("Overflowed to the central team")
        RETURNED = "returned", _("Returned to the local team")
        REQUEUED = "requeued", _("Back in the queue")
        TRANSFERRED = "transferred", _("Transferred")
        AUTO_RESOLVED = "auto_resolved", _("Resolved for inactivity")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="routing_decisions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    rule = models.ForeignKey(RoutingRule, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    rule_name = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=16, blank=True)
    account = models.ForeignKey(OfficialAccount, on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    agent = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    # The steps, as codes with their values (rendered in the reader's language), e.g.
    # [{"step": "rule", "rule": 3, "name": "VIP"}, {"step": "overflow", "why": "closed"}]
    steps = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.conversation_id}"


class Transfer(models.Model):
    """A hand-over of a conversation, and the ownership history: who held it, where it
    went, why (the note), by which path, and how it ended."""

    class Kind(models.TextChoices):
        AGENT = "agent", _("To an agent")
        TEAM = "team", _("To a team")
        ACCOUNT = "account", _("To another account")

    class Path(models.TextChoices):
        NONE = "", _("Within the account")
        RELAY = "relay", _("Relay")
        CONTINUE = "continue", _("Continue on the target account")
        INVITE = "invite", _("Invite to follow")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Not answered in time")
        INVITED = "invited", _("Waiting for the follower")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="transfers")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    path = models.CharField(max_length=10, choices=Path.choices, blank=True, default="")
    from_account = models.ForeignKey(OfficialAccount, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="+")
    from_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    from_agent = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    to_account = models.ForeignKey(OfficialAccount, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    to_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    to_agent = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+")
    note = models.TextField(blank=True)
    by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                           related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    decline_reason = models.CharField(max_length=255, blank=True)
    # Invite to follow: the SHA-256 of the one-time token in the QR code's scene.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Continue / invite: the conversation on the target account's channel.
    target_conversation = models.ForeignKey(Conversation, on_delete=models.SET_NULL,
                                            null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["status", "expires_at"],
                         condition=models.Q(status__in=["pending", "invited"]),
                         name="transfer_open"),
        ]

    def __str__(self) -> str:
        return f"transfer {self.pk} of {self.conversation_id} ({self.status})"


class ResponseBreach(models.Model):
    """A response target missed: read by analytics and the brand standards board."""

    class Kind(models.TextChoices):
        FIRST = "first", _("First response")
        NEXT = "next", _("Next response")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="breaches")
    account = models.ForeignKey(OfficialAccount, on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    assignee = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    target_minutes = models.PositiveIntegerField()
    waiting_since = models.DateTimeField()
    due_at = models.DateTimeField()
    breached_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("response-time breach")
        verbose_name_plural = _("response-time breaches")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "kind", "waiting_since"],
                                    name="one_breach_per_wait"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} breach of {self.conversation_id}"
