"""Benchmark the customer insight page (/insight/) for a partner with 2,000 associated customers.

Usage (PostgreSQL; the script migrates the database named in DATABASE_URL and adds its own partner,
"Insight Bench Partner", once; later runs reuse it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_insight_bench .venv/bin/python bench/insight_bench.py

Options: --customers N (default 2,000), --months N (18), --runs N (20), --warmup N (5).

The data: N associated claims, each naming 2 workloads on its own tenant, associated 12 months ago
(so 6 months before it and 12 after hold usage); 18 months of usage for each claimed workload and
for one workload the claim does not name (which the page must leave out), so N × 3 × 18 rows.
Rows are written with bulk_create (the benchmark is about the read, not the workflow).

It prints the median server time of /insight/ (perf_counter around each Django test Client request,
whole middleware stack, after a warm-up) for the default sort and the most expensive sort (growth
%, which needs every customer's numbers before the first page), the query count of each, and the
same for a partner with 2 customers, to show the count is constant. Target: ≤ 150 ms, constant
queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "true")  # development settings

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from claims.models import (  # noqa: E402
    Claim,
    ClaimEvent,
    Membership,
    MonthlyUsage,
    MpnId,
    Partner,
    Product,
    Tenant,
)

WORKLOADS = ("d365-sales", "d365-customer-service")
UNCLAIMED = "d365-finance"


def month_back(month: dt.date, count: int) -> dt.date:
    for _ in range(count):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def build(name: str, customers: int, months: int) -> Partner:
    """The partner `name` with `customers` associated customers and their usage (made once)."""
    partner = Partner.objects.filter(name=name).first()
    if partner is not None:
        return partner
    started = time.perf_counter()
    products = {p.code: p for p in Product.objects.filter(code__in=(*WORKLOADS, UNCLAIMED))}
    now = timezone.now()
    this_month = timezone.localdate().replace(day=1)
    first = month_back(this_month, months - 1)
    with transaction.atomic():
        partner = Partner.objects.create(name=name)
        mpn = MpnId.objects.create(partner=partner, number=str(9_000_000 + customers), location="Bench")
        user = get_user_model().objects.create_user(
            username=f"insight-{customers}", email=f"insight-{customers}@bench.example", password=None
        )
        Membership.objects.create(user=user, partner=partner, role=Membership.Role.MEMBER)
        tenants = Tenant.objects.bulk_create(
            Tenant(tenant_id=uuid.uuid4(), name=f"Bench customer {i:05d}") for i in range(customers)
        )
        claims = Claim.objects.bulk_create(
            Claim(
                name=f"Bench insight {i}",
                partner=partner,
                mpn=mpn,
                solution_area="business_applications",
                activity="usage",
                customer_name=tenant.name,
                customer_domain=f"c{i}.bench.example",
                customer_tenant_id=tenant.tenant_id,
                status=Claim.Status.ASSOCIATED,
                created_at=now - dt.timedelta(days=400),
                submitted_at=now - dt.timedelta(days=390),
            )
            for i, tenant in enumerate(tenants)
        )
        associated_at = now - dt.timedelta(days=365)
        ClaimEvent.objects.bulk_create(
            ClaimEvent(
                claim=claim,
                created_at=associated_at,
                actor_kind=ClaimEvent.ActorKind.SYSTEM,
                action=ClaimEvent.Action.CLOSE_CONSENT_WINDOW,
                from_status=Claim.Status.APPROVED,
                to_status=Claim.Status.ASSOCIATED,
            )
            for claim in claims
        )
        through = Claim.products.through
        through.objects.bulk_create(
            through(claim_id=claim.pk, product_id=products[code].pk) for claim in claims for code in WORKLOADS
        )
        month_list = [month_back(this_month, back) for back in range(months - 1, -1, -1)]
        assert month_list[0] == first
        MonthlyUsage.objects.bulk_create(
            (
                MonthlyUsage(
                    tenant=tenant,
                    product=products[code],
                    month=month,
                    active_users=(i % 97) * 3 + m * (1 + i % 5) + len(code),
                )
                for i, tenant in enumerate(tenants)
                for code in (*WORKLOADS, UNCLAIMED)
                for m, month in enumerate(month_list)
            ),
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {name}: {customers:,} customers in {time.perf_counter() - started:.1f} s")
    return partner


def measure(client: Client, url: str, *, runs: int, warmup: int) -> tuple[float, int]:
    for _ in range(warmup):
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return statistics.median(timings), len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…/cpor_insight_bench")
    call_command("migrate", verbosity=0)
    big = build(f"Insight Bench Partner {args.customers}", args.customers, args.months)
    small = build("Insight Bench Partner 2", 2, args.months)
    urls = {"default sort": "/insight/", "sort by growth %": "/insight/?sort=-growth_pct"}
    print(f"median of {args.runs} requests after {args.warmup} warm-up, Django test Client, PostgreSQL")
    print(f"{'partner':<28}{'page':<20}{'median ms':>10}{'queries':>9}")
    worst = 0.0
    counts = set()
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        for partner in (big, small):
            client = Client()
            client.force_login(partner.memberships.get().user)
            total = partner.claims.filter(status=Claim.Status.ASSOCIATED).count()
            for label, url in urls.items():
                ms, queries = measure(client, url, runs=args.runs, warmup=args.warmup)
                counts.add(queries)
                if partner == big:
                    worst = max(worst, ms)
                print(f"{f'{total:,} customers':<28}{label:<20}{ms:>10.2f}{queries:>9}")
    verdict = "OK" if worst <= 150 and len(counts) == 1 else "over target"
    print(f"target ≤ 150 ms and the same query count for 2 and {args.customers:,} customers: {verdict}")


if __name__ == "__main__":
    main()
