"""Writes on conversations and messages: resolve, snooze, replies, notes, and the outcome
of a send. Who holds a conversation (assignment, claim next, transfers) is routing's.

Every write announces what changed as a domain event (`accounts.events`, payloads in
`messaging.events`) after commit; routing's console listens. Replies are stored first
(queued) and sent by `message_send_task`.
"""

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import events
from accounts.errors import Conflict, InvalidInput, NotInScope, RoleRequired
from accounts.models import Membership
from accounts.scope import Scope, access
from accounts.wechat_clients import client_for
from followers.events import announce_unsubscribed
from followers.models import Follower
from followers.window import (
    LONG_WINDOW,
    SHORT_WINDOW,
    WindowClosed,
    window_consume,
    window_state,
)
from messaging.errors import ReplyRefused
from messaging.events import (
    announce_conversation,
    announce_message,
    announce_status,
    conversation_resolved_for,
    conversation_updated_for,
)
from messaging.images import image_check, image_name
from messaging.models import Conversation, Mention, Message
from messaging.prepared import normalize_language, prepared_render, prepared_resolve
from messaging.selectors import OUTSIDE_WINDOW, conversation_queryset, window_refusal
from messaging.visibility import only_consulted
from wechat.client.messages import CUSTOM_SEND
from wechat.client.retry import Outcome, Safety, classify, is_transient
from wechat.errors import (
    NotFollowing,
    OutsideWindow,
    RequestValidationError,
    SendLimitReached,
    TransportError,
    WeChatError,
)

__all__ = [
    "conversation_resolve",
    "conversation_snooze",
    "conversations_wake_snoozed",
    "message_deliver",
    "message_note",
    "message_reply",
    "message_retry",
    "prepared_render",
]

logger = logging.getLogger(__name__)

TEXT_LIMIT = 2000  # characters; the platform refuses kf texts much past 2,048 bytes of UTF-8
BLANK_REPLY = _("A reply needs a text, a prepared response or an image: this one is blank.")


# -- conversations ----------------------------------------------------------------------


CONSULTED_ONLY = _("You were mentioned to advise on this conversation: you can read it "
                   "and write private notes, but not answer, resolve or hand it on.")


def _lock(scope: Scope, conversation: Conversation, *, act: bool = True) -> Conversation:
    """The conversation row, re-read through the scope and locked FOR UPDATE (the caller
    holds a transaction). To ``act`` on it (anything but a note), a mention is not
    enough (`messaging.visibility.only_consulted`)."""
    locked = access(conversation_queryset(scope=scope).select_for_update(of=("self",)),
                    conversation.pk)
    if act and only_consulted(scope, locked):
        raise RoleRequired(CONSULTED_ONLY)
    return locked


def conversation_resolve(*, scope: Scope, conversation: Conversation) -> Conversation:
    """Close the conversation; the follower's next message reopens it (ingestion)."""
    with transaction.atomic():
        conversation = _lock(scope, conversation)
        if conversation.status == Conversation.Status.RESOLVED:
            return conversation
        conversation.status = Conversation.Status.RESOLVED
        conversation.resolved_at = timezone.now()
        conversation.waiting_since = None
        conversation.snoozed_until = None
        conversation.save(
            update_fields=["status", "resolved_at", "waiting_since", "snoozed_until"]
        )
        events.announce("conversation.resolved",
                        conversation_resolved_for(conversation, cause="agent"))
    return conversation


def conversation_snooze(
    *, scope: Scope, conversation: Conversation, until: datetime
) -> Conversation:
    """Hide the conversation from the boxes until `until`; a new message or the wake-up
    sweep brings it back."""
    if until <= timezone.now():
        raise InvalidInput("snooze until a time in the future")
    with transaction.atomic():
        conversation = _lock(scope, conversation)
        if conversation.status == Conversation.Status.RESOLVED:
            raise Conflict("a resolved conversation cannot be snoozed")
        conversation.status = Conversation.Status.SNOOZED
        conversation.snoozed_until = until
        conversation.save(update_fields=["status", "snoozed_until"])
        announce_conversation("conversation.snoozed", conversation)
    return conversation


def conversations_wake_snoozed(*, now: datetime | None = None) -> int:
    """System sweep (every brand): reopen snoozed conversations whose time has come."""
    now = now or timezone.now()
    woken = 0
    with transaction.atomic():
        due = Conversation.objects.filter(
            status=Conversation.Status.SNOOZED, snoozed_until__lte=now
        ).select_for_update(skip_locked=True, of=("self",))
        for conversation in due:
            conversation.status = Conversation.Status.OPEN
            conversation.snoozed_until = None
            conversation.save(update_fields=["status", "snoozed_until"])
            events.announce("conversation.updated",
                            conversation_updated_for(conversation, change="woken"))
            woken += 1
    return woken


