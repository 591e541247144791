"""Temporary media upload/download and template messages with TEMPLATESENDJOBFINISH."""

from __future__ import annotations

from tests.wechat.sandbox_kit import Kit, errcode

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def _upload(kit: Kit, token: str, kind: str, name: str, data: bytes) -> dict:
    return kit.http.post(f"{kit.base}/cgi-bin/media/upload",
                         params={"access_token": token, "type": kind},
                         files={"media": (name, data)}).json()


def test_an_uploaded_image_comes_back_and_can_be_sent(kit: Kit) -> None:
    account = kit.account()
    token = kit.token(account)
    up = _upload(kit, token, "image", "a.png", PNG)
    assert up["type"] == "image" and up["media_id"]
    got = kit.http.get(f"{kit.base}/cgi-bin/media/get",
                       params={"access_token": token, "media_id": up["media_id"]})
    assert got.content == PNG and got.headers["Content-Type"] == "image/png"
    openid = kit.follow(account["appid"])["openid"]
    answer = kit.post("/cgi-bin/message/custom/send", token, {
        "touser": openid, "msgtype": "image", "image": {"media_id": up["media_id"]}})
    assert errcode(answer) == 0


def test_upload_checks_type_extension_and_size(kit: Kit) -> None:
    token = kit.token(kit.account())
    assert errcode(_upload(kit, token, "gif", "a.gif", PNG)) == 40004
    assert errcode(_upload(kit, token, "voice", "a.wav", b"RIFF")) == 40005
    assert errcode(_upload(kit, token, "thumb", "t.jpg", bytes(65 * 1024))) == 40012


def test_temporary_media_expire_after_three_days(kit: Kit) -> None:
    account = kit.account()
    kit.freeze()
    token = kit.token(account)
    media_id = _upload(kit, token, "image", "a.png", PNG)["media_id"]
    kit.advance(3 * 24 * 3600)
    answer = kit.get("/cgi-bin/media/get", kit.token(account), media_id=media_id)
    assert errcode(answer) == 40007


def test_template_messages_reach_followers_and_report_completion(
        kit: Kit, callback_receiver: object, portal_for: type) -> None:
    account = kit.account(callback_url=callback_receiver.url)
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    openid = kit.follow(account["appid"])["openid"]
    token = kit.token(account)
    sent = kit.post("/cgi-bin/message/template/send", token, {
        "touser": openid, "template_id": "tpl-1", "data": {"first": {"value": "您好"}}})
    assert errcode(sent) == 0 and sent["msgid"]
    assert kit.inbox(account["appid"], openid)[0]["via"] == "template"
    assert kit.ctl("POST", "/jobs/run")["templates"] == 1
    event = portal.messages[-1]
    assert (event["Event"], event["MsgID"], event["Status"]) == (
        "TEMPLATESENDJOBFINISH", str(sent["msgid"]), "success")


def test_template_ids_can_be_restricted(kit: Kit) -> None:
    account = kit.account(template_ids=["tpl-ok"])
    openid = kit.follow(account["appid"])["openid"]
    answer = kit.post("/cgi-bin/message/template/send", kit.token(account),
                      {"touser": openid, "template_id": "tpl-other", "data": {}})
    assert errcode(answer) == 40037
