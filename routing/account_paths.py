"""Account to account: the three ways a conversation reaches another account of the brand.

WeChat keeps openids and reply windows inside one account, so a follower of the flagship
cannot simply be answered by a property's account. The portal offers what works:

- **relay** (always possible): the handling account changes, the target's agents answer
  under its identity (`messaging.services.sender_display`), and replies still go out
  through the channel account, inside its window. `routing.transfers` does it.
- **continue**: the customer already follows the target account (the same customer, or
  the same unionid), so the conversation moves to that account's channel, linked to the
  one it came from. With no reply window open there, the follower is asked, in the chat
  that is open, to write to the target account.
- **invite**: a temporary QR code of the target account is sent in the current chat; its
  scene carries a one-time token (only its SHA-256 is stored). When the follower follows
  or scans through it, the new follower joins the customer and the waiting conversation
  lands on the target's channel, transcript and note attached.

`routing.transfers.transfer_create` stores the Transfer and calls `carry_out` for the
last two; `paths_for` tells the console which are possible, and why.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
from datetime import datetime, timedelta

import qrcode
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import events
from accounts.capabilities import feature_enabled
from accounts.errors import Conflict, InvalidInput, NotInScope
from accounts.models import Membership, OfficialAccount, Role
from accounts.scope import Scope
from accounts.wechat_clients import client_for
from followers.events import customer_merged
from followers.models import Customer, Follower
from followers.window import window_state
from messaging.errors import ReplyRefused
from messaging.events import (
    announce_message,
    conversation_resolved_for,
    conversation_transferred_for,
)
from messaging.models import Conversation, Message
from messaging.services import message_reply
from messaging.visibility import Place, may_hold
from routing.models import RoutingDecision, Transfer
from routing.rules import local_team_for
from wechat.errors import TransportError, WeChatError

logger = logging.getLogger(__name__)

RELAY, CONTINUE, INVITE = Transfer.Path.RELAY, Transfer.Path.CONTINUE, Transfer.Path.INVITE
# The QR code's scene: this prefix and the token (scene strings hold at most 64 characters).
SCENE_PREFIX = "xfer_"
# How long the invitation's QR code (and so its token) lasts.
INVITE_SECONDS = 24 * 3600


# -- which paths -------------------------------------------------------------------------


def target_follower(conversation: Conversation, to_account: OfficialAccount) -> Follower | None:
    """The customer's subscribed follower of `to_account`: the same customer, or the same
    unionid as the conversation's follower (linking may not have caught up yet)."""
    same = Q(customer_id=conversation.customer_id) if conversation.customer_id else Q(pk=None)
    unionid = conversation.follower.unionid
    if unionid:
        same |= Q(unionid=unionid)
    return (
        Follower.objects.filter(same, brand_id=conversation.brand_id, account=to_account,
                                subscribed=True)
        .order_by("-last_inbound_at", "-pk")
        .first()
    )


def _window_open(follower: Follower, now: datetime) -> bool:
    return window_state(follower=follower, now=now).open


def _check_target(conversation: Conversation, to_account: OfficialAccount) -> None:
    if to_account.brand_id != conversation.brand_id:
        raise NotInScope()


def paths_for(conversation: Conversation, to_account: OfficialAccount) -> list[dict]:
    """The three paths to `to_account`, each possible or not with the sentence saying why,
    and the one `default_path` picks marked."""
    _check_target(conversation, to_account)
    now = timezone.now()
    names = {"channel": conversation.channel_account.name, "target": to_account.name}
    same = to_account.pk == conversation.channel_account_id
    found = None if same else target_follower(conversation, to_account)
    chat_open = _window_open(conversation.follower, now)

    relay = {"path": RELAY, "possible": True,
             "why": _("Replies keep going out through %(channel)s, signed as %(target)s: the "
                      "guest stays in this chat.") % names}
    if same:
        continue_ = {"path": CONTINUE, "possible": False,
                     "why": _("The guest writes to %(target)s already.") % names}
        invite = {**continue_, "path": INVITE}
    else:
        if found is None:
            continue_ = {"path": CONTINUE, "possible": False,
                         "why": _("The guest does not follow %(target)s, as far as the portal "
                                  "knows.") % names}
        elif _window_open(found, now):
            continue_ = {"path": CONTINUE, "possible": True,
                         "why": _("The guest follows %(target)s and can be answered there "
                                  "now: the conversation moves to that account.") % names}
        else:
            continue_ = {"path": CONTINUE, "possible": True,
                         "why": _("The guest follows %(target)s, but no reply window is open "
                                  "there: they will be asked, in this chat, to write to "
                                  "%(target)s.") % names}
        invite = {"path": INVITE, **_invite_possible(found, to_account, chat_open, names)}
    default = _default(conversation, to_account, found=found, now=now)
    return [{**p, "default": p["path"] == default} for p in (relay, continue_, invite)]


