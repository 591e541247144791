"""Ingestion: one platform delivery, stored in one transaction.

``inbound_ingest`` is what the callback view calls once a push is authenticated and
parsed. It inserts the ``Inbound`` row first, under the unique (account, dedupe_key):
a retried or replayed delivery finds the row there, stores nothing and sets nothing off,
and is answered as the first one was: ``success``, or the passive reply kept on the row.
Then, in the same transaction, it upserts the follower, opens or resumes the
conversation, stores the message and opens the reply window (user messages), or applies
the event (``events_in``). Everything slow — the profile, the media, routing, the
screens — runs after commit: domain events and ``inbound_process_batch_task``.

On PostgreSQL a follower's message (the hot path: most deliveries) is stored by one call
of the database function ``messaging_ingest_message`` (migration 0002), which does the
same steps as ``_user_message_orm`` in one round trip; the ORM path serves SQLite (the
demo) and is kept equal to the function by ``tests/messaging/test_ingest_conversations.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from django.db import connection, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts import events
from accounts.models import OfficialAccount
from followers.models import Follower
from followers.services import follower_upsert
from followers.window import LONG_FIELDS, window_open
from messaging import events as messaging_events
from messaging.auto_replies import auto_reply_message, auto_reply_possible
from messaging.models import Conversation, Inbound, Message
from wechat import messages as wx

logger = logging.getLogger(__name__)

# A conversation resolved this recently is reopened by a new message (so the agent keeps
# the thread); an older one stays closed and the message starts a new conversation.
REOPEN_WITHIN = timedelta(days=7)
AUTO_REPLY_SENDER = "Auto-reply"
# Stored, not translated: the console renders notes as written.
UNFOLLOWED_NOTE = "The follower unfollowed"
_COMMON_FIELDS = {"to_user", "from_user", "create_time", "msg_type", "raw", "msg_id"}
_KEY_MAX = Inbound._meta.get_field("dedupe_key").max_length
_WHEN = models.DateTimeField()
_INSERT_INBOUND_ONCE = (
    "INSERT INTO messaging_inbound (brand_id, account_id, dedupe_key, msg_type, event, openid,"
    " payload, created_time, received_at, attempts)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (account_id, dedupe_key) DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class Ingested:
    """The outcome: the Inbound id (None for a duplicate) and a passive reply, if any (for
    a duplicate: the one the first delivery was answered with)."""

    inbound_id: int | None
    duplicate: bool
    reply_text: str | None = None


@dataclass
class IngestContext:
    account: OfficialAccount
    inbound_id: int
    at: datetime  # the delivery's CreateTime
    now: datetime


def _dedupe_key(message: wx.Inbound) -> str:
    key = message.dedupe_key
    if len(key) <= _KEY_MAX:
        return key
    # A VIEW's key is a URL; keep long keys unique rather than cut them into collisions.
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: _KEY_MAX - 65]}#{digest}"


def _insert_once(*, account: OfficialAccount, message: wx.Inbound, at: datetime,
                 now: datetime) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the id, or None for a duplicate.

    One statement, no savepoint: a concurrent identical delivery waits on our unique
    index entry and then finds the conflict, so exactly one of them proceeds.
    """
    ops = connection.ops
    payload = {k: v for k, v in message.raw.items() if k != "Encrypt"}
    event = message.event if isinstance(message, wx.Event) else ""
    values = [
        account.brand_id,
        account.pk,
        _dedupe_key(message),
        message.msg_type[:32],
        event[:64],
        message.from_user[:64],
        Inbound._meta.get_field("payload").get_db_prep_value(payload, connection),
        ops.adapt_datetimefield_value(at),
        ops.adapt_datetimefield_value(now),
        0,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_INBOUND_ONCE, values)
        row = cursor.fetchone()
    return row[0] if row else None


def _remember_reply(inbound_id: int, reply: str | None) -> None:
    """Keep the passive reply on the delivery's row, in its transaction, for a retry."""
    if reply:
        Inbound.objects.filter(pk=inbound_id).update(passive_reply=reply)