# -- replies and notes ------------------------------------------------------------------


def _member_name(by: Membership | None) -> str:
    """How a member is named to followers and in the thread: their customer-facing name,
    else their first name."""
    return (by.display_name or by.user.get_short_name()) if by else ""


def sender_display(*, by: Membership | None, conversation: Conversation) -> str:
    """The customer-facing identity of a reply, e.g. "Concierge · Shanghai Bund hotel":
    what a signed reply ends with, and what the console offers to sign with.

    It names the *handling* account: after an account-to-account relay the target
    account's agents answer as themselves (the property's concierge), although the reply
    still goes out through the channel account the follower writes to."""
    account_name = conversation.handling_account.name
    if by is None:
        return account_name
    return f"{_member_name(by)} · {account_name}"


def _signed(
    text: str, *, sign: bool, by: Membership | None, conversation: Conversation
) -> tuple[str, dict]:
    """The text as it will be sent, and what the payload records about a signature.

    Signed, it ends with a line naming the sender's customer-facing identity, so the
    follower knows who answered although every reply comes from the Official Account. The
    length limit applies to what is sent, signature included.
    """
    if not sign:
        return text, {}
    signed = f"{text.rstrip()}\n— {sender_display(by=by, conversation=conversation)}"
    if len(signed) > TEXT_LIMIT:
        raise InvalidInput(
            f"signed, this reply has {len(signed)} characters and at most {TEXT_LIMIT} fit: "
            "shorten it or send it unsigned"
        )
    return signed, {"signed": True}


def _reply_content(
    *, scope: Scope, conversation: Conversation, text: str, media_id: str,
    prepared_key: str, language: str, image: UploadedFile | None, by: Membership | None,
    sign: bool = False,
) -> dict:
    """What the Message row will hold; refuses empty, mixed or oversize replies. `sign`
    signs a text (typed or prepared) with `sender_display`; images are never signed."""
    given = [bool(text.strip()), bool(media_id), bool(prepared_key), image is not None]
    if not any(given):
        # Empty, or only spaces and line breaks: nothing a follower could read.
        raise InvalidInput(str(BLANK_REPLY))
    if sum(given) != 1:
        raise InvalidInput("send one thing: a text, a prepared response or an image")
    if prepared_key:
        account = conversation.handling_account
        text = prepared_render(
            scope=scope, account=account, key=prepared_key,
            language=language or conversation.language, customer=conversation.customer,
            agent=by,
        )
        chosen = prepared_resolve(brand_id=scope.brand_id, account=account, key=prepared_key,
                                  language=language or conversation.language)
        payload = {"prepared_key": prepared_key,
                   "language": chosen.language if chosen else normalize_language(language)}
        text, signature = _signed(text, sign=sign, by=by, conversation=conversation)
        return {"msg_type": "text", "content": text, "payload": {**payload, **signature}}
    if text.strip():
        if len(text) > TEXT_LIMIT:
            raise InvalidInput(f"a reply holds at most {TEXT_LIMIT} characters")
        text, signature = _signed(text, sign=sign, by=by, conversation=conversation)
        return {"msg_type": "text", "content": text, "payload": signature}
    if media_id:
        return {"msg_type": "image", "content": "", "payload": {"media_id": media_id}}
    if image is None:  # unreachable: exactly one of the four was given
        raise InvalidInput("send one thing: a text, a prepared response or an image")
    # Judged by its bytes, not its name or claimed type; stored under its real format's
    # extension, which the upload to the platform and the media route read back.
    image.content_type = image_check(image)
    image.name = image_name(image.name, image.content_type)
    return {"msg_type": "image", "content": "", "payload": {}, "media": image}