def _invite_possible(found: Follower | None, to_account: OfficialAccount, chat_open: bool,
                     names: dict) -> dict:
    if found is not None:
        return {"possible": False,
                "why": _("The guest already follows %(target)s: continue there instead.")
                % names}
    if not feature_enabled(to_account, "qrcodes"):
        return {"possible": False,
                "why": _("%(target)s cannot make QR codes (a verified service account "
                         "can).") % names}
    if not chat_open:
        return {"possible": False,
                "why": _("No reply window is open in this chat, so the QR code cannot be "
                         "sent.")}
    return {"possible": True,
            "why": _("A QR code of %(target)s is sent in this chat; once the guest follows "
                     "or scans it, the conversation lands there.") % names}


def _default(conversation: Conversation, to_account: OfficialAccount, *,
             found: Follower | None, now: datetime) -> str:
    """Continue when the guest follows the target and can be answered there now (the
    conversation then lives where it belongs); else relay, which never asks the guest to
    do anything."""
    if found is not None and _window_open(found, now):
        return CONTINUE
    return RELAY


def default_path(conversation: Conversation, to_account: OfficialAccount) -> str:
    _check_target(conversation, to_account)
    if to_account.pk == conversation.channel_account_id:
        return RELAY
    found = target_follower(conversation, to_account)
    return _default(conversation, to_account, found=found, now=timezone.now())


# -- carrying a transfer out -------------------------------------------------------------


def carry_out(transfer: Transfer) -> None:
    """Do what a "continue" or "invite" transfer says (the Transfer is stored; relay is
    `routing.transfers`' own). Raises Conflict, with a sentence, when the path is not
    possible now. For "continue" without a reply window on the target,
    `transfer.notice` says what the agent should know."""
    if transfer.kind != Transfer.Kind.ACCOUNT or transfer.to_account is None:
        raise InvalidInput("only a transfer to another account has a path")
    _check_target(transfer.conversation, transfer.to_account)
    if transfer.to_account_id == transfer.conversation.channel_account_id:
        raise Conflict(_("The guest writes to %(target)s already: relay the conversation.")
                       % {"target": transfer.to_account.name})
    agent = transfer.to_agent
    if agent is not None and not may_hold(agent, Place(
            transfer.brand_id, transfer.to_account_id, transfer.to_team_id, None)):
        raise Conflict(_("%(name)s cannot hold this conversation there: they do not serve "
                         "%(target)s or its team.") % {"name": _member_name(agent),
                                                       "target": transfer.to_account.name})
    if transfer.path == CONTINUE:
        _continue(transfer)
    elif transfer.path == INVITE:
        _invite(transfer)
    else:
        raise InvalidInput("carry_out is for the continue and invite paths")


def _system_scope(conversation: Conversation) -> Scope:
    """Brand-wide: the portal itself writes the invitation, whoever asked for it."""
    return Scope(brand=conversation.brand, role=Role.ADMIN)


