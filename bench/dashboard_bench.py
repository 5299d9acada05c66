"""Benchmark the Customer Associations dashboard of the big partner against a bare view.

Usage (after bench/build_million.py has built the database; migrate it first if needed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench .venv/bin/python bench/dashboard_bench.py

Options: --runs N (default 20), --warmup N (default 5), --rounds N (default 3),
--user EMAIL (default bench-admin@partner1.example).

Every view answers through the Django test Client, with the whole middleware stack and the same
signed-in session, on the same database, in the same run:

- the dashboard: `/claims/` (counts per status, chart, filters form, page layout, 25 rows);
- the bare view: ONE raw SELECT for the same page of 25 rows (with their product names), rendered
  with the dashboard's own row template (`claims/dashboard_rows.html`): the same rows, in the same
  HTML, with nothing else — no ORM, no counts, no chart, no filters, no layout;
- the plain floor: the same raw SELECT written out as a bare HTML table with an f-string (no
  template engine at all), printed for reference.

It prints the median server time (perf_counter around each request, after a warm-up), the number
of queries, and the ratio. Target (issue 16): the dashboard at most 1.3x the bare view, at most 10 queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "true")  # development settings, as before DEBUG defaulted to off

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from claims.models import Activity, Claim  # noqa: E402
from claims.selectors import PAGE_SIZE, DashboardRow  # noqa: E402
from cpor.deadlines import describe_deadline  # noqa: E402

DEADLINES = list(Claim.DEADLINE_BY_STATUS.values())
BARE_SQL = f"""
SELECT c.id, c.name, c.customer_name, c.customer_domain, c.customer_tenant_id, c.activity, c.status,
       c.submitted_at, {", ".join(f"c.{name}" for name in DEADLINES)},
       (SELECT string_agg(p.name, ', ' ORDER BY p.name)
          FROM claims_claim_products cp JOIN claims_product p ON p.id = cp.product_id
         WHERE cp.claim_id = c.id)
  FROM claims_claim c
 WHERE c.partner_id = (SELECT partner_id FROM claims_membership WHERE user_id = %s)
 ORDER BY c.created_at DESC, c.id DESC
 LIMIT {PAGE_SIZE}
"""


def _select_page(request: HttpRequest) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(BARE_SQL, [request.user.pk])
        return cursor.fetchall()


@login_required
def bare_dashboard(request: HttpRequest) -> HttpResponse:
    """The same page of rows as the dashboard, from one raw SELECT, in the dashboard's row template."""
    now = timezone.now()
    statuses, activities = dict(Claim.Status.choices), dict(Activity.choices)
    rows = []
    for pk, name, customer, domain, tenant, activity, status, submitted, *deadlines, products in _select_page(
        request
    ):
        field = Claim.DEADLINE_BY_STATUS.get(status)
        at = deadlines[DEADLINES.index(field)] if field else None
        rows.append(
            DashboardRow(
                pk=pk,
                name=name,
                customer_name=customer,
                customer_domain=domain,
                customer_tenant_id=tenant,
                activity=activity,
                activity_label=str(activities.get(activity, activity)),
                status=status,
                status_label=str(statuses.get(status, status)),
                submitted_at=submitted,
                deadline=describe_deadline(field, at, now),
                product_names=products or "",
            )
        )
    return render(request, "claims/dashboard_rows.html", {"rows": rows})


@login_required
def plain_table(request: HttpRequest) -> HttpResponse:
    """The floor: the raw SELECT as an f-string table, no template engine."""
    cells = "".join(
        "<tr>" + "".join(f"<td>{escape(str(value))}</td>" for value in row) + "</tr>"
        for row in _select_page(request)
    )
    return HttpResponse(f"<!doctype html><title>bare</title><table>{cells}</table>")


urls = types.ModuleType("bench_urls")
urls.urlpatterns = [
    path("bench/bare/", bare_dashboard),
    path("bench/plain/", plain_table),
    path("", include("cpor.urls")),
]
sys.modules["bench_urls"] = urls


def measure(client: Client, url: str, *, runs: int, warmup: int) -> tuple[float, int, int]:
    """Median milliseconds over `runs` requests after `warmup`, the query count, the response size."""
    for _ in range(warmup):
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return statistics.median(timings), len(captured), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--user", default="bench-admin@partner1.example")
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…/cpor_bench")
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        sys.exit("The benchmark database has unapplied migrations: run `manage.py migrate` on it first.")

    user = get_user_model().objects.get(email=args.user)
    partner = user.membership.partner
    total = partner.claims.count()
    with override_settings(ROOT_URLCONF="bench_urls", DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        client = Client()
        client.force_login(user)
        # Interleaved rounds, so a noisy neighbour slows every view alike; medians over all rounds.
        results: dict[str, list[tuple[float, int, int]]] = {"dashboard": [], "bare": [], "plain": []}
        urls_by_view = {"dashboard": "/claims/", "bare": "/bench/bare/", "plain": "/bench/plain/"}
        for _ in range(args.rounds):
            for view, url in urls_by_view.items():
                results[view].append(measure(client, url, runs=args.runs, warmup=args.warmup))
        assert b"Bench claim" in client.get("/bench/bare/").content

    def summary(view: str) -> tuple[float, int, int]:
        rounds = results[view]
        return statistics.median(r[0] for r in rounds), rounds[-1][1], rounds[-1][2]

    dashboard_ms, dashboard_queries, dashboard_bytes = summary("dashboard")
    bare_ms, bare_queries, bare_bytes = summary("bare")
    plain_ms, plain_queries, plain_bytes = summary("plain")
    print(f"database: {settings.DATABASES['default']['NAME']} · {partner.name}: {total:,} claims")
    print(
        f"median of {args.rounds} rounds × {args.runs} requests (after {args.warmup} warm-up each), "
        "Django test Client, same session"
    )
    print(f"{'view':<34}{'median ms':>10}{'queries':>9}{'bytes':>9}")
    print(f"{'dashboard /claims/':<34}{dashboard_ms:>10.2f}{dashboard_queries:>9}{dashboard_bytes:>9,}")
    print(f"{'bare: 1 raw SELECT + row template':<34}{bare_ms:>10.2f}{bare_queries:>9}{bare_bytes:>9,}")
    print(f"{'plain: 1 raw SELECT, f-string HTML':<34}{plain_ms:>10.2f}{plain_queries:>9}{plain_bytes:>9,}")
    ratio = dashboard_ms / bare_ms
    verdict = "OK" if ratio <= 1.3 and dashboard_queries <= 10 else "over target"
    print(f"ratio dashboard / bare: {ratio:.2f}x (target ≤ 1.3x and ≤ 10 queries): {verdict}")
    print(f"ratio dashboard / plain floor: {dashboard_ms / plain_ms:.2f}x (reference)")


if __name__ == "__main__":
    main()
