"""The follower simulator: a deterministic plan, and a short run through a real sandbox."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter

from tests.wechat.sandbox_helpers import control, make_account
from wechat.sandbox import simulate


def plan(seed: int, count: int = 400) -> list[simulate.Event]:
    return simulate.plan_events(random.Random(seed), count, ["wxa", "wxb"], seeded=5)


def test_the_same_seed_plans_the_same_traffic() -> None:
    assert plan(7) == plan(7)
    assert plan(7) != plan(8)


def test_the_plan_mixes_every_kind_of_event() -> None:
    kinds = Counter(e.kind for e in plan(3, 2000))
    assert set(kinds) == set(simulate.MIX)
    texts = [e.spec["content"] for e in plan(3, 2000) if e.spec.get("type") == "text"]
    assert any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t)  # Chinese
    assert any(t.isascii() and len(t) > 3 for t in texts)  # English
    assert {"TC", "SC", "EN"} <= set(texts)


def test_only_current_followers_act_and_only_former_ones_come_back() -> None:
    following = {a: set(range(5)) for a in ("wxa", "wxb")}
    seen = {a: set(range(5)) for a in ("wxa", "wxb")}
    for event in plan(11, 3000):
        members = following[event.account]
        if event.kind in simulate.FOLLOW_KINDS:
            assert event.slot not in seen[event.account]  # a new person each time
            members.add(event.slot)
            seen[event.account].add(event.slot)
        elif event.kind == "refollow":
            assert event.slot in seen[event.account] and event.slot not in members
            members.add(event.slot)
        elif event.kind == "unfollow":
            members.remove(event.slot)
        else:
            assert event.slot in members


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert simulate._percentile(values, 50) == 50.0
    assert simulate._percentile(values, 99) == 99.0
    assert simulate._percentile([], 50) == 0.0
    assert simulate._percentile([5.0], 99) == 5.0


# Long enough that no push but a held one misses it, even on a loaded machine; a held push
# costs the test this much once (the held ones wait in parallel).
PUSH_TIMEOUT = 2.0


class LatePushes:
    """A responder that answers the first ``count`` distinct pushes only once the platform
    has given up on them and re-sent them: late by the event itself, not by a sleep that a
    slow machine could outrun. Every other push, and each re-sent copy, is answered at once
    by ``portal``. Counts what the receiver really saw, to compare the summary with."""

    def __init__(self, portal, count: int) -> None:  # noqa: ANN001
        self.portal = portal
        self.count = count
        self.lock = threading.Lock()
        self.copies: dict[tuple, int] = {}  # one push (its signed query) -> arrivals
        self.resent: dict[tuple, threading.Event] = {}  # the held ones, set on the copy
        self.answered = threading.Semaphore(0)

    def __call__(self, rec):  # noqa: ANN001, ANN204
        push = tuple(sorted(rec.query.items()))  # a re-sent push is byte-identical
        with self.lock:
            self.copies[push] = self.copies.get(push, 0) + 1
            first = self.copies[push] == 1
            hold = first and len(self.resent) < self.count
            if hold:
                self.resent[push] = threading.Event()
            elif push in self.resent:
                self.resent[push].set()
        if not hold:
            return self.portal(rec)
        try:
            assert self.resent[push].wait(20), "the platform never re-sent a late push"
            return self.portal(rec)  # decoded, but the platform has stopped listening
        finally:
            self.answered.release()

    def wait_answered(self) -> None:
        """Block until every held push's handler finished (the run may end before)."""
        for _ in range(len(self.resent)):
            assert self.answered.acquire(timeout=20), "a held push was never answered"

    @property
    def retries(self) -> int:
        return sum(n - 1 for n in self.copies.values())


def test_a_short_run_pushes_signed_callbacks_and_summarises_them(
    sandbox, callback_receiver, portal_for
) -> None:
    account = make_account(sandbox, callback_url=callback_receiver.url, message_mode="safe")
    portal = portal_for(account, reply_text="收到 / got it")
    control(sandbox, "POST", "/settings", {"push_timeout": PUSH_TIMEOUT})
    # The first two pushes are answered too late, so the platform gives up and re-sends.
    late = LatePushes(portal, count=2)
    callback_receiver.configure(responder=late)

    summary = simulate.run(
        simulate.SimConfig(
            sandbox=sandbox.base_url,
            accounts=[account["appid"]],
            followers=5,
            rate=40,
            # A count, not a duration: every planned event runs however slow the machine.
            duration=0,
            events=40,
            seed=42,
        )
    )
    late.wait_answered()

    assert summary["events_total"] == 40
    assert summary["control_errors"] == 0 and summary["skipped"] == 0
    push = summary["push"]
    assert push["total"] == 40  # every event became one push
    assert push["status"] == {"200": 40}
    assert all(event.is_set() for event in late.resent.values()) and len(late.resent) == 2
    # The summary counts the re-sends the receiver saw: the two late answers (and, on a
    # machine slow enough to miss the timeout elsewhere, those too).
    assert late.retries >= 2 and push["retries"] == late.retries
    assert push["failures"] == 0
    assert 0 < push["passive_replies"] <= 40  # unfollow/location answers carry no reply
    latency = push["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"]
    assert latency["max"] >= PUSH_TIMEOUT * 1000  # a late push waited out the timeout
    assert portal.rejected == []
    assert len(portal.messages) == 40 + late.retries  # the late ones were decoded twice
    assert {m["MsgType"] for m in portal.messages} >= {"text", "event"}


def test_the_command_line_prints_the_summary(sandbox, callback_receiver, capsys) -> None:
    appids = [make_account(sandbox, callback_url=callback_receiver.url)["appid"] for _ in "ab"]
    # --duration 0: run until --events, so a slow machine does not cut the run short.
    argv = ["simulate", "--sandbox", sandbox.base_url, "--accounts", ",".join(appids),
            "--followers", "3", "--rate", "50", "--duration", "0", "--events", "20",
            "--seed", "1", "--json"]  # fmt: skip
    assert simulate.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events_total"] == 20
    assert summary["push"]["status"] == {"200": 20}

    assert simulate.main(argv[:-1]) == 0
    text = capsys.readouterr().out
    assert "events: 20" in text and "latency p50" in text and "status 200: 20" in text
