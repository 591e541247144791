"""Injected faults: the ways the platform fails that no local situation produces.

Kinds, by when they strike:

* before the work, answering instead of doing it: ``busy`` (-1), ``rate_limit`` (45011;
  alias ``rate_limited``), ``errcode`` (any code, e.g. one no local situation produces),
  ``token_expired`` (42001, and the token stays expired), ``http_500`` (an error page);
* before the work, late: ``slow`` (alias ``slow_before``) sleeps ``delay`` seconds first,
  so a client's retry can overtake the original request;
* after the work, the answer lost: ``slow_after`` does the work and answers ``delay``
  seconds late (a client timing out sees a timeout), ``drop_after`` does the work and
  closes the connection without an answer (``how``: "close", or "reset" for a TCP RST),
  after ``delay`` seconds if given.

A fault fires for every matching call until ``count`` calls used it or ``seconds`` of
sandbox time passed since it was set (both may be given: whichever ends it first); without
either it lasts until deleted. ``ratio`` fires it for a share of the matching calls.
"""

from __future__ import annotations

import random
import threading

from .state import Fault, SandboxState

KINDS = ("busy", "rate_limit", "errcode", "slow", "slow_after", "drop_after", "token_expired",
         "http_500")
ALIASES = {"rate_limited": "rate_limit", "slow_before": "slow"}
# Kinds that answer an errcode instead of doing the work.
ANSWERS = {"busy": -1, "rate_limit": 45011}
DROP_HOW = ("close", "reset")
_rng = random.Random(20240501)  # noqa: S311 - reproducible fault sampling, not security
_rng_lock = threading.Lock()


def reseed(seed: int = 20240501) -> None:
    with _rng_lock:
        _rng.seed(seed)


def _number(spec: dict, key: str) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    return float(value)


def add(state: SandboxState, spec: dict, now: float) -> Fault:
    kind = spec.get("kind")
    kind = ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join((*KINDS, *ALIASES))}")
    ratio = _number(spec, "ratio")
    if ratio is not None and not 0 <= ratio <= 1:
        raise ValueError("ratio must be within 0..1")
    count = _number(spec, "count")
    if count is not None and (count < 1 or count != int(count)):
        raise ValueError("count must be a whole number of calls, at least 1")
    seconds = _number(spec, "seconds")
    if seconds is not None and seconds <= 0:
        raise ValueError("seconds must be above 0")
    delay = _number(spec, "delay") or 0.0
    if delay < 0:
        raise ValueError("delay must not be negative")
    errcode = spec.get("errcode")
    if kind == "errcode":
        if isinstance(errcode, bool) or not isinstance(errcode, int) or errcode == 0:
            raise ValueError("an errcode fault needs a non-zero integer errcode")
    elif errcode is not None:
        raise ValueError("errcode goes only with kind errcode")
    how = str(spec.get("how") or ("close" if kind == "drop_after" else ""))
    if kind == "drop_after" and how not in DROP_HOW:
        raise ValueError(f"how must be one of {', '.join(DROP_HOW)}")
    fault = Fault(
        id=f"fault-{state.next_seq('fault')}",
        kind=kind,
        appid=spec.get("appid") or None,
        path=spec.get("path") or None,
        count=int(count) if count is not None else None,
        ratio=ratio,
        delay=delay,
        errcode=errcode if kind == "errcode" else None,
        errmsg=str(spec["errmsg"]) if spec.get("errmsg") else None,
        until=now + seconds if seconds is not None else None,
        how=how,
    )
    state.faults.append(fault)
    return fault


def _on_path(fault: Fault, path: str) -> bool:
    return not fault.path or path == fault.path or path.startswith(fault.path.rstrip("/") + "/")


def names_path(state: SandboxState, path: str, now: float) -> bool:
    """Whether a live fault names this path explicitly (so it fires even on an endpoint
    the sandbox does not model, e.g. the kf account APIs)."""
    return any(f.path and _on_path(f, path) and (f.until is None or now < f.until)
               for f in state.faults)


def take(state: SandboxState, *, appid: str | None, path: str, has_token: bool,
         now: float) -> Fault | None:
    """The first fault that fires for this call; a fired `count` fault uses one shot, and
    a `seconds` fault past its time is dropped."""
    state.faults[:] = [f for f in state.faults if f.until is None or now < f.until]
    for fault in list(state.faults):
        if fault.appid and fault.appid != appid:
            continue
        if not _on_path(fault, path):
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
