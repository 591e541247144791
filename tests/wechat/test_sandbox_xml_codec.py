"""The sandbox writes its pushes and reads passive replies with xmltodict, so the product's
own XML reader and writer (``wechat.xmlutil``) meet an independent implementation in every
end-to-end test."""

from __future__ import annotations

import dataclasses

import pytest
import xmltodict

from wechat import crypto
from wechat import messages as wx
from wechat.sandbox import push
from wechat.xmlutil import parse_xml

TRICKY = "a]]>b <i>&amp; 你好 😀\n  two spaces  "
MESSAGE = {"ToUserName": "gh_97417a04a28d", "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
           "CreateTime": 1714112502, "MsgType": "text", "Content": TRICKY,
           "MsgId": 24540220684361729}
TARGET = push.Target(url="", token="AAAAA", encoding_aes_key="A" * 43,
                     crypto_appid="wx5823bf96d3bd56c7", mode="plain", data_format="xml")


def test_a_push_is_written_by_xmltodict_and_read_back_by_the_product() -> None:
    _query, body, _ctype = push.render(TARGET, MESSAGE, timestamp="1714112502", nonce="1",
                                       openid=None)
    text = body.decode()
    # xmltodict escapes; the product's writer would use CDATA sections.
    assert "CDATA" not in text and "&lt;i&gt;" in text
    assert text == xmltodict.unparse({"xml": MESSAGE}, full_document=False)
    message = wx.parse_message(body)
    assert isinstance(message, wx.TextMessage) and message.content == TRICKY
    assert parse_xml(body)["MsgId"] == "24540220684361729"


def test_nested_lists_go_out_as_the_platforms_item_runs() -> None:
    event = {**MESSAGE, "MsgType": "event", "Event": "pic_sysphoto",
             "SendPicsInfo": {"Count": 2, "PicList": [{"PicMd5Sum": "a"}, {"PicMd5Sum": "b"}]}}
    _query, body, _ctype = push.render(TARGET, event, timestamp="1", nonce="1", openid=None)
    assert (b"<PicList><item><PicMd5Sum>a</PicMd5Sum></item><item><PicMd5Sum>b</PicMd5Sum>"
            b"</item></PicList>") in body
    assert parse_xml(body)["SendPicsInfo"]["PicList"] == [{"PicMd5Sum": "a"},
                                                           {"PicMd5Sum": "b"}]


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_the_products_reply_is_read_by_xmltodict(mode: str) -> None:
    target = dataclasses.replace(TARGET, mode=mode)
    inbound = wx.message_from_dict({k: str(v) for k, v in MESSAGE.items()})
    reply = wx.TextReply.answering(inbound, create_time=1714112503, content=TRICKY)
    if mode == "plain":
        body = reply.render()
        assert "<![CDATA[a]]]]><![CDATA[>b" in body  # the product's CDATA split
    else:
        box = crypto.MessageCrypto(target.token, target.encoding_aes_key, target.crypto_appid)
        body = reply.render_encrypted(box, timestamp="1714112503", nonce="1")
    read = push.interpret_reply(target, body, MESSAGE)
    assert read is not None and read["Content"] == TRICKY
    assert read["ToUserName"] == MESSAGE["FromUserName"]


def test_a_reply_repeating_its_addressee_is_refused() -> None:
    # The product's reader refuses a repeated root field; xmltodict reads a list, which
    # no longer names the sender: a reply the sandbox will not deliver either way.
    body = ("<xml><ToUserName>o9AgO5Kd5ggOC-bXrbNODIiE3bGY</ToUserName><ToUserName>oOther"
            "</ToUserName><FromUserName>gh_97417a04a28d</FromUserName><CreateTime>1"
            "</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>")
    with pytest.raises(push.InvalidReply, match="ToUserName"):
        push.interpret_reply(TARGET, body, MESSAGE)


@pytest.mark.parametrize("body", [
    "<reply><Content>x</Content></reply>",
    '<!DOCTYPE xml [<!ENTITY e "x">]><xml><Content>&e;</Content></xml>',
    "<xml><Content>unclosed</xml>",
])
def test_a_reply_that_is_not_a_platform_document_is_invalid(body: str) -> None:
    with pytest.raises(push.InvalidReply, match="not XML"):
        push.interpret_reply(TARGET, body, MESSAGE)