def _locked_origin(transfer: Transfer) -> tuple[Follower, Conversation]:
    """The origin's follower and conversation, locked in ingestion's order (follower
    first), so a message arriving meanwhile cannot deadlock with us."""
    follower = Follower.objects.select_for_update().get(pk=transfer.conversation.follower_id)
    origin = (Conversation.objects.select_for_update(of=("self",))
              .select_related("channel_account", "handling_account")
              .get(pk=transfer.conversation_id))
    if origin.status == Conversation.Status.RESOLVED:
        raise Conflict(_("A resolved conversation cannot be handed on."))
    return follower, origin


def _in_language(conversation: Conversation) -> str:
    """The language of a line the follower reads: theirs when the portal speaks it."""
    return "zh-hans" if conversation.language.startswith("zh") else "en"


def _tell(origin: Conversation, text: str, by: Membership | None) -> Message:
    return message_reply(scope=_system_scope(origin), conversation=origin, text=text, by=by)


def _continue(transfer: Transfer) -> None:
    to_account = transfer.to_account
    with transaction.atomic():
        _origin_follower, origin = _locked_origin(transfer)
        found = target_follower(origin, to_account)
        if found is None:
            raise Conflict(_("The guest does not follow %(target)s: relay the conversation or "
                             "invite them to follow.") % {"target": to_account.name})
        found = Follower.objects.select_for_update().get(pk=found.pk)
        now = timezone.now()
        transfer.notice = ""
        if not _window_open(found, now):
            transfer.notice = _invite_to_write(transfer, origin)
        _land(transfer, origin, found, now=now)


def _invite_to_write(transfer: Transfer, origin: Conversation) -> str:
    """No reply window on the target: ask the follower, from the chat that is open, to
    write there. Returns what the agent is told."""
    names = {"target": transfer.to_account.name}
    with translation.override(_in_language(origin)):
        text = _("To continue with %(target)s, send us a message in the %(target)s "
                 "account.") % names
    try:
        _tell(origin, text, transfer.by)
    except ReplyRefused as exc:
        return _("No reply window is open on %(target)s, and this chat cannot carry an "
                 "invitation (%(reason)s): the conversation waits there until the guest "
                 "writes.") % {**names, "reason": exc.message}
    return _("No reply window is open on %(target)s: the guest was asked, in this chat, to "
             "write there; the conversation waits for them.") % names


def _land(transfer: Transfer, origin: Conversation, follower: Follower, *,
          now: datetime) -> Conversation:
    """Put the conversation on `follower`'s channel (their live one, or a new one) where
    the transfer says, linked to `origin`; record it on both sides and resolve `origin`.
    The caller holds the transaction and the follower's lock."""
    waiting = _window_open(follower, now)
    target = (Conversation.objects.select_for_update(of=("self",))
              .filter(follower=follower).exclude(status=Conversation.Status.RESOLVED).first())
    if target is None:
        target = Conversation(
            brand_id=follower.brand_id, channel_account_id=follower.account_id,
            follower=follower, opened_at=now, last_message_at=now,
            language=origin.language,
        )
    target.handling_account_id = follower.account_id
    target.customer_id = follower.customer_id
    if transfer.to_team_id is None and transfer.to_agent_id is None:
        # Like a relay: without a team or an agent it waits in the account's local team.
        transfer.to_team = local_team_for(follower.account)
    target.team_id, target.assignee_id = transfer.to_team_id, transfer.to_agent_id
    target.status, target.snoozed_until, target.resolved_at = Conversation.Status.OPEN, None, None
    target.linked_from = origin
    target.routed_at = now
    if waiting:
        target.waiting_since = min(filter(None, (target.waiting_since,
                                                 origin.waiting_since or now)))
    target.save()
    by_name = _member_name(transfer.by)
    note = f"\n{transfer.note}" if transfer.note else ""
    trail = {"id": transfer.pk, "path": transfer.path, "from_conversation": origin.pk,
             "from_account": origin.channel_account_id, "to_conversation": target.pk,
             "to_account": follower.account_id, "to_team": transfer.to_team_id,
             "to_agent": transfer.to_agent_id, "target_window": "open" if waiting else "closed"}
    # Names, an arrow and the other conversation's number: they read the same in every
    # language; the payload carries the ids the console opens the transcript with.
    _line(target, f"← {origin.channel_account.name} · #{origin.pk}{note}", trail,
          transfer.by, by_name)
    _line(origin, f"→ {transfer.to_account.name} · #{target.pk}{note}", trail,
          transfer.by, by_name)
    RoutingDecision.objects.create(
        brand_id=target.brand_id, conversation=target, kind=RoutingDecision.Kind.TRANSFERRED,
        language=target.language, account_id=follower.account_id, team_id=transfer.to_team_id,
        agent_id=transfer.to_agent_id,
        steps=[{"step": "transfer", "path": transfer.path, "transfer": transfer.pk,
                "from_conversation": origin.pk}],
    )
    transfer.target_conversation = target
    transfer.status, transfer.decided_at = Transfer.Status.COMPLETED, now
    transfer.save(update_fields=["target_conversation", "status", "decided_at", "to_team"])
    if origin.status != Conversation.Status.RESOLVED:
        origin.status, origin.resolved_at = Conversation.Status.RESOLVED, now
        origin.waiting_since = origin.snoozed_until = None
        origin.save(update_fields=["status", "resolved_at", "waiting_since", "snoozed_until"])
        events.announce("conversation.resolved",
                        conversation_resolved_for(origin, cause="agent"))
    events.announce("conversation.transferred", conversation_transferred_for(
        target, previous_handling_account_id=origin.handling_account_id,
        previous_team_id=origin.team_id, previous_assignee_id=origin.assignee_id,
        by_membership_id=transfer.by_id,
    ))
    if target.assignee_id is None:
        transaction.on_commit(lambda: _drain(target.team_id))
    logger.info("conversation continued on another account",
                extra={"transfer_id": transfer.pk, "conversation_id": origin.pk,
                       "target_conversation_id": target.pk, "path": transfer.path})
    return target


