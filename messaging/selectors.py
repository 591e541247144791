"""Reads on conversations and messages. Every function starts from the requester's scope.

Who sees a conversation is one rule, `messaging.visibility`; `conversation_queryset` is
its door for a conversation id.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import InvalidInput
from accounts.models import OfficialAccount, Team
from accounts.scope import Scope
from followers.models import Follower
from followers.window import (
    LONG_SENDS,
    LONG_WINDOW,
    SHORT_SENDS,
    SHORT_WINDOW,
    WindowState,
    window_state,
)
from messaging.models import Conversation, Message
from messaging.previews import with_last_message
from messaging.visibility import visible_to

# The console's boxes and what they count: conversations that need someone now.
ATTENTION_STATUSES = (Conversation.Status.OPEN, Conversation.Status.PENDING)
STATUS_FILTERS = {
    **{s.value: (s.value,) for s in Conversation.Status},
    "live": tuple(s.value for s in Conversation.Status if s != Conversation.Status.RESOLVED),
    "attention": tuple(s.value for s in ATTENTION_STATUSES),
}


def conversation_queryset(*, scope: Scope) -> QuerySet[Conversation]:
    """Every conversation the requester may see (`messaging.visibility`); the one door for
    a conversation id."""
    return Conversation.objects.filter(visible_to(scope))


def box_teams(*, scope: Scope) -> QuerySet[Team]:
    """The team queues shown as boxes: all of the brand's for brand-wide members, else the
    teams the member belongs to."""
    qs = Team.objects.filter(brand_id=scope.brand_id)
    if scope.account_ids is not None:
        qs = qs.filter(members=scope.membership) if scope.membership else qs.none()
    return qs.order_by("name")


def _box_filter(scope: Scope, box: str) -> Q:
    """No box: every conversation. The console's boxes leave snoozed conversations to the
    snoozed box until they come back."""
    if box == "":
        return Q()
    if box == "snoozed":
        return Q(status=Conversation.Status.SNOOZED)
    awake = ~Q(status=Conversation.Status.SNOOZED)
    if box == "all":
        return awake
    if box == "mine":
        if scope.membership is None:
            return Q(pk__in=[])
        return awake & Q(assignee=scope.membership)
    if box == "unassigned":
        return awake & Q(assignee__isnull=True)
    if box.startswith("team:"):
        try:
            return awake & Q(team_id=int(box.removeprefix("team:")))
        except ValueError as exc:
            raise InvalidInput(f"unknown box: {box}") from exc
    raise InvalidInput(f"unknown box: {box}")


# What each box puts first: the longest-waiting follower (`waiting_since`, kept by
# ingestion and cleared by a reply; nobody waiting last, most recent activity first), and
# in the snoozed box the conversation that comes back soonest. Both are columns of the
# row: with 8,000 conversations in a brand (1,750 not resolved) a page of 100 is a top-N
# sort of the brand's live rows, 20-35 ms with its joins; no index of its own is needed.
LONGEST_WAITING = (F("waiting_since").asc(nulls_last=True), "-last_message_at", "pk")
BACK_SOONEST = (F("snoozed_until").asc(nulls_last=True), "pk")


def _int(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a number") from exc


def conversation_list(
    *, scope: Scope, filters: dict | None = None, now: datetime | None = None
) -> QuerySet[Conversation]:
    """The conversations of one box, filtered.

    filters: ``box`` (mine, unassigned, team:<id>, all: snoozed ones left out; snoozed;
    every conversation when absent), ``account`` (handling account id),
    ``status`` (open, pending, snoozed, resolved; ``live`` = not resolved; ``attention`` =
    open or pending; all when absent), ``language``, ``tag`` (tag id or name, on the
    follower), ``waiting`` (waiting longer than this many minutes).
    Ordered longest-waiting first (`LONGEST_WAITING`); the snoozed box back soonest first.
    """
    filters = filters or {}
    box = filters.get("box") or ""
    qs = conversation_queryset(scope=scope).filter(_box_filter(scope, box))
    if account := filters.get("account"):
        qs = qs.filter(handling_account_id=_int(account, "account"))
    if status := filters.get("status"):
        if status not in STATUS_FILTERS:
            raise InvalidInput(f"unknown status: {status}")
        qs = qs.filter(status__in=STATUS_FILTERS[status])
    if language := filters.get("language"):
        qs = qs.filter(language=language)
    if tag := filters.get("tag"):
        # An id is ASCII digits; anything else is a name. str.isdigit() alone also takes
        # a superscript "³", which int() refuses, and a tag may well be named that.
        tag_id = str(tag).isascii() and str(tag).isdigit()
        tag_q = Q(follower__tags__pk=int(tag)) if tag_id else Q(follower__tags__name=tag)
        qs = qs.filter(pk__in=Conversation.objects.filter(tag_q).values("pk"))
    if waiting := filters.get("waiting"):
        since = (now or timezone.now()) - timedelta(minutes=_int(waiting, "waiting"))
        qs = qs.filter(waiting_since__lte=since)
    # Each row carries its last message's preview (`messaging.previews`): one subquery.
    return (
        with_last_message(qs).select_related(
            "channel_account", "handling_account", "follower", "customer", "team",
            "assignee__user",
        )
        .prefetch_related("follower__tags")
        .order_by(*(BACK_SOONEST if box == "snoozed" else LONGEST_WAITING))
    )


def conversation_counts(*, scope: Scope) -> dict[str, int]:
    """How many conversations need attention (open or pending) in each box, and how many
    are snoozed: ``{"mine": n, "unassigned": n, "all": n, "snoozed": n, "team:<id>": n,
    ...}``; every box the requester has is present, with 0 when empty."""
    snoozed = Q(status=Conversation.Status.SNOOZED)
    qs = conversation_queryset(scope=scope).filter(
        Q(status__in=ATTENTION_STATUSES) | snoozed
    )
    attention = Q(status__in=ATTENTION_STATUSES)
    mine = Q(assignee=scope.membership) if scope.membership else Q(pk__in=[])
    totals = qs.aggregate(
        all=Count("pk", filter=attention), mine=Count("pk", filter=attention & mine),
        unassigned=Count("pk", filter=attention & Q(assignee__isnull=True)),
        snoozed=Count("pk", filter=snoozed),
    )
    counts = {name: totals[name] for name in ("mine", "unassigned", "all", "snoozed")}
    teams = list(box_teams(scope=scope).values_list("pk", flat=True))
    per_team = dict(
        qs.filter(attention, team_id__in=teams).values_list("team_id").annotate(n=Count("pk"))
    )
    counts.update({f"team:{pk}": per_team.get(pk, 0) for pk in teams})
    return counts


def conversation_messages(*, scope: Scope, conversation: Conversation) -> QuerySet[Message]:
    """One conversation's messages and notes, oldest first."""
    return (
        Message.objects.filter(brand_id=scope.brand_id, conversation=conversation)
        .select_related("account")
        .order_by("created_at", "pk")
    )


