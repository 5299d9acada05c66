"""Benchmark searching the review queue on the 1,000,000-claim database, and what its index costs.

Usage (PostgreSQL only; migrate the database to the latest migrations first, which builds the
trigram indexes of `reviews` migration 0005):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench .venv/bin/python bench/queue_search_bench.py

For a fragment of a customer domain, a customer name, a partner name and a claim name it prints
the median (and slowest) server time of N searches after a warm-up — Django's test Client signed
in as the bench reviewer, time.perf_counter around the request — and the query count of one
request. Beside them, in the same run, the equivalent raw SQL: the matching partners' ids, then the
same page (the queue page's SELECT of `bench/queue_bench.py`, narrowed by the same search).
Target: at most 150 ms median each.

Then the cost of the indexes to writers: single-row UPDATEs of claims that change an indexed
deadline (what every transition does, so no HOT update), timed with the trigram indexes and, in
the same transaction after DROP INDEX, without them; both rolled back, so the database is left as
it was. Options: --runs N, --updates N, --explain.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "true")  # development settings, as before DEBUG defaulted to off

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.queue_bench import RAW_PAGE, REVIEWER, TARGET_MS, WARM_UP, timed  # noqa: E402
from reviews.competing import HELD_STATUSES  # noqa: E402
from reviews.sla import due_soon_edge  # noqa: E402

TRIGRAM_INDEXES = (
    "claim_search_name_trgm",
    "claim_search_customer_name_trgm",
    "claim_search_customer_domain_trgm",
)
# The admin's search, by hand: the three text columns as the indexes hold them, and the partners
# looked up first and matched by id. (Inside the one statement, `partner_id = ANY(ARRAY(SELECT …))`
# is an array the planner cannot see: it guesses 1% of the table, walks the queue index and reads
# 950,000 rows, 1–2 s. Two statements are the fast way by hand too.)
RAW_PARTNERS = "SELECT id FROM claims_partner WHERE UPPER(name::text) LIKE UPPER(%(like)s)"
RAW_SEARCH = """
 AND (UPPER(c.name::text) LIKE UPPER(%(like)s)
      OR UPPER(c.customer_name::text) LIKE UPPER(%(like)s)
      OR UPPER(c.customer_domain::text) LIKE UPPER(%(like)s){partners})