def _member_name(by: Membership | None) -> str:
    return (by.display_name or by.user.get_short_name()) if by else ""


def _line(conversation: Conversation, content: str, trail: dict, by: Membership | None,
          by_name: str) -> None:
    line = Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account_id=conversation.channel_account_id, direction=Message.Direction.SYSTEM,
        msg_type="text", content=content, payload={"transfer": trail},
        sender=by, sender_display=by_name,
    )
    announce_message(line)


def _drain(team_id: int | None) -> None:
    """A free agent of the receiving queue takes it (`routing.assignment`)."""
    from routing.assignment import assign_waiting

    assign_waiting(team_id=team_id)


# -- invite to follow --------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def qr_png(url: str) -> bytes:
    """The QR code's image, drawn here from the code's URL (what WeChat reads when it is
    scanned), so the image needs no fetch from the platform's image host."""
    out = io.BytesIO()
    qrcode.make(url, box_size=8, border=2).save(out)
    return out.getvalue()


def _invite(transfer: Transfer) -> None:
    to_account = transfer.to_account
    names = {"target": to_account.name}
    with transaction.atomic():
        follower, origin = _locked_origin(transfer)
        if target_follower(origin, to_account) is not None:
            raise Conflict(_("The guest already follows %(target)s: continue there instead.")
                           % names)
        if not feature_enabled(to_account, "qrcodes"):
            raise Conflict(_("%(target)s cannot make QR codes (a verified service account "
                             "can).") % names)
        now = timezone.now()
        state = window_state(follower=follower, now=now)
        if not state.open:
            raise Conflict(_("No reply window is open in this chat, so the QR code cannot be "
                             "sent (%(reason)s).") % {"reason": state.reason})
        if state.sends_left < 2:
            raise Conflict(_("This chat has one reply left before the guest writes again: "
                             "not enough for the QR code and the line that explains it."))
        token = secrets.token_urlsafe(24)
        try:
            code = client_for(to_account).qrcode_create_temporary(
                SCENE_PREFIX + token, expire_seconds=INVITE_SECONDS)
        except (WeChatError, TransportError) as exc:
            raise Conflict(_("The QR code of %(target)s could not be made: %(reason)s")
                           % {**names, "reason": exc.reason}) from exc
        transfer.token_hash = token_hash(token)
        transfer.status = Transfer.Status.INVITED
        seconds = int(code.get("expire_seconds") or INVITE_SECONDS)
        transfer.expires_at = now + timedelta(seconds=seconds)
        transfer.save(update_fields=["token_hash", "status", "expires_at"])
        with translation.override(_in_language(origin)):
            text = _("Scan this code to follow %(target)s: we continue with you there.") % names
        _tell(origin, text, transfer.by)
        image = SimpleUploadedFile("follow.png", qr_png(str(code["url"])),
                                   content_type="image/png")
        message_reply(scope=_system_scope(origin), conversation=origin, image=image,
                      by=transfer.by)
        note = f"\n{transfer.note}" if transfer.note else ""
        _line(origin, f"⇢ {to_account.name} (QR){note}",
              {"id": transfer.pk, "path": INVITE, "from_conversation": origin.pk,
               "to_account": to_account.pk, "to_team": transfer.to_team_id,
               "to_agent": transfer.to_agent_id}, transfer.by, _member_name(transfer.by))
    logger.info("invitation to follow sent", extra={"transfer_id": transfer.pk,
                                                   "conversation_id": origin.pk})


