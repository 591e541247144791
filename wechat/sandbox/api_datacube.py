"""Analytics (§11): date validation and answers computed from recorded events.

The protocol gives no error codes for bad dates; like the SDKs we answer 61500 for a
malformed date and 61501 for a range that is reversed, too long, too early or not yet
final (end_date must be yesterday or earlier, Beijing time).

Rows appear when the platform publishes them: a day's rows at 08:00 Beijing time the next
morning (before that, asking for yesterday is allowed and answers no rows for it), and a
weekly or monthly row only once its whole period is published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable

from .clock import BEIJING, beijing_date
from .web import ApiError, Ctx, api

FIRST_DAY = dt.date(2014, 12, 1)
PUBLISH_HOUR = 8  # Beijing time; the official page says to query after 08:00
SOURCES = {"ADD_SCENE_SEARCH": 1, "ADD_SCENE_PROFILE_CARD": 17, "ADD_SCENE_QR_CODE": 30,
           "ADD_SCENE_PAID": 51, "ADD_SCENE_WECHAT_ADVERTISEMENT": 100,
           "ADD_SCENE_REPRINT": 161, "ADD_SCENE_CHANNELS": 200, "ADD_SCENE_LIVESTREAM": 201}
MSG_TYPES = {"text": 1, "image": 2, "voice": 3, "video": 4, "shortvideo": 4, "link": 6}


def _parse(value: object) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ApiError(61500) from None


def last_published_day(now: float) -> dt.date:
    """The newest day whose rows exist: yesterday from 08:00 Beijing time, else the day
    before."""
    local = dt.datetime.fromtimestamp(now, BEIJING)
    return local.date() - dt.timedelta(days=1 if local.hour >= PUBLISH_HOUR else 2)


def date_range(ctx: Ctx, max_span: int) -> list[dt.date]:
    """The asked days that are published (validation uses the whole range)."""
    body = ctx.body()
    begin, end = _parse(body.get("begin_date")), _parse(body.get("end_date"))
    yesterday = beijing_date(ctx.now) - dt.timedelta(days=1)
    if begin > end or end > yesterday or begin < FIRST_DAY or (end - begin).days >= max_span:
        raise ApiError(61501)
    published = last_published_day(ctx.now)
    return [day for day in (begin + dt.timedelta(days=i) for i in range((end - begin).days + 1))
            if day <= published]


def _day(epoch: float) -> dt.date:
    return beijing_date(epoch)


def _events(ctx: Ctx, kind: str) -> list[dict]:
    return [e for e in ctx.state.events if e["appid"] == ctx.account.appid and e["type"] == kind]


def _noise(*parts: object) -> int:
    """Deterministic pseudo-random integer for data the sandbox cannot derive."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big")


# -- users -------------------------------------------------------------------------------


@api("/datacube/getusersummary", bundle=2)
def getusersummary(ctx: Ctx) -> dict:
    days = date_range(ctx, 7)
    new: dict[tuple, int] = defaultdict(int)
    cancel: dict[dt.date, int] = defaultdict(int)
    for e in _events(ctx, "subscribe"):
        new[(_day(e["at"]), SOURCES.get(e.get("scene", ""), 0))] += 1
    for e in _events(ctx, "unsubscribe"):
        cancel[_day(e["at"])] += 1
    rows = []
    for day in days:
        sources = sorted({0} | {s for (d, s) in new if d == day})
        for source in sources:
            rows.append({"ref_date": day.isoformat(), "user_source": source,
                         "new_user": new.get((day, source), 0),
                         "cancel_user": cancel.get(day, 0) if source == 0 else 0})
    return {"list": rows}


@api("/datacube/getusercumulate", bundle=2)
def getusercumulate(ctx: Ctx) -> dict:
    days = date_range(ctx, 7)
    changes = sorted(_events(ctx, "subscribe") + _events(ctx, "unsubscribe"),
                     key=lambda e: e["at"])
    rows = []
    for day in days:
        following: dict[str, bool] = {}
        for e in changes:
            if _day(e["at"]) > day:
                break
            following[e["openid"]] = e["type"] == "subscribe"
        rows.append({"ref_date": day.isoformat(), "user_source": 0,
                     "cumulate_user": sum(following.values())})
    return {"list": rows}


# -- upstream messages -------------------------------------------------------------------


def _message_rows(ctx: Ctx, days: list[dt.date], key: Callable[[float], dict]) -> list[dict]:
    users: dict[tuple, set] = defaultdict(set)
    counts: dict[tuple, int] = defaultdict(int)
    for e in _events(ctx, "message"):
        if _day(e["at"]) not in days or e.get("msgtype") not in MSG_TYPES:
            continue
        k = (*key(e["at"]).items(), ("msg_type", MSG_TYPES[e["msgtype"]]))
        users[k].add(e["openid"])
        counts[k] += 1
    return [{**dict(k), "msg_user": len(users[k]), "msg_count": counts[k]}
            for k in sorted(counts)]


