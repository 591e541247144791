"""Events pushed by the platform (docs/wechat.md §2.2), applied inside ingestion's
transaction, after the Inbound row was stored.

subscribe, SCAN: a follow event (with the QR scene), the short reply window, a welcome
(subscribe) and the announcement (follower.subscribed, follower.scanned);
unsubscribe: the follower marked, its open conversation resolved with a note; LOCATION:
kept on the follower; CLICK (and scancode_*): the short window and a click auto-reply;
VIEW, MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH and anything else: kept in Inbound only
(broadcasts read the job results later).
"""

from __future__ import annotations

from collections.abc import Callable

from accounts import events
from followers.campaigns import qrcode_for_scene
from followers.events import announce_subscribed, announce_unsubscribed, follower_fact_for
from followers.models import Follower, FollowEvent, QRCode
from followers.services import follower_upsert
from followers.window import LONG_FIELDS, SHORT_FIELDS, window_close, window_open
from messaging.auto_replies import auto_reply_click, auto_reply_welcome
from messaging.events import conversation_resolved_for
from messaging.ingest import (
    UNFOLLOWED_NOTE,
    IngestContext,
    system_note,
)
from messaging.models import Conversation
from wechat import messages as wx

_SCENE_MAX = FollowEvent._meta.get_field("scene").max_length
_TICKET_MAX = FollowEvent._meta.get_field("ticket").max_length
_QR_MAX = Follower._meta.get_field("qr_scene").max_length


def _follower(ctx: IngestContext, event: wx.Event, *, subscribed: bool = True) -> Follower:
    follower, _created = follower_upsert(
        account=ctx.account, openid=event.from_user, at=ctx.at, subscribed=subscribed
    )
    return follower


def _follow_event(ctx: IngestContext, follower: Follower, kind: str, scene: str | None = None,
                  ticket: str | None = None, qrcode: QRCode | None = None) -> None:
    FollowEvent.objects.create(
        brand_id=ctx.account.brand_id, account=ctx.account, follower=follower, kind=kind,
        scene=(scene or "")[:_SCENE_MAX], ticket=(ticket or "")[:_TICKET_MAX], at=ctx.at,
        qrcode=qrcode,
    )


def _on_subscribe(ctx: IngestContext, event: wx.SubscribeEvent) -> str | None:
    follower = _follower(ctx, event)
    follower.subscribed = True
    follower.subscribed_at = ctx.at
    changed = ["subscribed", "subscribed_at", "qrcode", *SHORT_FIELDS]
    # The campaign code of this follow (None for a plain follow, or a scene that is no
    # campaign's, such as routing's transfer invitations): kept now, since an unfollow
    # carries no scene (followers.campaigns).
    qrcode = qrcode_for_scene(account_id=ctx.account.pk, scene=event.scene, ticket=event.ticket)
    follower.qrcode = qrcode
    if event.scene:
        follower.qr_scene = event.scene[:_QR_MAX]
        follower.subscribe_scene = "ADD_SCENE_QR_CODE"
        changed += ["qr_scene", "subscribe_scene"]
    window_open(follower=follower, trigger="follow", at=ctx.at, save=False)
    follower.save(update_fields=changed)
    _follow_event(ctx, follower, FollowEvent.Kind.FOLLOW, event.scene, event.ticket, qrcode)
    announce_subscribed(follower, at=ctx.at, qr_scene=event.scene or "")
    return auto_reply_welcome(account=ctx.account, language=follower.language)


def _on_unsubscribe(ctx: IngestContext, event: wx.UnsubscribeEvent) -> None:
    follower = _follower(ctx, event, subscribed=False)
    follower.subscribed = False
    follower.unsubscribed_at = ctx.at
    window_close(follower=follower, save=False)
    follower.save(update_fields=["subscribed", "unsubscribed_at", *LONG_FIELDS, *SHORT_FIELDS])
    _follow_event(ctx, follower, FollowEvent.Kind.UNFOLLOW)
    announce_unsubscribed(follower, at=ctx.at)
    live = (
        Conversation.objects.select_for_update()
        .filter(follower=follower)
        .exclude(status=Conversation.Status.RESOLVED)
        .first()
    )
    if live is None:
        return None
    live.status = Conversation.Status.RESOLVED
    live.resolved_at = ctx.now
    live.waiting_since = None
    live.snoozed_until = None
    live.save(update_fields=["status", "resolved_at", "waiting_since", "snoozed_until"])
    system_note(conversation=live, text=UNFOLLOWED_NOTE)
    events.announce("conversation.resolved",
                    conversation_resolved_for(live, cause="unsubscribed"))
    return None


def _on_scan(ctx: IngestContext, event: wx.ScanEvent) -> None:
    follower = _follower(ctx, event)
    changed = list(SHORT_FIELDS)
    if not follower.subscribed:
        follower.subscribed = True  # SCAN comes only from followers
        changed.append("subscribed")
    window_open(follower=follower, trigger="scan", at=ctx.at, save=False)
    follower.save(update_fields=changed)
    # A scan by a follower counts for the code's campaign; it does not change which
    # campaign brought the follower.
    _follow_event(ctx, follower, FollowEvent.Kind.SCAN, event.scene, event.ticket,
                  qrcode_for_scene(account_id=ctx.account.pk, scene=event.scene,
                                   ticket=event.ticket))
    # Routing follows transfer invitations a follower scans (`routing.account_paths`).
    events.announce("follower.scanned",
                    follower_fact_for(follower, at=ctx.at, qr_scene=event.scene or ""))
    return None


def _on_location(ctx: IngestContext, event: wx.LocationEvent) -> None:
    follower = _follower(ctx, event)
    if follower.location_at is None or ctx.at >= follower.location_at:
        follower.latitude, follower.longitude = event.latitude, event.longitude
        follower.location_at = ctx.at
        follower.save(update_fields=["latitude", "longitude", "location_at"])
    return None


def _on_menu_click(ctx: IngestContext, event: wx.Event) -> str | None:
    """CLICK, scancode_push and scancode_waitmsg: the buttons that open the short window."""
    follower = _follower(ctx, event)
    window_open(follower=follower, trigger="click", at=ctx.at, save=False)
    follower.save(update_fields=list(SHORT_FIELDS))
    if isinstance(event, wx.ClickEvent):
        return auto_reply_click(account=ctx.account, key=event.key, language=follower.language)
    return None


Handler = Callable[[IngestContext, wx.Event], "str | None"]
_HANDLERS: dict[str, Handler] = {
    "subscribe": _on_subscribe,  # type: ignore[dict-item]
    "unsubscribe": _on_unsubscribe,  # type: ignore[dict-item]
    "scan": _on_scan,  # type: ignore[dict-item]
    "location": _on_location,  # type: ignore[dict-item]
    "click": _on_menu_click,
    "scancode_push": _on_menu_click,
    "scancode_waitmsg": _on_menu_click,
}


def event_handle(*, ctx: IngestContext, event: wx.Event) -> str | None:
    """Apply ``event``; returns the text of a passive auto-reply, if one is due.

    The caller (``inbound_ingest``) holds the transaction and has stored the Inbound row.
    """
    handler = _HANDLERS.get(event.event.lower())
    if handler is None:
        return None
    return handler(ctx, event)
