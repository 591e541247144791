"""Parametric QR codes (§9): create, showqrcode, and scene lookup for simulated scans."""

from __future__ import annotations

import hashlib
import secrets
import struct
import zlib

from .state import Account, QrCode, SandboxState
from .web import ApiError, ControlError, Ctx, Response, api

TEMPORARY = ("QR_SCENE", "QR_STR_SCENE")
PERMANENT = ("QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE")
MAX_EXPIRE = 2_592_000
DEFAULT_EXPIRE = 60
MAX_PERMANENT_SCENE_ID = 100_000
PERMANENT_LIMIT = 100_000  # permanent codes per account, the default of the setting


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_scene(action: str, scene: dict) -> tuple[int, str]:
    if action in ("QR_SCENE", "QR_LIMIT_SCENE"):
        scene_id = scene.get("scene_id")
        if not _is_int(scene_id):
            raise ApiError(40053)
        if action == "QR_SCENE" and not (0 < scene_id <= 0xFFFFFFFF):
            raise ApiError(40053)
        if action == "QR_LIMIT_SCENE" and not (1 <= scene_id <= MAX_PERMANENT_SCENE_ID):
            raise ApiError(40053)
        return scene_id, ""
    scene_str = scene.get("scene_str")
    if not isinstance(scene_str, str) or not 1 <= len(scene_str) <= 64:
        raise ApiError(40053)
    return 0, scene_str


def create_qrcode(state: SandboxState, account: Account, *, action: str, scene_id: int,
                  scene_str: str, expire_seconds: int | None, now: float) -> QrCode:
    if action in PERMANENT:
        # The same permanent scene always maps to the same code.
        permanent = 0
        for code in state.qrcodes.values():
            if code.appid != account.appid or code.action_name not in PERMANENT:
                continue
            if code.action_name == action and code.scene_id == scene_id and (
                    code.scene_str == scene_str):
                return code
            permanent += 1
        # String scenes count toward the same cap as integer ones; 45029 is what the
        # platform was seen answering (community reports; the reference names no code).
        if permanent >= int(state.settings.get("permanent_qr_limit", PERMANENT_LIMIT)):
            raise ApiError(45029, "qrcode count out of limit")
    ticket = "gQ" + secrets.token_urlsafe(72)
    code = QrCode(
        ticket=ticket,
        appid=account.appid,
        action_name=action,
        scene_id=scene_id,
        scene_str=scene_str,
        expire_at=None if action in PERMANENT else now + (expire_seconds or DEFAULT_EXPIRE),
        url="http://weixin.qq.com/q/02" + secrets.token_urlsafe(16),
        created_at=now,
    )
    state.qrcodes[ticket] = code
    return code


@api("/cgi-bin/qrcode/create", bundle=3)
def qrcode_create(ctx: Ctx) -> dict:
    body = ctx.body()
    action = body.get("action_name")
    if action not in TEMPORARY + PERMANENT:
        raise ApiError(40052)
    info = body.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        raise ApiError(40053)
    scene_id, scene_str = _parse_scene(action, scene)
    expire = None
    if action in TEMPORARY:
        raw = body.get("expire_seconds", DEFAULT_EXPIRE)
        if not _is_int(raw):
            raise ApiError(47001)
        # Values above 30 days are capped; zero or negative falls back to the default.
        expire = min(raw, MAX_EXPIRE) if raw > 0 else DEFAULT_EXPIRE
    code = create_qrcode(ctx.state, ctx.account, action=action, scene_id=scene_id,
                         scene_str=scene_str, expire_seconds=expire, now=ctx.now)
    answer: dict = {"ticket": code.ticket}
    if expire is not None:
        answer["expire_seconds"] = expire
    answer["url"] = code.url
    return answer


@api("/cgi-bin/showqrcode", method="GET", auth="none")
def showqrcode(ctx: Ctx) -> Response:
    code = ctx.state.qrcodes.get(ctx.req.query.get("ticket", ""))
    if code is None or (code.expire_at is not None and ctx.now >= code.expire_at):
        return Response(404, b"invalid or expired ticket", "text/plain")
    ctx.appid = code.appid
    return Response(200, _png_for(code.url), "image/png",
                    {"X-Sandbox-Qr-Url": code.url})


def scene_value(code: QrCode) -> str:
    return code.scene_str if code.action_name.endswith("STR_SCENE") else str(code.scene_id)


def resolve_scan(state: SandboxState, account: Account, *, scene: object = None,
                 ticket: str | None = None, now: float) -> QrCode:
    """The code a simulated user scans: by ticket, or the newest live code for a scene.

    A scene nobody created a code for gets a fresh 30-day temporary code, so the
    simulator can scan any scene.
    """
    if ticket:
        code = state.qrcodes.get(ticket)
        if code is None or code.appid != account.appid:
            raise ControlError(404, "no such ticket on this account")
    else:
        if scene is None or scene == "":
            raise ControlError(400, "scene or ticket required")
        candidates = [
            c for c in state.qrcodes.values()
            if c.appid == account.appid and (
                (_is_int(scene) and c.scene_id == scene and not c.action_name.endswith("STR_SCENE"))
                or (isinstance(scene, str) and c.scene_str == scene
                    and c.action_name.endswith("STR_SCENE")))
            and (c.expire_at is None or now < c.expire_at)
        ]
        if candidates:
            code = max(candidates, key=lambda c: c.created_at)
        elif _is_int(scene):
            code = create_qrcode(state, account, action="QR_SCENE", scene_id=int(scene),
                                 scene_str="", expire_seconds=MAX_EXPIRE, now=now)
        else:
            code = create_qrcode(state, account, action="QR_STR_SCENE", scene_id=0,
                                 scene_str=str(scene), expire_seconds=MAX_EXPIRE, now=now)
    if code.expire_at is not None and now >= code.expire_at:
        raise ControlError(410, "qrcode expired")
    return code


def _png_for(text: str, size: int = 21, scale: int = 4) -> bytes:
    """A small deterministic black-and-white PNG standing in for the QR image."""
    bits = hashlib.sha256(text.encode()).digest() * 4
    rows = []
    for y in range(size * scale):
        row = bytearray([0])  # filter type: none
        for x in range(size * scale):
            i = (y // scale) * size + (x // scale)
            dark = bits[i // 8 % len(bits)] >> (i % 8) & 1
            row.append(0 if dark else 255)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size * scale, size * scale, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(
        b"IEND", b"")
