"""Temporary media: /cgi-bin/media/upload, /cgi-bin/media/get, uploadimg and uploadnews."""

from __future__ import annotations

import base64
import secrets
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .state import Media, SandboxState
from .web import ApiError, Ctx, Request, Response, api

TEMP_MEDIA_TTL = 3 * 24 * 3600
# type -> (max bytes, allowed extensions, errcode when too big)
MEDIA_RULES: dict[str, tuple[int, tuple[str, ...], int]] = {
    "image": (10 * 1024 * 1024, ("bmp", "png", "jpeg", "jpg", "gif"), 40009),
    "voice": (2 * 1024 * 1024, ("amr", "mp3"), 40010),
    "video": (10 * 1024 * 1024, ("mp4",), 40011),
    "thumb": (64 * 1024, ("jpg", "jpeg"), 40012),
}
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
                  "gif": "image/gif", "bmp": "image/bmp", "amr": "audio/amr",
                  "mp3": "audio/mpeg", "mp4": "video/mp4"}


VIDEO_CDN_PATH = "/sandbox-cdn/video/"


def video_file(server: Any, req: Request) -> Response:
    """GET ``VIDEO_CDN_PATH<media id>.mp4``: the bytes of an unexpired video (no token, as
    on the platform's CDN), or 404."""
    if req.method != "GET":
        return Response(405, b"405 Method Not Allowed", "text/plain")
    media_id = req.path[len(VIDEO_CDN_PATH):].removesuffix(".mp4")
    with server.state.lock:
        media = server.state.media.get(media_id)
    if (media is None or media.type != "video"
            or server.clock.now() - media.created_at >= TEMP_MEDIA_TTL):
        return Response(404, b"404 Not Found", "text/plain")
    return Response(200, base64.b64decode(media.data_b64), media.content_type)


def live_media(state: SandboxState, appid: str, media_id: object, now: float,
               types: tuple[str, ...] | None = None) -> Media:
    """The account's unexpired media, or 40007."""
    media = state.media.get(media_id) if isinstance(media_id, str) else None
    if media is None or media.appid != appid or now - media.created_at >= TEMP_MEDIA_TTL:
        raise ApiError(40007)
    if types is not None and media.type not in types:
        raise ApiError(40007)
    return media


def parse_multipart(req: Request) -> dict[str, tuple[str, bytes]]:
    """name -> (filename, content) for a multipart/form-data body."""
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            parts[str(name)] = (part.get_filename() or "", part.get_payload(decode=True) or b"")
    return parts


def _new_media_id() -> str:
    return secrets.token_urlsafe(48).replace("-", "a").replace("_", "b")


@api("/cgi-bin/media/upload", bundle=None)
def media_upload(ctx: Ctx) -> dict:
    kind = ctx.req.query.get("type", "")
    if kind not in MEDIA_RULES:
        raise ApiError(40004)
    files = parse_multipart(ctx.req)
    if "media" not in files:
        raise ApiError(41005, "media data missing")
    filename, data = files["media"]
    limit, extensions, too_big = MEDIA_RULES[kind]
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in extensions:
        raise ApiError(40005)
    if not data or len(data) > limit:
        raise ApiError(too_big, "invalid media size")
    media = Media(media_id=_new_media_id(), appid=ctx.account.appid, type=kind,
                  created_at=ctx.now, filename=filename,
                  content_type=_CONTENT_TYPES.get(ext, "application/octet-stream"),
                  data_b64=base64.b64encode(data).decode())
    ctx.state.media[media.media_id] = media
    answer: dict = {"type": kind, "created_at": int(ctx.now)}
    answer["thumb_media_id" if kind == "thumb" else "media_id"] = media.media_id
    return answer


@api("/cgi-bin/media/get", method="GET")
def media_get(ctx: Ctx) -> dict | Response:
    media = live_media(ctx.state, ctx.account.appid, ctx.req.query.get("media_id"), ctx.now)
    if media.type == "news":
        raise ApiError(40007)
    if media.type == "video":
        # The platform answers a video with a temporary download URL on its CDN; the
        # sandbox's URL points at itself (``video_file``), so the file can be fetched.
        base = ctx.server.base_url if ctx.server is not None else "http://vweixinf.tc.qq.com"
        return {"video_url": f"{base}{VIDEO_CDN_PATH}{media.media_id}.mp4"}
    disposition = f'attachment; filename="{media.filename or media.media_id}"'
    return Response(200, base64.b64decode(media.data_b64), media.content_type,
                    {"Content-disposition": disposition})


@api("/cgi-bin/media/uploadimg", bundle=None)
def media_uploadimg(ctx: Ctx) -> dict:
    files = parse_multipart(ctx.req)
    if "media" not in files:
        raise ApiError(41005, "media data missing")
    filename, data = files["media"]
    if filename.rsplit(".", 1)[-1].lower() not in ("jpg", "jpeg", "png"):
        raise ApiError(40005)
    if len(data) > 1024 * 1024:
        raise ApiError(40009, "invalid image size")
    return {"url": f"http://mmbiz.qpic.cn/mmbiz_png/{secrets.token_urlsafe(24)}/0"}


@api("/cgi-bin/media/uploadnews", bundle=7)
def media_uploadnews(ctx: Ctx) -> dict:
    articles = ctx.body().get("articles")
    if not isinstance(articles, list) or not articles:
        raise ApiError(44003)
    if len(articles) > 8:
        raise ApiError(45008)
    appid = ctx.account.appid
    for article in articles:
        if not isinstance(article, dict) or not article.get("title"):
            raise ApiError(44003)
        if not article.get("content"):
            raise ApiError(44004)
        live_media(ctx.state, appid, article.get("thumb_media_id"), ctx.now,
                   ("thumb", "image"))
    media = Media(media_id=_new_media_id(), appid=appid, type="news", created_at=ctx.now,
                  articles=[dict(a) for a in articles])
    ctx.state.media[media.media_id] = media
    return {"type": "news", "media_id": media.media_id, "created_at": int(ctx.now)}