def _duplicate(*, account: OfficialAccount, message: wx.Inbound) -> Ingested:
    """A delivery stored before, answered with the passive reply its first answer carried.

    The platform re-sends only when it got no answer (a timeout, a dropped connection, a
    non-2xx), so the follower has not seen that reply: ``success`` would lose it while the
    conversation shows it sent. The first delivery's row is committed by now: the INSERT
    that met the conflict waited for its transaction. Nothing is stored again.
    """
    first = (
        Inbound.objects.filter(account=account, dedupe_key=_dedupe_key(message))
        .values_list("passive_reply", flat=True)
        .first()
    )
    return Ingested(inbound_id=None, duplicate=True, reply_text=first or None)


def inbound_ingest(*, account: OfficialAccount, message: wx.Inbound,
                   now: datetime | None = None) -> Ingested:
    """Store one authenticated delivery for ``account``; see the module docstring.

    Raises the database's OperationalError/InterfaceError when it is unreachable (the
    view answers 503 so the platform retries); nothing is half-stored.
    """
    from messaging.events_in import event_handle
    from messaging.tasks import inbound_enqueue

    now = now or timezone.now()
    at = datetime.fromtimestamp(message.create_time, tz=UTC)
    if isinstance(message, wx.Message) and connection.vendor in ONE_CALL_VENDORS:
        return _ingest_user_message_one_call(account=account, message=message, at=at, now=now)
    with transaction.atomic():
        inbound_id = _insert_once(account=account, message=message, at=at, now=now)
        if inbound_id is None:
            return _duplicate(account=account, message=message)
        ctx = IngestContext(account=account, inbound_id=inbound_id, at=at, now=now)
        if isinstance(message, wx.Message):
            reply = _after_user_message(ctx, message, _user_message_orm(ctx, message))
        else:
            reply = event_handle(ctx=ctx, event=message)  # type: ignore[arg-type]
        _remember_reply(inbound_id, reply)
        transaction.on_commit(lambda: inbound_enqueue(inbound_id))
    return Ingested(inbound_id=inbound_id, duplicate=False, reply_text=reply)


def _ingest_user_message_one_call(*, account: OfficialAccount, message: wx.Message,
                                  at: datetime, now: datetime) -> Ingested:
    """PostgreSQL's path for a follower's message. The database function is a transaction
    by itself; only when an auto-reply may follow (stored in the same transaction) is it
    wrapped in one, which saves the BEGIN and COMMIT round trips on most messages."""
    from messaging.tasks import inbound_enqueue

    may_reply = isinstance(message, wx.TextMessage) and auto_reply_possible(
        account=account, text=message.content, at=now
    )
    with transaction.atomic() if may_reply else nullcontext():
        stored = _user_message_one_call(account=account, message=message, at=at, now=now)
        if stored is None:
            return _duplicate(account=account, message=message)
        ctx = IngestContext(account=account, inbound_id=stored.inbound_id, at=at, now=now)
        reply = _after_user_message(ctx, message, stored)
        _remember_reply(stored.inbound_id, reply)
        transaction.on_commit(lambda: inbound_enqueue(stored.inbound_id))
    return Ingested(inbound_id=stored.inbound_id, duplicate=False, reply_text=reply)


# --- user messages ----------------------------------------------------------------------


def _content(message: wx.Message) -> tuple[str, dict]:
    """The text an agent reads, and the typed fields worth keeping beside it."""
    fields = {
        f.name: getattr(message, f.name)
        for f in dataclasses.fields(message)
        if f.name not in _COMMON_FIELDS and getattr(message, f.name) is not None
    }
    if isinstance(message, wx.TextMessage):
        text = message.content
    elif isinstance(message, wx.VoiceMessage):
        text = message.recognition or ""
    elif isinstance(message, wx.LocationMessage):
        text = message.label or ""
    elif isinstance(message, wx.LinkMessage):
        text = "\n".join(p for p in (message.title, message.url) if p)
    else:
        text = ""
    return text, fields


def _live_conversation_locked(*, account: OfficialAccount, openid: str) -> Conversation | None:
    """The live conversation of ``openid`` on ``account``, read with its follower in one
    query that locks the follower row FOR UPDATE (the common case: a follower writing
    again). Only the follower is locked here: ingestion always locks the follower first
    and the conversation after (by its UPDATE), so two deliveries cannot deadlock."""
    return (
        Conversation.objects.select_for_update(of=("follower",))
        .select_related("follower")
        .filter(channel_account=account, follower__account=account, follower__openid=openid)
        .exclude(status=Conversation.Status.RESOLVED)
        .first()
    )