def message_reply(
    *, scope: Scope, conversation: Conversation, text: str = "", media_id: str = "",
    prepared_key: str = "", language: str = "", by: Membership | None,
    image: UploadedFile | None = None, sign: bool = False,
) -> Message:
    """Store a reply (queued) and send it after commit through the channel account.
    With `sign`, a text ends with the sender's customer-facing identity (`sender_display`).

    Refused up front, with the reason, when the portal's record of the reply window says
    the platform would refuse it; otherwise one window send is consumed here, under the
    follower's row lock, so two agents cannot both spend the last one.
    """
    content = _reply_content(
        scope=scope, conversation=conversation, text=text, media_id=media_id,
        prepared_key=prepared_key, language=language, image=image, by=by, sign=sign,
    )
    from messaging.tasks import message_send_enqueue

    now = timezone.now()
    with transaction.atomic():
        # Follower first, then conversation: the order ingestion locks them in, so a reply
        # and the follower's next message cannot deadlock.
        follower = Follower.objects.select_for_update().get(pk=conversation.follower_id)
        conversation = _lock(scope, conversation)
        refusal = window_refusal(follower=follower, state=window_state(follower=follower,
                                                                       now=now), now=now)
        if refusal is not None:
            raise ReplyRefused(refusal)
        try:
            window_consume(follower=follower, now=now)
        except WindowClosed as exc:
            raise ReplyRefused(exc.reason) from exc
        message = Message.objects.create(
            brand_id=conversation.brand_id,
            conversation=conversation,
            account_id=conversation.channel_account_id,
            direction=Message.Direction.OUTBOUND,
            status=Message.Status.QUEUED,
            sender=by,
            sender_display=sender_display(by=by, conversation=conversation),
            **content,
        )
        conversation.first_response_at = conversation.first_response_at or now
        conversation.waiting_since = None
        conversation.last_message_at = now
        conversation.save(update_fields=["first_response_at", "waiting_since",
                                         "last_message_at"])
        # Announced before the send is queued, so screens see the message before its status.
        announce_message(message)
        events.announce("conversation.updated",
                        conversation_updated_for(conversation, change="replied"))
        transaction.on_commit(lambda: message_send_enqueue(message.pk))
    return message


def message_note(
    *, scope: Scope, conversation: Conversation, text: str, by: Membership | None,
    mentions: Iterable[Membership] = (),
) -> Message:
    """A private note on the conversation. Never sent: the follower does not see it.

    Each member in ``mentions`` (colleagues of the same brand; the writer is left out) is
    consulted: a `Mention` lets them read the conversation until they dismiss it or it is
    resolved (`messaging.visibility`, ground 5), and "mention.created" tells their screen."""
    if not text.strip():
        raise InvalidInput("a note needs a text")
    consulted = {member.pk: member for member in mentions if by is None or member.pk != by.pk}
    if any(member.brand_id != scope.brand_id for member in consulted.values()):
        raise InvalidInput(_("Only members of this brand can be mentioned."))
    with transaction.atomic():
        conversation = _lock(scope, conversation, act=False)
        message = Message.objects.create(
            brand_id=conversation.brand_id,
            conversation=conversation,
            account_id=conversation.channel_account_id,
            direction=Message.Direction.NOTE,
            msg_type="text",
            content=text,
            sender=by,
            sender_display=_member_name(by),
        )
        announce_message(message)
        for member in consulted.values():
            mention = Mention.objects.create(brand_id=conversation.brand_id,
                                             conversation=conversation, note=message,
                                             member=member, by=by)
            events.announce("mention.created", {
                "brand_id": conversation.brand_id, "conversation_id": conversation.pk,
                "mention_id": mention.pk, "member_id": member.pk,
                "by_membership_id": by.pk if by else None,
            })
    return message


