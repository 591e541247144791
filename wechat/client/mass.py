"""Mass sends (broadcasts), previews, deletion, status and article upload.

Every mass send carries a ``clientmsgid`` (a random one when the caller gives none) so the
platform refuses a repeat within 24 h with 45065. That makes retries after a timeout safe
(``Safety.DEDUPED``) and lets a retried task learn "already sent" instead of sending twice.
Callers that may themselves re-run a send (Celery) should pass a stable id per broadcast.

When the answer to a send was lost, the client's quick retry meets 45066 (the same id
within a minute); the client then waits the minute out and asks once more, so a lost
answer still ends in a result with the msg_id (``already_sent=True``). That wait blocks
for about a minute through the client's ``sleep``; see ``wechat.client.retry``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from wechat.client.base import ApiBase, require, utf8_len
from wechat.client.retry import Safety


class MassSendResult(TypedDict):
    msg_id: int | None  # None when the platform said "already sent" without the id
    msg_data_id: int | None
    clientmsgid: str
    # True when the platform answered 45065: an earlier attempt did the send (this call's
    # own attempt whose answer was lost, or an earlier call with the same clientmsgid).
    already_sent: bool


def _result(answer: Mapping[str, Any], clientmsgid: str) -> MassSendResult:
    already = int(answer.get("errcode") or 0) == 45065
    msg_id = answer.get("msg_id")
    msg_data_id = answer.get("msg_data_id")
    return MassSendResult(
        msg_id=int(msg_id) if msg_id not in (None, "") else None,
        msg_data_id=int(msg_data_id) if msg_data_id not in (None, "") else None,
        clientmsgid=clientmsgid,
        already_sent=already,
    )


class MassApi(ApiBase):
    def _mass_body(
        self,
        msgtype: str,
        payload: Mapping[str, Any],
        clientmsgid: str | None,
        send_ignore_reprint: bool,
    ) -> tuple[dict[str, Any], str]:
        clientmsgid = clientmsgid or uuid.uuid4().hex
        require(utf8_len(clientmsgid) <= 64, "clientmsgid must be at most 64 bytes")
        body: dict[str, Any] = {
            "msgtype": msgtype,
            msgtype: dict(payload),
            "send_ignore_reprint": 1 if send_ignore_reprint else 0,
            "clientmsgid": clientmsgid,
        }
        return body, clientmsgid

    def mass_send_by_tag(
        self,
        tag_id: int | None,
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        clientmsgid: str | None = None,
        send_ignore_reprint: bool = False,
    ) -> MassSendResult:
        """Broadcast to a tag, or to every follower when ``tag_id`` is None."""
        body, clientmsgid = self._mass_body(msgtype, payload, clientmsgid, send_ignore_reprint)
        body["filter"] = (
            {"is_to_all": True} if tag_id is None else {"is_to_all": False, "tag_id": tag_id}
        )
        answer = self._post("/cgi-bin/message/mass/sendall", body, safety=Safety.DEDUPED)
        return _result(answer, clientmsgid)

    def mass_send_by_openids(
        self,
        openids: Sequence[str],
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        clientmsgid: str | None = None,
        send_ignore_reprint: bool = False,
    ) -> MassSendResult:
        """Broadcast to 2..10 000 openids (the platform refuses a single one with 40032)."""
        require(
            2 <= len(openids) <= 10_000, f"mass send needs 2..10000 openids, got {len(openids)}"
        )
        body, clientmsgid = self._mass_body(msgtype, payload, clientmsgid, send_ignore_reprint)
        body["touser"] = list(openids)
        answer = self._post("/cgi-bin/message/mass/send", body, safety=Safety.DEDUPED)
        return _result(answer, clientmsgid)

    def mass_preview(
        self,
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        openid: str | None = None,
        wxname: str | None = None,
    ) -> dict[str, Any]:
        require((openid is None) != (wxname is None), "preview needs exactly one of openid/wxname")
        body: dict[str, Any] = {"msgtype": msgtype, msgtype: dict(payload)}
        if openid is not None:
            body["touser"] = openid
        else:
            body["towxname"] = wxname
        # A preview has no clientmsgid, so it is a plain unsafe delivery.
        return self._post("/cgi-bin/message/mass/preview", body, safety=Safety.UNSAFE)

    def mass_delete(
        self, msg_id: int, *, article_idx: int = 0, url: str | None = None
    ) -> dict[str, Any]:
        """Delete a sent broadcast (0 = all its articles, else the 1-based article)."""
        body: dict[str, Any] = {"msg_id": msg_id, "article_idx": article_idx}
        if url:
            body["url"] = url
        return self._post("/cgi-bin/message/mass/delete", body, safety=Safety.IDEMPOTENT)

    def mass_get_status(self, msg_id: int) -> str:
        """``SEND_SUCCESS``, ``SENDING``, ``SEND_FAIL`` or ``DELETE``."""
        answer = self._post(
            "/cgi-bin/message/mass/get", {"msg_id": msg_id}, safety=Safety.IDEMPOTENT
        )
        return str(answer["msg_status"])

    def mass_speed_get(self) -> dict[str, Any]:
        """``{speed, realspeed}``: the broadcast speed level 0 (fastest) .. 4."""
        return self._post("/cgi-bin/message/mass/speed/get", {}, safety=Safety.IDEMPOTENT)

    def mass_speed_set(self, speed: int) -> dict[str, Any]:
        require(isinstance(speed, int) and 0 <= speed <= 4, "the speed level must be 0..4")
        return self._post(
            "/cgi-bin/message/mass/speed/set", {"speed": speed}, safety=Safety.IDEMPOTENT
        )

    def media_upload_news(self, articles: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Upload 1..8 articles for a broadcast; returns ``{type, media_id, created_at}``."""
        require(1 <= len(articles) <= 8, "a broadcast holds 1..8 articles")
        # Unsafe: the daily limit is 10, so a blind repeat could waste a tenth of it.
        return self._post(
            "/cgi-bin/media/uploadnews",
            {"articles": [dict(a) for a in articles]},
            safety=Safety.UNSAFE,
        )
