"""The retention table: for each campaign and each follow date, the followers gained, how
many still follow, how many unfollowed, and the unfollows within a chosen period.

It answers the question of the Official Account explainer's case: a new agency posts,
108 people leave, and the table shows which campaigns (and follow dates) those people
came from. One set-based query over FollowEvent: each follow is paired with the
follower's next follow-or-unfollow event (a window function, LEAD); a follow whose next
event is an unfollow "unfollowed" then, so a person who follows again is a new follow
on the later date, with that follow's campaign. Follows that came through no campaign
code make the row "no campaign" (campaign None).

Dates are in each account's time zone (OfficialAccount.timezone, Asia/Shanghai by
default): a follow at 23:30 in Shanghai is that day's, whatever the server's zone. The
period's days [date_from, date_to] (both included) are read in the same zone.

The query runs on PostgreSQL and on the demo's SQLite: the local date and the account list
are the fragments of ``followers.sql_portable``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date

from django.db import connection
from django.utils.translation import gettext as _

from accounts.scope import Scope
from followers import sql_portable as sql
from followers.models import Campaign

_SQL = """
WITH ev AS (
    SELECT e.id, e.kind, e.at, e.qrcode_id, e.account_id,
           LEAD(e.kind) OVER w AS next_kind,
           LEAD(e.at) OVER w AS next_at
    FROM followers_followevent e
    WHERE e.brand_id = %(brand)s AND e.kind IN ('follow', 'unfollow') {accounts}
    WINDOW w AS (PARTITION BY e.follower_id ORDER BY e.at, e.id)
)
SELECT q.campaign_id,
       {follow_day} AS day,
       COUNT(*) AS gained,
       COUNT(*) FILTER (WHERE ev.next_kind = 'unfollow') AS unfollowed,
       COUNT(*) FILTER (
           WHERE ev.next_kind = 'unfollow'
             AND {unfollow_day} BETWEEN %(from)s AND %(to)s
       ) AS unfollowed_in_period
FROM ev
JOIN accounts_officialaccount a ON a.id = ev.account_id
LEFT JOIN followers_qrcode q ON q.id = ev.qrcode_id
WHERE ev.kind = 'follow' {campaign}
GROUP BY q.campaign_id, day
{having}
ORDER BY day, q.campaign_id NULLS FIRST
"""


@dataclass(frozen=True)
class RetentionRow:
    campaign_id: int | None
    campaign: str  # its name, or "No campaign"
    channel: str
    follow_date: date
    gained: int
    still_following: int
    unfollowed: int
    unfollowed_in_period: int


def retention_table(*, scope: Scope, date_from: date, date_to: date,
                    campaign: Campaign | None = None, lost_only: bool = False
                    ) -> list[RetentionRow]:
    """The rows for the accounts in ``scope`` (one campaign's, or every campaign's and
    the no-campaign follows), oldest follow date first. ``lost_only`` keeps the rows
    with unfollows in the period (the explainer's table)."""
    params: dict[str, object] = {"brand": scope.brand_id, "from": sql.day(date_from),
                                 "to": sql.day(date_to)}
    accounts = ""
    if not scope.is_brand_wide:
        accounts = "AND " + sql.in_list("e.account_id", "%(accounts)s")
        params["accounts"] = sql.list_param(sorted(scope.account_ids or ()))
    where_campaign = ""
    if campaign is not None:
        where_campaign = "AND q.campaign_id = %(campaign)s"
        params["campaign"] = campaign.pk
    unfollow_day = sql.local_date("ev.next_at", "a.timezone")
    having = ("HAVING COUNT(*) FILTER (WHERE ev.next_kind = 'unfollow' AND "
              f"{unfollow_day} BETWEEN %(from)s AND %(to)s) > 0" if lost_only else "")
    query = _SQL.format(accounts=accounts, campaign=where_campaign, having=having,
                        follow_day=sql.local_date("ev.at", "a.timezone"),
                        unfollow_day=unfollow_day)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        found = cursor.fetchall()
    names = {c.pk: (c.name, c.channel) for c in Campaign.objects.filter(
        brand_id=scope.brand_id, pk__in={row[0] for row in found if row[0]})}
    rows = []
    for campaign_id, day, gained, unfollowed, in_period in found:
        name, channel = names.get(campaign_id, (_("No campaign"), ""))
        rows.append(RetentionRow(
            campaign_id=campaign_id, campaign=str(name), channel=channel,
            follow_date=sql.as_date(day),
            gained=gained, still_following=gained - unfollowed, unfollowed=unfollowed,
            unfollowed_in_period=in_period))
    return rows


def retention_totals(rows: list[RetentionRow]) -> dict[str, int]:
    return {key: sum(getattr(r, key) for r in rows)
            for key in ("gained", "still_following", "unfollowed", "unfollowed_in_period")}


CSV_COLUMNS = ["campaign_id", "campaign", "channel", "follow_date", "gained",
               "still_following", "unfollowed", "unfollowed_in_period"]


def retention_csv(rows: list[RetentionRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        data = asdict(row)
        data["follow_date"] = row.follow_date.isoformat()
        data["campaign_id"] = "" if row.campaign_id is None else row.campaign_id
        if data["campaign"][:1] in ("=", "+", "-", "@", "\t", "\r"):
            data["campaign"] = "'" + data["campaign"]  # a spreadsheet must not run it
        writer.writerow(data)
    return out.getvalue()
