"""Finishing mass-send and template jobs, and pushing their *JOBFINISH events."""

from __future__ import annotations

import hashlib
from typing import Any

from .clock import beijing_month_key
from .push import deliver
from .state import Account, MassJob, SandboxState
from .world import base_message

MONTHLY_PER_FOLLOWER = 4


def system_openid(account: Account) -> str:
    """The sender of platform events about the account (a fixed openid per account)."""
    return "o" + hashlib.sha1(account.appid.encode()).hexdigest()[:27]  # noqa: S324


def _finish_mass(state: SandboxState, job: MassJob, now: float) -> dict:
    """Deliver the job to its audience and build the MASSSENDJOBFINISH event."""
    account = state.accounts[job.appid]
    failed = account.mass_job_status != "send success"
    month = beijing_month_key(now)
    receivers = []
    for openid in job.touser:
        follower = state.followers.get(openid)
        if follower is None or follower.appid != job.appid or not follower.subscribed:
            continue
        if follower.blacklisted:
            continue
        # Service accounts: each follower gets at most 4 mass messages a month; the
        # rest are filtered silently (FilterCount < TotalCount).
        this_month = [t for t in follower.mass_received if beijing_month_key(t) == month]
        if account.kind == "service" and len(this_month) >= MONTHLY_PER_FOLLOWER:
            continue
        receivers.append(follower)
    job.filtered = len(receivers)
    job.errors = sum(1 for f in receivers if f.refuses_messages)
    if failed:
        job.status, job.sent = "SEND_FAIL", 0
        # A failed job does not use the account's mass quota.
        account.mass_sends = [s for s in account.mass_sends if s["msg_id"] != job.msg_id]
    else:
        job.status = "SEND_SUCCESS"
        job.sent = job.filtered - job.errors
        for follower in receivers:
            if follower.refuses_messages:
                continue
            follower.mass_received.append(now)
            follower.inbox.append({"via": "mass", "msgtype": job.msgtype,
                                   job.msgtype: job.payload, "msg_id": job.msg_id, "at": now})
    event = {
        "ToUserName": account.original_id,
        "FromUserName": system_openid(account),
        "CreateTime": int(now),
        "MsgType": "event",
        "Event": "MASSSENDJOBFINISH",
        "MsgID": job.msg_id,
        "Status": account.mass_job_status,
        "TotalCount": job.total,
        "FilterCount": job.filtered,
        "SentCount": job.sent,
        "ErrorCount": job.errors,
        "CopyrightCheckResult": {"Count": 0, "ResultList": [], "CheckState": 1},
    }
    if job.msgtype == "mpnews" and not failed:
        news = state.media.get(job.payload.get("media_id", ""))
        count = len(news.articles) if news else 1
        event["ArticleUrlResult"] = {"Count": count, "ResultList": [
            {"ArticleIdx": i + 1,
             "ArticleUrl": f"http://mp.weixin.qq.com/s?__biz=sandbox&mid={job.msg_data_id}"
                           f"&idx={i + 1}"}
            for i in range(count)]}
    return event


def run_due_jobs(server: Any, *, force: bool = False) -> dict:
    """Finish every mass job whose time has come (all of them with `force`) and push."""
    state: SandboxState = server.state
    pending: list[tuple[str, str, dict, str | None]] = []
    with state.lock:
        now = server.clock.now()
        mass_done = 0
        for job in state.mass_jobs.values():
            if job.status == "SENDING" and (force or job.due_at <= now):
                pending.append(("mass", job.appid, _finish_mass(state, job, now), str(job.msg_id)))
                mass_done += 1
        template_done = 0
        for tjob in state.template_jobs.values():
            if not tjob.done:
                tjob.done = True
                account = state.accounts[tjob.appid]
                follower = state.followers[tjob.openid]
                event = base_message(account, follower, now, "event")
                event.update({"Event": "TEMPLATESENDJOBFINISH", "MsgID": tjob.msgid,
                              "Status": tjob.status})
                pending.append(("template", tjob.appid, event, str(tjob.msgid)))
                template_done += 1
        state.version += 1
    for kind, appid, event, key in pending:
        result = deliver(server, appid, event)
        with state.lock:
            jobs = state.mass_jobs if kind == "mass" else state.template_jobs
            if key in jobs:
                jobs[key].push = result
    return {"finished": mass_done, "templates": template_done}