def _link(follower: Follower, customer_id: int | None) -> None:
    """The follower joins the origin's customer, as `followers.services.
    follower_link_customer` moves one: `customer.merged` is announced (messaging moves
    the conversations) and an empty placeholder left behind is deleted."""
    if customer_id is None or follower.customer_id == customer_id:
        return
    previous = follower.customer_id
    follower.customer_id = customer_id
    follower.save(update_fields=["customer"])
    if previous is None:
        return
    events.announce("customer.merged", customer_merged(
        brand_id=follower.brand_id, customer_id=customer_id, merged_customer_id=previous,
        follower_ids=[follower.pk], by_membership_id=None,
    ))
    # A placeholder left behind goes; a unionid it had learnt moves with the follower,
    # so linking by unionid later finds the customer it joined, not the empty one.
    left = Customer.objects.select_for_update().filter(pk=previous).first()
    if left is None or left.followers.exists() or (
            left.name or left.phone or left.email or left.notes or left.attributes):
        return
    unionid = left.unionid
    left.delete()
    joined = Customer.objects.select_for_update().get(pk=customer_id)
    if unionid and not joined.unionid:
        joined.unionid = unionid
        joined.save(update_fields=["unionid", "updated_at"])


def invitation_followed(name: str, payload: dict) -> None:
    """A follow or a scan through a transfer's QR code ("follower.subscribed",
    "follower.scanned"): the waiting conversation lands on that account. A token works
    once, on its own account, until it expires; anything else is refused with a log
    line."""
    scene = payload.get("qr_scene") or ""
    if not scene.startswith(SCENE_PREFIX):
        return
    digest = token_hash(scene[len(SCENE_PREFIX):])
    log = {"follower_id": payload["follower_id"], "account_id": payload["account_id"]}
    with transaction.atomic():
        transfer = (Transfer.objects.select_for_update(of=("self",))
                    .select_related("to_account", "conversation")
                    .filter(token_hash=digest, path=INVITE).first())
        if transfer is None or (transfer.brand_id, transfer.to_account_id) != (
                payload["brand_id"], payload["account_id"]):
            logger.warning("transfer token refused: unknown here", extra=log)
            return
        log["transfer_id"] = transfer.pk
        if transfer.status != Transfer.Status.INVITED:
            logger.info("transfer token already used", extra={**log, "status": transfer.status})
            return
        now = timezone.now()
        if transfer.expires_at is not None and transfer.expires_at <= now:
            transfer.status = Transfer.Status.EXPIRED
            transfer.save(update_fields=["status"])
            logger.info("transfer token refused: expired", extra=log)
            return
        follower = Follower.objects.select_for_update().get(pk=payload["follower_id"])
        origin = (Conversation.objects.select_for_update(of=("self",))
                  .select_related("channel_account").get(pk=transfer.conversation_id))
        _link(follower, origin.customer_id)
        _land(transfer, origin, follower, now=now)
