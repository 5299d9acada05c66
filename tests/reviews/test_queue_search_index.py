"""Searching the queue by part of a name or domain is served by trigram indexes on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Claim
from tests.factories import claim_in, reviewer

from .admin_pages import client_for, queue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
S = Claim.Status
TRIGRAM_INDEXES = {
    "claim_search_name_trgm",
    "claim_search_customer_name_trgm",
    "claim_search_customer_domain_trgm",
}


def test_the_migration_builds_one_trigram_index_per_searched_column() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'claims_claim'")
        found = dict(cursor.fetchall())

    assert TRIGRAM_INDEXES <= set(found)
    for name in TRIGRAM_INDEXES:
        assert "gin_trgm_ops" in found[name] and "upper(" in found[name].lower()


def test_the_queue_search_is_written_on_the_indexed_expressions() -> None:
    """Each text arm is `UPPER(col::text) LIKE UPPER(%…%)`, the expression the indexes hold; the
    partner is matched by id (an index on claims), never by a join inside the OR. That the planner
    then takes the BitmapOr of the trigram indexes is measured at 1,000,000 claims by
    `bench/queue_search_bench.py --explain` (a small test table is read faster without them)."""
    claim = claim_in(
        S.SUBMITTED,
        name="Fabrikam pilot",
        customer_name="Lucerne Publishing",
        customer_domain="tailspin.example",
    )
    client = client_for(reviewer())

    with CaptureQueriesContext(connection) as captured:
        response = client.get(queue(), {"q": claim.partner.name[:6]})

    assert response.status_code == 200
    page_query = next(
        q["sql"] for q in captured.captured_queries if 'ORDER BY "claims_claim"."sla_due_at"' in q["sql"]
    )
    where = page_query.split(" WHERE ", 1)[1]
    for column in ("name", "customer_name", "customer_domain"):
        assert f'UPPER("claims_claim"."{column}"::text) LIKE UPPER(' in where, column
    assert f'"claims_claim"."partner_id" IN ({claim.partner_id})' in where
    assert 'UPPER("claims_partner"."name"' not in where