def messages_claim_due(*, lost_after_seconds: int, now: datetime | None = None,
                       limit: int = 1000) -> list[int]:
    """System sweep: the queued replies to queue (again) now, claimed so that no other
    sweep queues them too. A reply is due when its scheduled retry's time has come
    (`next_attempt_at`), or when it has sat queued and untouched for `lost_after_seconds`
    (its task was lost: a broker outage when it was written, a worker killed before its
    claim). Claiming clears the schedule and touches `attempted_at`, so the reply counts as
    lost again only if this queueing is lost too. Answers the ids, oldest first."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=lost_after_seconds)
    queued = Message.objects.filter(direction=Message.Direction.OUTBOUND,
                                    status=Message.Status.QUEUED)
    due = (queued.filter(next_attempt_at__lte=now)
           | queued.filter(next_attempt_at__isnull=True, attempted_at__lte=cutoff)
           | queued.filter(next_attempt_at__isnull=True, attempted_at__isnull=True,
                           created_at__lte=cutoff))
    with transaction.atomic():
        # Rows another sweep is claiming right now are skipped, never waited for.
        ids = list(due.order_by("pk").select_for_update(skip_locked=True)
                   .values_list("pk", flat=True)[:limit])
        Message.objects.filter(pk__in=ids).update(next_attempt_at=None, attempted_at=now)
    return ids


# -- sending ----------------------------------------------------------------------------


class SendOutcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"  # put back in the queue; the send sweep queues it at `next_attempt_at`
    TAKEN = "taken"  # another worker has it, it is no longer queued, or its retry is not due
    GONE = "gone"


FAILURE_REASONS = {
    OutsideWindow: "outside the 48-hour window",
    NotFollowing: "the follower has unfollowed",
    SendLimitReached: "reply limit reached for this window",
}
MAYBE_DELIVERED = (
    "WeChat did not confirm this message and may have delivered it: check with the "
    "follower before sending it again"
)

# After transient trouble (WeChat busy or rate-limited, unreachable, a token it would not
# hand out) a reply is tried again this many seconds after each failed attempt: 15 s,
# 30 s, then 1, 2, 4 and 5 minutes, each stretched by up to a fifth at random so that the
# replies an outage held back do not all return at the same instant. That rides out
# 12.75 minutes of trouble at the least, in 7 attempts; then the reply fails with the
# reason, and an agent can retry it by hand. The schedule lives in the database
# (`next_attempt_at`, queued by the send sweep every 15 s), not in Celery countdowns: the
# Redis broker hands out again any task that waits longer than its visibility timeout.
SEND_RETRY_DELAYS = (15, 30, 60, 120, 240, 300)
SEND_RETRY_JITTER = 0.2
_jitter = secrets.SystemRandom()


def send_retry_span_seconds() -> float:
    """The shortest time the schedule keeps a reply trying, first attempt to last."""
    return float(sum(SEND_RETRY_DELAYS))


def _transient(exc: WeChatError | TransportError) -> bool:
    """Whether another attempt later may succeed without reaching the follower twice, as
    the retry table says (`wechat.client.retry`). The kf send is judged as the client
    declares it (UNSAFE); a call on the way to it (the token, the image upload) failing
    means nothing was sent, so that one is judged as a read."""
    safety = Safety.UNSAFE if exc.path == CUSTOM_SEND else Safety.IDEMPOTENT
    return is_transient(exc, safety)


def _ensure_media(client: object, message: Message) -> str:
    """The image's media id, uploading the stored file once (kept on the row, so a retried
    send does not upload again)."""
    media_id = message.payload.get("media_id", "")
    if media_id:
        return media_id
    with message.media.open("rb") as fh:
        content = fh.read()
    name = message.media.name.rsplit("/", 1)[-1]
    answer = client.media_upload("image", name, content, content_type=_image_type(name))
    media_id = str(answer["media_id"])
    message.payload = {**message.payload, "media_id": media_id}
    Message.objects.filter(pk=message.pk).update(payload=message.payload)
    return media_id


def _image_type(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {"png": "image/png", "gif": "image/gif", "bmp": "image/bmp"}.get(ext, "image/jpeg")


def _send(message: Message) -> None:
    client = client_for(message.account)
    openid = message.conversation.follower.openid
    if message.msg_type == "image":
        client.custom_send_image(openid, _ensure_media(client, message))
    else:
        client.custom_send_text(openid, message.content)


def _finish(message: Message, status: str, *, errcode: int | None = None,
            reason: str = "", maybe_delivered: bool = False) -> bool:
    """Record a send's outcome and announce it, if the row is still `sending`; False when
    an outcome was already written (the stuck sweep gave up on it first)."""
    message.status, message.errcode, message.error_reason = status, errcode, reason[:255]
    message.sent_at = timezone.now() if status == Message.Status.SENT else None
    message.maybe_delivered = maybe_delivered
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            status=status, errcode=errcode, error_reason=message.error_reason,
            sent_at=message.sent_at, maybe_delivered=maybe_delivered, next_attempt_at=None,
        )
        if changed:
            announce_status(message)
    return bool(changed)


def _mark_unfollowed(message: Message) -> None:
    """The platform says the follower left (43004): record it as ingestion would."""
    now = timezone.now()
    with transaction.atomic():
        changed = Follower.objects.filter(
            pk=message.conversation.follower_id, subscribed=True
        ).update(subscribed=False, unsubscribed_at=now)
        if changed:
            follower = Follower.objects.get(pk=message.conversation.follower_id)
            announce_unsubscribed(follower, at=now)
            events.announce("conversation.updated", conversation_updated_for(
                message.conversation, change="unsubscribed"))


def _window_closes(follower: Follower, now: datetime) -> datetime | None:
    """When the last of the follower's reply windows still open closes (None: none is).
    The reply's send was counted when it was written, so a retry needs only a window
    still running, not a send left in it."""
    if not follower.subscribed:
        return None
    ends = [opened + span for opened, span in ((follower.window_opened_at, LONG_WINDOW),
                                               (follower.short_window_opened_at, SHORT_WINDOW))
            if opened is not None and opened + span > now]
    return max(ends, default=None)


def _send_later(message: Message, exc: WeChatError | TransportError) -> SendOutcome:
    """After transient trouble: put the reply back in the queue for the next attempt of
    `SEND_RETRY_DELAYS` (RETRY), or fail it with the reason when the schedule is spent or
    the follower's reply window would close before that attempt."""
    errcode = getattr(exc, "errcode", None)
    made = message.send_attempts  # this attempt included
    now = timezone.now()
    if made > len(SEND_RETRY_DELAYS):
        _finish(message, Message.Status.FAILED, errcode=errcode,
                reason=f"the reply was not sent after {made} attempts: {exc.reason}")
        logger.warning("reply not sent after its last attempt",
                       extra={"message_id": message.pk, "error": str(exc)})
        return SendOutcome.FAILED
    delay = SEND_RETRY_DELAYS[made - 1] * (1 + _jitter.uniform(0, SEND_RETRY_JITTER))
    at = now + timedelta(seconds=delay)
    closes = _window_closes(message.conversation.follower, now)
    if closes is None or closes <= at:
        refusal = window_refusal(follower=message.conversation.follower,
                                 state=window_state(follower=message.conversation.follower,
                                                    now=at), now=at)
        _finish(message, Message.Status.FAILED, errcode=errcode,
                reason=f"the reply was not sent: {exc.reason}; before another attempt, "
                       f"{refusal or OUTSIDE_WINDOW}")
        logger.info("reply not retried: its window closes first",
                    extra={"message_id": message.pk, "error": str(exc)})
        return SendOutcome.FAILED
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
        status=Message.Status.QUEUED, attempted_at=now, next_attempt_at=at
    )
    logger.info("reply send will be retried",
                extra={"message_id": message.pk, "error": str(exc), "attempts": made,
                       "next_attempt_at": at.isoformat()})
    return SendOutcome.RETRY