"""
RAW_QUERIES = 2
# Fragments of what build_million.py writes: customer<N % 50000>.example, "Customer <N % 50000>",
# "Bench Partner 0001".."1000", "Bench claim <N>".
CASES = [
    ("customer-domain fragment", "ustomer4321.exa"),
    ("customer-name fragment", "tomer 4321"),
    ("partner-name fragment", "partner 0421"),
    ("claim-name fragment", "claim 98765"),
]
UPDATE = "UPDATE claims_claim SET review_due_at = review_due_at + interval '1 second', updated_at = now() WHERE id = %s"


def page(client: Client, url: str, params: dict[str, str]) -> Callable[[], object]:
    def get() -> object:
        response = client.get(url, params)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} {params} answered {response.status_code}")
        return response

    return get


def raw(term: str) -> Callable[[], object]:
    def run() -> object:
        now = timezone.now()
        like = f"%{term}%"
        with connection.cursor() as cursor:
            cursor.execute(RAW_PARTNERS, {"like": like})
            partners = [row[0] for row in cursor.fetchall()]
            search = RAW_SEARCH.format(partners=" OR c.partner_id = ANY(%(partners)s)" if partners else "")
            cursor.execute(
                RAW_PAGE.format(extra=search),
                {
                    "now": now,
                    "soon": due_soon_edge(now),
                    "held": list(HELD_STATUSES),
                    "like": like,
                    "partners": partners,
                },
            )
            return cursor.fetchall()

    return run


def update_costs(ids: list[int]) -> tuple[list[float], list[float]]:
    """Per-UPDATE ms with the trigram indexes, then without them; the transaction is rolled back."""

    def each() -> list[float]:
        times = []
        with connection.cursor() as cursor:
            for pk in ids:
                started = time.perf_counter()
                cursor.execute(UPDATE, [pk])
                times.append((time.perf_counter() - started) * 1000)
        return times

    with_index: list[float] = []
    without: list[float] = []
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = on")
            each()  # warm the pages the updates touch, so both runs read from memory
            with_index = each()
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX " + ", ".join(TRIGRAM_INDEXES))
            without = each()
            raise _RollBack
    except _RollBack:
        pass
    return with_index, without


class _RollBack(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--updates", type=int, default=5000, help="single-row UPDATEs per measurement")
    parser.add_argument("--explain", action="store_true", help="print the plan of each search's main query")
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark database must be PostgreSQL: set DATABASE_URL=postgres://…/cpor_bench")
    settings.DEBUG = False
    reviewer = get_user_model().objects.filter(username=REVIEWER).first()
    if reviewer is None:
        sys.exit(f"{REVIEWER} is missing: build the database with bench/build_million.py")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(TRIGRAM_INDEXES)])
        present = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'claims_claim'")
        claims = cursor.fetchone()[0]
    if present != set(TRIGRAM_INDEXES):
        sys.exit("The trigram indexes are missing: run `manage.py migrate` on the benchmark database")
    client = Client()
    client.force_login(reviewer)
    queue = reverse("admin:claims_claim_changelist")

    print(f"claims (estimate): {claims:,}   runs: {args.runs} after {WARM_UP} warm-up")
    print(
        f"{'search':26} {'term':18} {'median ms':>10} {'max ms':>8} {'queries':>8}   "
        f"{'raw SQL median ms':>18} {'raw queries':>12}"
    )
    failed = False
    for label, term in CASES:
        params = {"q": term}
        with CaptureQueriesContext(connection) as captured:
            response = page(client, queue, params)()
        queries = len(captured.captured_queries)
        main_query = next(
            q["sql"] for q in captured.captured_queries if 'ORDER BY "claims_claim"."sla_due_at"' in q["sql"]
        )
        if args.explain:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + main_query)
                print("\n".join(row[0] for row in cursor.fetchall()))
        rows = response.content.count(b'name="_selected_action"')
        raw_rows = len(raw(term)())
        django_ms = timed(args.runs, page(client, queue, params))
        raw_ms = timed(args.runs, raw(term))
        median = statistics.median(django_ms)
        print(
            f"{label:26} {term!r:18} {median:10.1f} {max(django_ms):8.1f} {queries:8d}   "
            f"{statistics.median(raw_ms):18.1f} {RAW_QUERIES:12d}   ({rows} rows on the page, raw {raw_rows})"
        )
        failed |= median > TARGET_MS

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM claims_claim WHERE status <> 'editing' AND review_due_at IS NOT NULL")
        candidates = [row[0] for row in cursor.fetchall()]
    ids = random.Random(7).sample(candidates, min(args.updates, len(candidates)))
    with_index, without = update_costs(ids)
    print(f"\nclaim UPDATE (deadline changed, not HOT), {len(ids)} claims, ms per UPDATE:")
    print(f"{'':26} {'median':>8} {'mean':>8} {'p99':>8}")
    for label, times in (("with the trigram indexes", with_index), ("without them", without)):
        p99 = sorted(times)[int(len(times) * 0.99) - 1]
        print(f"{label:26} {statistics.median(times):8.3f} {statistics.fmean(times):8.3f} {p99:8.3f}")
    print(
        f"added by the indexes: {statistics.median(with_index) - statistics.median(without):+.3f} ms median, "
        f"{statistics.fmean(with_index) - statistics.fmean(without):+.3f} ms mean per UPDATE"
    )
    print(f"target: median <= {TARGET_MS:.0f} ms per search: {'MISSED' if failed else 'met'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
