"""The typed, immutable inbound messages and events (docs/wechat.md §2.1, §2.2, §5.6).

All are frozen, slotted dataclasses; equality ignores ``raw`` so the same push read
from XML and from JSON compares equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """What every push carries. ``raw`` is the parsed body; treat it as read-only."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def dedupe_key(self) -> str:
        """The identity WeChat keeps across its retries of this push (protocol §1.6)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Inbound):
    """A user message; the platform dedupes these by MsgId."""

    msg_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        if self.msg_id:
            return f"msg:{self.msg_id}"
        # Only unknown message types could lack a MsgId; fall back to the event rule.
        return f"msg:{self.from_user}:{self.create_time}:{self.msg_type}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessage(Message):
    content: str
    msg_data_id: str | None = None  # present when the message came from an article
    idx: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageMessage(Message):
    pic_url: str | None
    media_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMessage(Message):
    media_id: str | None
    format: str | None
    recognition: str | None = None  # only when speech recognition is enabled


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoMessage(Message):
    media_id: str | None
    thumb_media_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortVideoMessage(Message):
    media_id: str | None
    thumb_media_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationMessage(Message):
    latitude: float | None  # Location_X
    longitude: float | None  # Location_Y
    scale: int | None
    label: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkMessage(Message):
    title: str | None
    description: str | None
    url: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownMessage(Message):
    """A MsgType this library does not model; everything is in ``raw``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(Inbound):
    """An event push; ``event`` keeps the platform's spelling (``SCAN``, ``subscribe``)."""

    event: str
    event_key: str | None = None

    @property
    def dedupe_key(self) -> str:
        # The platform dedupes events by FromUserName + CreateTime. The event name keeps a
        # subscribe and a SCAN of the same second apart, and the key (or the job's MsgID)
        # keeps apart two clicks, or two mass jobs finishing, in one second.
        discriminator = self.event_key or str(self.raw.get("MsgID") or "")
        return f"event:{self.from_user}:{self.create_time}:{self.event}:{discriminator}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeEvent(Event):
    scene: str | None = None  # the QR scene, without "qrscene_", when followed by a QR code
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsubscribeEvent(Event):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanEvent(Event):
    """An existing follower scanned a parametric QR code."""

    scene: str
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationEvent(Event):
    latitude: float | None
    longitude: float | None
    precision: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClickEvent(Event):
    @property
    def key(self) -> str:
        return self.event_key or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewEvent(Event):
    menu_id: str | None = None  # which conditional menu

    @property
    def url(self) -> str:
        return self.event_key or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyrightCheckItem:
    article_idx: int | None
    user_declare_state: int | None
    audit_state: int | None
    original_article_url: str | None
    original_article_type: int | None
    can_reprint: bool
    need_replace_content: bool
    need_show_reprint_source: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyrightCheckResult:
    count: int | None
    check_state: int | None
    items: tuple[CopyrightCheckItem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleUrl:
    article_idx: int | None
    article_url: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MassSendJobFinishEvent(Event):
    msg_id: str | None  # from <MsgID>, capital D
    status: str | None  # "send success", "send fail", "err(30003)"...
    total_count: int | None
    filter_count: int | None
    sent_count: int | None
    error_count: int | None
    copyright_check: CopyrightCheckResult | None = None
    article_urls: tuple[ArticleUrl, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSendJobFinishEvent(Event):
    msg_id: str | None
    status: str | None  # "success", "failed:user block", "failed: system failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class KfCreateSessionEvent(Event):
    kf_account: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KfCloseSessionEvent(Event):
    kf_account: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KfSwitchSessionEvent(Event):
    from_kf_account: str | None
    to_kf_account: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """An Event this library does not model; everything is in ``raw``."""
