"""Customers by unionid, set-based: what ``followers.services.follower_link_customer`` does
for one follower, done for many in a few SQL statements (a sync's thousands, a brand's
million).

Followers with one unionid in one brand share one customer. A unionid no customer holds
yet is taken by the customer of one of its followers that has none (as the per-follower
linking lets a follower's own placeholder take it), else a new customer is made for it;
then every follower with that unionid moves there. A follower left with no customer and
no unionid gets one of its own, so the console always has one to show. The placeholders
left behind (made on first sight, nobody wrote on them, no follower left) are deleted, and
``customer.linked`` is announced for the moved followers, up to ``LINKED_BATCH`` followers
an event (``customer.merged`` is the one-person form: a merge, or one follower linked).

The statements are PostgreSQL's (``nextval`` hands out the new customers' ids inside the
statement that uses them, DISTINCT ON, RETURNING the joined rows, FOR UPDATE in a CTE),
and no SQLite spelling of them is worth a second copy. On SQLite (the demo, its few
hundred followers) the same followers go one by one through the per-follower service,
``follower_link_customer``, which tells the same story per follower (``customer.merged``
for each one moved, a merge when the follower's own customer was written on).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import F as Col
from django.db.models import Q

from accounts import events
from followers import sql_portable
from followers.models import Customer, CustomerActivity, Follower
from followers.services import follower_link_customer

logger = logging.getLogger(__name__)

F = Follower._meta.db_table
C = Customer._meta.db_table
A = CustomerActivity._meta.db_table
LINKED_BATCH = 10_000  # followers per `customer.linked` event


def _selection(follower_ids: Sequence[int] | None, account_id: int | None,
               alias: str = "f") -> tuple[str, list]:
    """The extra WHERE of the followers to link, and its parameters."""
    sql, params = "", []
    if follower_ids is not None:
        sql += f" AND {alias}.id = ANY(%s)"
        params.append(list(follower_ids))
    if account_id is not None:
        sql += f" AND {alias}.account_id = %s"
        params.append(account_id)
    return sql, params


def _placeholder_condition(alias: str) -> str:
    return (f"{alias}.unionid = '' AND {alias}.name = '' AND {alias}.phone = '' "
            f"AND {alias}.email = '' AND {alias}.notes = '' "
            f"AND {alias}.attributes = '{{}}'::jsonb AND {alias}.merged_into_id IS NULL")


@transaction.atomic
def customers_link_by_unionid(*, brand_id: int, follower_ids: Sequence[int] | None = None,
                              account_id: int | None = None) -> int:
    """Link the brand's followers (``follower_ids`` of it, or those of ``account_id``;
    all when neither is given) to their customers by unionid. Answers how many followers
    changed customer (moved to the shared one, or got their first)."""
    if not sql_portable.is_postgres():
        return _link_one_by_one(brand_id=brand_id, follower_ids=follower_ids,
                                account_id=account_id)
    where, params = _selection(follower_ids, account_id)
    with connection.cursor() as cursor:
        # 1. Unionids no customer of the brand holds: the customer of one of their
        #    followers that holds no unionid takes it (one unionid per customer).
        cursor.execute(
            f"""
            WITH wanting AS (
                SELECT f.unionid, min(f.customer_id) AS customer_id
                FROM {F} f JOIN {C} c ON c.id = f.customer_id
                WHERE f.brand_id = %s AND f.unionid <> '' AND c.unionid = ''
                  AND c.merged_into_id IS NULL {where}
                  AND NOT EXISTS (SELECT 1 FROM {C} s
                                  WHERE s.brand_id = %s AND s.unionid = f.unionid
                                    AND s.unionid <> '')
                GROUP BY f.unionid
            ), taking AS (
                SELECT DISTINCT ON (customer_id) customer_id, unionid
                FROM wanting ORDER BY customer_id, unionid
            )
            UPDATE {C} c SET unionid = taking.unionid, updated_at = now()
            FROM taking WHERE c.id = taking.customer_id
            """,  # noqa: S608
            [brand_id, *params, brand_id],
        )
        # 2. A new customer for each unionid still without one.
        cursor.execute(
            f"""
            INSERT INTO {C} (brand_id, unionid, name, phone, email, notes, attributes,
                             language, created_at, updated_at)
            SELECT DISTINCT %s, f.unionid, '', '', '', '', '{{}}'::jsonb, '', now(), now()
            FROM {F} f
            WHERE f.brand_id = %s AND f.unionid <> '' {where}
              AND NOT EXISTS (SELECT 1 FROM {C} s
                              WHERE s.brand_id = %s AND s.unionid = f.unionid
                                    AND s.unionid <> '')
            ON CONFLICT DO NOTHING
            """,  # noqa: S608
            [brand_id, brand_id, *params, brand_id],
        )
        # 3. Every follower with a unionid moves to its customer.
        cursor.execute(
            f"""
            WITH moving AS (
                SELECT f.id, f.customer_id AS old_id,
                       COALESCE(kept.merged_into_id, s.merged_into_id, s.id) AS new_id
                FROM {F} f JOIN {C} s ON s.brand_id = f.brand_id AND s.unionid = f.unionid
                    AND s.unionid <> ''
                    -- a person merged the unionid's customer into another: that one
                    -- (and, merged again, the one it went into) holds the person now
                    LEFT JOIN {C} kept ON kept.id = s.merged_into_id
                WHERE f.brand_id = %s AND f.unionid <> '' {where}
                  AND f.customer_id IS DISTINCT FROM
                      COALESCE(kept.merged_into_id, s.merged_into_id, s.id)
                FOR UPDATE OF f
            )
            UPDATE {F} f SET customer_id = moving.new_id FROM moving WHERE f.id = moving.id
            RETURNING f.id, moving.old_id, moving.new_id
            """,  # noqa: S608
            [brand_id, *params],
        )
        moves = cursor.fetchall()
        # 4. A follower with neither customer nor unionid gets a customer of its own.
        cursor.execute(
            f"""
            WITH needing AS (
                SELECT f.id, nextval(pg_get_serial_sequence('{C}', 'id')) AS customer_id
                FROM {F} f
                WHERE f.brand_id = %s AND f.customer_id IS NULL AND f.unionid = '' {where}
                FOR UPDATE OF f
            ), made AS (
                INSERT INTO {C} (id, brand_id, unionid, name, phone, email, notes, attributes,
                                 language, created_at, updated_at)
                SELECT customer_id, %s, '', '', '', '', '', '{{}}'::jsonb, '', now(), now()
                FROM needing
            )
            UPDATE {F} f SET customer_id = needing.customer_id
            FROM needing WHERE f.id = needing.id
            """,  # noqa: S608
            [brand_id, *params, brand_id],
        )
        own = cursor.rowcount
    moved_from: dict[tuple[int, int], list[int]] = defaultdict(list)
    for follower_id, old_id, new_id in moves:
        if old_id is not None:
            moved_from[(old_id, new_id)].append(follower_id)
    if moved_from:
        _follow_the_followers(brand_id, moved_from)
    logger.info("customers linked by unionid", extra={
        "brand_id": brand_id, "moved": len(moves), "own_customers": own})
    return len(moves) + own


def _link_one_by_one(*, brand_id: int, follower_ids: Sequence[int] | None,
                     account_id: int | None) -> int:
    """``customers_link_by_unionid`` on a database without its statements: the followers
    it would change, each through ``follower_link_customer``."""
    followers = Follower.objects.filter(brand_id=brand_id)
    if follower_ids is not None:
        followers = followers.filter(pk__in=list(follower_ids))
    if account_id is not None:
        followers = followers.filter(account_id=account_id)
    # Those without a customer, and those whose unionid is not their customer's (or whose
    # customer was merged into another): the ones the statements would move.
    followers = followers.filter(
        Q(customer__isnull=True)
        | (~Q(unionid="") & (~Q(customer__unionid=Col("unionid"))
                             | Q(customer__merged_into__isnull=False))))
    changed = 0
    for follower in followers.select_related("customer").order_by("pk"):
        before = follower.customer_id
        if follower_link_customer(follower=follower).pk != before:
            changed += 1
    logger.info("customers linked by unionid, one by one", extra={
        "brand_id": brand_id, "changed": changed})
    return changed


def _announce_linked(brand_id: int, batch: list[tuple[tuple[int, int], list[int]]]) -> None:
    events.announce("customer.linked", {
        "brand_id": brand_id,
        "follower_ids": sorted(fid for _pair, ids in batch for fid in ids),
        "customer_ids": sorted({new for (_old, new), _ids in batch}),
        "merged_customer_ids": sorted({old for (old, _new), _ids in batch}),
    })


def _follow_the_followers(brand_id: int, moved_from: dict[tuple[int, int], list[int]]) -> None:
    """The timeline lines of the moved followers go with them; the placeholders they left
    are deleted; ``customer.linked`` says so, a batch of followers at a time (messaging
    moves their conversations in one statement a batch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {A} a SET customer_id = f.customer_id
            FROM {F} f
            WHERE a.follower_id = f.id AND f.id = ANY(%s) AND a.customer_id <> f.customer_id
            """,  # noqa: S608
            [[fid for ids in moved_from.values() for fid in ids]],
        )
    old_ids = sorted({old for old, _new in moved_from})
    pairs = sorted(moved_from.items())
    batch: list[tuple[tuple[int, int], list[int]]] = []
    size = 0
    for pair in pairs:
        batch.append(pair)
        size += len(pair[1])
        if size >= LINKED_BATCH:
            _announce_linked(brand_id, batch)
            batch, size = [], 0
    if batch:
        _announce_linked(brand_id, batch)
    # Judged on the rows as they are now: a person may have written on one since.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.id, {_referenced('c')} FROM {C} c
            WHERE c.id = ANY(%s) AND {_placeholder_condition('c')}
              AND NOT EXISTS (SELECT 1 FROM {F} f WHERE f.customer_id = c.id)
            FOR UPDATE OF c
            """,  # noqa: S608
            [old_ids],
        )
        left = cursor.fetchall()
        # Nothing refers to most of them (the followers left, their timeline lines went
        # with them): one DELETE. The few something still points at (a conversation, a
        # merge record) go through the ORM, which clears what refers to them (SET_NULL,
        # CASCADE) whatever part owns it.
        cursor.execute(f"DELETE FROM {C} WHERE id = ANY(%s)",  # noqa: S608
                       [[pk for pk, referred in left if not referred]])
    referred = [pk for pk, referred in left if referred]
    for start in range(0, len(referred), 5000):
        Customer.objects.filter(pk__in=referred[start:start + 5000]).delete()


def _referenced(alias: str) -> str:
    """SQL true when any row of any model (any part's, hidden relations and many-to-many
    tables included) refers to the customer ``alias``: read from the models, so a part
    adding a reference to customers is covered."""
    checks = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            table, column = rel.related_model._meta.db_table, rel.field.column
            checks.append(f"EXISTS (SELECT 1 FROM {table} r WHERE r.{column} = {alias}.id)")  # noqa: S608
    return "(" + " OR ".join(checks) + ")" if checks else "false"
