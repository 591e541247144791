"""The control API under /_sandbox/: set up the world, act as users, inspect, inject faults."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import requests

from wechat.crypto import url_signature

from . import api_component, faults, ipcheck, world
from .api_qrcode import resolve_scan
from .clock import beijing_day_key
from .jobs import run_due_jobs
from .push import deliver
from .quota import DAILY_LIMITS, daily_limit, used_today
from .state import Account, Follower
from .web import ControlError, Request, Response

Handler = Callable[..., Any]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile("^/_sandbox" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, regex, handler))
        return handler

    return register


def dispatch(sb: Any, req: Request) -> Response:
    allowed = []
    for method, regex, handler in _ROUTES:
        match = regex.match(req.path)
        if not match:
            continue
        if method != req.method:
            allowed.append(method)
            continue
        try:
            body = json.loads(req.body) if req.body.strip() else {}
            if not isinstance(body, dict):
                raise ControlError(400, "body must be a JSON object")
            result = handler(sb, req, body, **match.groupdict())
        except ControlError as exc:
            return Response.json({"error": exc.message}, exc.status)
        except json.JSONDecodeError:
            return Response.json({"error": "body is not JSON"}, 400)
        except (ValueError, TypeError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json(result)
    if allowed:
        return Response.json({"error": f"method not allowed; use {', '.join(allowed)}"}, 405)
    return Response.json({"error": "no such control endpoint"}, 404)


def _account(sb: Any, appid: str) -> Account:
    account = sb.state.accounts.get(appid)
    if account is None:
        raise ControlError(404, "no such account")
    return account


def _follower(sb: Any, appid: str, openid: str) -> tuple[Account, Follower]:
    account = _account(sb, appid)
    follower = sb.state.followers.get(openid)
    if follower is None or follower.appid != appid:
        raise ControlError(404, "no such follower on this account")
    return account, follower


def account_view(sb: Any, account: Account, *, counters: bool = False) -> dict:
    data = dataclasses.asdict(account)
    for key in ("tags", "menu", "conditional_menus", "mass_call_times", "stable_force_refreshes"):
        data.pop(key, None)
    if counters:
        state, now = sb.state, sb.clock.now()
        followers = state.account_followers(account.appid)
        data["counters"] = {
            "followers": sum(1 for f in followers if f.subscribed),
            "token_issued": state.counters["token_issued"].get(account.appid, 0),
            "token_requests": state.counters["token_requests"].get(account.appid, 0),
            "calls": sum(1 for c in state.calls if c["appid"] == account.appid),
            "quota_today": {path: {"used": used_today(state, account.appid, path, now),
                                   "limit": daily_limit(state, account.appid, path)}
                            for path in DAILY_LIMITS
                            if used_today(state, account.appid, path, now)},
            "mass_sends_today": sum(1 for s in account.mass_sends
                                    if beijing_day_key(s["at"]) == beijing_day_key(now)),
        }
    return data


# -- world ---------------------------------------------------------------------------------


@route("POST", "/reset")
def reset(sb: Any, req: Request, body: dict) -> dict:
    sb.reset()
    return {"ok": True}


@route("GET", "/clock")
def clock_get(sb: Any, req: Request, body: dict) -> dict:
    return sb.clock.snapshot()


@route("POST", "/clock")
def clock_post(sb: Any, req: Request, body: dict) -> dict:
    if "set" in body:
        sb.clock.set(float(body["set"]))
    if "advance" in body:
        sb.clock.advance(float(body["advance"]))
    if "freeze" in body:
        sb.clock.freeze(bool(body["freeze"]))
    return sb.clock.snapshot()


@route("GET", "/settings")
def settings_get(sb: Any, req: Request, body: dict) -> dict:
    return dict(sb.state.settings)


@route("POST", "/settings")
def settings_post(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        for key, value in body.items():
            if key not in sb.state.settings:
                raise ControlError(400, f"unknown setting {key}")
            sb.state.settings[key] = type(sb.state.settings[key])(value)
        return dict(sb.state.settings)


@route("POST", "/groups")
def groups_create(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        group = world.create_group(sb.state, str(body.get("name", "")))
    return {"id": group.id, "name": group.name}


@route("GET", "/groups")
def groups_list(sb: Any, req: Request, body: dict) -> dict:
    return {"groups": [dataclasses.asdict(g) for g in sb.state.groups.values()]}


@route("POST", "/accounts")
def accounts_create(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        account = world.create_account(sb.state, body, sb.clock.now())
        return account_view(sb, account)


@route("GET", "/accounts")
def accounts_list(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        return {"accounts": [account_view(sb, a) for a in sb.state.accounts.values()]}


@route("GET", "/accounts/{appid}")
def accounts_get(sb: Any, req: Request, body: dict, appid: str) -> dict:
    with sb.state.lock:
        return account_view(sb, _account(sb, appid), counters=True)


@route("PATCH", "/accounts/{appid}")
def accounts_patch(sb: Any, req: Request, body: dict, appid: str) -> dict:
    with sb.state.lock:
        account = world.update_account(sb.state, _account(sb, appid), body)
        return account_view(sb, account)


@route("POST", "/persons")
def persons_create(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        person = world.create_person(sb.state, body.get("language", "zh_CN"))
    return dataclasses.asdict(person)


PERSON_STATES = ("active", "restricted", "deleted")


@route("PATCH", "/persons/{person_id}")
def persons_patch(sb: Any, req: Request, body: dict, person_id: str) -> dict:
    """What happens to the WeChat user: {"state": "restricted"} (frozen: sends 50002),
    "deleted" (account closed: 46004) or "active"."""
    with sb.state.lock:
        person = sb.state.persons.get(person_id)
        if person is None:
            raise ControlError(404, "no such person")
        if "state" in body:
            if body["state"] not in PERSON_STATES:
                raise ControlError(400, f"state must be one of {', '.join(PERSON_STATES)}")
            person.state = body["state"]
        return dataclasses.asdict(person)


@route("POST", "/accounts/{appid}/ip_decisions")
def accounts_ip_decision(sb: Any, req: Request, body: dict, appid: str) -> dict:
    """The admin answers WeChat's question about a calling IP (ip_confirmation on):
    {"ip", "decision": "confirm" | "refuse"}."""
    with sb.state.lock:
        account = _account(sb, appid)
        ip = body.get("ip")
        if not isinstance(ip, str) or not ip:
            raise ControlError(400, "ip required")
        return ipcheck.decide(account, ip, str(body.get("decision")), sb.clock.now())


@route("PATCH", "/accounts/{appid}/tags/{tag_id}")
def accounts_tag_patch(sb: Any, req: Request, body: dict, appid: str, tag_id: str) -> dict:
    """{"simulated_fans": n}: fans counted on top of the real ones (45057 past 100,000)."""
    with sb.state.lock:
        account = _account(sb, appid)
        tag = next((t for t in account.tags if str(t.id) == tag_id), None)
        if tag is None:
            raise ControlError(404, "no such tag")
        fans = body.get("simulated_fans", tag.simulated_fans)
        if isinstance(fans, bool) or not isinstance(fans, int) or fans < 0:
            raise ControlError(400, "simulated_fans must be a whole number, at least 0")
        tag.simulated_fans = fans
        return dataclasses.asdict(tag)


# -- followers: what users do ----------------------------------------------------------------


def _push(sb: Any, appid: str, message: dict | None, openid: str, body: dict) -> dict | None:
    if message is None or body.get("push", True) is False:
        return None
    return deliver(sb, appid, message, openid=openid)


@route("POST", "/accounts/{appid}/followers")
def followers_create(sb: Any, req: Request, body: dict, appid: str) -> dict:
    state = sb.state
    with state.lock:
        account, now = _account(sb, appid), sb.clock.now()
        if body.get("person_id"):
            person = state.persons.get(body["person_id"])
            if person is None:
                raise ControlError(404, "no such person")
        else:
            person = world.create_person(state, body.get("language", "zh_CN"))
        code = None
        if body.get("scene") not in (None, "") or body.get("ticket"):
            code = resolve_scan(state, account, scene=body.get("scene"),
                                ticket=body.get("ticket"), now=now)
        follower, message = world.follow(state, account, person, now, code=code,
                                         subscribe_scene=body.get("subscribe_scene"))
        answer = {"openid": follower.openid, "unionid": state.unionid(follower),
                  "person_id": person.id}
    answer["push"] = _push(sb, appid, message, follower.openid, body)
    return answer


@route("POST", "/accounts/{appid}/known_followers")
def followers_known(sb: Any, req: Request, body: dict, appid: str) -> dict:
    """{"followers": [{"openid", "subscribe_time"?, "language"?, "subscribe_scene"?}]}:
    followers the account had before the sandbox ran (a demo's seeded history), so
    user/get lists them; openids known already are left as they are."""
    followers = body.get("followers")
    if not isinstance(followers, list):
        raise ControlError(400, "followers must be a list of objects")
    with sb.state.lock:
        added = world.followers_from_history(sb.state, _account(sb, appid), followers)
    return {"added": added, "known": len(followers) - added}


@route("GET", "/accounts/{appid}/followers")
def followers_list(sb: Any, req: Request, body: dict, appid: str) -> dict:
    with sb.state.lock:
        _account(sb, appid)
        return {"followers": [world.follower_view(sb.state, f)
                              for f in sb.state.account_followers(appid)]}


@route("GET", "/accounts/{appid}/followers/{openid}")
def followers_get(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        return world.follower_view(sb.state, _follower(sb, appid, openid)[1])


@route("PATCH", "/accounts/{appid}/followers/{openid}")
def followers_patch(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        follower = _follower(sb, appid, openid)[1]
        for key in ("refuses_messages", "blacklisted", "language"):
            if key in body:
                setattr(follower, key, body[key])
        return world.follower_view(sb.state, follower)


@route("POST", "/accounts/{appid}/followers/{openid}/unfollow")
def followers_unfollow(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        account, follower = _follower(sb, appid, openid)
        message = world.unfollow(sb.state, account, follower, sb.clock.now())
    return {"push": _push(sb, appid, message, openid, body)}


@route("POST", "/accounts/{appid}/followers/{openid}/send")
def followers_send(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        account, follower = _follower(sb, appid, openid)
        message = world.user_message(sb.state, account, follower, body, sb.clock.now())
    return {"msg_id": message["MsgId"], "message": message,
            "push": _push(sb, appid, message, openid, body)}


@route("POST", "/accounts/{appid}/followers/{openid}/click")
def followers_click(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        account, follower = _follower(sb, appid, openid)
        if not follower.subscribed:
            raise ControlError(409, "not following")
        message = world.click(sb.state, account, follower, body, sb.clock.now())
    return {"message": message, "push": _push(sb, appid, message, openid, body)}


@route("POST", "/accounts/{appid}/followers/{openid}/scan")
def followers_scan(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        account, follower = _follower(sb, appid, openid)
        now = sb.clock.now()
        code = resolve_scan(sb.state, account, scene=body.get("scene"),
                            ticket=body.get("ticket"), now=now)
        message = world.scan(sb.state, account, follower, code, now)
    return {"message": message, "push": _push(sb, appid, message, openid, body)}


@route("POST", "/accounts/{appid}/followers/{openid}/location")
def followers_location(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        account, follower = _follower(sb, appid, openid)
        message = world.location(follower, account, body, sb.clock.now())
    return {"message": message, "push": _push(sb, appid, message, openid, body)}


@route("POST", "/accounts/{appid}/followers/{openid}/event")
def followers_event(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    """Push any event: {"event": "scancode_push", "fields": {...}} (no state change)."""
    with sb.state.lock:
        account, follower = _follower(sb, appid, openid)
        message = world.base_message(account, follower, sb.clock.now(), "event")
        message["Event"] = str(body.get("event") or "")
        message.update(body.get("fields") or {})
    return {"message": message, "push": _push(sb, appid, message, openid, body)}


@route("GET", "/accounts/{appid}/followers/{openid}/inbox")
def followers_inbox(sb: Any, req: Request, body: dict, appid: str, openid: str) -> dict:
    with sb.state.lock:
        return {"messages": list(_follower(sb, appid, openid)[1].inbox)}


# -- inspection ----------------------------------------------------------------------------


@route("GET", "/calls")
def calls(sb: Any, req: Request, body: dict) -> dict:
    appid, path = req.query.get("appid"), req.query.get("path")
    with sb.state.lock:
        found = [c for c in sb.state.calls
                 if (not appid or c["appid"] == appid) and (not path or c["path"] == path)]
    return {"calls": found}


@route("GET", "/counters")
def counters(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        data = json.loads(json.dumps(sb.state.counters))
        data["pushes"] = len(sb.state.pushes)
        data["push_failures"] = sum(1 for p in sb.state.pushes if not p["ok"])
        return data


@route("GET", "/pushes")
def pushes(sb: Any, req: Request, body: dict) -> dict:
    appid = req.query.get("appid")
    with sb.state.lock:
        return {"pushes": [p for p in sb.state.pushes if not appid or p["appid"] == appid]}


@route("GET", "/state")
def state_dump(sb: Any, req: Request, body: dict) -> dict:
    return sb.state.to_dict()


@route("POST", "/save")
def state_save(sb: Any, req: Request, body: dict) -> dict:
    path = body.get("path") or sb.state_file
    if not path:
        raise ControlError(400, "no state file: start with --state or pass {\"path\"}")
    return {"ok": True, "path": sb.save(path)}


# -- faults and jobs -----------------------------------------------------------------------


@route("POST", "/faults")
def faults_add(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        fault = faults.add(sb.state, body, sb.clock.now())
    return {"id": fault.id, "until": fault.until}


@route("GET", "/faults")
def faults_list(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        return {"faults": [dataclasses.asdict(f) for f in sb.state.faults]}


@route("DELETE", "/faults")
def faults_clear(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        sb.state.faults.clear()
    return {"ok": True}


@route("DELETE", "/faults/{fault_id}")
def faults_delete(sb: Any, req: Request, body: dict, fault_id: str) -> dict:
    with sb.state.lock:
        sb.state.faults[:] = [f for f in sb.state.faults if f.id != fault_id]
    return {"ok": True}


@route("POST", "/jobs/run")
def jobs_run(sb: Any, req: Request, body: dict) -> dict:
    return run_due_jobs(sb, force=bool(body.get("force")))


@route("GET", "/jobs")
def jobs_list(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        return {"mass": [dataclasses.asdict(j) for j in sb.state.mass_jobs.values()],
                "template": [dataclasses.asdict(j) for j in sb.state.template_jobs.values()]}


# -- third-party platform ------------------------------------------------------------------


@route("POST", "/components")
def components_create(sb: Any, req: Request, body: dict) -> dict:
    with sb.state.lock:
        return api_component.create_component(sb.state, body)


@route("GET", "/components/{component_appid}")
def components_get(sb: Any, req: Request, body: dict, component_appid: str) -> dict:
    with sb.state.lock:
        return api_component.component_view(api_component.control_component(
            sb.state, component_appid))


@route("PATCH", "/components/{component_appid}")
def components_patch(sb: Any, req: Request, body: dict, component_appid: str) -> dict:
    """The platform's own settings: {"ip_whitelist": [...], "func_ids": [...] or null}."""
    with sb.state.lock:
        component = api_component.control_component(sb.state, component_appid)
        return api_component.component_view(api_component.update_component(component, body))


@route("POST", "/components/{component_appid}/ticket")
def components_ticket(sb: Any, req: Request, body: dict, component_appid: str) -> dict:
    return api_component.push_ticket(sb, component_appid)


@route("POST", "/components/{component_appid}/authorize")
def components_authorize(sb: Any, req: Request, body: dict, component_appid: str) -> dict:
    return api_component.authorize(sb, component_appid, body)


@route("POST", "/components/{component_appid}/unauthorize")
def components_unauthorize(sb: Any, req: Request, body: dict, component_appid: str) -> dict:
    return api_component.unauthorize(sb, component_appid, body)


@route("POST", "/accounts/{appid}/verify_url")
def accounts_verify_url(sb: Any, req: Request, body: dict, appid: str) -> dict:
    """What the platform does when an admin saves the server configuration: a signed GET
    to the callback URL that must echo `echostr` back unchanged."""
    with sb.state.lock:
        account = _account(sb, appid)
        url, token = account.callback_url, account.token
        timestamp = str(int(sb.clock.now()))
    if not url:
        raise ControlError(400, "the account has no callback URL")
    nonce, echostr = str(secrets.randbelow(10**10)), str(secrets.randbelow(10**19))
    params = {"signature": url_signature(token, timestamp, nonce), "timestamp": timestamp,
              "nonce": nonce, "echostr": echostr}
    started = time.monotonic()
    try:
        response = requests.get(url, params=params, timeout=5)
    except requests.RequestException as exc:
        return {"ok": False, "status": None, "error": f"{type(exc).__name__}: {exc}",
                "elapsed_ms": int((time.monotonic() - started) * 1000)}
    ok = response.status_code == 200 and response.text == echostr
    return {"ok": ok, "status": response.status_code, "body": response.text[:200],
            "error": None if ok else "the URL did not echo echostr (token mismatch?)",
            "elapsed_ms": int((time.monotonic() - started) * 1000)}
