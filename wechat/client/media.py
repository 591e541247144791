"""Temporary media: upload (multipart) and download, plus images for article bodies."""

from __future__ import annotations

from typing import Any

from wechat.client.base import ApiBase, require
from wechat.client.retry import Safety

MEDIA_TYPES = ("image", "voice", "video", "thumb")
# The platform takes videos up to 10 MB; what users send can be larger (short videos).
DOWNLOAD_MAX_BYTES = 25 * 1024 * 1024


class MediaApi(ApiBase):
    def media_upload(
        self,
        media_type: str,
        filename: str,
        content: bytes,
        *,
        content_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        """Upload temporary media (kept 3 days); returns ``{type, media_id, created_at}``."""
        require(media_type in MEDIA_TYPES, f"media type must be one of {MEDIA_TYPES}")
        # Idempotent enough: a repeat only leaves an unused temporary media id behind.
        return self._post(
            "/cgi-bin/media/upload",
            None,
            params={"type": media_type},
            files={"media": (filename, content, content_type)},
            safety=Safety.IDEMPOTENT,
        )

    def media_get(self, media_id: str) -> bytes | dict[str, Any]:
        """The media bytes; for videos the platform answers ``{"video_url": ...}`` instead."""
        return self._get("/cgi-bin/media/get", {"media_id": media_id}, binary=True)

    def media_download(self, url: str, *, max_bytes: int = DOWNLOAD_MAX_BYTES) -> bytes:
        """The file behind a URL ``media_get`` answered with (videos); see
        ``Transport.download``."""
        return self.transport.download(url, max_bytes=max_bytes)

    def media_upload_image(
        self, filename: str, content: bytes, *, content_type: str = "image/jpeg"
    ) -> str:
        """Upload an image for use inside article content; returns its URL."""
        answer = self._post(
            "/cgi-bin/media/uploadimg",
            None,
            files={"media": (filename, content, content_type)},
            safety=Safety.IDEMPOTENT,
        )
        return str(answer["url"])
