"""Parsing inbound pushes into the types of ``typed`` (docs/wechat.md §2).

``parse_message`` never fails on an unknown ``MsgType`` or ``Event``: those become
``UnknownMessage``/``UnknownEvent`` with every field still in ``raw``. It fails, with
InvalidMessage, only when a common field (or ``Event``) is missing or a typed field is
malformed (``CreateTime=abc``). Other fields are optional: losing a follower's message
because an optional field is absent would be worse than a ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wechat.crypto import MessageCrypto
from wechat.messages.body import (
    DataFormat,
    InvalidMessage,
    MissingField,
    load_body,
    parse_envelope,
)
from wechat.messages.typed import (
    ArticleUrl,
    ClickEvent,
    CopyrightCheckItem,
    CopyrightCheckResult,
    ImageMessage,
    Inbound,
    KfCloseSessionEvent,
    KfCreateSessionEvent,
    KfSwitchSessionEvent,
    LinkMessage,
    LocationEvent,
    LocationMessage,
    MassSendJobFinishEvent,
    ScanEvent,
    ShortVideoMessage,
    SubscribeEvent,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnknownEvent,
    UnknownMessage,
    UnsubscribeEvent,
    VideoMessage,
    ViewEvent,
    VoiceMessage,
)

QR_SCENE_PREFIX = "qrscene_"


# --- reading fields: XML gives strings, JSON gives numbers too -------------------


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InvalidMessage(f"{key} is not a scalar")


def _required(raw: dict[str, Any], key: str) -> str:
    value = _text(raw, key)
    if not value:
        raise MissingField(key)
    return value


def _int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise InvalidMessage(f"{key} is not an integer")


def _float(raw: dict[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    raise InvalidMessage(f"{key} is not a number")


def _items(value: Any) -> list[dict[str, Any]]:
    """A list container in either form: XML's ``[...]``/``{"item": [...]}`` or JSON's list."""
    if value is None or value == "":
        return []
    if isinstance(value, dict) and "item" in value:
        value = value["item"]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(each, dict) for each in value):
        return value
    raise InvalidMessage("expected a list of items")


def _mapping(raw: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise InvalidMessage(f"{key} is not a group of fields")
    return value


# --- building them ---------------------------------------------------------------

Builder = Callable[[dict[str, Any], dict[str, Any]], Inbound]


def _text_message(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return TextMessage(
        content=_text(raw, "Content") or "",
        msg_data_id=_text(raw, "MsgDataId"),
        idx=_int(raw, "Idx"),
        **common,
    )


def _image(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return ImageMessage(pic_url=_text(raw, "PicUrl"), media_id=_text(raw, "MediaId"), **common)


def _voice(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return VoiceMessage(
        media_id=_text(raw, "MediaId"),
        format=_text(raw, "Format"),
        recognition=_text(raw, "Recognition"),
        **common,
    )


def _video(cls: type[VideoMessage] | type[ShortVideoMessage]) -> Builder:
    def build(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
        return cls(
            media_id=_text(raw, "MediaId"), thumb_media_id=_text(raw, "ThumbMediaId"), **common
        )

    return build


def _location(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return LocationMessage(
        latitude=_float(raw, "Location_X"),
        longitude=_float(raw, "Location_Y"),
        scale=_int(raw, "Scale"),
        label=_text(raw, "Label"),
        **common,
    )


def _link(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return LinkMessage(
        title=_text(raw, "Title"),
        description=_text(raw, "Description"),
        url=_text(raw, "Url"),
        **common,
    )


def _subscribe(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    key = common["event_key"]
    scene = key[len(QR_SCENE_PREFIX) :] if key and key.startswith(QR_SCENE_PREFIX) else None
    return SubscribeEvent(scene=scene, ticket=_text(raw, "Ticket") or None, **common)


def _scan(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return ScanEvent(scene=common["event_key"] or "", ticket=_text(raw, "Ticket"), **common)


def _location_event(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return LocationEvent(
        latitude=_float(raw, "Latitude"),
        longitude=_float(raw, "Longitude"),
        precision=_float(raw, "Precision"),
        **common,
    )


def _view(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return ViewEvent(menu_id=_text(raw, "MenuId"), **common)


def _copyright_check(raw: dict[str, Any]) -> CopyrightCheckResult | None:
    group = _mapping(raw, "CopyrightCheckResult")
    if group is None:
        return None
    items = tuple(
        CopyrightCheckItem(
            article_idx=_int(item, "ArticleIdx"),
            user_declare_state=_int(item, "UserDeclareState"),
            audit_state=_int(item, "AuditState"),
            original_article_url=_text(item, "OriginalArticleUrl"),
            original_article_type=_int(item, "OriginalArticleType"),
            can_reprint=bool(_int(item, "CanReprint")),
            need_replace_content=bool(_int(item, "NeedReplaceContent")),
            need_show_reprint_source=bool(_int(item, "NeedShowReprintSource")),
        )
        for item in _items(group.get("ResultList"))
    )
    return CopyrightCheckResult(
        count=_int(group, "Count"), check_state=_int(group, "CheckState"), items=items
    )


def _article_urls(raw: dict[str, Any]) -> tuple[ArticleUrl, ...]:
    group = _mapping(raw, "ArticleUrlResult")
    if group is None:
        return ()
    return tuple(
        ArticleUrl(article_idx=_int(item, "ArticleIdx"), article_url=_text(item, "ArticleUrl"))
        for item in _items(group.get("ResultList"))
    )


def _mass_send_finished(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return MassSendJobFinishEvent(
        msg_id=_text(raw, "MsgID"),
        status=_text(raw, "Status"),
        total_count=_int(raw, "TotalCount"),
        filter_count=_int(raw, "FilterCount"),
        sent_count=_int(raw, "SentCount"),
        error_count=_int(raw, "ErrorCount"),
        copyright_check=_copyright_check(raw),
        article_urls=_article_urls(raw),
        **common,
    )


def _template_send_finished(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return TemplateSendJobFinishEvent(
        msg_id=_text(raw, "MsgID"), status=_text(raw, "Status"), **common
    )


def _kf_session(cls: type[KfCreateSessionEvent] | type[KfCloseSessionEvent]) -> Builder:
    def build(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
        return cls(kf_account=_text(raw, "KfAccount"), **common)

    return build


def _kf_switch(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    return KfSwitchSessionEvent(
        from_kf_account=_text(raw, "FromKfAccount"),
        to_kf_account=_text(raw, "ToKfAccount"),
        **common,
    )


def _plain(cls: type[Inbound]) -> Builder:
    def build(raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
        return cls(**common)

    return build


# Keys are lower-cased: the platform mixes "SCAN" and "subscribe", SDKs compare loosely.
MESSAGE_BUILDERS: dict[str, Builder] = {
    "text": _text_message,
    "image": _image,
    "voice": _voice,
    "video": _video(VideoMessage),
    "shortvideo": _video(ShortVideoMessage),
    "location": _location,
    "link": _link,
}
EVENT_BUILDERS: dict[str, Builder] = {
    "subscribe": _subscribe,
    "unsubscribe": _plain(UnsubscribeEvent),
    "scan": _scan,
    "location": _location_event,
    "click": _plain(ClickEvent),
    "view": _view,
    "masssendjobfinish": _mass_send_finished,
    "templatesendjobfinish": _template_send_finished,
    "kf_create_session": _kf_session(KfCreateSessionEvent),
    "kf_close_session": _kf_session(KfCloseSessionEvent),
    "kf_switch_session": _kf_switch,
}


_unknown_event = _plain(UnknownEvent)
_unknown_message = _plain(UnknownMessage)


def message_from_dict(raw: dict[str, Any]) -> Inbound:
    """The typed message or event for an already parsed body."""
    create_time = _int(raw, "CreateTime")
    if create_time is None:
        raise MissingField("CreateTime")
    msg_type = _required(raw, "MsgType")
    common: dict[str, Any] = {
        "to_user": _required(raw, "ToUserName"),
        "from_user": _required(raw, "FromUserName"),
        "create_time": create_time,
        "msg_type": msg_type,
        "raw": raw,
    }
    kind = msg_type.lower()
    if kind == "event":
        event = _required(raw, "Event")
        common["event"] = event
        common["event_key"] = _text(raw, "EventKey")
        return EVENT_BUILDERS.get(event.lower(), _unknown_event)(raw, common)
    common["msg_id"] = _text(raw, "MsgId") or _text(raw, "MsgID")
    return MESSAGE_BUILDERS.get(kind, _unknown_message)(raw, common)


def parse_message(body: bytes | str, data_format: DataFormat | None = None) -> Inbound:
    """Parse a plaintext push body (XML or JSON) into a typed message or event.

    Raises XmlError (hostile, oversized or malformed XML) or InvalidMessage.
    """
    return message_from_dict(load_body(body, data_format))


def parse_encrypted(
    body: bytes | str,
    *,
    crypto: MessageCrypto,
    msg_signature: str,
    timestamp: str,
    nonce: str,
    data_format: DataFormat | None = None,
) -> Inbound:
    """Verify, decrypt and parse a safe-mode push in one step.

    Raises CryptoError (signature first), XmlError or InvalidMessage.
    """
    envelope = parse_envelope(body, data_format)
    plaintext = crypto.verify_and_decrypt(
        msg_signature=msg_signature, timestamp=timestamp, nonce=nonce, encrypt=envelope.encrypt
    )
    # The plaintext is in the account's data format, i.e. the envelope's.
    return parse_message(plaintext, data_format)
