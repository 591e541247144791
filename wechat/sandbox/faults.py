"""Injected faults: busy, rate_limit, slow, token_expired, http_500."""

from __future__ import annotations

import random
import threading

from .state import Fault, SandboxState

KINDS = ("busy", "rate_limit", "slow", "token_expired", "http_500")
_rng = random.Random(20240501)  # noqa: S311 - reproducible fault sampling, not security
_rng_lock = threading.Lock()


def reseed(seed: int = 20240501) -> None:
    with _rng_lock:
        _rng.seed(seed)


def add(state: SandboxState, spec: dict) -> Fault:
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    ratio = spec.get("ratio")
    if ratio is not None and not 0 <= float(ratio) <= 1:
        raise ValueError("ratio must be within 0..1")
    count = spec.get("count")
    fault = Fault(
        id=f"fault-{state.next_seq('fault')}",
        kind=kind,
        appid=spec.get("appid") or None,
        path=spec.get("path") or None,
        count=int(count) if count is not None else None,
        ratio=float(ratio) if ratio is not None else None,
        delay=float(spec.get("delay") or 0.0),
    )
    state.faults.append(fault)
    return fault


def take(state: SandboxState, *, appid: str | None, path: str, has_token: bool) -> Fault | None:
    """The first fault that fires for this call; a fired `count` fault uses one shot."""
    for fault in list(state.faults):
        if fault.appid and fault.appid != appid:
            continue
        if fault.path and not (path == fault.path or path.startswith(fault.path.rstrip("/") + "/")):
            continue
        # The token_expired fault needs a token to expire; token fetches must keep working.
        if fault.kind == "token_expired" and not has_token:
            continue
        if fault.ratio is not None:
            with _rng_lock:
                if _rng.random() >= fault.ratio:
                    continue
        fault.fired += 1
        if fault.count is not None and fault.fired >= fault.count:
            state.faults.remove(fault)
        return fault
    return None
