"""Follower simulator: realistic mixed traffic against a running sandbox.

    python -m wechat.sandbox simulate --sandbox http://127.0.0.1:8701 \
        --accounts wxa,wxb --followers 50 --rate 5 --duration 30 [--events N] [--seed 7]

It talks only to the sandbox's control API over HTTP, so every event reaches the account's
callback URL as a real signed (and, in safe mode, encrypted) push. Traffic: follows from
several QR campaigns, plain follows, Chinese and English text (with the "TC"/"SC"/"EN"
keywords), images, voice with recognition, location messages and reports, menu clicks,
menu scan buttons (scancode_push / scancode_waitmsg), scans by existing followers,
unfollows and re-follows (same person, same openid).

The *plan* (which kind, which follower slot, what text) comes from one seeded RNG, so the
same --seed gives the same traffic. Execution is concurrent -- a slow receiver must not
stall the pace -- but events for one follower run in plan order (a message never
overtakes that follower's follow or unfollow).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

# kind -> weight in the mix
MIX: dict[str, int] = {
    "follow_qr": 8,
    "follow": 5,
    "text_zh": 14,
    "text_en": 10,
    "keyword": 8,
    "image": 6,
    "voice": 5,
    "location": 4,
    "location_report": 2,
    "click": 10,
    "menu_scan": 3,
    "scan": 6,
    "unfollow": 4,
    "refollow": 2,
}
CAMPAIGNS = ("spring_sale", "store_shanghai_01", "expo_2024", 1001, 2024)
KEYWORDS = ("TC", "SC", "EN", "tc", "sc", "en")
TEXT_ZH = (
    "你好，请问门店几点开门？",
    "我的订单还没到，能帮我查一下吗",
    "有优惠券吗？",
    "谢谢！",
    "请问可以开发票吗",
    "这个活动什么时候结束？",
    "退货怎么办理",
)
TEXT_EN = (
    "Hello, what are your opening hours?",
    "Where is my order?",
    "Do you ship to Hong Kong?",
    "Thanks a lot!",
    "Can I talk to a person please",
    "Is the spring sale still on?",
)
VOICE_RECOGNITION = ("我想查询订单", "明天下午有空吗", "hello can you hear me", None)
CLICK_KEYS = ("MENU_LATEST", "MENU_HELP", "MENU_CONTACT", "MENU_COUPON")
SCAN_BUTTONS = ("scancode_push", "scancode_waitmsg")
SCAN_RESULTS = ("6901234567892", "https://shop.example.com/item/88", "ORDER-20240518-0042")
PLACES = (
    (31.230416, 121.473701, "上海市黄浦区人民广场"),
    (39.904200, 116.407396, "北京市东城区"),
    (22.543096, 114.057865, "深圳市福田区"),
    (23.129110, 113.264385, "Guangzhou Tianhe"),
)
FOLLOW_KINDS = ("follow_qr", "follow")


@dataclass
class Slot:
    """One follower as the plan sees it; the openid is known once its follow ran."""

    account: str
    index: int
    openid: str | None = None
    person_id: str | None = None
    failed: bool = False
    tail: Future | None = None  # the last submitted event for this follower


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    account: str
    slot: int  # index into that account's slots
    spec: dict[str, Any]


def plan_events(
    rng: random.Random, count: int, accounts: Sequence[str], seeded: int
) -> list[Event]:
    """The deterministic event sequence; ``seeded`` followers per account exist up front."""
    following = {a: list(range(seeded)) for a in accounts}
    unfollowed: dict[str, list[int]] = {a: [] for a in accounts}
    next_index = {a: seeded for a in accounts}
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    events: list[Event] = []
    for seq in range(count):
        account = rng.choice(list(accounts))
        kind = rng.choices(kinds, weights)[0]
        if kind == "refollow" and not unfollowed[account]:
            kind = "follow"  # nobody left to come back
        if kind not in (*FOLLOW_KINDS, "refollow") and not following[account]:
            kind = "follow"  # nobody to act for: somebody follows first
        if kind == "refollow":
            slot = unfollowed[account].pop(rng.randrange(len(unfollowed[account])))
            following[account].append(slot)
        elif kind in FOLLOW_KINDS:
            slot = next_index[account]
            next_index[account] += 1
            following[account].append(slot)
        elif kind == "unfollow":
            slot = following[account].pop(rng.randrange(len(following[account])))
            unfollowed[account].append(slot)
        else:
            slot = rng.choice(following[account])
        events.append(Event(seq, kind, account, slot, _spec(rng, kind)))
    return events


def _spec(rng: random.Random, kind: str) -> dict[str, Any]:
    if kind in ("follow_qr", "scan"):
        return {"scene": rng.choice(CAMPAIGNS)}
    if kind == "text_zh":
        return {"type": "text", "content": rng.choice(TEXT_ZH)}
    if kind == "text_en":
        return {"type": "text", "content": rng.choice(TEXT_EN)}
    if kind == "keyword":
        return {"type": "text", "content": rng.choice(KEYWORDS)}
    if kind == "image":
        return {"type": "image"}
    if kind == "voice":
        recognition = rng.choice(VOICE_RECOGNITION)
        spec: dict[str, Any] = {"type": "voice", "format": "amr"}
        if recognition is not None:
            spec["recognition"] = recognition
        return spec
    if kind == "location":
        lat, lng, label = rng.choice(PLACES)
        return {"type": "location", "latitude": lat, "longitude": lng, "scale": 15, "label": label}
    if kind == "location_report":
        lat, lng, _ = rng.choice(PLACES)
        return {"latitude": lat, "longitude": lng, "precision": round(rng.uniform(10, 200), 3)}
    if kind == "click":
        return {"key": rng.choice(CLICK_KEYS)}
    if kind == "menu_scan":
        return {"type": rng.choice(SCAN_BUTTONS), "key": "MENU_SCAN",
                "scan_result": rng.choice(SCAN_RESULTS)}
    return {}


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: Counter[str] = Counter()
        self.status: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.replies = 0
        self.retries = 0
        self.failures = 0
        self.control_errors = 0
        self.skipped = 0
        self.errors: Counter[str] = Counter()

    def record(self, kind: str, push: dict[str, Any] | None) -> None:
        with self.lock:
            self.events[kind] += 1
            if not push:
                return
            status = push.get("status")
            self.status[str(status) if status is not None else "no_answer"] += 1
            self.latencies.append(float(push.get("elapsed_ms") or 0))
            self.retries += max(0, int(push.get("attempts") or 1) - 1)
            if push.get("reply"):
                self.replies += 1
            if push.get("error") or status != 200:
                self.failures += 1

    def summary(self, elapsed: float) -> dict[str, Any]:
        with self.lock:
            total = sum(self.events.values())
            return {
                "events_total": total,
                "events": dict(sorted(self.events.items())),
                "elapsed_s": round(elapsed, 3),
                "rate": round(total / elapsed, 2) if elapsed > 0 else 0.0,
                "skipped": self.skipped,
                "control_errors": self.control_errors,
                "control_error_samples": dict(self.errors.most_common(5)),
                "push": {
                    "total": len(self.latencies),
                    "status": dict(sorted(self.status.items())),
                    "passive_replies": self.replies,
                    "retries": self.retries,
                    "failures": self.failures,
                    "latency_ms": {
                        "p50": _percentile(self.latencies, 50),
                        "p99": _percentile(self.latencies, 99),
                        "max": max(self.latencies, default=0.0),
                    },
                },
            }


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    # Nearest rank: the smallest value with at least pct% of the samples at or below it.
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return round(ordered[rank], 1)


class Control:
    """The sandbox control API over HTTP."""

    def __init__(self, base_url: str, pool: int) -> None:
        self.base = base_url.rstrip("/") + "/_sandbox"
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool + 2)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        # Generous timeout: one push may wait 5 s per attempt across 4 attempts.
        response = self.session.request(method, self.base + path, json=body, timeout=60)
        if response.status_code >= 400:
            raise ControlCallError(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response.json() if response.content else {}


class ControlCallError(Exception):
    pass


@dataclass
class SimConfig:
    sandbox: str
    accounts: list[str]
    followers: int = 20
    rate: float = 5.0
    duration: float = 10.0
    events: int | None = None
    seed: int | None = None
    concurrency: int = 8


def _seed_followers(control: Control, accounts: Sequence[str], n: int) -> dict[str, list[Slot]]:
    """Followers that existed before the run; created without pushes, as history."""
    slots: dict[str, list[Slot]] = {}
    for account in accounts:
        slots[account] = []
        for index in range(n):
            answer = control.call("POST", f"/accounts/{account}/followers", {"push": False})
            slot = Slot(account, index, openid=answer["openid"], person_id=answer["person_id"])
            slots[account].append(slot)
    return slots


def _perform(control: Control, event: Event, slot: Slot) -> dict[str, Any] | None:
    """Run one event through the control API; returns its PushResult (or None)."""
    base = f"/accounts/{event.account}/followers"
    if event.kind in FOLLOW_KINDS:
        body: dict[str, Any] = {"push": True, **event.spec}
        answer = control.call("POST", base, body)
        slot.openid, slot.person_id = answer["openid"], answer["person_id"]
        return answer.get("push")
    if event.kind == "refollow":
        answer = control.call("POST", base, {"push": True, "person_id": slot.person_id})
        return answer.get("push")
    follower = f"{base}/{slot.openid}"
    if event.kind == "unfollow":
        return control.call("POST", f"{follower}/unfollow").get("push")
    if event.kind == "scan":
        return control.call("POST", f"{follower}/scan", event.spec).get("push")
    if event.kind in ("click", "menu_scan"):
        return control.call("POST", f"{follower}/click", event.spec).get("push")
    if event.kind == "location_report":
        return control.call("POST", f"{follower}/location", event.spec).get("push")
    return control.call("POST", f"{follower}/send", event.spec).get("push")


def run(
    config: SimConfig,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Run the simulation and return the summary (also what ``main`` prints)."""
    if config.rate <= 0:
        raise ValueError("rate must be positive")
    rng = random.Random(config.seed)  # noqa: S311 - traffic simulation, not security
    count = int(config.rate * config.duration)
    if config.events is not None:
        count = min(count, config.events) if config.duration > 0 else config.events
    control = Control(config.sandbox, config.concurrency)
    slots = _seed_followers(control, config.accounts, config.followers)
    plan = plan_events(rng, count, config.accounts, config.followers)
    stats = Stats()

    def job(event: Event, slot: Slot, previous: Future | None) -> None:
        if previous is not None:
            previous.result()  # keep this follower's events in plan order
        if event.kind not in FOLLOW_KINDS and (slot.failed or slot.openid is None):
            with stats.lock:
                stats.skipped += 1
            return
        try:
            push = _perform(control, event, slot)
        except Exception as exc:  # one broken event must not stop the run; it is counted
            if event.kind in FOLLOW_KINDS:
                slot.failed = True
            with stats.lock:
                stats.control_errors += 1
                stats.errors[f"{event.kind}: {str(exc)[:120]}"] += 1
            return
        stats.record(event.kind, push)

    started = clock()
    futures: list[Future] = []
    with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        for i, event in enumerate(plan):
            due = started + i / config.rate
            wait = due - clock()
            if wait > 0:
                sleep(wait)
            if config.duration > 0 and clock() - started > config.duration:
                break
            account_slots = slots[event.account]
            while len(account_slots) <= event.slot:
                account_slots.append(Slot(event.account, len(account_slots)))
            slot = account_slots[event.slot]
            # Submission is FIFO, so the previous event of this slot is always picked up
            # by a worker before this one: waiting on it cannot deadlock the pool.
            slot.tail = pool.submit(job, event, slot, slot.tail)
            futures.append(slot.tail)
        for future in futures:
            future.result()
    return stats.summary(clock() - started)