def _send_failed(message: Message, exc: WeChatError | TransportError) -> SendOutcome:
    """The outcome of a send the client gave up on. Transient trouble puts the reply back
    in the queue on the retry schedule (`_send_later`); a kf send that may have reached
    WeChat is failed with `MAYBE_DELIVERED`, never repeated; anything else is the
    platform's refusal, with its errcode and reason."""
    if _transient(exc):
        return _send_later(message, exc)
    if classify(exc) is Outcome.MAYBE_SENT:
        _finish(message, Message.Status.FAILED, reason=MAYBE_DELIVERED, maybe_delivered=True)
        logger.warning("reply may have been sent", extra={"message_id": message.pk})
        return SendOutcome.FAILED
    errcode = getattr(exc, "errcode", None)
    reason = next((r for cls, r in FAILURE_REASONS.items() if isinstance(exc, cls)),
                  exc.reason)
    _finish(message, Message.Status.FAILED, errcode=errcode, reason=reason)
    if isinstance(exc, NotFollowing):
        _mark_unfollowed(message)
    # A known business refusal, not a crash: logged at info.
    logger.info("reply refused by the platform",
                extra={"message_id": message.pk, "errcode": errcode})
    return SendOutcome.FAILED


def message_deliver(*, message_id: int) -> SendOutcome:
    """Send one queued reply and write the outcome back (the task's body).

    The claim is a conditional update (queued → sending, and only once a scheduled retry
    is due): zero rows means another worker has it, or a stale task came early. Every way
    out of here leaves the reply sent, failed or (RETRY) queued again with its next
    attempt scheduled; only a worker killed mid-send leaves it `sending`, for
    `messages_fail_stuck`.
    """
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = Message.objects.filter(
        due, pk=message_id, status=Message.Status.QUEUED, direction=Message.Direction.OUTBOUND
    ).update(status=Message.Status.SENDING, attempted_at=now, next_attempt_at=None,
             send_attempts=F("send_attempts") + 1)
    if not claimed:
        if not Message.objects.filter(pk=message_id).exists():
            logger.info("reply to send is gone", extra={"message_id": message_id})
            return SendOutcome.GONE
        return SendOutcome.TAKEN
    message = Message.objects.select_related(
        "account", "conversation__follower", "conversation__channel_account"
    ).get(pk=message_id)
    try:
        _send(message)
    except (WeChatError, TransportError) as exc:
        return _send_failed(message, exc)
    except RequestValidationError as exc:
        # Refused by the client before it called WeChat (an empty text): final.
        _finish(message, Message.Status.FAILED, reason=str(exc))
        return SendOutcome.FAILED
    except Exception:
        # Never leave a reply in "sending" after a bug or a misconfiguration.
        logger.exception("reply send crashed", extra={"message_id": message_id})
        _finish(message, Message.Status.FAILED, reason="the reply could not be sent")
        return SendOutcome.FAILED
    if not _finish(message, Message.Status.SENT):
        logger.warning("reply sent after the sweep had given up on it",
                       extra={"message_id": message_id})
    return SendOutcome.SENT


