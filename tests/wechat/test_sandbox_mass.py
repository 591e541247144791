"""Mass send: jobs finishing later and pushing MASSSENDJOBFINISH, dedupe, quotas by kind."""

from __future__ import annotations

import datetime as dt
import time

from tests.wechat.sandbox_kit import Kit, errcode
from wechat.sandbox.clock import BEIJING
from wechat.sandbox.server import start_in_thread


def _at_beijing(kit: Kit, *args: int) -> None:
    kit.ctl("POST", "/clock", {"set": dt.datetime(*args, tzinfo=BEIJING).timestamp(),
                               "freeze": True})


def _sendall(kit: Kit, token: str, text: str, **extra: object) -> dict:
    body = {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": text}}
    return kit.post("/cgi-bin/message/mass/sendall", token, {**body, **extra})


def test_a_job_finishes_later_and_pushes_the_counts(kit: Kit, callback_receiver: object,
                                                    portal_for: type) -> None:
    account = kit.account(callback_url=callback_receiver.url, mass_job_seconds=30)
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    kit.freeze()
    appid = account["appid"]
    openids = [kit.follow(appid)["openid"] for _ in range(3)]
    kit.ctl("POST", f"/accounts/{appid}/followers/{openids[2]}/unfollow", {"push": False})
    token = kit.token(account)
    sent = _sendall(kit, token, "大促")
    assert sent["errmsg"] == "send job submission success"
    status = kit.post("/cgi-bin/message/mass/get", token, {"msg_id": sent["msg_id"]})
    assert status["msg_status"] == "SENDING"
    assert kit.ctl("POST", "/jobs/run")["finished"] == 0
    kit.advance(30)
    assert kit.ctl("POST", "/jobs/run")["finished"] == 1
    event = portal.messages[-1]
    assert event["Event"] == "MASSSENDJOBFINISH" and event["MsgID"] == str(sent["msg_id"])
    assert (event["Status"], event["TotalCount"], event["FilterCount"], event["SentCount"],
            event["ErrorCount"]) == ("send success", "2", "2", "2", "0")
    assert [m["via"] for m in kit.inbox(appid, openids[0])] == ["mass"]
    assert kit.inbox(appid, openids[2]) == []
    status = kit.post("/cgi-bin/message/mass/get", token, {"msg_id": sent["msg_id"]})
    assert status["msg_status"] == "SEND_SUCCESS"


def test_a_repeated_clientmsgid_is_refused_with_the_first_msg_id(kit: Kit) -> None:
    account = kit.account()
    kit.freeze()
    kit.follow(account["appid"])
    token = kit.token(account)
    first = _sendall(kit, token, "a", clientmsgid="batch-1")
    assert errcode(_sendall(kit, token, "a", clientmsgid="batch-1")) == 45066
    kit.advance(61)
    again = _sendall(kit, token, "a", clientmsgid="batch-1")
    assert (errcode(again), again["msg_id"]) == (45065, first["msg_id"])
    assert errcode(_sendall(kit, token, "a", clientmsgid="x" * 65)) == 45067
    assert len(kit.ctl("GET", "/jobs")["mass"]) == 1


def test_without_clientmsgid_same_audience_and_content_is_a_duplicate(kit: Kit) -> None:
    account = kit.account()
    kit.freeze()
    kit.follow(account["appid"])
    token = kit.token(account)
    tag = kit.post("/cgi-bin/tags/create", token, {"tag": {"name": "vip"}})["tag"]["id"]
    body = {"filter": {"is_to_all": False, "tag_id": tag}, "msgtype": "text",
            "text": {"content": "same"}}
    assert errcode(kit.post("/cgi-bin/message/mass/sendall", token, body)) == 0
    kit.advance(120)
    assert errcode(kit.post("/cgi-bin/message/mass/sendall", token, body)) == 45065


def test_a_subscription_account_sends_once_per_beijing_day(kit: Kit) -> None:
    account = kit.account(kind="subscription")
    kit.follow(account["appid"])
    _at_beijing(kit, 2026, 5, 10, 23, 0)
    token = kit.token(account)
    assert errcode(_sendall(kit, token, "one")) == 0
    assert errcode(_sendall(kit, token, "two")) == 45028
    kit.advance(3600)  # 00:00 the next day in Beijing
    token = kit.token(account)
    assert errcode(_sendall(kit, token, "two")) == 0


def test_a_subscription_account_cannot_send_to_an_openid_list(kit: Kit) -> None:
    account = kit.account(kind="subscription")
    openids = [kit.follow(account["appid"])["openid"] for _ in range(2)]
    answer = kit.post("/cgi-bin/message/mass/send", kit.token(account),
                      {"touser": openids, "msgtype": "text", "text": {"content": "x"}})
    assert errcode(answer) == 48001


def test_a_service_account_sends_to_all_once_a_day_four_times_a_month(kit: Kit) -> None:
    account = kit.account(kind="service")
    kit.follow(account["appid"])
    for day in range(1, 5):
        _at_beijing(kit, 2026, 6, day, 12, 0)
        token = kit.token(account)
        assert errcode(_sendall(kit, token, f"day {day}")) == 0
        assert errcode(_sendall(kit, token, f"day {day} again")) == 45028
    _at_beijing(kit, 2026, 6, 5, 12, 0)
    token = kit.token(account)
    assert errcode(_sendall(kit, token, "fifth")) == 45028
    _at_beijing(kit, 2026, 7, 1, 0, 0)
    assert errcode(_sendall(kit, kit.token(account), "july")) == 0


def test_a_follower_gets_at_most_four_mass_messages_a_month(kit: Kit) -> None:
    account = kit.account(kind="service", mass_job_seconds=0)
    _at_beijing(kit, 2026, 6, 1, 12, 0)
    appid = account["appid"]
    openids = [kit.follow(appid)["openid"] for _ in range(2)]
    token = kit.token(account)
    for i in range(5):
        answer = kit.post("/cgi-bin/message/mass/send", token,
                          {"touser": openids, "msgtype": "text", "text": {"content": f"n{i}"}})
        assert errcode(answer) == 0
    kit.ctl("POST", "/jobs/run")
    jobs = kit.ctl("GET", "/jobs")["mass"]
    assert [(j["total"], j["filtered"], j["sent"]) for j in jobs] == [(2, 2, 2)] * 4 + [(2, 0, 0)]
    assert len(kit.inbox(appid, openids[0])) == 4


def test_an_openid_list_holds_2_to_10000(kit: Kit) -> None:
    account = kit.account()
    openid = kit.follow(account["appid"])["openid"]
    answer = kit.post("/cgi-bin/message/mass/send", kit.token(account),
                      {"touser": [openid], "msgtype": "text", "text": {"content": "x"}})
    assert errcode(answer) == 40032


def test_more_than_60_mass_calls_a_minute_are_throttled(kit: Kit) -> None:
    account = kit.account(quotas={"/cgi-bin/message/mass/sendall": 1000})
    kit.freeze()
    kit.follow(account["appid"])
    token = kit.token(account)
    codes = [errcode(_sendall(kit, token, f"m{i}", clientmsgid=f"c{i}")) for i in range(61)]
    assert codes[-1] == 45011 and 45011 not in codes[:60]


def test_mpnews_jobs_report_article_urls(kit: Kit, callback_receiver: object,
                                         portal_for: type) -> None:
    account = kit.account(callback_url=callback_receiver.url, mass_job_seconds=0)
    portal = portal_for(account)
    callback_receiver.configure(responder=portal)
    kit.follow(account["appid"])
    token = kit.token(account)
    thumb = kit.http.post(f"{kit.base}/cgi-bin/media/upload",
                          params={"access_token": token, "type": "thumb"},
                          files={"media": ("t.jpg", b"\xff\xd8\xff" + bytes(100))}).json()
    news = kit.post("/cgi-bin/media/uploadnews", token, {"articles": [
        {"title": "T1", "thumb_media_id": thumb["thumb_media_id"], "content": "<p>1</p>"},
        {"title": "T2", "thumb_media_id": thumb["thumb_media_id"], "content": "<p>2</p>"}]})
    sent = kit.post("/cgi-bin/message/mass/sendall", token, {
        "filter": {"is_to_all": True}, "msgtype": "mpnews",
        "mpnews": {"media_id": news["media_id"]}, "send_ignore_reprint": 0})
    assert "msg_data_id" in sent
    kit.ctl("POST", "/jobs/run")
    event = portal.messages[-1]
    assert event["ArticleUrlResult"]["Count"] == "2"
    assert len(event["ArticleUrlResult"]["ResultList"]) == 2
    assert event["CopyrightCheckResult"]["Count"] == "0"


def test_a_job_failing_review_gives_the_quota_back(kit: Kit) -> None:
    account = kit.account(kind="subscription", mass_job_seconds=0,
                          mass_job_status="err(20002)")
    kit.follow(account["appid"])
    token = kit.token(account)
    sent = _sendall(kit, token, "x")
    kit.ctl("POST", "/jobs/run")
    status = kit.post("/cgi-bin/message/mass/get", token, {"msg_id": sent["msg_id"]})
    assert status["msg_status"] == "SEND_FAIL"
    assert errcode(_sendall(kit, token, "y")) == 0


def test_a_served_sandbox_finishes_jobs_by_itself() -> None:
    sb = start_in_thread(port=0, auto_jobs=True)
    try:
        kit = Kit(sb)
        account = kit.account(mass_job_seconds=0)
        kit.follow(account["appid"])
        token = kit.token(account)
        sent = _sendall(kit, token, "auto")
        deadline = time.monotonic() + 5
        status = "SENDING"
        while status == "SENDING" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = kit.post("/cgi-bin/message/mass/get", token,
                              {"msg_id": sent["msg_id"]})["msg_status"]
        assert status == "SEND_SUCCESS"
    finally:
        sb.stop()
