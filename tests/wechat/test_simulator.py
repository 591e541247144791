"""The follower simulator: a deterministic plan, and a short run through a real sandbox."""

from __future__ import annotations

import random
from collections import Counter

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


def test_only_current_followers_act_and_nobody_unfollows_twice() -> None:
    following = {a: set(range(5)) for a in ("wxa", "wxb")}
    seen = {a: set(range(5)) for a in ("wxa", "wxb")}
    for event in plan(11, 3000):
        members = following[event.account]
        if event.kind in simulate.FOLLOW_KINDS:
            assert event.slot not in seen[event.account]  # a new person each time
            members.add(event.slot)
            seen[event.account].add(event.slot)
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
