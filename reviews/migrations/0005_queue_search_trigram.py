"""Trigram indexes for searching the review queue by part of a claim name, customer name or domain.

The queue's search is `icontains`, which Django writes on PostgreSQL as
`UPPER(col::text) LIKE UPPER('%fragment%')`: a GIN index with `gin_trgm_ops` on that same
expression serves it, each column its own index so an OR of the three is a BitmapOr. Only claims
past the draft stage are indexed (the queue never shows drafts), so a partner editing a draft does
not pay for them. Partner names need no index: there are few partners, and the search resolves the
matching partners first.

PostgreSQL only (SQLite has no pg_trgm); built CONCURRENTLY so a live table keeps taking writes.
"""

from django.db import migrations

INDEXES = {
    "claim_search_name_trgm": "name",
    "claim_search_customer_name_trgm": "customer_name",
    "claim_search_customer_domain_trgm": "customer_domain",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON claims_claim "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops) WHERE NOT (status = 'editing')"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("claims", "0008_event_indexes"),
        ("reviews", "0004_checklist_missing"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
