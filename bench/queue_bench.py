"""Benchmark the review queue on the 1,000,000-claim database (`bench/build_million.py`).

Usage (PostgreSQL only; migrate the database to the latest migrations first):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench .venv/bin/python bench/queue_bench.py

For the default queue page and the "breached" filter it prints the median (and slowest) server time
of N runs after a warm-up — Django's test Client signed in as the bench reviewer, time.perf_counter
around the request — and the query count of one request (CaptureQueriesContext). Beside them, in the
same run, a bare raw-SQL page: one cursor.execute of the equivalent SELECT of the same 100 rows
(joins, product names, SLA state, competing flag) ORDER BY sla_due_at LIMIT 100.
Target (issue 16): at most 15 ms median and at most 12 queries per page. Options: --runs N, --explain.
"""

from __future__ import annotations

import argparse
import os
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
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from reviews.competing import HELD_STATUSES  # noqa: E402
from reviews.sla import due_soon_edge  # noqa: E402

REVIEWER = "bench-reviewer@cpor.example"
TARGET_MS = 15.0
TARGET_QUERIES = 12
WARM_UP = 3

RAW_PAGE = """
SELECT c.id, c.name, c.status, c.customer_name, c.customer_domain, c.submitted_at, c.created_at,
       c.sla_due_at, p.name, m.number, u.email,
       (SELECT string_agg(pr.name, ', ' ORDER BY pr.name)
          FROM claims_claim_products cp JOIN claims_product pr ON pr.id = cp.product_id
         WHERE cp.claim_id = c.id) AS products,
       CASE WHEN c.sla_due_at IS NULL THEN ''
            WHEN c.sla_due_at <= %(now)s THEN 'breached'
            WHEN c.sla_due_at <= %(soon)s THEN 'due_soon'
            ELSE 'on_time' END AS sla_state,
       EXISTS (SELECT 1 FROM claims_claim o
                 JOIN claims_claim_products op ON op.claim_id = o.id
                 JOIN claims_claim_products cp ON cp.product_id = op.product_id AND cp.claim_id = c.id
                WHERE o.customer_tenant_id = c.customer_tenant_id AND o.partner_id <> c.partner_id
                  AND o.status = ANY(%(held)s)) AS competing
  FROM claims_claim c
  JOIN claims_partner p ON p.id = c.partner_id
  JOIN claims_mpnid m ON m.id = c.mpn_id
  LEFT JOIN auth_user u ON u.id = c.assigned_reviewer_id
 WHERE c.status <> 'editing' {extra}
 ORDER BY c.sla_due_at ASC NULLS LAST, c.id ASC
 LIMIT 100
"""


def timed(runs: int, call: Callable[[], object]) -> list[float]:
    for _ in range(WARM_UP):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def page(client: Client, url: str) -> Callable[[], object]:
    def get() -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        return response

    return get


def raw(extra: str) -> Callable[[], object]:
    def run() -> object:
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                RAW_PAGE.format(extra=extra),
                {"now": now, "soon": due_soon_edge(now), "held": list(HELD_STATUSES)},
            )
            rows = cursor.fetchall()
        if len(rows) != 100:
            raise SystemExit(f"the raw page returned {len(rows)} rows, not 100")
        return rows

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print the plan of each page's main query")
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark database must be PostgreSQL: set DATABASE_URL=postgres://…/cpor_bench")
    # The test Client on the real database, with DEBUG off as in production (no query log). Not
    # setup_test_environment(): its template instrumentation copies every context and would be timed.
    settings.DEBUG = False
    reviewer = get_user_model().objects.filter(username=REVIEWER).first()
    if reviewer is None:
        sys.exit(f"{REVIEWER} is missing: build the database with bench/build_million.py")
    client = Client()
    client.force_login(reviewer)
    queue = reverse("admin:claims_claim_changelist")
    cases = [
        ("default queue page", queue, ""),
        ("breached filter", f"{queue}?sla=breached", "AND c.sla_due_at <= %(now)s"),
    ]
    claims = connection.cursor()
    claims.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'claims_claim'")
    print(f"claims (estimate): {claims.fetchone()[0]:,}   runs: {args.runs} after {WARM_UP} warm-up")
    print(f"{'page':24} {'median ms':>10} {'max ms':>8} {'queries':>8}   {'raw SQL median ms':>18}")
    failed = False
    for label, url, extra in cases:
        with CaptureQueriesContext(connection) as captured:
            response = page(client, url)()
        # Read now: the next request's `request_started` clears the connection's query log.
        queries = len(captured.captured_queries)
        main_query = max(captured.captured_queries, key=lambda q: len(q["sql"]))["sql"]
        if args.explain:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + main_query)
                print("\n".join(row[0] for row in cursor.fetchall()))
        rows = response.content.count(b'name="_selected_action"')
        django_ms = timed(args.runs, page(client, url))
        raw_ms = timed(args.runs, raw(extra))
        median = statistics.median(django_ms)
        print(
            f"{label:24} {median:10.1f} {max(django_ms):8.1f} {queries:8d}   "
            f"{statistics.median(raw_ms):18.1f}   ({rows} rows)"
        )
        failed |= median > TARGET_MS or queries > TARGET_QUERIES
    print(
        f"target: median <= {TARGET_MS:.0f} ms, queries <= {TARGET_QUERIES}: {'MISSED' if failed else 'met'}"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
