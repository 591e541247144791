"""Analytics (datacube): one generic call with the platform's span rules checked first.

Every report takes ``begin_date``/``end_date``; ``end - begin`` must be below the report's
maximum span (span 1 means a single day), the end must be yesterday or earlier in Beijing
time (data is final once a day), and nothing exists before 2014-12-01. Checking here turns
a vague platform error into a clear one and saves quota.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from wechat.client.base import ApiBase, require
from wechat.client.retry import Safety

BEIJING = dt.timezone(dt.timedelta(hours=8))
FIRST_DAY = dt.date(2014, 12, 1)

# report name -> max span in days (inclusive day count allowed in one call)
MAX_SPAN: dict[str, int] = {
    "getusersummary": 7,
    "getusercumulate": 7,
    "getarticlesummary": 1,
    "getarticletotal": 1,
    "getuserread": 3,
    "getuserreadhour": 1,
    "getusershare": 7,
    "getusersharehour": 1,
    "getupstreammsg": 7,
    "getupstreammsghour": 1,
    "getupstreammsgweek": 30,
    "getupstreammsgmonth": 30,
    "getupstreammsgdist": 15,
    "getupstreammsgdistweek": 30,
    "getupstreammsgdistmonth": 30,
    "getinterfacesummary": 30,
    "getinterfacesummaryhour": 1,
}

DateLike = dt.date | str


def _as_date(value: DateLike) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


class DatacubeApi(ApiBase):
    clock: Callable[[], float]

    def datacube(self, report: str, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        """Rows of one report (the ``list`` in the answer)."""
        require(report in MAX_SPAN, f"unknown datacube report {report!r}")
        begin, end = _as_date(begin_date), _as_date(end_date)
        require(begin <= end, "begin_date must not be after end_date")
        require(begin >= FIRST_DAY, "datacube has no data before 2014-12-01")
        today = dt.datetime.fromtimestamp(self.clock(), BEIJING).date()
        require(end < today, "end_date must be yesterday or earlier (Beijing time)")
        span = (end - begin).days + 1
        require(
            span <= MAX_SPAN[report],
            f"{report} covers at most {MAX_SPAN[report]} day(s), asked for {span}",
        )
        answer = self._post(
            f"/datacube/{report}",
            {"begin_date": begin.isoformat(), "end_date": end.isoformat()},
            safety=Safety.IDEMPOTENT,
        )
        return list(answer.get("list") or [])

    def datacube_user_summary(self, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        return self.datacube("getusersummary", begin_date, end_date)

    def datacube_user_cumulate(self, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        return self.datacube("getusercumulate", begin_date, end_date)

    def datacube_article_summary(self, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        return self.datacube("getarticlesummary", begin_date, end_date)

    def datacube_article_total(self, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        return self.datacube("getarticletotal", begin_date, end_date)

    def datacube_user_read(self, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        return self.datacube("getuserread", begin_date, end_date)

    def datacube_user_share(self, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        return self.datacube("getusershare", begin_date, end_date)

    def datacube_upstream_msg(self, begin_date: DateLike, end_date: DateLike) -> list[dict]:
        return self.datacube("getupstreammsg", begin_date, end_date)

    def datacube_interface_summary(
        self, begin_date: DateLike, end_date: DateLike
    ) -> list[dict[str, Any]]:
        return self.datacube("getinterfacesummary", begin_date, end_date)