def _hour_of(epoch: float) -> int:
    return dt.datetime.fromtimestamp(epoch, BEIJING).hour * 100


@api("/datacube/getupstreammsg", bundle=1)
def getupstreammsg(ctx: Ctx) -> dict:
    days = date_range(ctx, 7)
    return {"list": _message_rows(ctx, days, lambda at: {"ref_date": _day(at).isoformat()})}


@api("/datacube/getupstreammsghour", bundle=1)
def getupstreammsghour(ctx: Ctx) -> dict:
    days = date_range(ctx, 1)
    return {"list": _message_rows(ctx, days, lambda at: {"ref_date": _day(at).isoformat(),
                                                         "ref_hour": _hour_of(at)})}


def _week_start(at: float) -> str:
    day = _day(at)
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def _month_start(at: float) -> str:
    return _day(at).replace(day=1).isoformat()


def _week_end(ref_date: str) -> dt.date:
    return dt.date.fromisoformat(ref_date) + dt.timedelta(days=6)


def _month_end(ref_date: str) -> dt.date:
    first = dt.date.fromisoformat(ref_date)
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def _ended(ctx: Ctx, rows: list[dict], period_end: Callable[[str], dt.date]) -> list[dict]:
    """The rows of periods already published to their last day (ref_date is the first)."""
    published = last_published_day(ctx.now)
    return [row for row in rows if period_end(row["ref_date"]) <= published]


@api("/datacube/getupstreammsgweek", bundle=1)
def getupstreammsgweek(ctx: Ctx) -> dict:
    days = date_range(ctx, 30)
    rows = _message_rows(ctx, days, lambda at: {"ref_date": _week_start(at)})
    return {"list": _ended(ctx, rows, _week_end)}


@api("/datacube/getupstreammsgmonth", bundle=1)
def getupstreammsgmonth(ctx: Ctx) -> dict:
    days = date_range(ctx, 30)
    rows = _message_rows(ctx, days, lambda at: {"ref_date": _month_start(at)})
    return {"list": _ended(ctx, rows, _month_end)}


def _dist(ctx: Ctx, max_span: int, period: Callable[[float], str],
          period_end: Callable[[str], dt.date] | None = None) -> dict:
    days = date_range(ctx, max_span)
    per_user: dict[tuple, int] = defaultdict(int)
    for e in _events(ctx, "message"):
        if _day(e["at"]) in days:
            per_user[(period(e["at"]), e["openid"])] += 1
    buckets: dict[tuple, int] = defaultdict(int)
    for (ref, _openid), n in per_user.items():
        interval = 1 if n <= 5 else 2 if n <= 10 else 3
        buckets[(ref, interval)] += 1
    rows = [{"ref_date": ref, "count_interval": interval, "msg_user": n}
            for (ref, interval), n in sorted(buckets.items())]
    return {"list": _ended(ctx, rows, period_end) if period_end else rows}


@api("/datacube/getupstreammsgdist", bundle=1)
def getupstreammsgdist(ctx: Ctx) -> dict:
    return _dist(ctx, 15, lambda at: _day(at).isoformat())


@api("/datacube/getupstreammsgdistweek", bundle=1)
def getupstreammsgdistweek(ctx: Ctx) -> dict:
    return _dist(ctx, 30, _week_start, _week_end)


@api("/datacube/getupstreammsgdistmonth", bundle=1)
def getupstreammsgdistmonth(ctx: Ctx) -> dict:
    return _dist(ctx, 30, _month_start, _month_end)


# -- articles (derived from finished mpnews mass sends) -------------------------------------