def _resume(live: Conversation, follower: Follower, at: datetime,
            reason: str | None) -> tuple[Conversation, str | None, bool]:
    """Open ``live`` again for a message at ``at``.

    One UPDATE computed by the database from the row as it is then (an agent may have
    answered or resolved it a moment ago), so nothing read earlier is written back.
    """
    if reason is None and live.status != Conversation.Status.OPEN:
        # A snoozed (or pending) conversation wakes when the follower writes.
        reason = "reopened"
    starts_wait = live.waiting_since is None
    changes: dict = {
        "status": Conversation.Status.OPEN,
        "snoozed_until": None,
        "resolved_at": None,
        "last_message_at": Greatest(F("last_message_at"), Value(at, output_field=_WHEN)),
        "waiting_since": Coalesce(F("waiting_since"), Value(at, output_field=_WHEN)),
    }
    if follower.customer_id:
        changes["customer_id"] = Coalesce(F("customer_id"), Value(follower.customer_id))
    Conversation.objects.filter(pk=live.pk).update(**changes)
    live.status, live.snoozed_until, live.resolved_at = Conversation.Status.OPEN, None, None
    live.last_message_at = max(live.last_message_at, at)
    live.waiting_since = live.waiting_since or at
    live.customer_id = live.customer_id or follower.customer_id
    return live, reason, starts_wait


def conversation_open_or_resume(
    *, follower: Follower, account: OfficialAccount, at: datetime
) -> tuple[Conversation, str | None, bool]:
    """The follower's live conversation, resumed; a recently resolved one, reopened; or a
    new one. Returns (conversation, "opened"/"reopened"/None, whether the follower starts
    waiting now).

    The caller must hold the follower row locked FOR UPDATE: that is what keeps two
    concurrent messages from opening two conversations (and the partial unique
    constraint ``one_live_conversation_per_follower`` from firing).
    """
    live = (
        Conversation.objects.filter(follower=follower)
        .exclude(status=Conversation.Status.RESOLVED)
        .first()
    )
    if live is not None:
        return _resume(live, follower, at, None)
    recent = (
        Conversation.objects.filter(follower=follower, status=Conversation.Status.RESOLVED,
                resolved_at__gte=at - REOPEN_WITHIN)
        .order_by("-resolved_at")
        .first()
    )
    if recent is not None:
        return _resume(recent, follower, at, "reopened")
    conversation = Conversation.objects.create(
        brand_id=account.brand_id, channel_account=account, handling_account=account,
        follower=follower, customer_id=follower.customer_id,
        status=Conversation.Status.OPEN, language=follower.language,
        opened_at=at, last_message_at=at, waiting_since=at,
    )
    return conversation, "opened", True


@dataclass(frozen=True)
class StoredMessage:
    """What storing a follower's message produced, by either path."""

    inbound_id: int
    conversation_id: int
    handling_account_id: int
    assignee_id: int | None
    team_id: int | None
    message_id: int
    reason: str | None  # "opened", "reopened", or None when it simply went on
    starts_wait: bool  # the follower starts waiting for an answer with this message
    language: str  # the follower's


# The databases on which a follower's message is stored by ``messaging_ingest_message``.
ONE_CALL_VENDORS = frozenset({"postgresql"})
_INGEST_MESSAGE = (
    "SELECT * FROM messaging_ingest_message(%s::bigint, %s::bigint, %s::text, %s::text,"
    " %s::text, %s::jsonb, %s::timestamptz, %s::timestamptz, %s::text, %s::jsonb, %s::text,"
    " %s::timestamptz)"
)


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _user_message_one_call(*, account: OfficialAccount, message: wx.Message, at: datetime,
                           now: datetime) -> StoredMessage | None:
    """PostgreSQL: the delivery, follower, conversation, message and window in one call
    (see the migration); None for a duplicate."""
    text, fields = _content(message)
    payload = {k: v for k, v in message.raw.items() if k != "Encrypt"}
    params = [
        account.brand_id, account.pk, _dedupe_key(message), message.msg_type[:32],
        message.from_user[:64], _json(payload), at, now, text, _json(fields),
        message.msg_id, at - REOPEN_WITHIN,
    ]
    row = _call_ingest_function(params)
    if row is None:
        return None
    (inbound_id, _follower_id, language, _customer_id, conversation_id, handling_account_id,
     assignee_id, team_id, reason, starts_wait, message_id) = row
    return StoredMessage(
        inbound_id=inbound_id, conversation_id=conversation_id,
        handling_account_id=handling_account_id, assignee_id=assignee_id, team_id=team_id,
        message_id=message_id, reason=reason, starts_wait=starts_wait, language=language,
    )


