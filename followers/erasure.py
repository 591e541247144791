"""The personal-data eraser: the platform asks developers to delete a user's data when
they unfollow. A customer whose every follower of the brand has unfollowed, the last of
them more than the brand's retention period ago (CrmRetention.erase_after_days, 30 by
default, 0 never), has their personal profile fields blanked:

- the customer's name, phone, email, notes, custom attributes and unionid;
- each follower's remark, region, gender, location (latitude, longitude and when) and
  unionid.

The unionid goes because it is the one identifier that links the person across the
brand's accounts (and other apps of the same open platform): keeping it would let the
blanked customer be re-identified. The openid stays: it means nothing outside this
account and the follower row it keys holds the counts and the attribution.

What stays: the rows themselves, the openid, follow dates, the follow events and their QR
codes (the retention table), tags and language (segment counts), and the conversations
as rows with their times (messaging blanks their message contents on `customer.erased`,
since followers cannot touch messaging). A customer who still follows any account of the
brand, or followed again within the period, is not erased. Merged-away customers
(merged_into set) are left for the merge history; their followers moved to the kept one.

One UPDATE per batch, set-based; each erased customer gets a CustomerActivity (erased).
The statements run on PostgreSQL and on the demo's SQLite (``followers.sql_portable``:
there the batch needs no row locks, a write locks the whole database).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from accounts import events
from followers import sql_portable as sql
from followers.models import CustomerActivity
from followers.models_campaigns import DEFAULT_ERASE_DAYS

logger = logging.getLogger(__name__)

CUSTOMER_FIELDS = ["name", "phone", "email", "notes", "attributes", "unionid"]
FOLLOWER_FIELDS = ["remark", "region", "gender", "latitude", "longitude", "location_at",
                   "unionid"]
BATCH = 2000

_ERASE_CUSTOMERS = """
WITH due AS (
    SELECT c.id
    FROM followers_customer c
    LEFT JOIN followers_crmretention r ON r.brand_id = c.brand_id
    WHERE COALESCE(r.erase_after_days, %(default)s) > 0
      AND c.merged_into_id IS NULL
      AND EXISTS (SELECT 1 FROM followers_follower f WHERE f.customer_id = c.id)
      AND NOT EXISTS (
          SELECT 1 FROM followers_follower f
          WHERE f.customer_id = c.id
            AND (f.subscribed OR f.unsubscribed_at IS NULL
                 OR f.unsubscribed_at > {retention_start})
      )
      AND (c.name <> '' OR c.phone <> '' OR c.email <> '' OR c.notes <> ''
           OR c.attributes <> {empty} OR c.unionid <> ''
           OR EXISTS (
               SELECT 1 FROM followers_follower f
               WHERE f.customer_id = c.id
                 AND (f.remark <> '' OR f.region <> '' OR f.gender <> 0 OR f.unionid <> ''
                      OR f.latitude IS NOT NULL OR f.longitude IS NOT NULL
                      OR f.location_at IS NOT NULL)))
    ORDER BY c.id
    LIMIT %(batch)s
    {lock}
)
UPDATE {customers}
SET name = '', phone = '', email = '', notes = '', attributes = {empty}, unionid = '',
    updated_at = %(now)s
FROM due WHERE c.id = due.id
RETURNING {returned}
"""

_ERASE_FOLLOWERS = """
UPDATE followers_follower
SET remark = '', region = '', gender = 0, latitude = NULL, longitude = NULL,
    location_at = NULL, unionid = ''
WHERE {of_customers}
RETURNING id, customer_id, brand_id
"""


def customers_erase_due(*, now: datetime | None = None) -> int:
    """Erase every customer that is due, in batches; the number erased."""
    now = now or timezone.now()
    total = 0
    while True:
        erased = _erase_batch(now)
        total += erased
        if erased < BATCH:
            break
    if total:
        logger.info("personal data erased", extra={"customers": total})
    return total


@transaction.atomic
def _erase_batch(now: datetime) -> int:
    erase_customers = _ERASE_CUSTOMERS.format(
        retention_start=sql.days_before("%(now)s",
                                        "COALESCE(r.erase_after_days, %(default)s)"),
        empty=sql.json_literal("{}"), lock=sql.lock_rows("FOR UPDATE OF c SKIP LOCKED"),
        customers=sql.updated_table("followers_customer", "c"),
        returned=sql.returned("c", "id", "brand_id"))
    with connection.cursor() as cursor:
        cursor.execute(erase_customers, {"now": sql.moment(now), "default": DEFAULT_ERASE_DAYS,
                                         "batch": BATCH})
        customers = cursor.fetchall()
        if not customers:
            return 0
        cursor.execute(
            _ERASE_FOLLOWERS.format(of_customers=sql.in_list("customer_id", "%(ids)s")),
            {"ids": sql.list_param(pk for pk, _brand in customers)})
        followers = cursor.fetchall()
    by_brand: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for pk, brand_id in customers:
        by_brand[brand_id][0].append(pk)
    for pk, _customer, brand_id in followers:
        by_brand[brand_id][1].append(pk)
    CustomerActivity.objects.bulk_create([
        CustomerActivity(brand_id=brand_id, customer_id=pk, kind=CustomerActivity.Kind.ERASED,
                         data={"fields": CUSTOMER_FIELDS,
                               "follower_fields": FOLLOWER_FIELDS}, at=now)
        for pk, brand_id in customers
    ], batch_size=1000)
    for brand_id, (customer_ids, follower_ids) in by_brand.items():
        events.announce("customer.erased", {
            "brand_id": brand_id, "customer_ids": sorted(customer_ids),
            "follower_ids": sorted(follower_ids), "at": now.isoformat()})
    return len(customers)
