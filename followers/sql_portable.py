"""The few pieces of the CRM's hand-written SQL that PostgreSQL and SQLite spell
differently, so each statement is written once.

Production and the tests run on PostgreSQL; ``make demo`` runs on SQLite (3.39 or later:
window functions, FILTER, RETURNING, UPDATE ... FROM, ON CONFLICT, json_each and IS
DISTINCT FROM). On PostgreSQL every helper renders exactly the SQL the statements had
before they were shared, and passes parameters through untouched, so its plans stay as
they are; the SQLite spelling only has to give the same answer on the demo's few hundred
rows.

Each helper reads the default connection's vendor when it is called (the CRM's
statements run on ``django.db.connection``). Their arguments are SQL written in the code
(columns, placeholders, aliases), never values: values go in parameters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Func, TextField


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# -- parameters -------------------------------------------------------------------------

def moment(value: datetime | None) -> object:
    """A timestamp parameter as the database stores it (SQLite: naive UTC text, which
    compares as the stored values do; PostgreSQL: the datetime itself)."""
    return connection.ops.adapt_datetimefield_value(value)


def day(value: date | None) -> object:
    """A date parameter as the database stores it."""
    return connection.ops.adapt_datefield_value(value)


def as_date(value: date | str | None) -> date | None:
    """A date read back from raw SQL: SQLite answers text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def list_param(values: Iterable[object]) -> object:
    """The parameter of ``in_list``: an array on PostgreSQL, a JSON array on SQLite."""
    values = list(values)
    return values if is_postgres() else json.dumps(values)


# -- fragments --------------------------------------------------------------------------

def in_list(column: str, placeholder: str = "%s") -> str:
    """``column`` is one of the values of the ``list_param`` at ``placeholder``."""
    if is_postgres():
        return f"{column} = ANY({placeholder})"
    return f"{column} IN (SELECT value FROM json_each({placeholder}))"  # noqa: S608


def json_texts(placeholder: str = "%s", alias: str = "o") -> tuple[str, str]:
    """The texts of a JSON array parameter as rows: (the FROM item, its value)."""
    if is_postgres():
        return f"json_array_elements_text({placeholder}::json) AS {alias}", alias
    return f"json_each({placeholder}) AS {alias}", f"{alias}.value"


def json_texts_select(placeholder: str = "%s") -> str:
    """The texts of a JSON array parameter as a one-column SELECT (for ``IN (...)``)."""
    if is_postgres():
        return f"SELECT json_array_elements_text({placeholder}::json)"
    return f"SELECT value FROM json_each({placeholder})"  # noqa: S608


# How SQLite reads a JSON value as PostgreSQL's json_to_recordset types it; a timestamp
# becomes the text Django stores (UTC, "YYYY-MM-DD HH:MM:SS").
_SQLITE_READS = {"text": "json_extract(value, '$.{key}')",
                 "int": "json_extract(value, '$.{key}')",
                 "jsonb": "json_extract(value, '$.{key}')",
                 "timestamptz": "datetime(json_extract(value, '$.{key}'))"}


def json_records(columns: Iterable[tuple[str, str]], placeholder: str = "%s",
                 alias: str = "v") -> str:
    """A FROM item: the objects of a JSON array parameter as rows of typed ``columns``
    ((name, PostgreSQL type) pairs, the types those of ``_SQLITE_READS``)."""
    columns = list(columns)
    if is_postgres():
        typed = ", ".join(f"{name} {kind}" for name, kind in columns)
        return f"json_to_recordset({placeholder}::json) AS {alias}({typed})"
    read = ", ".join(f"{_SQLITE_READS[kind].format(key=name)} AS {name}"
                     for name, kind in columns)
    return f"(SELECT {read} FROM json_each({placeholder})) AS {alias}"  # noqa: S608


def json_literal(text: str) -> str:
    """A constant JSON value (``'{}'``, ``'[]'``) as a JSONField column holds it."""
    return f"'{text}'::jsonb" if is_postgres() else f"'{text}'"


def local_date(timestamp: str, zone: str) -> str:
    """The calendar day of the SQL ``timestamp`` in the time zone named by the SQL
    ``zone`` (SQLite: Django's registered function, from stored UTC)."""
    if is_postgres():
        return f"({timestamp} AT TIME ZONE {zone})::date"
    return f"django_datetime_cast_date({timestamp}, {zone}, 'UTC')"


def days_before(timestamp: str, days: str) -> str:
    """The SQL ``timestamp`` minus the SQL number of ``days``."""
    if is_postgres():
        return f"{timestamp} - make_interval(days => {days})"
    return f"datetime({timestamp}, '-' || ({days}) || ' days')"


def now() -> str:
    """The current time as a column default would write it."""
    return "now()" if is_postgres() else "CURRENT_TIMESTAMP"


def updated_table(table: str, alias: str) -> str:
    """The target of an UPDATE with an alias (SQLite wants ``AS``)."""
    return f"{table} {alias}" if is_postgres() else f"{table} AS {alias}"


def returned(alias: str, *columns: str) -> str:
    """An UPDATE's RETURNING list (SQLite names the updated table's columns bare)."""
    if is_postgres():
        return ", ".join(f"{alias}.{column}" for column in columns)
    return ", ".join(columns)


def upsert_from_select() -> str:
    """What an ``INSERT ... SELECT ... ON CONFLICT`` with no WHERE needs before ON
    CONFLICT: SQLite would read the ON as a join's."""
    return "" if is_postgres() else "WHERE true"


def lock_rows(clause: str) -> str:
    """A row-locking clause (``FOR UPDATE OF c SKIP LOCKED``), where the database has
    them; SQLite locks the whole database for a write transaction anyway."""
    return clause if is_postgres() else ""


def commit_without_flush(cursor: object) -> None:
    """Let this transaction's commit skip waiting for the disk (PostgreSQL's
    synchronous_commit), for writes the caller can repeat after a crash."""
    if is_postgres():
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


# -- ORM expressions --------------------------------------------------------------------

class JsonText(Func):
    """A JSON key's value as text, as PostgreSQL's ``->>`` gives it (a number's digits, a
    string's text): wrap a ``KeyTextTransform`` so lookups on it are text lookups on every
    database. PostgreSQL's SQL is the transform's own; SQLite's JSON_EXTRACT answers a
    number as a number, and Django's JSON lookups read the other side as JSON (a plain
    string is "malformed JSON" there), so it is cast to text."""

    output_field = TextField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        return compiler.compile(self.source_expressions[0])

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST({sql} AS TEXT)", params
