"""Passive replies render to the platform's XML and JSON, plain or encrypted."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wechat import crypto
from wechat.crypto import MessageCrypto
from wechat.messages import (
    SUCCESS,
    Article,
    ImageReply,
    MusicReply,
    NewsReply,
    TextMessage,
    TextReply,
    TransferCustomerServiceReply,
    VideoReply,
    VoiceReply,
    parse_message,
)
from wechat.xmlutil import parse_xml

ADDRESS = {"to_user": "o_follower", "from_user": "gh_account", "create_time": 1713424427}
HEADER = {
    "ToUserName": "o_follower",
    "FromUserName": "gh_account",
    "CreateTime": "1713424427",
}
BOX = MessageCrypto("AAAAA", "A" * 43, "wxba5fad812f8e6fb9")

xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
        + ["\ufffe", "\uffff"],
    )
)


def test_a_text_reply_renders_the_documented_xml() -> None:
    reply = TextReply(content="你好", **ADDRESS)

    assert reply.to_xml() == (
        "<xml><ToUserName><![CDATA[o_follower]]></ToUserName>"
        "<FromUserName><![CDATA[gh_account]]></FromUserName>"
        "<CreateTime>1713424427</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[你好]]></Content></xml>"
    )


def test_a_text_reply_renders_json_without_escaping_chinese() -> None:
    rendered = TextReply(content="你好", **ADDRESS).to_json()

    assert "你好" in rendered
    assert json.loads(rendered) == {
        "ToUserName": "o_follower",
        "FromUserName": "gh_account",
        "CreateTime": 1713424427,
        "MsgType": "text",
        "Content": "你好",
    }


@pytest.mark.parametrize(
    ("reply", "payload"),
    [
        (ImageReply(media_id="m1", **ADDRESS), {"MsgType": "image", "Image": {"MediaId": "m1"}}),
        (VoiceReply(media_id="m2", **ADDRESS), {"MsgType": "voice", "Voice": {"MediaId": "m2"}}),
        (
            VideoReply(media_id="m3", title="t", description="d", **ADDRESS),
            {"MsgType": "video", "Video": {"MediaId": "m3", "Title": "t", "Description": "d"}},
        ),
        (
            VideoReply(media_id="m3", **ADDRESS),
            {"MsgType": "video", "Video": {"MediaId": "m3"}},
        ),
        (
            MusicReply(
                thumb_media_id="th",
                title="t",
                description="d",
                music_url="u",
                hq_music_url="hq",
                **ADDRESS,
            ),
            {
                "MsgType": "music",
                "Music": {
                    "Title": "t",
                    "Description": "d",
                    "MusicUrl": "u",
                    "HQMusicUrl": "hq",
                    "ThumbMediaId": "th",
                },
            },
        ),
        (
            NewsReply(
                articles=(Article(title="T", description="D", pic_url="P", url="U"),), **ADDRESS
            ),
            {
                "MsgType": "news",
                "ArticleCount": "1",
                "Articles": [{"Title": "T", "Description": "D", "PicUrl": "P", "Url": "U"}],
            },
        ),
        (
            TransferCustomerServiceReply(**ADDRESS),
            {"MsgType": "transfer_customer_service"},
        ),
        (
            TransferCustomerServiceReply(kf_account="test1@test", **ADDRESS),
            {"MsgType": "transfer_customer_service", "TransInfo": {"KfAccount": "test1@test"}},
        ),
    ],
    ids=["image", "voice", "video", "video-bare", "music", "news", "transfer", "transfer-pinned"],
)
def test_each_reply_renders_its_documented_elements(reply: object, payload: dict) -> None:
    assert parse_xml(reply.to_xml()) == {**HEADER, **payload}  # type: ignore[attr-defined]


def test_a_news_reply_renders_articles_as_a_json_list() -> None:
    reply = NewsReply(articles=[Article(title="A"), Article(title="B")], **ADDRESS)

    rendered = json.loads(reply.to_json())

    assert rendered["ArticleCount"] == 2
    assert [a["Title"] for a in rendered["Articles"]] == ["A", "B"]
    assert isinstance(reply.articles, tuple)


@pytest.mark.parametrize("count", [0, 9])
def test_a_news_reply_refuses_an_impossible_article_count(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 8"):
        NewsReply(articles=tuple(Article(title=str(i)) for i in range(count)), **ADDRESS)


def test_answering_addresses_the_reply_back_to_the_sender() -> None:
    message = parse_message(
        "<xml><ToUserName>gh_account</ToUserName><FromUserName>o_follower</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content>"
        "<MsgId>9</MsgId></xml>"
    )

    reply = TextReply.answering(message, create_time=1713424427, content="hello")

    assert reply == TextReply(content="hello", **ADDRESS)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_an_encrypted_reply_decrypts_to_the_plain_one(fmt: str) -> None:
    reply = TextReply(content="加密 ]]> ok", **ADDRESS)

    body = reply.render_encrypted(BOX, timestamp="1713424427", nonce="415670741", data_format=fmt)

    envelope = json.loads(body) if fmt == "json" else parse_xml(body)
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert str(envelope["TimeStamp"]) == "1713424427"
    assert envelope["Nonce"] == "415670741"
    crypto.check_msg_signature(
        "AAAAA", "1713424427", "415670741", envelope["Encrypt"], envelope["MsgSignature"]
    )
    assert BOX.decrypt(envelope["Encrypt"]).decode() == reply.render(fmt)


def test_the_xml_envelope_carries_the_timestamp_as_a_number() -> None:
    body = TextReply(content="x", **ADDRESS).render_encrypted(
        BOX, timestamp="1713424427", nonce="1"
    )
    assert "<TimeStamp>1713424427</TimeStamp>" in body
    assert "<Nonce><![CDATA[1]]></Nonce>" in body


def test_success_is_the_literal_acknowledgement() -> None:
    assert SUCCESS == "success"


@given(content=xml_text)
def test_any_text_content_round_trips_through_a_reply(content: str) -> None:
    reply = TextReply(content=content, **ADDRESS)

    for fmt in ("xml", "json"):
        parsed = parse_message(reply.render(fmt))
        assert isinstance(parsed, TextMessage)
        assert parsed.content == content


@given(content=xml_text)
def test_any_text_content_round_trips_through_an_encrypted_reply(content: str) -> None:
    body = TextReply(content=content, **ADDRESS).render_encrypted(
        BOX, timestamp="1713424427", nonce="n"
    )
    envelope = parse_xml(body)

    parsed = parse_message(BOX.decrypt(envelope["Encrypt"]))

    assert isinstance(parsed, TextMessage)
    assert parsed.content == content
