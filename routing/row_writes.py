"""Writing a few fields of a handful of rows, each its own values, in one statement
without the cost of `QuerySet.bulk_update`.

Django's ``bulk_update`` builds a ``CASE`` of ``When`` objects per row and field and
resolves every one of them through the query compiler: 4.3 ms of CPU for ten
conversations' team, language and routing time, and 2.6 ms for ten agents' states, half
of what a routing chunk spends on its writes. `update_rows` writes the same statement
(``UPDATE t SET c = CASE pk WHEN .. THEN .. END, .. WHERE pk IN (..)``) from a string:
each value prepared by its field as ``save()`` prepares it, the ``CASE`` cast to the
column's type where the database needs that (PostgreSQL; Django's
``requires_casted_case_in_updates``), so it runs on PostgreSQL and the demo's SQLite
alike. Names come from the models' own metadata, values go in parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router


def update_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of every row in ``objs`` (one model) as they are in memory, as
    ``bulk_update(objs, fields)`` would; answers how many rows were updated."""
    if not objs or not fields:
        return 0
    meta = objs[0]._meta.concrete_model._meta
    connection = connections[router.db_for_write(meta.model)]
    quote = connection.ops.quote_name
    pk = quote(meta.pk.column)
    whens = " ".join(["WHEN %s THEN %s"] * len(objs))
    sets, params = [], []
    for name in fields:
        field = meta.get_field(name)
        case = f"CASE {pk} {whens} END"
        if connection.features.requires_casted_case_in_updates:
            case = f"CAST({case} AS {field.cast_db_type(connection)})"
        sets.append(f"{quote(field.column)} = {case}")
        for obj in objs:
            params += [obj.pk, field.get_db_prep_save(getattr(obj, field.attname),
                                                      connection)]
    params += [obj.pk for obj in objs]
    marks = ", ".join(["%s"] * len(objs))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608
                       f"WHERE {pk} IN ({marks})", params)
        return cursor.rowcount
