"""After-commit work on an accepted delivery: the follower's profile and the media.

Run by ``inbound_process_batch_task`` (``inbound_process_task`` for a retry); idempotent,
so a task delivered twice (a retry, the sweep re-queueing a slow one) only repeats cheap
checks.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db.models import F
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
SWEEP_AFTER = timedelta(seconds=60)
SWEEP_BATCH = 500

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
    "already"). Transient platform failures raise (the task retries with backoff)."""
    inbound = Inbound.objects.select_related("account").filter(pk=inbound_id).first()
    if inbound is None:
        logger.info("inbound row gone", extra={"inbound_id": inbound_id})
        return "gone"
    if inbound.processed_at is not None:
        return "already"
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


def inbound_due_ids(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Rows nobody finished within a minute of arriving (a lost task, a broker outage)."""
    cutoff = timezone.now() - SWEEP_AFTER
    return list(
        Inbound.objects.filter(
            processed_at__isnull=True, received_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
