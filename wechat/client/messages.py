"""Customer-service (kf) sends, the typing indicator and template messages.

These deliver to a person, so they are ``Safety.UNSAFE``: retried only on answers that
prove the platform did nothing (-1, 45011, token errors), never after a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wechat.client.base import ApiBase, require
from wechat.client.retry import Safety

CUSTOM_SEND = "/cgi-bin/message/custom/send"


class CustomMessageApi(ApiBase):
    def custom_send(
        self,
        openid: str,
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        """Send any kf message type; the typed helpers below build ``payload``."""
        body: dict[str, Any] = {"touser": openid, "msgtype": msgtype, msgtype: dict(payload)}
        if kf_account:
            body["customservice"] = {"kf_account": kf_account}
        return self._post(CUSTOM_SEND, body, safety=Safety.UNSAFE)

    def custom_send_text(
        self, openid: str, content: str, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        require(bool(content), "text content must not be empty")
        return self.custom_send(openid, "text", {"content": content}, kf_account=kf_account)

    def custom_send_image(
        self, openid: str, media_id: str, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        return self.custom_send(openid, "image", {"media_id": media_id}, kf_account=kf_account)

    def custom_send_voice(
        self, openid: str, media_id: str, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        return self.custom_send(openid, "voice", {"media_id": media_id}, kf_account=kf_account)

    def custom_send_video(
        self,
        openid: str,
        media_id: str,
        *,
        thumb_media_id: str = "",
        title: str = "",
        description: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        payload = {
            "media_id": media_id,
            "thumb_media_id": thumb_media_id,
            "title": title,
            "description": description,
        }
        return self.custom_send(openid, "video", payload, kf_account=kf_account)

    def custom_send_music(
        self,
        openid: str,
        *,
        music_url: str,
        hq_music_url: str,
        thumb_media_id: str,
        title: str = "",
        description: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        payload = {
            "title": title,
            "description": description,
            "musicurl": music_url,
            "hqmusicurl": hq_music_url,
            "thumb_media_id": thumb_media_id,
        }
        return self.custom_send(openid, "music", payload, kf_account=kf_account)

    def custom_send_news(
        self,
        openid: str,
        *,
        title: str,
        url: str,
        description: str = "",
        picurl: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        # One article: the platform delivers only the first since 2018, so the API takes one.
        article = {"title": title, "description": description, "url": url, "picurl": picurl}
        return self.custom_send(openid, "news", {"articles": [article]}, kf_account=kf_account)

    def custom_send_mpnews(
        self, openid: str, media_id: str, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        return self.custom_send(openid, "mpnews", {"media_id": media_id}, kf_account=kf_account)

    def custom_send_mpnewsarticle(
        self, openid: str, article_id: str, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        return self.custom_send(
            openid, "mpnewsarticle", {"article_id": article_id}, kf_account=kf_account
        )

    def custom_send_msgmenu(
        self,
        openid: str,
        *,
        items: Sequence[tuple[str, str]],
        head_content: str = "",
        tail_content: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        """A message with tappable choices; ``items`` are (id, content) pairs."""
        require(len(items) > 0, "a menu message needs at least one item")
        payload = {
            "head_content": head_content,
            "list": [{"id": item_id, "content": content} for item_id, content in items],
            "tail_content": tail_content,
        }
        return self.custom_send(openid, "msgmenu", payload, kf_account=kf_account)

    def custom_send_miniprogrampage(
        self,
        openid: str,
        *,
        title: str,
        appid: str,
        pagepath: str,
        thumb_media_id: str,
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        payload = {
            "title": title,
            "appid": appid,
            "pagepath": pagepath,
            "thumb_media_id": thumb_media_id,
        }
        return self.custom_send(openid, "miniprogrampage", payload, kf_account=kf_account)

    def custom_send_wxcard(
        self, openid: str, card_id: str, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        return self.custom_send(openid, "wxcard", {"card_id": card_id}, kf_account=kf_account)

    def custom_typing(self, openid: str, *, typing: bool = True) -> dict[str, Any]:
        """Show (or cancel) "typing..." for 15 s; repeating while shown gives 45081."""
        command = "Typing" if typing else "CancelTyping"
        return self._post(
            "/cgi-bin/message/custom/typing",
            {"touser": openid, "command": command},
            safety=Safety.UNSAFE,
        )


class TemplateApi(ApiBase):
    def template_send(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str | Mapping[str, str]],
        *,
        url: str | None = None,
        miniprogram: Mapping[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        """Send a template message and return its ``msgid``.

        ``data`` values may be plain strings (wrapped as ``{"value": ...}``) or full dicts
        with ``color``. The platform's de-duplication window for ``client_msg_id`` is not
        documented, so the send is still treated as unsafe to repeat.
        """
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {
                key: ({"value": value} if isinstance(value, str) else dict(value))
                for key, value in data.items()
            },
        }
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = dict(miniprogram)
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        answer = self._post("/cgi-bin/message/template/send", body, safety=Safety.UNSAFE)
        return int(answer["msgid"])
