"""Faults injected through the sandbox's control API, and what the retry table makes of them."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.wechat.sandbox_helpers import (
    ClockSleeps,
    calls,
    client_for,
    control,
    fault,
    follow,
    inbox,
    make_account,
    user_says,
)
from wechat import errors
from wechat.client import Safety, WeChatClient, is_transient
from wechat.sandbox.server import SandboxServer


def stable_tokens_issued(sb: SandboxServer, appid: str) -> int:
    return control(sb, "GET", "/counters").get("stable_token_issued", {}).get(appid, 0)


def test_busy_backs_off_then_succeeds(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, sleeps = client_for(sandbox, account)
    wx.access_token()
    fault(sandbox, kind="busy", path="/cgi-bin/tags/get", count=2)
    assert {t["id"] for t in wx.tag_list()} == {2}  # only the system "star" tag
    assert len(calls(sandbox, "/cgi-bin/tags/get")) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 2.0 for s in sleeps)


def test_busy_that_persists_is_raised_after_three_attempts(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, sleeps = client_for(sandbox, account)
    openid = follow(sandbox, account["appid"])
    wx.access_token()
    fault(sandbox, kind="busy", path="/cgi-bin/message/custom/send")
    with pytest.raises(errors.BusyError):
        wx.custom_send_text(openid, "hi")
    assert len(calls(sandbox, "/cgi-bin/message/custom/send")) == 3
    assert len(sleeps) == 2


def test_rate_limit_backs_off(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, sleeps = client_for(sandbox, account)
    openid = follow(sandbox, account["appid"])
    wx.access_token()
    fault(sandbox, kind="rate_limit", path="/cgi-bin/message/custom/send", count=1)
    wx.custom_send_text(openid, "hi")  # -1/45011 prove nothing was sent, so a send retries
    assert len(inbox(sandbox, account["appid"], openid)) == 1
    assert len(sleeps) == 1


def test_expired_token_is_refreshed_once_and_the_call_retried(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, sleeps = client_for(sandbox, account)
    openid = follow(sandbox, appid)
    stale = wx.access_token()
    issued = stable_tokens_issued(sandbox, appid)

    fault(sandbox, kind="token_expired", appid=appid, path="/cgi-bin/message/custom/send", count=1)
    wx.custom_send_text(openid, "after refresh")

    assert stable_tokens_issued(sandbox, appid) == issued + 1
    assert wx.access_token() != stale
    sends = calls(sandbox, "/cgi-bin/message/custom/send")
    assert [c["errcode"] for c in sends] == [42001, 0]
    assert len(inbox(sandbox, appid, openid)) == 1
    assert sleeps == []


def test_http_500_is_retried_for_reads(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, sleeps = client_for(sandbox, account)
    wx.access_token()
    fault(sandbox, kind="http_500", path="/cgi-bin/tags/get", count=1)
    assert {t["id"] for t in wx.tag_list()} == {2}  # only the system "star" tag
    assert len(calls(sandbox, "/cgi-bin/tags/get")) == 2


def test_http_500_on_a_kf_send_is_not_retried(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    openid = follow(sandbox, account["appid"])
    wx.access_token()
    fault(sandbox, kind="http_500", path="/cgi-bin/message/custom/send", count=1)
    with pytest.raises(errors.TransportError) as caught:
        wx.custom_send_text(openid, "hi")
    assert caught.value.status == 500 and caught.value.maybe_sent
    assert len(calls(sandbox, "/cgi-bin/message/custom/send")) == 1


# The ways an answer goes missing: the platform is slow before the work (the request sits
# while the client gives up), slow after it (the work is done, the answer comes too late),
# or done and the connection dropped without an answer (closed, or reset).
LOST_ANSWERS = [
    pytest.param({"kind": "slow", "delay": 0.6}, id="slow-before-the-work"),
    pytest.param({"kind": "slow_after", "delay": 0.6}, id="slow-after-the-work"),
    pytest.param({"kind": "drop_after", "how": "close"}, id="dropped-after-the-work"),
    pytest.param({"kind": "drop_after", "how": "reset"}, id="reset-after-the-work"),
]
AFTER_THE_WORK = LOST_ANSWERS[1:]


@pytest.mark.parametrize("lost", LOST_ANSWERS)
def test_a_kf_send_whose_answer_is_lost_is_not_repeated_so_it_arrives_once(
    sandbox: SandboxServer, lost: dict
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    wx, _ = client_for(sandbox, account, timeout=(2, 0.3))
    openid = follow(sandbox, appid)
    user_says(sandbox, appid, openid)
    wx.access_token()
    fault(sandbox, path="/cgi-bin/message/custom/send", count=1, **lost)
    with pytest.raises(errors.TransportError) as caught:
        wx.custom_send_text(openid, "只发一次")
    assert caught.value.maybe_sent
    wait_until(lambda: len(inbox(sandbox, appid, openid)) == 1)
    assert len(calls(sandbox, "/cgi-bin/message/custom/send")) == 1

    fault(sandbox, path="/cgi-bin/message/template/send", count=1, **lost)
    with pytest.raises(errors.TransportError):
        wx.template_send(openid, "TPL", {"first": "x"})
    wait_until(lambda: len(inbox(sandbox, appid, openid)) == 2)
    assert len(calls(sandbox, "/cgi-bin/message/template/send")) == 1


@pytest.mark.parametrize("lost", AFTER_THE_WORK)
def test_a_timed_out_mass_send_is_retried_and_sent_once(
    sandbox: SandboxServer, lost: dict
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, timeout=(2, 0.3), sleep=sleeps)
    openids = [follow(sandbox, appid) for _ in range(2)]
    wx.access_token()
    fault(sandbox, path="/cgi-bin/message/mass/send", count=1, **lost)

    sent = wx.mass_send_by_openids(openids, "text", {"content": "hi"}, clientmsgid="slow-1")

    # The first attempt did the send and lost its answer; the quick retry met 45066; the
    # client waited the minute out and the same request was answered 45065 with the id.
    (job,) = control(sandbox, "GET", "/jobs")["mass"]
    sends = calls(sandbox, "/cgi-bin/message/mass/send")
    assert [(c["errcode"], c["fault"]) for c in sends] == [
        (0, lost["kind"]), (45066, None), (45065, None)]
    assert sent == {"msg_id": job["msg_id"], "msg_data_id": None, "clientmsgid": "slow-1",
                    "already_sent": True}
    assert sleeps[-1] >= 60 and len(sleeps) == 2


def test_a_mass_send_slowed_before_the_work_is_overtaken_by_its_retry_and_sent_once(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, timeout=(2, 0.3), sleep=sleeps)
    openids = [follow(sandbox, appid) for _ in range(2)]
    wx.access_token()
    fault(sandbox, kind="slow", path="/cgi-bin/message/mass/send", count=1, delay=0.6)
    sent = wx.mass_send_by_openids(openids, "text", {"content": "hi"}, clientmsgid="slow-2")
    assert sent["msg_id"] and sent["already_sent"] is False and len(sleeps) == 1
    # The late original reaches the platform after its retry did the send: 45066 for it.
    wait_until(lambda: len(calls(sandbox, "/cgi-bin/message/mass/send")) == 2)
    assert [c["errcode"] for c in calls(sandbox, "/cgi-bin/message/mass/send")] == [0, 45066]
    assert len(control(sandbox, "GET", "/jobs")["mass"]) == 1


def test_a_broadcast_whose_every_answer_is_lost_is_raised_maybe_sent_and_a_later_repeat_finds_it(
    sandbox: SandboxServer,
) -> None:
    account = make_account(sandbox)
    appid = account["appid"]
    sleeps = ClockSleeps(sandbox)
    wx, _ = client_for(sandbox, account, sleep=sleeps)
    openids = [follow(sandbox, appid) for _ in range(2)]
    wx.access_token()
    fault(sandbox, kind="drop_after", path="/cgi-bin/message/mass/send", count=3)
    with pytest.raises(errors.TransportError) as caught:
        wx.mass_send_by_openids(openids, "text", {"content": "hi"}, clientmsgid="batch-9")
    assert caught.value.maybe_sent
    assert is_transient(caught.value, Safety.DEDUPED)  # the caller may repeat it later
    (job,) = control(sandbox, "GET", "/jobs")["mass"]

    # The caller's own retry, later, with the same clientmsgid: sent once, id known.
    sandbox.clock.advance(120)
    again = wx.mass_send_by_openids(openids, "text", {"content": "hi"}, clientmsgid="batch-9")
    assert (again["msg_id"], again["already_sent"]) == (job["msg_id"], True)
    assert len(control(sandbox, "GET", "/jobs")["mass"]) == 1


def test_a_refused_connection_is_retried_even_for_sends(sandbox: SandboxServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    sleeps: list[float] = []
    wx = WeChatClient(
        "wxdead",
        base_url=f"http://127.0.0.1:{dead_port}",
        token_provider=StaticProvider(),
        sleep=sleeps.append,
        timeout=(0.5, 1),
    )
    with pytest.raises(errors.TransportError) as caught:
        wx.custom_send_text("o1", "hi")
    assert caught.value.maybe_sent is False
    assert len(sleeps) == 2


def test_threads_sharing_a_client_fetch_one_token(sandbox: SandboxServer) -> None:
    account = make_account(sandbox)
    wx, _ = client_for(sandbox, account)
    barrier = threading.Barrier(20)
    failures: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            wx.tag_list()
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert failures == []
    assert len(calls(sandbox, "/cgi-bin/stable_token")) == 1
    assert len(calls(sandbox, "/cgi-bin/tags/get")) == 20


class StaticProvider:
    def get_token(self, appid: str) -> str:
        return "static-token"

    def refresh_token(self, appid: str, stale: str | None) -> str:
        return "static-token"


def wait_until(condition, timeout: float = 3.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
