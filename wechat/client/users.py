"""Followers and tags. Batches larger than the platform's limits are split here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from wechat.client.base import ApiBase, chunks, require, utf8_len
from wechat.client.retry import Safety

BATCHGET_SIZE = 100
TAGGING_SIZE = 50
BLACKLIST_SIZE = 20


def _page_openids(page: dict[str, Any]) -> list[str]:
    return list((page.get("data") or {}).get("openid") or [])


class UserApi(ApiBase):
    def user_list(self, next_openid: str = "") -> dict[str, Any]:
        """One page (≤ 10 000) of ``{total, count, data{openid[]}, next_openid}``."""
        return self._get("/cgi-bin/user/get", {"next_openid": next_openid})

    def user_iter_openids(self) -> Iterator[str]:
        """Every follower's openid, page after page."""
        next_openid = ""
        while True:
            page = self.user_list(next_openid)
            openids = _page_openids(page)
            yield from openids
            # The last page still names its last openid as next_openid; the empty page
            # after it (count 0) or an empty next_openid ends the walk.
            next_openid = page.get("next_openid") or ""
            if not openids or not next_openid:
                return

    def user_info(self, openid: str, *, lang: str = "zh_CN") -> dict[str, Any]:
        return self._get("/cgi-bin/user/info", {"openid": openid, "lang": lang})

    def user_info_batch(self, openids: Sequence[str], *, lang: str = "zh_CN") -> list[dict]:
        """Info for any number of openids, 100 per call."""
        infos: list[dict] = []
        for chunk in chunks(openids, BATCHGET_SIZE):
            answer = self._post(
                "/cgi-bin/user/info/batchget",
                {"user_list": [{"openid": o, "lang": lang} for o in chunk]},
                safety=Safety.IDEMPOTENT,
            )
            infos.extend(answer.get("user_info_list") or [])
        return infos

    def user_update_remark(self, openid: str, remark: str) -> dict[str, Any]:
        require(utf8_len(remark) < 30, "a remark must be under 30 bytes (about 10 CJK chars)")
        return self._post(
            "/cgi-bin/user/info/updateremark",
            {"openid": openid, "remark": remark},
            safety=Safety.IDEMPOTENT,
        )

    def blacklist_list(self, begin_openid: str = "") -> dict[str, Any]:
        return self._post(
            "/cgi-bin/tags/members/getblacklist",
            {"begin_openid": begin_openid},
            safety=Safety.IDEMPOTENT,
        )

    def blacklist_add(self, openids: Sequence[str]) -> None:
        for chunk in chunks(openids, BLACKLIST_SIZE):
            self._post(
                "/cgi-bin/tags/members/batchblacklist",
                {"openid_list": list(chunk)},
                safety=Safety.IDEMPOTENT,
            )

    def blacklist_remove(self, openids: Sequence[str]) -> None:
        for chunk in chunks(openids, BLACKLIST_SIZE):
            self._post(
                "/cgi-bin/tags/members/batchunblacklist",
                {"openid_list": list(chunk)},
                safety=Safety.IDEMPOTENT,
            )


class TagApi(ApiBase):
    def tag_create(self, name: str) -> dict[str, Any]:
        """Create a tag; returns ``{"id", "name"}``."""
        require(0 < len(name) <= 30, "a tag name must be 1..30 characters")
        # Unsafe: a blind repeat after a timeout would answer 45157 (duplicate name).
        answer = self._post("/cgi-bin/tags/create", {"tag": {"name": name}}, safety=Safety.UNSAFE)
        return dict(answer["tag"])

    def tag_list(self) -> list[dict[str, Any]]:
        return list(self._get("/cgi-bin/tags/get").get("tags") or [])

    def tag_update(self, tag_id: int, name: str) -> dict[str, Any]:
        require(0 < len(name) <= 30, "a tag name must be 1..30 characters")
        return self._post(
            "/cgi-bin/tags/update", {"tag": {"id": tag_id, "name": name}}, safety=Safety.IDEMPOTENT
        )

    def tag_delete(self, tag_id: int) -> dict[str, Any]:
        return self._post("/cgi-bin/tags/delete", {"tag": {"id": tag_id}}, safety=Safety.IDEMPOTENT)

    def tag_members(self, tag_id: int, next_openid: str = "") -> dict[str, Any]:
        return self._post(
            "/cgi-bin/user/tag/get",
            {"tagid": tag_id, "next_openid": next_openid},
            safety=Safety.IDEMPOTENT,
        )

    def tag_iter_members(self, tag_id: int) -> Iterator[str]:
        next_openid = ""
        while True:
            page = self.tag_members(tag_id, next_openid)
            openids = _page_openids(page)
            yield from openids
            next_openid = page.get("next_openid") or ""
            if not openids or not next_openid:
                return

    def tag_add_users(self, tag_id: int, openids: Sequence[str]) -> None:
        """Tag any number of followers, 50 per call."""
        for chunk in chunks(openids, TAGGING_SIZE):
            self._post(
                "/cgi-bin/tags/members/batchtagging",
                {"openid_list": list(chunk), "tagid": tag_id},
                safety=Safety.IDEMPOTENT,
            )

    def tag_remove_users(self, tag_id: int, openids: Sequence[str]) -> None:
        for chunk in chunks(openids, TAGGING_SIZE):
            self._post(
                "/cgi-bin/tags/members/batchuntagging",
                {"openid_list": list(chunk), "tagid": tag_id},
                safety=Safety.IDEMPOTENT,
            )

    def tag_ids_of_user(self, openid: str) -> list[int]:
        answer = self._post("/cgi-bin/tags/getidlist", {"openid": openid}, safety=Safety.IDEMPOTENT)
        return [int(t) for t in answer.get("tagid_list") or []]