def messages_fail_stuck(*, older_than_seconds: int) -> int:
    """System sweep: fail the replies left `sending` longer than an attempt lasts, whose
    worker died mid-send. WeChat may have delivered them and a kf send cannot be repeated
    safely, so they are never sent again (`maybe_delivered`, so not by hand either): the
    reason (`MAYBE_DELIVERED`) asks the agent to check with the follower. Answers how
    many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    sending = Message.objects.filter(direction=Message.Direction.OUTBOUND,
                                     status=Message.Status.SENDING)
    stuck = (sending.filter(attempted_at__lte=cutoff)
             | sending.filter(attempted_at__isnull=True, created_at__lte=cutoff))
    failed = 0
    for message in stuck.order_by("pk")[:1000]:
        if _finish(message, Message.Status.FAILED, reason=MAYBE_DELIVERED,
                   maybe_delivered=True):
            logger.warning("reply left sending by a lost worker: failed",
                           extra={"message_id": message.pk})
            failed += 1
    return failed


# -- sending again by hand ----------------------------------------------------------------

ONLY_FAILED = _("Only a failed reply can be sent again.")
MAY_HAVE_ARRIVED = _(
    "WeChat may already have delivered this reply: check with the follower instead of "
    "sending it again."
)


def message_retry(
    *, scope: Scope, conversation: Conversation, message: Message, by: Membership | None
) -> Message:
    """Send a failed reply again: the same row goes back to the queue (failed → queued, a
    conditional update), so a retry never makes a second message and two retries at once
    queue it once. `message` was loaded through the conversation, in the scope.

    Refused (Conflict) when the reply is not failed, or when WeChat may have delivered it
    (`maybe_delivered`); refused with the reason (ReplyRefused) when the follower's reply
    window would refuse it now. Like a new reply, it spends one send of the window, under
    the follower's row lock (the failed attempt's send was counted, but the window may
    have been renewed since; erring this way never sends past the platform's quota).
    """
    from messaging.tasks import message_send_enqueue

    now = timezone.now()
    with transaction.atomic():
        follower = Follower.objects.select_for_update().get(pk=conversation.follower_id)
        conversation = _lock(scope, conversation)
        row = Message.objects.filter(pk=message.pk, conversation=conversation,
                                     direction=Message.Direction.OUTBOUND).first()
        if row is None:
            raise NotInScope()
        if row.maybe_delivered:
            raise Conflict(MAY_HAVE_ARRIVED)
        if row.status != Message.Status.FAILED:
            raise Conflict(ONLY_FAILED)
        refusal = window_refusal(follower=follower, state=window_state(follower=follower,
                                                                       now=now), now=now)
        if refusal is not None:
            raise ReplyRefused(refusal)
        requeued = Message.objects.filter(
            pk=row.pk, status=Message.Status.FAILED, maybe_delivered=False
        ).update(status=Message.Status.QUEUED, errcode=None, error_reason="", sent_at=None,
                 send_attempts=0, next_attempt_at=None, attempted_at=now)
        if not requeued:  # an outcome was written since it was read
            raise Conflict(ONLY_FAILED)
        try:
            window_consume(follower=follower, now=now)
        except WindowClosed as exc:
            raise ReplyRefused(exc.reason) from exc
        row.refresh_from_db()
        announce_status(row)
        logger.info("reply sent again by hand",
                    extra={"message_id": row.pk, "by": getattr(by, "pk", None)})
        transaction.on_commit(lambda: message_send_enqueue(row.pk))
    return row