def format_summary(summary: dict[str, Any]) -> str:
    push = summary["push"]
    lines = [
        f"events: {summary['events_total']} in {summary['elapsed_s']} s "
        f"({summary['rate']}/s), skipped {summary['skipped']}, "
        f"control errors {summary['control_errors']}",
    ]
    lines += [f"  {kind:<16} {n}" for kind, n in summary["events"].items()]
    lines.append(
        f"pushes: {push['total']}, passive replies {push['passive_replies']}, "
        f"retries {push['retries']}, failures {push['failures']}"
    )
    lines.append("  status " + ", ".join(f"{k}: {v}" for k, v in push["status"].items()))
    latency = push["latency_ms"]
    lines.append(
        f"  latency p50 {latency['p50']} ms, p99 {latency['p99']} ms, max {latency['max']} ms"
    )
    for sample, n in summary["control_error_samples"].items():
        lines.append(f"  error x{n}: {sample}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wechat.sandbox simulate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sandbox", required=True, help="sandbox base URL")
    parser.add_argument("--accounts", required=True, help="comma-separated appids")
    parser.add_argument("--followers", type=int, default=20, help="existing followers per account")
    parser.add_argument("--rate", type=float, default=5.0, help="events per second")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds to run (0: until --events)"
    )
    parser.add_argument("--events", type=int, default=None, help="stop after N events")
    parser.add_argument("--seed", type=int, default=None, help="make the traffic reproducible")
    parser.add_argument("--concurrency", type=int, default=8, help="pushes in flight")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["simulate"]:
        args = args[1:]
    options = build_parser().parse_args(args)
    config = SimConfig(
        sandbox=options.sandbox,
        accounts=[a for a in options.accounts.split(",") if a],
        followers=options.followers,
        rate=options.rate,
        duration=options.duration,
        events=options.events,
        seed=options.seed,
        concurrency=options.concurrency,
    )
    summary = run(config)
    print(
        json.dumps(summary, ensure_ascii=False, indent=2)
        if options.json
        else format_summary(summary)
    )
    return 0 if summary["control_errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
