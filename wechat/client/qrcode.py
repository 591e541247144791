"""Parametric QR codes: the four kinds, checked before calling, and the image URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from wechat.client.base import ApiBase, require
from wechat.client.retry import Safety

SHOWQRCODE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"
MAX_TEMPORARY_SECONDS = 2_592_000  # 30 days
# "32-bit non-zero integer": we accept the positive signed range, which every SDK's int holds.
MAX_TEMPORARY_SCENE_ID = 2**31 - 1
MAX_PERMANENT_SCENE_ID = 100_000


def _check_scene(scene: int | str, *, permanent: bool) -> dict[str, Any]:
    if isinstance(scene, bool):
        raise TypeError("scene must be an int or a str")
    if isinstance(scene, int):
        top = MAX_PERMANENT_SCENE_ID if permanent else MAX_TEMPORARY_SCENE_ID
        require(1 <= scene <= top, f"scene_id must be 1..{top}, got {scene}")
        return {"scene_id": scene}
    require(1 <= len(scene) <= 64, "scene_str must be 1..64 characters")
    return {"scene_str": scene}


class QrCodeApi(ApiBase):
    showqrcode_url: str = SHOWQRCODE_URL

    def qrcode_create_temporary(
        self, scene: int | str, *, expire_seconds: int = MAX_TEMPORARY_SECONDS
    ) -> dict[str, Any]:
        """QR_SCENE (int scene) or QR_STR_SCENE (str); returns ``{ticket, expire_seconds, url}``.

        ``expire_seconds`` defaults to the 30-day maximum because the platform's own default
        (60 s) is almost never what a campaign wants.
        """
        require(
            1 <= expire_seconds <= MAX_TEMPORARY_SECONDS,
            f"expire_seconds must be 1..{MAX_TEMPORARY_SECONDS}",
        )
        scene_body = _check_scene(scene, permanent=False)
        action = "QR_SCENE" if "scene_id" in scene_body else "QR_STR_SCENE"
        return self._qrcode_create(
            {
                "expire_seconds": expire_seconds,
                "action_name": action,
                "action_info": {"scene": scene_body},
            }
        )

    def qrcode_create_permanent(self, scene: int | str) -> dict[str, Any]:
        """QR_LIMIT_SCENE (int 1..100 000) or QR_LIMIT_STR_SCENE (str); at most 100 000 each."""
        scene_body = _check_scene(scene, permanent=True)
        action = "QR_LIMIT_SCENE" if "scene_id" in scene_body else "QR_LIMIT_STR_SCENE"
        return self._qrcode_create({"action_name": action, "action_info": {"scene": scene_body}})

    def _qrcode_create(self, body: dict[str, Any]) -> dict[str, Any]:
        # Repeating creates another ticket for the same scene, which is harmless; permanent
        # codes are capped at 100 000 but a duplicate of one scene is the same code to scan.
        return self._post("/cgi-bin/qrcode/create", body, safety=Safety.IDEMPOTENT)

    def qrcode_image_url(self, ticket: str) -> str:
        """Where the QR image for ``ticket`` can be fetched (no token needed)."""
        return f"{self.showqrcode_url}?ticket={quote(ticket, safe='')}"
