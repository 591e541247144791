"""Passive replies: the body of our HTTP answer to a push (docs/wechat.md §2.3, §1.5).

A reply is addressed back to the sender: ``to_user`` is the follower's openid and
``from_user`` the account's ``gh_`` id. ``answering`` swaps them from an inbound
message. The time is passed in, never read here: the caller owns the clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from wechat.crypto import MessageCrypto
from wechat.messages.body import DataFormat
from wechat.messages.typed import Inbound
from wechat.xmlutil import to_xml

__all__ = [
    "SUCCESS",
    "Article",
    "ImageReply",
    "MusicReply",
    "NewsReply",
    "Reply",
    "TextReply",
    "TransferCustomerServiceReply",
    "VideoReply",
    "VoiceReply",
    "render_encrypted",
]

# The acknowledgement that makes WeChat neither retry nor warn the user; never encrypted.
SUCCESS = "success"
# Historic cap; since 2018 the client shows only the first article (protocol §2.3).
MAX_ARTICLES = 8


def _dump_json(mapping: dict[str, Any]) -> str:
    # Non-ASCII stays literal: the platform rejects \uXXXX escapes in several places.
    return json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))


def render_encrypted(
    plaintext: str,
    *,
    crypto: MessageCrypto,
    timestamp: str,
    nonce: str,
    data_format: DataFormat = "xml",
) -> str:
    """The safe-mode envelope around an already rendered reply body.

    Echoing the request's nonce is what the official example does.
    """
    envelope = crypto.encrypt_envelope(plaintext, timestamp=timestamp, nonce=nonce)
    return _dump_json(envelope) if data_format == "json" else to_xml(envelope)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    to_user: str
    from_user: str
    create_time: int

    MSG_TYPE: ClassVar[str] = ""

    @classmethod
    def answering(cls, message: Inbound, *, create_time: int, **payload: Any) -> Self:
        """A reply to ``message``: addressed to its sender, from the account it reached."""
        return cls(
            to_user=message.from_user,
            from_user=message.to_user,
            create_time=create_time,
            **payload,
        )

    def payload(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        """The reply with platform field names; ``None`` fields are omitted when rendered."""
        return {
            "ToUserName": self.to_user,
            "FromUserName": self.from_user,
            "CreateTime": self.create_time,
            "MsgType": self.MSG_TYPE,
            **self.payload(),
        }

    def to_xml(self) -> str:
        return to_xml(self.to_dict())

    def to_json(self) -> str:
        return _dump_json(_without_none(self.to_dict()))

    def render(self, data_format: DataFormat = "xml") -> str:
        return self.to_json() if data_format == "json" else self.to_xml()

    def render_encrypted(
        self,
        crypto: MessageCrypto,
        *,
        timestamp: str,
        nonce: str,
        data_format: DataFormat = "xml",
    ) -> str:
        return render_encrypted(
            self.render(data_format),
            crypto=crypto,
            timestamp=timestamp,
            nonce=nonce,
            data_format=data_format,
        )


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class TextReply(Reply):
    content: str
    MSG_TYPE: ClassVar[str] = "text"

    def payload(self) -> dict[str, Any]:
        return {"Content": self.content}


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageReply(Reply):
    media_id: str
    MSG_TYPE: ClassVar[str] = "image"

    def payload(self) -> dict[str, Any]:
        return {"Image": {"MediaId": self.media_id}}


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceReply(Reply):
    media_id: str
    MSG_TYPE: ClassVar[str] = "voice"

    def payload(self) -> dict[str, Any]:
        return {"Voice": {"MediaId": self.media_id}}


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoReply(Reply):
    media_id: str
    title: str | None = None
    description: str | None = None
    MSG_TYPE: ClassVar[str] = "video"

    def payload(self) -> dict[str, Any]:
        return {
            "Video": {
                "MediaId": self.media_id,
                "Title": self.title,
                "Description": self.description,
            }
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MusicReply(Reply):
    thumb_media_id: str
    title: str | None = None
    description: str | None = None
    music_url: str | None = None
    hq_music_url: str | None = None
    MSG_TYPE: ClassVar[str] = "music"

    def payload(self) -> dict[str, Any]:
        return {
            "Music": {
                "Title": self.title,
                "Description": self.description,
                "MusicUrl": self.music_url,
                "HQMusicUrl": self.hq_music_url,
                "ThumbMediaId": self.thumb_media_id,
            }
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    title: str
    description: str = ""
    pic_url: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "Title": self.title,
            "Description": self.description,
            "PicUrl": self.pic_url,
            "Url": self.url,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class NewsReply(Reply):
    """Articles render as ``<Articles><item>…</item></Articles>`` in XML, a list in JSON."""

    articles: tuple[Article, ...] = field(default=())
    MSG_TYPE: ClassVar[str] = "news"

    def __post_init__(self) -> None:
        if not 1 <= len(self.articles) <= MAX_ARTICLES:
            raise ValueError(f"a news reply holds 1 to {MAX_ARTICLES} articles")
        # Accept a list from callers but keep the instance immutable (and hashable).
        object.__setattr__(self, "articles", tuple(self.articles))

    def payload(self) -> dict[str, Any]:
        return {
            "ArticleCount": len(self.articles),
            "Articles": [article.to_dict() for article in self.articles],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferCustomerServiceReply(Reply):
    """Hand the conversation to the kf system; only for user messages, never events."""

    kf_account: str | None = None  # pins an agent: "prefix@account"
    MSG_TYPE: ClassVar[str] = "transfer_customer_service"

    def payload(self) -> dict[str, Any]:
        if self.kf_account is None:
            return {}
        return {"TransInfo": {"KfAccount": self.kf_account}}
