"""Where a call comes from: IP allow-lists and the admin's confirmation of a new IP.

An account's allow-list (§3.1) is checked where the AppSecret is used (``/cgi-bin/token``,
``/cgi-bin/stable_token``, ``clear_quota/v2``): 40164. With "API protection" on
(``ip_confirmation``) an IP the admin has not confirmed is refused too: 89503 the first
time (WeChat asks the admin), 89501 while the question is open, 89507 within an hour of
the admin refusing it, 89506 once refused twice within 24 hours. A third-party platform's
allow-list covers every call it makes, its own and on behalf of an authorised account:
61004 ("access clientip is not registered").
"""

from __future__ import annotations

from .state import Account, Component
from .web import ApiError

REFUSED_BLOCKS = 3600  # one refusal blocks the IP for an hour (89507)
TWICE_REFUSED = 24 * 3600  # a second refusal within a day blocks it for a day (89506)


def check_account_ip(account: Account, ip: str, now: float) -> None:
    if account.ip_whitelist and ip not in account.ip_whitelist:
        raise ApiError(40164, f"invalid ip {ip} ipv6 ::ffff:{ip}, not in whitelist")
    if not account.ip_confirmation or ip in account.confirmed_ips:
        return
    decision = _entry(account, ip)
    if now < decision.get("blocked_until", 0.0):
        raise ApiError(89506)
    if decision["refusals"] and now - decision["refusals"][-1] < REFUSED_BLOCKS:
        raise ApiError(89507)
    if decision["pending"]:
        raise ApiError(89501)
    decision["pending"] = True
    raise ApiError(89503)


def decide(account: Account, ip: str, decision: str, now: float) -> dict:
    """The admin answers WeChat's question about an IP: "confirm" or "refuse"."""
    if decision not in ("confirm", "refuse"):
        raise ValueError("decision must be confirm or refuse")
    entry = _entry(account, ip)
    entry["pending"] = False
    if decision == "confirm":
        if ip not in account.confirmed_ips:
            account.confirmed_ips.append(ip)
    else:
        if ip in account.confirmed_ips:
            account.confirmed_ips.remove(ip)
        entry["refusals"] = [t for t in entry["refusals"] if now - t < TWICE_REFUSED] + [now]
        if len(entry["refusals"]) >= 2:
            entry["blocked_until"] = now + TWICE_REFUSED
    return {"ip": ip, "confirmed": ip in account.confirmed_ips, **entry}


def _entry(account: Account, ip: str) -> dict:
    return account.ip_decisions.setdefault(
        ip, {"pending": False, "refusals": [], "blocked_until": 0.0})


def check_component_ip(component: Component, ip: str) -> None:
    if component.ip_whitelist and ip not in component.ip_whitelist:
        raise ApiError(61004)
