"""Customer-service (kf) send and typing (§4), template send (§6)."""

from __future__ import annotations

from wechat import windows

from .api_media import live_media
from .api_user import person_state
from .state import Follower, SandboxState, TemplateJob
from .web import ApiError, Ctx, api, ok
from .world import EVENT_QUOTA, EVENT_WINDOW, MSG_QUOTA, MSG_WINDOW

KF_TYPES = ("text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle",
            "msgmenu", "wxcard", "miniprogrampage")
TYPING_SECONDS = 15
TYPING_NEEDS_INTERACTION = 30
TEMPLATE_ID_MAX = 64  # real template ids are 43 characters; far longer ones are refused


def recipient(state: SandboxState, appid: str, openid: object) -> Follower:
    """A follower of this account able to receive, or the platform's error."""
    follower = state.followers.get(openid) if isinstance(openid, str) else None
    if follower is None or follower.appid != appid:
        raise ApiError(40003)
    user = person_state(state, follower)
    if user == "deleted":
        raise ApiError(46004)
    if not follower.subscribed:
        raise ApiError(43004)
    if follower.blacklisted:
        raise ApiError(43019)
    if follower.refuses_messages:
        raise ApiError(48002)
    if user == "restricted":
        raise ApiError(50002)
    return follower


def consume_window(follower: Follower, now: float) -> None:
    """Spend one send from the open windows; two open windows are counted as
    ``wechat.windows`` says (the portal predicts with the same rule)."""
    running = []  # (attribute counting the sends, sends left), the one closing first first
    if follower.event_window_at is not None and now - follower.event_window_at < EVENT_WINDOW:
        running.append(("event_window_used", EVENT_QUOTA - follower.event_window_used))
    if follower.msg_window_at is not None and now - follower.msg_window_at < MSG_WINDOW:
        running.append(("msg_window_used", MSG_QUOTA - follower.msg_window_used))
    if not running:
        raise ApiError(45015)
    left = [n for _, n in running]
    if windows.sends_left(left) == 0:
        raise ApiError(45047)
    for i in windows.windows_charged(left):
        attribute = running[i][0]
        setattr(follower, attribute, getattr(follower, attribute) + 1)


def _validate_kf_payload(ctx: Ctx, msgtype: str, payload: object) -> dict:
    if not isinstance(payload, dict):
        raise ApiError(44002 if payload is None else 47001)
    state, appid, now = ctx.state, ctx.account.appid, ctx.now
    if msgtype == "text":
        if not isinstance(payload.get("content"), str) or not payload["content"]:
            raise ApiError(44004)
    elif msgtype in ("image", "voice"):
        live_media(state, appid, payload.get("media_id"), now, (msgtype,))
    elif msgtype == "video":
        live_media(state, appid, payload.get("media_id"), now, ("video",))
        if payload.get("thumb_media_id"):
            live_media(state, appid, payload["thumb_media_id"], now, ("thumb", "image"))
    elif msgtype in ("music", "miniprogrampage"):
        live_media(state, appid, payload.get("thumb_media_id"), now, ("thumb", "image"))
    elif msgtype == "news":
        articles = payload.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(44003)
        if len(articles) > 8:
            raise ApiError(45008)
        # Since 2018 only the first article reaches the user.
        payload = {"articles": articles[:1]}
    elif msgtype == "mpnews":
        live_media(state, appid, payload.get("media_id"), now, ("news",))
    elif msgtype == "msgmenu" and not payload.get("list"):
        raise ApiError(44002)
    return payload


@api("/cgi-bin/message/custom/send", bundle=1)
def custom_send(ctx: Ctx) -> dict:
    body = ctx.body()
    account = ctx.account
    msgtype = body.get("msgtype")
    if msgtype not in KF_TYPES:
        raise ApiError(40008)
    follower = recipient(ctx.state, account.appid, body.get("touser"))
    payload = _validate_kf_payload(ctx, msgtype, body.get(msgtype))
    consume_window(follower, ctx.now)
    entry = {"via": "custom", "msgtype": msgtype, msgtype: payload, "at": ctx.now}
    kf = body.get("customservice")
    if isinstance(kf, dict) and kf.get("kf_account"):
        entry["kf_account"] = kf["kf_account"]
    follower.inbox.append(entry)
    follower.typing_until = None
    return ok()


@api("/cgi-bin/message/custom/typing", bundle=1)
def custom_typing(ctx: Ctx) -> dict:
    body = ctx.body()
    follower = recipient(ctx.state, ctx.account.appid, body.get("touser"))
    command = body.get("command")
    if command not in ("Typing", "CancelTyping"):
        raise ApiError(45072)
    now = ctx.now
    if command == "CancelTyping":
        follower.typing_until = None
        return ok()
    if (follower.last_interaction_at is None
            or now - follower.last_interaction_at > TYPING_NEEDS_INTERACTION):
        raise ApiError(45080)
    if follower.typing_until is not None and now < follower.typing_until:
        raise ApiError(45081)
    follower.typing_until = now + TYPING_SECONDS
    return ok()


@api("/cgi-bin/message/template/send", bundle=7)
def template_send(ctx: Ctx) -> dict:
    body = ctx.body()
    account = ctx.account
    template_id = body.get("template_id")
    if isinstance(template_id, str) and len(template_id) > TEMPLATE_ID_MAX:
        raise ApiError(40036)
    if not isinstance(template_id, str) or not template_id or (
            account.template_ids and template_id not in account.template_ids):
        raise ApiError(40037)
    openid = body.get("touser")
    follower = ctx.state.followers.get(openid) if isinstance(openid, str) else None
    if follower is None or follower.appid != account.appid:
        raise ApiError(40003)
    if person_state(ctx.state, follower) == "deleted":
        raise ApiError(46004)
    if not follower.subscribed:
        raise ApiError(43004)
    if not isinstance(body.get("data"), dict):
        raise ApiError(47001)
    msgid = ctx.state.next_seq("template_msgid", 2_800_000_000_000_000)
    # A user who blocked the account's notices is only reported in the finish event.
    blocked = follower.refuses_messages or follower.blacklisted
    if not blocked:
        follower.inbox.append({
            "via": "template", "msgtype": "template", "template_id": template_id,
            "data": body["data"], "url": body.get("url"), "miniprogram": body.get("miniprogram"),
            "msgid": msgid, "at": ctx.now,
        })
    ctx.state.template_jobs[str(msgid)] = TemplateJob(
        msgid=msgid, appid=account.appid, openid=follower.openid,
        status="failed:user block" if blocked else "success", created_at=ctx.now)
    return ok(msgid=msgid)