def _article_stats(seed: tuple, audience: int) -> dict:
    reach = max(audience, 1)
    read_user = _noise(*seed, "r") % reach + 1
    share_user = _noise(*seed, "s") % (read_user // 4 + 1)
    fav_user = _noise(*seed, "f") % (read_user // 10 + 1)
    return {
        "int_page_read_user": read_user,
        "int_page_read_count": read_user + _noise(*seed, "rc") % (read_user // 2 + 1),
        "ori_page_read_user": read_user // 5,
        "ori_page_read_count": read_user // 4,
        "share_user": share_user,
        "share_count": share_user + _noise(*seed, "sc") % (share_user + 1),
        "add_to_fav_user": fav_user,
        "add_to_fav_count": fav_user,
    }


def _articles(ctx: Ctx) -> list[tuple]:
    """(send day, msgid "<msg_data_id>_<idx>", title, audience) of sent mpnews jobs."""
    found = []
    for job in ctx.state.mass_jobs.values():
        if job.appid != ctx.account.appid or job.msgtype != "mpnews" or job.status not in (
                "SEND_SUCCESS", "DELETE"):
            continue
        news = ctx.state.media.get(job.payload.get("media_id", ""))
        titles = [a.get("title", "") for a in news.articles] if news else [""]
        for idx, title in enumerate(titles, start=1):
            found.append((_day(job.created_at), f"{job.msg_data_id}_{idx}", title, job.sent))
    return found


@api("/datacube/getarticlesummary", bundle=7)
def getarticlesummary(ctx: Ctx) -> dict:
    return {"list": [{"ref_date": day.isoformat(), "msgid": msgid, "title": title,
                      **_article_stats((msgid, day), audience)}
                     for day in date_range(ctx, 1)
                     for sent, msgid, title, audience in _articles(ctx) if sent == day]}


@api("/datacube/getarticletotal", bundle=7)
def getarticletotal(ctx: Ctx) -> dict:
    published = last_published_day(ctx.now)
    rows = []
    for day in date_range(ctx, 1):
        rows += _article_totals(ctx, day, published)
    return {"list": rows}


def _article_totals(ctx: Ctx, day: dt.date, published: dt.date) -> list[dict]:
    rows = []
    for sent, msgid, title, audience in _articles(ctx):
        if sent != day:
            continue
        details = []
        for i in range(7):
            stat = day + dt.timedelta(days=i)
            if stat > published:
                break
            details.append({"stat_date": stat.isoformat(), "target_user": audience,
                            **_article_stats((msgid, stat), audience)})
        rows.append({"ref_date": day.isoformat(), "msgid": msgid, "title": title,
                     "details": details})
    return rows


def _reads(ctx: Ctx, day: dt.date) -> dict:
    audience = sum(a for sent, _m, _t, a in _articles(ctx) if 0 <= (day - sent).days < 7)
    return _article_stats((ctx.account.appid, day), audience) if audience else dict.fromkeys(
        _article_stats((), 0), 0)


@api("/datacube/getuserread", bundle=7)
def getuserread(ctx: Ctx) -> dict:
    return {"list": [{"ref_date": d.isoformat(), "user_source": 99999999, **_reads(ctx, d)}
                     for d in date_range(ctx, 3)]}


@api("/datacube/getuserreadhour", bundle=7)
def getuserreadhour(ctx: Ctx) -> dict:
    return {"list": [{"ref_date": day.isoformat(), "ref_hour": 2000, "user_source": 99999999,
                      **_reads(ctx, day)} for day in date_range(ctx, 1)]}


def _shares(ctx: Ctx, day: dt.date) -> dict:
    stats = _reads(ctx, day)
    return {"share_scene": 1, "share_count": stats["share_count"],
            "share_user": stats["share_user"]}


@api("/datacube/getusershare", bundle=7)
def getusershare(ctx: Ctx) -> dict:
    return {"list": [{"ref_date": d.isoformat(), **_shares(ctx, d)}
                     for d in date_range(ctx, 7)]}


@api("/datacube/getusersharehour", bundle=7)
def getusersharehour(ctx: Ctx) -> dict:
    return {"list": [{"ref_date": day.isoformat(), "ref_hour": 2000, **_shares(ctx, day)}
                     for day in date_range(ctx, 1)]}


# -- the callback interface (our pushes to the developer's server) -------------------------


def _interface(ctx: Ctx, days: list[dt.date], hourly: bool) -> dict:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in ctx.state.pushes:
        if p["appid"] == ctx.account.appid and p["url"] and _day(p["at"]) in days:
            key = (_day(p["at"]).isoformat(), _hour_of(p["at"]) if hourly else None)
            groups[key].append(p)
    rows = []
    for (ref_date, ref_hour), pushes in sorted(groups.items()):
        row = {"ref_date": ref_date}
        if hourly:
            row["ref_hour"] = ref_hour
        row.update({"callback_count": len(pushes),
                    "fail_count": sum(1 for p in pushes if not p["ok"]),
                    "total_time_cost": sum(p["elapsed_ms"] for p in pushes),
                    "max_time_cost": max(p["elapsed_ms"] for p in pushes)})
        rows.append(row)
    return {"list": rows}


@api("/datacube/getinterfacesummary", bundle=2)
def getinterfacesummary(ctx: Ctx) -> dict:
    return _interface(ctx, date_range(ctx, 30), hourly=False)


@api("/datacube/getinterfacesummaryhour", bundle=2)
def getinterfacesummaryhour(ctx: Ctx) -> dict:
    return _interface(ctx, date_range(ctx, 1), hourly=True)
