"""Insert many rows of one model at once, returning their primary keys in order.

On PostgreSQL the rows stream through `COPY … FROM STDIN`, with their ids drawn from the table's
sequence first so they come back in order: the cost per row is a tuple in Python and the row's
writes in the database. Elsewhere it falls back to `bulk_create`. Only plain column values are
taken: field defaults, `save()` and signals are not run, so callers pass every column the row needs.

`insert_new_rows` is for rows a unique constraint may already hold: one `INSERT … SELECT FROM
unnest(…) ON CONFLICT DO NOTHING` (the columns travel as arrays, one parameter each), so the existing
rows are skipped by the database in the same statement rather than looked up first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, models


def _fields(model: type[models.Model], names: list[str]) -> list[models.Field]:
    return [
        model._meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name) for name in names
    ]


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert `rows` (attname → value, every row the same keys) and return the new ids in order."""
    if not rows:
        return []
    names = list(rows[0])
    if connection.vendor != "postgresql":
        return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows])]
    quote = connection.ops.quote_name
    fields = _fields(model, names)
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = ", ".join(quote(field.column) for field in fields)
    json_positions = [i for i, field in enumerate(fields) if field.db_type(connection) == "jsonb"]

    def values(row: Mapping[str, Any]) -> list[Any]:
        out = [row[name] for name in names]
        for position in json_positions:
            out[position] = json.dumps(out[position])
        return out

    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, len(rows)],
        )
        ids = [found[0] for found in cursor.fetchall()]
        with cursor.copy(f"COPY {table} ({pk}, {columns}) FROM STDIN") as copy:
            for pk_value, row in zip(ids, rows, strict=True):
                copy.write_row([pk_value, *values(row)])
    return ids


def insert_new_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the `rows` no unique constraint already holds; returns how many were inserted."""
    if not rows:
        return 0
    names = list(rows[0])
    if connection.vendor != "postgresql":
        before = model.objects.count()
        model.objects.bulk_create([model(**row) for row in rows], ignore_conflicts=True)
        return model.objects.count() - before
    quote = connection.ops.quote_name
    fields = _fields(model, names)
    columns = ", ".join(quote(field.column) for field in fields)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    params = [[row[name] for row in rows] for name in names]  # plain column values (no JSON columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608  (names from the model)
            f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING",
            params,
        )
        return cursor.rowcount