def _call_ingest_function(params: list) -> tuple | None:
    """One row from ``messaging_ingest_message``, or None for a duplicate.

    Through a psycopg cursor that binds the parameters on the server rather than Django's
    client-side cursor, which spells all twelve into the SQL text: that costs this
    callback more than it saves. Django's checks come first (the connection's health, a
    broken transaction), and its error wrapper maps a lost database to its
    OperationalError as everywhere else.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_INGEST_MESSAGE, params)
        return cursor.fetchone()


def _user_message_orm(ctx: IngestContext, message: wx.Message) -> StoredMessage:
    """Any database: the same steps as ``messaging_ingest_message``, by the ORM, after
    ``_insert_once`` stored the delivery."""
    account = ctx.account
    live = _live_conversation_locked(account=account, openid=message.from_user)
    if live is not None:
        follower = live.follower
        conversation, reason, starts_wait = _resume(live, follower, ctx.at, None)
    else:
        follower, _created = follower_upsert(account=account, openid=message.from_user,
                                             at=ctx.at)
        conversation, reason, starts_wait = conversation_open_or_resume(
            follower=follower, account=account, at=ctx.at
        )
    text, fields = _content(message)
    stored = Message.objects.create(
        brand_id=account.brand_id, conversation=conversation, account=account,
        direction=Message.Direction.INBOUND, msg_type=message.msg_type[:32], content=text,
        payload=fields, wechat_msg_id=message.msg_id, status=Message.Status.RECEIVED,
    )
    changed = ["last_inbound_at", *LONG_FIELDS]
    if follower.last_inbound_at is None or ctx.at > follower.last_inbound_at:
        follower.last_inbound_at = ctx.at
    window_open(follower=follower, trigger="message", at=ctx.at, save=False)
    if not follower.subscribed:
        # Only followers can write: we missed (or have not yet seen) their follow.
        follower.subscribed = True
        changed.append("subscribed")
    follower.save(update_fields=changed)
    return StoredMessage(
        inbound_id=ctx.inbound_id, conversation_id=conversation.pk,
        handling_account_id=conversation.handling_account_id,
        assignee_id=conversation.assignee_id, team_id=conversation.team_id,
        message_id=stored.pk, reason=reason, starts_wait=starts_wait,
        language=follower.language,
    )


def _after_user_message(ctx: IngestContext, message: wx.Message,
                        stored: StoredMessage) -> str | None:
    """Announce what storing the message changed, and store the auto-reply, if one is
    due; returns its text for the passive reply."""
    account = ctx.account
    if stored.reason:
        # "conversation.opened" or "conversation.reopened"
        events.announce(f"conversation.{stored.reason}", messaging_events.conversation_fact(
            brand_id=account.brand_id, conversation_id=stored.conversation_id,
            account_id=account.pk, handling_account_id=stored.handling_account_id,
            assignee_id=stored.assignee_id, team_id=stored.team_id,
            status=Conversation.Status.OPEN,
        ))
    events.announce("message.created", messaging_events.message_created(
        brand_id=account.brand_id, conversation_id=stored.conversation_id,
        message_id=stored.message_id, account_id=account.pk,
        direction=Message.Direction.INBOUND,
    ))
    reply = None
    if isinstance(message, wx.TextMessage):
        reply = auto_reply_message(account=account, text=message.content,
                                   language=stored.language, at=ctx.now,
                                   starts_wait=stored.starts_wait)
    if reply:
        auto = Message.objects.create(
            brand_id=account.brand_id, conversation_id=stored.conversation_id,
            account=account, direction=Message.Direction.OUTBOUND, msg_type="text",
            content=reply, sender_display=AUTO_REPLY_SENDER, status=Message.Status.SENT,
            sent_at=ctx.now, payload={"passive": True},
        )
        messaging_events.announce_message(auto)
    return reply


def system_note(*, conversation: Conversation, text: str) -> Message:
    """A line in the conversation nobody typed ("The follower unfollowed")."""
    note = Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account=conversation.channel_account, direction=Message.Direction.SYSTEM,
        msg_type="text", content=text, status=Message.Status.RECEIVED,
    )
    messaging_events.announce_message(note)
    return note
