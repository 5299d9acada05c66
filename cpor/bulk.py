"""Insert many rows of one model at once, returning their primary keys in order.

On PostgreSQL the rows stream through `COPY … FROM STDIN`, with their ids drawn from the table's
sequence first so they come back in order: the cost per row is a tuple in Python and the row's
writes in the database. Elsewhere it falls back to `bulk_create`. Only plain column values are
taken: field defaults, `save()` and signals are not run, so callers pass every column the row needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, models


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert `rows` (attname → value, every row the same keys) and return the new ids in order."""
    if not rows:
        return []
    names = list(rows[0])
    if connection.vendor != "postgresql":
        return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows])]
    quote = connection.ops.quote_name
    fields = [
        model._meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name) for name in names
    ]
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