def conversation_history(*, scope: Scope, conversation: Conversation) -> QuerySet[Message]:
    """The customer's whole history across their followers (one per account) in the brand,
    oldest first; each message carries its account. A member who does not serve every
    account sees the other accounts' messages only for the accounts they serve, plus this
    conversation (which they may see through their team)."""
    same_person = Q(conversation=conversation)
    if conversation.customer_id:
        same_person |= Q(conversation__follower__customer_id=conversation.customer_id)
    qs = Message.objects.filter(same_person, brand_id=scope.brand_id)
    if scope.account_ids is not None:
        qs = qs.filter(Q(account_id__in=scope.account_ids) | Q(conversation=conversation))
    return qs.select_related("account").order_by("created_at", "pk")


def transfer_accounts(*, scope: Scope) -> QuerySet[OfficialAccount]:
    """The accounts a conversation may be handed to: every active account of the brand.
    Wider than `scope.accounts()` on purpose: handing a guest to a property the agent does
    not serve is what an account-to-account transfer is for."""
    return OfficialAccount.objects.filter(brand_id=scope.brand_id, is_active=True)


def transfer_teams(*, scope: Scope) -> QuerySet[Team]:
    """The teams a conversation may be handed to: every team of the brand."""
    return Team.objects.filter(brand_id=scope.brand_id)


def message_media(*, scope: Scope, conversation: Conversation) -> QuerySet[Message]:
    """Messages with a stored file that the conversation's history shows the requester
    (`conversation_history`): the door for a message's image."""
    return conversation_history(scope=scope, conversation=conversation).exclude(media="")


# The plain reasons a reply is refused before anything is sent (docs/wechat.md §4).
OUTSIDE_WINDOW = _("outside the 48-hour window: the follower must write first")
UNFOLLOWED = _("the follower has unfollowed")
QUOTA_SPENT = _("the %(n)d replies allowed in this window are used up")


def window_refusal(*, follower: Follower, state: WindowState, now: datetime) -> str | None:
    """Why a reply cannot go out now, or None when it can."""
    if not follower.subscribed:
        return str(UNFOLLOWED)
    if state.open:
        return None
    long_opened, short_opened = follower.window_opened_at, follower.short_window_opened_at
    if long_opened is not None and now - long_opened < LONG_WINDOW:
        return str(QUOTA_SPENT) % {"n": LONG_SENDS}
    if short_opened is not None and now - short_opened < SHORT_WINDOW:
        return str(QUOTA_SPENT) % {"n": SHORT_SENDS}
    return str(OUTSIDE_WINDOW)


@dataclass(frozen=True)
class WindowInfo:
    """What the reply box shows: whether a reply can go out now and until when."""

    open: bool
    expires_at: datetime | None
    sends_left: int
    kind: str
    reason: str

    def as_dict(self) -> dict:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return data


# The list marks a conversation whose reply window closes within this.
WINDOW_CLOSING_SOON = timedelta(hours=2)


def window_closing_at(
    *, conversation: Conversation, now: datetime | None = None
) -> datetime | None:
    """When the follower's reply window closes (``followers.window``), if that is within
    `WINDOW_CLOSING_SOON` and the conversation is not resolved: what the list marks. None
    when it closes later, is closed already, or nobody is to answer."""
    if conversation.status == Conversation.Status.RESOLVED:
        return None
    now = now or timezone.now()
    state = window_state(follower=conversation.follower, now=now)
    if not state.open or state.expires_at is None:
        return None
    return state.expires_at if state.expires_at - now <= WINDOW_CLOSING_SOON else None


def conversation_window(*, conversation: Conversation, now: datetime | None = None) -> WindowInfo:
    """The follower's reply window as the portal tracks it (``followers.window``), with the
    plain reason a reply would be refused."""
    now = now or timezone.now()
    follower = conversation.follower
    state = window_state(follower=follower, now=now)
    refusal = window_refusal(follower=follower, state=state, now=now)
    return WindowInfo(
        open=refusal is None,
        expires_at=state.expires_at,
        sends_left=state.sends_left if refusal is None else 0,
        kind=state.kind,
        reason=refusal or "",
    )
