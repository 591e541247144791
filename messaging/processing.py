"""After-commit work on an accepted delivery: the follower's profile and the media.

Run by ``inbound_process_batch_task`` (``inbound_process_task`` for a retry); idempotent,
so a task delivered twice (a retry, the sweep re-queueing a slow one) only repeats cheap
checks.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import OfficialAccount
from accounts.wechat_clients import client_for
from followers.models import Follower
from followers.services import follower_apply_profile
from messaging.models import Inbound, Message
from wechat.client.retry import Safety, is_transient
from wechat.errors import DownloadRefused, WeChatError

logger = logging.getLogger(__name__)

MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo"})
# Pushes whose FromUserName is not a follower (the mass-send assistant, the platform).
SYSTEM_EVENTS = frozenset({"masssendjobfinish", "templatesendjobfinish"})
# A row that failed this often is left for an operator (it stays in the table, unprocessed).
MAX_ATTEMPTS = 20
# A row unprocessed this long after it arrived lost its task; the sweep queues it.
SWEEP_AFTER = timedelta(seconds=60)
# Rows per task the sweep queues, and how long it leaves a row it queued before taking it
# for lost as well (its task waits behind the rest of a backlog; a duplicate would only
# repeat the cheap checks).
SWEEP_BATCH = 500
SWEEP_AGAIN_AFTER = timedelta(minutes=3)

_MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8", "jpg"), (b"GIF8", "gif"), (b"#!AMR", "amr"),
          (b"RIFF", "wav"), (b"ID3", "mp3"))


def transient(exc: BaseException) -> bool:
    """Worth trying again later, as the retry table says for reads (`wechat.client.retry`):
    the platform was busy, rate-limited or unreachable, or rejected the token. Anything
    else is an answer (bad openid, expired media, the day's quota used up) and final."""
    return is_transient(exc, Safety.IDEMPOTENT)


def _extension(data: bytes, msg_type: str) -> str:
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    if data[4:8] == b"ftyp":
        return "mp4"
    return {"image": "jpg", "voice": "amr"}.get(msg_type, "mp4")


def inbound_claim(*, inbound: Inbound) -> bool:
    """Take the row for one attempt: a conditional update on ``attempts``, so of two
    workers holding the same row only one proceeds."""
    taken = Inbound.objects.filter(
        pk=inbound.pk, processed_at__isnull=True, attempts=inbound.attempts
    ).update(attempts=F("attempts") + 1)
    return bool(taken)


def _fetch_profile(*, account: OfficialAccount, follower: Follower) -> None:
    try:
        info = client_for(account).user_info(follower.openid)
    except WeChatError as exc:
        if transient(exc):
            raise
        logger.warning(
            "follower profile refused by the platform",
            extra={"account_id": account.pk, "follower_id": follower.pk, "errcode": exc.errcode},
        )
        return
    follower_apply_profile(follower=follower, info=info, at=timezone.now())


def _fetch_media(*, account: OfficialAccount, inbound: Inbound) -> None:
    msg_id = str(inbound.payload.get("MsgId") or inbound.payload.get("MsgID") or "")
    media_id = str(inbound.payload.get("MediaId") or "")
    message = Message.objects.filter(account=account, wechat_msg_id=msg_id).first()
    if message is None or not media_id or message.media:
        return
    try:
        content = client_for(account).media_get(media_id)
    except WeChatError as exc:
        if transient(exc):
            raise
        # Expired (the platform keeps user media for days) or unknown: nothing to retry.
        logger.warning(
            "media download refused by the platform",
            extra={"account_id": account.pk, "message_id": message.pk, "errcode": exc.errcode},
        )
        return
    if isinstance(content, dict):
        # A video comes back as a temporary URL rather than bytes: keep the URL, and the
        # file behind it, since the URL expires as the media does.
        url = str(content.get("video_url") or "")
        payload = {**message.payload, "video_url": url}
        Message.objects.filter(pk=message.pk).update(payload=payload)
        try:
            content = client_for(account).media_download(url)
        except DownloadRefused as exc:
            logger.warning("video download refused",
                           extra={"account_id": account.pk, "message_id": message.pk,
                                  "error": str(exc)})
            return
    name = f"{account.appid}-{msg_id}.{_extension(content, inbound.msg_type)}"
    message.media.save(name, ContentFile(content), save=False)
    # Conditional: a concurrent run that stored it first keeps its file.
    Message.objects.filter(pk=message.pk, media="").update(media=message.media.name)


def inbound_process(*, inbound_id: int) -> str:
    """Do the slow part of one delivery; returns what happened ("done", "gone", "taken",
    "already", "given_up"). Transient platform failures raise (the task retries with
    backoff)."""
    inbound = Inbound.objects.select_related("account").filter(pk=inbound_id).first()
    if inbound is None:
        logger.info("inbound row gone", extra={"inbound_id": inbound_id})
        return "gone"
    if inbound.processed_at is not None:
        return "already"
    if inbound.attempts >= MAX_ATTEMPTS:
        # Left for an operator: a row that keeps failing (or killing its worker) must not
        # be handed out for ever.
        logger.warning("inbound row given up", extra={"inbound_id": inbound_id})
        return "given_up"
    if not inbound_claim(inbound=inbound):
        return "taken"
    account = inbound.account
    if account.is_active and account.has_credentials and not account.disconnected_at:
        follower = None
        if inbound.event.lower() not in SYSTEM_EVENTS:
            follower = Follower.objects.filter(account=account, openid=inbound.openid).first()
        if follower is not None and follower.subscribed and follower.profile_fetched_at is None:
            _fetch_profile(account=account, follower=follower)
        if inbound.msg_type in MEDIA_TYPES:
            _fetch_media(account=account, inbound=inbound)
    Inbound.objects.filter(pk=inbound.pk, processed_at__isnull=True).update(
        processed_at=timezone.now()
    )
    return "done"


def inbound_finish_plain(*, inbound_ids: list[int]) -> tuple[int, list[int]]:
    """Finish at once, in one UPDATE, the rows of a batch that need no platform call: a
    text or an event from a follower whose profile is known, anything on an account that
    cannot call the platform. A backlog after an outage is mostly these, and one row at a
    time costs four queries each. Answers how many were finished, and the ids left for
    ``inbound_process`` (media to fetch, a profile to fetch), in their order; rows already
    processed, gone or given up are in neither."""
    rows = list(Inbound.objects.filter(pk__in=inbound_ids, processed_at__isnull=True,
                                       attempts__lt=MAX_ATTEMPTS)
                .order_by("pk").values_list("pk", "account_id", "msg_type", "event", "openid"))
    if not rows:
        return 0, []
    usable = {account.pk for account in OfficialAccount.objects.filter(
        pk__in={row[1] for row in rows}, is_active=True, disconnected_at__isnull=True)
        if account.has_credentials}
    unknown = set(Follower.objects.filter(
        account_id__in=usable, openid__in={row[4] for row in rows if row[1] in usable},
        subscribed=True, profile_fetched_at__isnull=True,
    ).values_list("account_id", "openid"))
    plain, rest = [], []
    for pk, account_id, msg_type, event, openid in rows:
        needs_platform = account_id in usable and (
            msg_type in MEDIA_TYPES
            or (event.lower() not in SYSTEM_EVENTS and (account_id, openid) in unknown))
        (rest if needs_platform else plain).append(pk)
    # Conditional like inbound_claim: a row another worker finished first is left be.
    finished = Inbound.objects.filter(
        pk__in=plain, processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS
    ).update(processed_at=timezone.now(), attempts=F("attempts") + 1)
    order = {pk: index for index, pk in enumerate(inbound_ids)}
    return finished, sorted(rest, key=order.__getitem__)


def inbound_claim_due(*, limit: int = SWEEP_BATCH,
                      after: tuple[datetime, int] | None = None) -> list[int]:
    """The sweep's next batch: rows nobody finished within a minute of arriving (a lost
    task, a broker outage), oldest first, claimed for `SWEEP_AGAIN_AFTER` so that no other
    sweep queues them meanwhile. Rows another sweep is claiming at this instant are
    skipped, never waited for. `after` (the last row of the previous batch, as
    `(received_at, id)`) keeps one sweep walking forward through a long backlog rather
    than scanning its claimed head again for every batch."""
    now = timezone.now()
    due = Inbound.objects.filter(
        Q(sweep_after__isnull=True, received_at__lt=now - SWEEP_AFTER) | Q(sweep_after__lt=now),
        processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS,
    )
    if after is not None:
        due = due.filter(Q(received_at__gt=after[0]) | Q(received_at=after[0], pk__gt=after[1]))
    with transaction.atomic():
        ids = list(due.order_by("received_at", "pk").select_for_update(skip_locked=True)
                   .values_list("pk", flat=True)[:limit])
        Inbound.objects.filter(pk__in=ids).update(sweep_after=now + SWEEP_AGAIN_AFTER)
    return ids


def inbound_in_flight() -> int:
    """Rows a sweep (or a retry) queued that are not processed yet: what the workers
    still have before them."""
    return Inbound.objects.filter(processed_at__isnull=True,
                                  sweep_after__gt=timezone.now()).count()


def inbound_sweep_position(inbound_id: int) -> tuple[datetime, int] | None:
    """Where a batch ended, for the next `inbound_claim_due(after=...)`."""
    row = Inbound.objects.filter(pk=inbound_id).values_list("received_at", "pk").first()
    return (row[0], row[1]) if row else None


def inbound_unclaim(*, inbound_ids: list[int]) -> None:
    """Give claimed rows back to the next sweep (their task could not be queued)."""
    Inbound.objects.filter(pk__in=inbound_ids, processed_at__isnull=True).update(
        sweep_after=None)


def inbound_defer(*, inbound_id: int, seconds: float) -> None:
    """Keep the sweep off a row whose retry is counting down for `seconds`, so the two do
    not both take it (either would be harmless: the claim on `attempts` lets one work)."""
    Inbound.objects.filter(pk=inbound_id, processed_at__isnull=True).update(
        sweep_after=timezone.now() + timedelta(seconds=seconds) + SWEEP_AFTER)
