"""The follower simulator: a deterministic plan, and a short run through a real sandbox."""

from __future__ import annotations

import itertools
import json
import random
import time
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


def test_a_short_run_pushes_signed_callbacks_and_summarises_them(
    sandbox, callback_receiver, portal_for
) -> None:
    account = make_account(sandbox, callback_url=callback_receiver.url, message_mode="safe")
    portal = portal_for(account, reply_text="收到 / got it")
    # The first two pushes are answered too late, so the platform gives up and re-sends.
    control(sandbox, "POST", "/settings", {"push_timeout": 0.25})
    arrivals = itertools.count(1)

    def late_then_portal(rec):
        if next(arrivals) <= 2:
            time.sleep(0.5)
        return portal(rec)

    callback_receiver.configure(responder=late_then_portal)

    summary = simulate.run(
        simulate.SimConfig(
            sandbox=sandbox.base_url,
            accounts=[account["appid"]],
            followers=5,
            rate=40,
            duration=1.0,
            seed=42,
        )
    )

    assert summary["events_total"] == 40
    assert summary["control_errors"] == 0 and summary["skipped"] == 0
    push = summary["push"]
    assert push["total"] == 40  # every event became one push
    assert push["status"] == {"200": 40}
    assert push["retries"] == 2  # the two late answers were re-sent by the platform
    assert push["failures"] == 0
    assert 0 < push["passive_replies"] <= 40  # unfollow/location answers carry no reply
    assert 0 < push["latency_ms"]["p50"] <= push["latency_ms"]["p99"] <= push["latency_ms"]["max"]
    assert portal.rejected == []
    assert len(portal.messages) == 42  # the two late ones were decoded twice
    assert {m["MsgType"] for m in portal.messages} >= {"text", "event"}


def test_the_command_line_prints_the_summary(sandbox, callback_receiver, capsys) -> None:
    appids = [make_account(sandbox, callback_url=callback_receiver.url)["appid"] for _ in "ab"]
    argv = ["simulate", "--sandbox", sandbox.base_url, "--accounts", ",".join(appids),
            "--followers", "3", "--rate", "50", "--duration", "5", "--events", "20",
            "--seed", "1", "--json"]  # fmt: skip
    assert simulate.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events_total"] == 20
    assert summary["push"]["status"] == {"200": 20}

    assert simulate.main(argv[:-1]) == 0
    text = capsys.readouterr().out
    assert "events: 20" in text and "latency p50" in text and "status 200: 20" in text
