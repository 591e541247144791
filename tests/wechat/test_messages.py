"""Inbound pushes: every fixture parses into its type, in XML and in JSON alike."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from wechat.crypto import InvalidSignature, MessageCrypto
from wechat.messages import (
    BodyTooLarge,
    ClickEvent,
    CopyrightCheckItem,
    Event,
    HostileXml,
    ImageMessage,
    InvalidMessage,
    KfCloseSessionEvent,
    KfCreateSessionEvent,
    KfSwitchSessionEvent,
    LinkMessage,
    LocationEvent,
    LocationMessage,
    MalformedJson,
    MalformedXml,
    MassSendJobFinishEvent,
    MissingField,
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
    load_body,
    parse_encrypted,
    parse_envelope,
    parse_message,
)
from wechat.xmlutil import MAX_BODY_BYTES, parse_xml, to_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wechat"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# fixture stem → (type, fields the parse must produce)
EXPECTED: dict[str, tuple[type, dict[str, Any]]] = {
    "text__plain": (
        TextMessage,
        {
            "to_user": "toUser",
            "from_user": "fromUser",
            "create_time": 1348831860,
            "msg_type": "text",
            "content": "this is a test",
            "msg_id": "1234567890123456",
            "msg_data_id": None,
            "idx": None,
        },
    ),
    "text__chinese": (
        TextMessage,
        {
            "content": "你好，请问门店几点开门？😀\n第二行",
            "msg_id": "24540219878547062",
            "to_user": "gh_97417a04a28d",
            "from_user": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
        },
    ),
    "text__from_article": (
        TextMessage,
        {"content": "留言", "msg_data_id": "2247483655", "idx": 1},
    ),
    "text__cdata_terminator": (TextMessage, {"content": "a]]>b <xml>"}),
    "image__plain": (
        ImageMessage,
        {"pic_url": "this is a url", "media_id": "media_id", "msg_type": "image"},
    ),
    "voice__plain": (
        VoiceMessage,
        {"media_id": "media_id", "format": "Format", "recognition": None},
    ),
    "voice__recognition": (
        VoiceMessage,
        {"recognition": "腾讯微信团队", "msg_id": "1234567890123456"},
    ),
    "video__plain": (VideoMessage, {"media_id": "media_id", "thumb_media_id": "thumb_media_id"}),
    "shortvideo__plain": (
        ShortVideoMessage,
        {"media_id": "media_id", "thumb_media_id": "thumb_media_id"},
    ),
    "location__plain": (
        LocationMessage,
        {"latitude": 23.134521, "longitude": 113.358803, "scale": 20, "label": "位置信息"},
    ),
    "link__plain": (
        LinkMessage,
        {"title": "公众平台官网链接", "description": "公众平台官网链接", "url": "url"},
    ),
    "unknown__miniprogrampage": (UnknownMessage, {"msg_type": "miniprogrampage"}),
    "event__subscribe": (
        SubscribeEvent,
        {"event": "subscribe", "event_key": None, "scene": None, "ticket": None},
    ),
    "event__subscribe_empty_key": (
        SubscribeEvent,
        {"event_key": "", "scene": None, "ticket": None},
    ),
    "event__subscribe_qrscene": (
        SubscribeEvent,
        {"event_key": "qrscene_123123", "scene": "123123", "ticket": "TICKET"},
    ),
    "event__unsubscribe": (UnsubscribeEvent, {"event": "unsubscribe"}),
    "event__scan": (ScanEvent, {"event": "SCAN", "scene": "SCENE_VALUE", "ticket": "TICKET"}),
    "event__location": (
        LocationEvent,
        {
            "event": "LOCATION",
            "latitude": 23.137466,
            "longitude": 113.352425,
            "precision": 119.38504,
        },
    ),
    "event__click": (ClickEvent, {"event": "CLICK", "key": "EVENTKEY"}),
    "event__view": (ViewEvent, {"url": "www.qq.com", "menu_id": "MENUID"}),
    "event__masssendjobfinish": (
        MassSendJobFinishEvent,
        {
            "msg_id": "1988",
            "status": "sendsuccess",
            "total_count": 100,
            "filter_count": 80,
            "sent_count": 75,
            "error_count": 5,
            "copyright_check": None,
            "article_urls": (),
        },
    ),
    "event__masssendjobfinish_copyright": (
        MassSendJobFinishEvent,
        {"msg_id": "1000001625", "status": "err(30003)", "total_count": 0, "error_count": 0},
    ),
    "event__templatesendjobfinish": (
        TemplateSendJobFinishEvent,
        {"msg_id": "200163836", "status": "success"},
    ),
    "event__templatesendjobfinish_system_failed": (
        TemplateSendJobFinishEvent,
        {"msg_id": "200163840", "status": "failed: system failed"},
    ),
    "event__kf_create_session": (KfCreateSessionEvent, {"kf_account": "test1@test"}),
    "event__kf_close_session": (KfCloseSessionEvent, {"kf_account": "test1@test"}),
    "event__kf_switch_session": (
        KfSwitchSessionEvent,
        {"from_kf_account": "test1@test", "to_kf_account": "test2@test"},
    ),
    "event__unknown_scancode_push": (UnknownEvent, {"event": "scancode_push", "event_key": "6"}),
    "event__unknown_publishjobfinish": (UnknownEvent, {"event": "PUBLISHJOBFINISH"}),
    "event__debug_demo": (UnknownEvent, {"event": "debug_demo", "create_time": 1714037059}),
}
NOT_MESSAGES = {"envelope__safe_mode"}


def message_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.stem not in NOT_MESSAGES)


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in message_fixtures()} == set(EXPECTED)


@pytest.mark.parametrize("path", message_fixtures(), ids=lambda p: p.name)
def test_each_fixture_parses_into_its_type(path: Path) -> None:
    cls, fields = EXPECTED[path.stem]

    message = parse_message(path.read_bytes())

    assert type(message) is cls
    for name, value in fields.items():
        assert getattr(message, name) == value, name


@pytest.mark.parametrize(
    "path", [p for p in message_fixtures() if p.suffix == ".xml"], ids=lambda p: p.name
)
def test_the_same_push_in_json_parses_to_the_same_message(path: Path) -> None:
    from_xml = parse_message(path.read_bytes())
    as_json = json.dumps(parse_xml(path.read_bytes()), ensure_ascii=False)

    from_json = parse_message(as_json)

    assert from_json == from_xml
    assert from_json.dedupe_key == from_xml.dedupe_key


@pytest.mark.parametrize(
    "stem",
    sorted(
        p.stem
        for p in FIXTURES.glob("*.json")
        if (FIXTURES / f"{p.stem}.xml").exists() and p.stem not in NOT_MESSAGES
    ),
)
def test_native_json_pushes_match_their_xml_twins(stem: str) -> None:
    # Native JSON carries numbers as numbers and lists as arrays.
    assert parse_message(fixture(f"{stem}.json")) == parse_message(fixture(f"{stem}.xml"))


def test_it_reads_the_copyright_check_of_a_mass_send() -> None:
    event = parse_message(fixture("event__masssendjobfinish_copyright.xml"))

    assert isinstance(event, MassSendJobFinishEvent)
    check = event.copyright_check
    assert check is not None
    assert (check.count, check.check_state) == (2, 2)
    assert check.items[1] == CopyrightCheckItem(
        article_idx=2,
        user_declare_state=0,
        audit_state=2,
        original_article_url="Url_2",
        original_article_type=1,
        can_reprint=True,
        need_replace_content=True,
        need_show_reprint_source=True,
    )
    assert [(a.article_idx, a.article_url) for a in event.article_urls] == [(1, "Url")]


def test_unknown_types_keep_every_raw_field() -> None:
    event = parse_message(fixture("event__unknown_scancode_push.xml"))
    message = parse_message(fixture("unknown__miniprogrampage.xml"))

    assert event.raw["ScanCodeInfo"] == {"ScanType": "qrcode", "ScanResult": "1"}
    assert message.raw["PagePath"] == "PagePath"
    assert message.dedupe_key == "msg:1234567890123456"


def test_event_names_match_case_insensitively_but_keep_their_spelling() -> None:
    raw = parse_xml(fixture("event__scan.xml"))
    raw["Event"] = "scan"
    event = parse_message(to_xml(raw))
    assert isinstance(event, ScanEvent)
    assert event.event == "scan"


# --- dedupe ----------------------------------------------------------------------


def make_event(event: str, **extra: Any) -> Event:
    raw = {
        "ToUserName": "gh_1",
        "FromUserName": "o_user",
        "CreateTime": 1714112445,
        "MsgType": "event",
        "Event": event,
        **extra,
    }
    message = parse_message(json.dumps(raw))
    assert isinstance(message, Event)
    return message


def test_a_subscribe_and_a_scan_in_the_same_second_do_not_merge() -> None:
    subscribe = make_event("subscribe", EventKey="qrscene_7", Ticket="T")
    scan = make_event("SCAN", EventKey="7", Ticket="T")

    assert subscribe.dedupe_key != scan.dedupe_key


def test_two_clicks_in_the_same_second_do_not_merge() -> None:
    first, second = make_event("CLICK", EventKey="a"), make_event("CLICK", EventKey="b")
    assert first.dedupe_key != second.dedupe_key


def test_two_mass_jobs_finishing_in_the_same_second_do_not_merge() -> None:
    first = make_event("MASSSENDJOBFINISH", MsgID=1)
    second = make_event("MASSSENDJOBFINISH", MsgID=2)
    assert first.dedupe_key != second.dedupe_key


def test_a_retried_push_has_the_same_dedupe_key() -> None:
    body = fixture("event__subscribe_qrscene.xml")
    assert parse_message(body).dedupe_key == parse_message(body).dedupe_key
    text = fixture("text__plain.xml")
    assert parse_message(text).dedupe_key == "msg:1234567890123456"


def test_messages_dedupe_by_msg_id_not_by_time() -> None:
    raw = parse_xml(fixture("text__plain.xml"))
    again = parse_message(to_xml({**raw, "CreateTime": "1348831861"}))
    assert again.dedupe_key == parse_message(to_xml(raw)).dedupe_key


# --- immutability ----------------------------------------------------------------


def test_messages_are_frozen_and_slotted() -> None:
    message = parse_message(fixture("text__plain.xml"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        message.content = "changed"  # type: ignore[misc]
    assert not hasattr(message, "__dict__")
    assert hash(message) == hash(parse_message(fixture("text__plain.xml")))


# --- refusals --------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["ToUserName", "FromUserName", "CreateTime", "MsgType"])
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_it_rejects_a_push_without_a_common_field(missing: str, fmt: str) -> None:
    raw = parse_xml(fixture("text__plain.xml"))
    del raw[missing]
    body = to_xml(raw) if fmt == "xml" else json.dumps(raw)

    with pytest.raises(MissingField) as caught:
        parse_message(body)
    assert caught.value.field == missing


def test_it_rejects_an_event_without_its_name() -> None:
    raw = parse_xml(fixture("event__click.xml"))
    del raw["Event"]
    with pytest.raises(MissingField, match="Event"):
        parse_message(to_xml(raw))


@pytest.mark.parametrize("create_time", ["yesterday", "1.5", ""])
def test_it_rejects_a_create_time_that_is_not_an_integer(create_time: str) -> None:
    raw = parse_xml(fixture("text__plain.xml"))
    with pytest.raises(InvalidMessage):
        parse_message(to_xml({**raw, "CreateTime": create_time}))


def test_it_rejects_a_field_given_as_a_group() -> None:
    raw = parse_xml(fixture("text__plain.xml"))
    with pytest.raises(InvalidMessage):
        parse_message(to_xml({**raw, "FromUserName": {"Nested": "x"}}))


@pytest.mark.parametrize(
    "body",
    [
        '{"ToUserName": "a", "ToUserName": "b"}',
        "[1, 2]",
        '{"unterminated": ',
        "{" * 5000 + "}" * 5000,
        b'{"bad utf8": "\xff"}',
    ],
    ids=["repeated-key", "array", "truncated", "deep", "bad-utf8"],
)
def test_it_rejects_hostile_or_broken_json(body: str | bytes) -> None:
    with pytest.raises(MalformedJson):
        parse_message(body)


def test_it_rejects_an_oversized_json_body() -> None:
    body = json.dumps({"Content": "x" * MAX_BODY_BYTES})
    with pytest.raises(BodyTooLarge):
        parse_message(body)


def test_hostile_xml_is_refused_before_any_field_is_read() -> None:
    body = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml>&x;</xml>'
    with pytest.raises(HostileXml):
        parse_message(body)


@pytest.mark.parametrize("body", ["", "not a push", "<html><body/></html>"])
def test_it_rejects_bodies_that_are_neither_format(body: str) -> None:
    with pytest.raises(MalformedXml):
        parse_message(body)


def test_an_explicit_format_wins_over_detection() -> None:
    with pytest.raises(MalformedJson):
        load_body(fixture("text__plain.xml"), "json")


# --- envelopes -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["envelope__safe_mode.xml", "envelope__safe_mode.json"])
def test_it_reads_a_safe_mode_envelope_in_either_format(name: str) -> None:
    envelope = parse_envelope(fixture(name))

    assert envelope.to_user == "gh_97417a04a28d"
    assert envelope.encrypt.startswith("+qdx1OKCy+5JPCBFWw70tm0f")


def test_an_envelope_without_encrypt_is_rejected() -> None:
    with pytest.raises(MissingField, match="Encrypt"):
        parse_envelope(fixture("text__plain.xml"))


def test_it_verifies_decrypts_and_parses_the_official_safe_mode_push() -> None:
    box = MessageCrypto("AAAAA", "A" * 43, "wxba5fad812f8e6fb9")

    event = parse_encrypted(
        fixture("envelope__safe_mode.json"),
        crypto=box,
        msg_signature="046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
        timestamp="1714112445",
        nonce="415670741",
    )

    assert isinstance(event, UnknownEvent)
    assert (event.event, event.create_time) == ("debug_demo", 1714112445)
    assert event.raw["debug_str"] == "hello world"


def test_a_forged_safe_mode_push_is_rejected_before_decryption() -> None:
    box = MessageCrypto("AAAAA", "A" * 43, "wxba5fad812f8e6fb9")
    with pytest.raises(InvalidSignature):
        parse_encrypted(
            fixture("envelope__safe_mode.xml"),
            crypto=box,
            msg_signature="046e02f8204d34f8ba5fa3b1db94908f3df2e9b4",
            timestamp="1714112445",
            nonce="415670741",
        )


def test_an_encrypted_xml_push_round_trips() -> None:
    box = MessageCrypto("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx_app")
    plain = fixture("text__chinese.xml")
    envelope = box.encrypt_envelope(plain, timestamp="1714112445", nonce="n1")
    body = to_xml({"ToUserName": "gh_97417a04a28d", "Encrypt": envelope["Encrypt"]})

    message = parse_encrypted(
        body,
        crypto=box,
        msg_signature=str(envelope["MsgSignature"]),
        timestamp="1714112445",
        nonce="n1",
    )

    assert message == parse_message(plain)
