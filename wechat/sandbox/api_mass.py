"""Mass send (§5): sendall, send, preview, delete, get; quotas and clientmsgid dedupe.

The API's daily limit of 100 is one budget shared by sendall, send and preview; the
server's per-call pipeline counts it (``quota.SHARED_BUDGET``).
"""

from __future__ import annotations

import hashlib
import json

from .api_media import live_media
from .clock import beijing_day_key, beijing_month_key
from .state import Account, MassJob, SandboxState
from .web import ApiError, Ctx, api, ok

SENDALL_TYPES = ("mpnews", "text", "voice", "images", "mpvideo", "wxcard")
SEND_TYPES = (*SENDALL_TYPES, "music", "video")
CLIENTMSGID_WINDOW = 24 * 3600
CLIENTMSGID_TOO_FAST = 60
MONTHLY_PER_FOLLOWER = 4
MONTHLY_TO_ALL = 4


def _validate_payload(ctx: Ctx, msgtype: str, payload: object) -> dict:
    if not isinstance(payload, dict):
        raise ApiError(44002)
    state, appid, now = ctx.state, ctx.account.appid, ctx.now
    if msgtype == "text":
        if not isinstance(payload.get("content"), str) or not payload["content"]:
            raise ApiError(44004)
    elif msgtype == "mpnews":
        live_media(state, appid, payload.get("media_id"), now, ("news",))
    elif msgtype == "voice":
        live_media(state, appid, payload.get("media_id"), now, ("voice",))
    elif msgtype in ("mpvideo", "video"):
        live_media(state, appid, payload.get("media_id"), now, ("video",))
    elif msgtype == "images":
        ids = payload.get("media_ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(40007)
        for media_id in ids:
            live_media(state, appid, media_id, now, ("image",))
    elif msgtype == "music":
        live_media(state, appid, payload.get("thumb_media_id"), now, ("thumb", "image"))
    elif msgtype == "wxcard" and not payload.get("card_id"):
        raise ApiError(47001)
    return payload


def _clientmsgid(body: dict, audience: object) -> str:
    given = body.get("clientmsgid")
    if given is not None:
        given = str(given)
        if len(given.encode()) > 64:
            raise ApiError(45067)
        return given
    # Without one the platform dedupes on a digest of audience and content.
    msgtype = body.get("msgtype")
    digest = json.dumps([audience, msgtype, body.get(msgtype)], sort_keys=True,
                        ensure_ascii=False)
    return "digest:" + hashlib.sha1(digest.encode()).hexdigest()  # noqa: S324 - not security


def _check_duplicate(state: SandboxState, appid: str, clientmsgid: str, now: float) -> None:
    seen = state.clientmsgids.get(f"{appid}|{clientmsgid}")
    if seen is None or now - seen["at"] >= CLIENTMSGID_WINDOW:
        return
    if now - seen["at"] < CLIENTMSGID_TOO_FAST:
        raise ApiError(45066)
    raise ApiError(45065, msg_id=seen["msg_id"])


def _check_rate(state: SandboxState, account: Account, now: float) -> None:
    limit = int(state.settings.get("mass_rate_per_minute", 60))
    account.mass_call_times = [t for t in account.mass_call_times if now - t < 60]
    if len(account.mass_call_times) >= limit:
        raise ApiError(45011)
    account.mass_call_times.append(now)


def _check_quota(account: Account, *, is_to_all: bool, now: float) -> None:
    today, month = beijing_day_key(now), beijing_month_key(now)
    sends_today = [s for s in account.mass_sends if beijing_day_key(s["at"]) == today]
    if account.kind == "subscription":
        if sends_today:
            raise ApiError(45028)
        return
    if is_to_all:
        to_all_month = [s for s in account.mass_sends
                        if s["is_to_all"] and beijing_month_key(s["at"]) == month]
        if any(s["is_to_all"] for s in sends_today) or len(to_all_month) >= MONTHLY_TO_ALL:
            raise ApiError(45028)


def _submit(ctx: Ctx, body: dict, *, audience: list[str], is_to_all: bool,
            tag_id: int | None, clientmsgid: str) -> dict:
    state, account, now = ctx.state, ctx.account, ctx.now
    msgtype = body["msgtype"]
    msg_id = state.next_seq("mass_msgid", 1_000_000_001)
    msg_data_id = state.next_seq("mass_msg_data_id", 2_247_483_647) if msgtype == "mpnews" else None
    job = MassJob(msg_id=msg_id, appid=account.appid, msgtype=msgtype,
                  payload=dict(body[msgtype]), created_at=now,
                  due_at=now + float(account.mass_job_seconds), msg_data_id=msg_data_id,
                  is_to_all=is_to_all, tag_id=tag_id, touser=audience,
                  clientmsgid=clientmsgid, total=len(audience))
    state.mass_jobs[str(msg_id)] = job
    account.mass_sends.append({"at": now, "is_to_all": is_to_all, "msg_id": msg_id})
    state.clientmsgids[f"{account.appid}|{clientmsgid}"] = {"msg_id": msg_id, "at": now}
    answer = {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id}
    if msg_data_id is not None:
        answer["msg_data_id"] = msg_data_id
    return answer


@api("/cgi-bin/message/mass/sendall", bundle=7)
def mass_sendall(ctx: Ctx) -> dict:
    body = ctx.body()
    account, state = ctx.account, ctx.state
    msgtype = body.get("msgtype")
    if msgtype not in SENDALL_TYPES:
        raise ApiError(40008)
    flt = body.get("filter")
    if not isinstance(flt, dict):
        raise ApiError(47001)
    is_to_all = flt.get("is_to_all") is True
    tag_id = flt.get("tag_id")
    followers = [f for f in state.account_followers(account.appid) if f.subscribed]
    if is_to_all:
        audience, tag_id = [f.openid for f in followers], None
    else:
        if not isinstance(tag_id, int) or not any(t.id == tag_id for t in account.tags):
            raise ApiError(45159)
        audience = [f.openid for f in followers if tag_id in f.tagids]
    _validate_payload(ctx, msgtype, body.get(msgtype))
    _check_rate(state, account, ctx.now)
    clientmsgid = _clientmsgid(body, ["all"] if is_to_all else ["tag", tag_id])
    _check_duplicate(state, account.appid, clientmsgid, ctx.now)
    _check_quota(account, is_to_all=is_to_all, now=ctx.now)
    return _submit(ctx, body, audience=audience, is_to_all=is_to_all, tag_id=tag_id,
                   clientmsgid=clientmsgid)


@api("/cgi-bin/message/mass/send", bundle=7)
def mass_send(ctx: Ctx) -> dict:
    body = ctx.body()
    account, state = ctx.account, ctx.state
    msgtype = body.get("msgtype")
    if msgtype not in SEND_TYPES:
        raise ApiError(40008)
    touser = body.get("touser")
    if not isinstance(touser, list) or not 2 <= len(touser) <= 10000:
        raise ApiError(40032)
    if not all(isinstance(o, str) for o in touser):
        raise ApiError(40003)
    _validate_payload(ctx, msgtype, body.get(msgtype))
    _check_rate(state, account, ctx.now)
    audience = list(dict.fromkeys(touser))
    clientmsgid = _clientmsgid(body, sorted(audience))
    _check_duplicate(state, account.appid, clientmsgid, ctx.now)
    _check_quota(account, is_to_all=False, now=ctx.now)
    return _submit(ctx, body, audience=audience, is_to_all=False, tag_id=None,
                   clientmsgid=clientmsgid)


@api("/cgi-bin/message/mass/preview", bundle=7)
def mass_preview(ctx: Ctx) -> dict:
    body = ctx.body()
    account, state = ctx.account, ctx.state
    msgtype = body.get("msgtype")
    if msgtype not in SEND_TYPES:
        raise ApiError(40008)
    follower = None
    if body.get("touser"):
        follower = state.followers.get(str(body["touser"]))
    elif body.get("towxname"):
        for person in state.persons.values():
            if person.wechat_id == body["towxname"]:
                follower = state.follower_for_person(account.appid, person.id)
    if follower is None or follower.appid != account.appid:
        raise ApiError(40003)
    if not follower.subscribed:
        raise ApiError(43004)
    payload = _validate_payload(ctx, msgtype, body.get(msgtype))
    msg_id = state.next_seq("mass_msgid", 1_000_000_001)
    follower.inbox.append({"via": "mass", "preview": True, "msgtype": msgtype,
                           msgtype: payload, "msg_id": msg_id, "at": ctx.now})
    return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}


def _job(ctx: Ctx, msg_id: object) -> MassJob:
    job = ctx.state.mass_jobs.get(str(msg_id))
    if job is None or job.appid != ctx.account.appid:
        raise ApiError(47001, "invalid msg_id")
    return job


@api("/cgi-bin/message/mass/delete", bundle=7)
def mass_delete(ctx: Ctx) -> dict:
    job = _job(ctx, ctx.body().get("msg_id"))
    if job.msgtype not in ("mpnews", "mpvideo"):
        raise ApiError(47001, "only articles and videos can be deleted")
    job.status = "DELETE"
    return ok()


@api("/cgi-bin/message/mass/get", bundle=7)
def mass_get(ctx: Ctx) -> dict:
    job = _job(ctx, ctx.body().get("msg_id"))
    return {"msg_id": job.msg_id, "msg_status": job.status}
