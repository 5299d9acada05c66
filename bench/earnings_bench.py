"""Benchmark the monthly earnings job against one raw SQL INSERT … SELECT writing the same lines.

Usage (PostgreSQL; the script migrates the database named in DATABASE_URL and builds its data once,
keyed by the month it assesses; later runs reuse it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_earnings_bench .venv/bin/python bench/earnings_bench.py

Options: --associations N (default 100,000), --months N of usage (18), --rounds N (3).

The data (written in SQL and bulk_create: the benchmark is about the job, not the workflow): N
associations of 200 partners, each on its own tenant with two claimed workloads; 70 % OSU
(active-user growth: 1.7350 per user, cap 150.00, threshold 5, CSP excluded), 30 % OSA (new seats on
a named subscription: 3.3333 per seat, cap 500.00), associated over the 12 months before the month
assessed, 5 % ended before it; 18 months of usage for both workloads of every tenant (N × 36 rows).

Each round, on the same database, after ANALYZE and CHECKPOINT, with the month's lines and
statements removed first:
- `earnings.ledger.assess_month(M)`, the beat job's and the command's code path: wall time, peak
  Python memory (tracemalloc) and peak RSS growth (VmHWM, reset before the run);
- the raw baseline: one INSERT of the month's draft statements and one INSERT … SELECT of every
  line (GROUP BY over joins, rounding with numeric round()): the same measures;
- the two ledgers compared line by line (association, units, amount, cap applied, rule, currency,
  statement): they must be identical.
It prints each round and the median ratio (target ≤ 3×). Memory: the job holds one batch's partner
ids and statement ids at a time (ASSESS_BATCH associations), never a line; its peak is printed
beside the number of lines written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from claims.models import Claim, MpnId, Partner, Product  # noqa: E402
from earnings import ledger  # noqa: E402
from earnings.ledger import add_months, assess_month, month_of, month_starts  # noqa: E402
from earnings.models import Metric, ProgrammeRule  # noqa: E402

WORKLOADS = ("d365-sales", "d365-customer-service")
PARTNERS = 200
RULES_FROM = dt.date(2024, 1, 1)


def run(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measured(call: Callable[[], Any]) -> tuple[float, int, int, Any]:
    """Wall seconds, tracemalloc peak (KiB) and peak RSS growth (KiB) of `call`, and its result."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS) to the current RSS
    rss_before = rss_kib("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak // 1024, max(rss_kib("VmHWM") - rss_before, 0), result


def rules() -> tuple[ProgrammeRule, ProgrammeRule]:
    osu = ProgrammeRule.objects.filter(programme="osu", effective_from=RULES_FROM).first()
    if osu is None:
        osu = ProgrammeRule.objects.create(
            programme="osu",
            effective_from=RULES_FROM,
            metric=Metric.ACTIVE_USER_GROWTH,
            rate="1.7350",
            currency="USD",
            monthly_cap="150.00",
            minimum_units=5,
            eligible_months=24,
            excluded_channels=["csp"],
            is_example=True,
        )
        osu.workloads.set(Product.objects.filter(code__in=WORKLOADS))
    osa = ProgrammeRule.objects.filter(programme="osa", effective_from=RULES_FROM).first()
    if osa is None:
        osa = ProgrammeRule.objects.create(
            programme="osa",
            effective_from=RULES_FROM,
            metric=Metric.NEW_SEATS,
            rate="3.3333",
            currency="EUR",
            monthly_cap="500.00",
            minimum_units=0,
            eligible_months=24,
            is_example=True,
        )
        osa.workloads.set(Product.objects.filter(code__in=WORKLOADS))
    return osu, osa


def build(label: str, associations: int, month: dt.date, months: int) -> None:
    """The associations, their claims, tenants, subscriptions and usage (made once per label)."""
    if Partner.objects.filter(name=f"{label} partner 0").exists():
        return
    started = time.perf_counter()
    products = list(Product.objects.filter(code__in=WORKLOADS).values_list("id", flat=True))
    now = timezone.now()
    with transaction.atomic():
        partners = Partner.objects.bulk_create(Partner(name=f"{label} partner {i}") for i in range(PARTNERS))
        mpns = MpnId.objects.bulk_create(
            MpnId(partner=p, number=str(7_000_000 + associations % 997 * 1000 + i), location="Bench")
            for i, p in enumerate(partners)
        )
        for start in range(0, associations, 10_000):
            Claim.objects.bulk_create(
                Claim(
                    name=f"{label} {i}",
                    partner=partners[i % PARTNERS],
                    mpn=mpns[i % PARTNERS],
                    solution_area="business_applications",
                    activity="presales" if i % 10 < 3 else "usage",
                    customer_name=f"{label} customer {i}",
                    customer_domain=f"c{i}.bench.example",
                    customer_tenant_id=uuid.uuid4(),
                    subscription_id=uuid.uuid4() if i % 10 < 3 else None,
                    status=Claim.Status.ASSOCIATED,
                    created_at=now,
                    submitted_at=now,
                )
                for i in range(start, min(start + 10_000, associations))
            )
        like = f"{label} %"
        run(
            "INSERT INTO claims_tenant (tenant_id, name) SELECT customer_tenant_id, customer_name"
            " FROM claims_claim WHERE name LIKE %s",
            [like],
        )
        run(
            "INSERT INTO claims_claim_products (claim_id, product_id) SELECT c.id, p FROM claims_claim c"
            " CROSS JOIN unnest(%s::bigint[]) p WHERE c.name LIKE %s",
            [products, like],
        )
        run(
            "INSERT INTO claims_subscription (subscription_id, tenant_id, product_id, channel, status, seats,"
            " start_date, updated_at) SELECT c.subscription_id, t.id, %s,"
            " CASE WHEN c.id %% 10 = 0 THEN 'csp' ELSE 'ea' END, 'active', 50 + c.id %% 200, '2024-01-01', now()"
            " FROM claims_claim c JOIN claims_tenant t ON t.tenant_id = c.customer_tenant_id"
            " WHERE c.name LIKE %s AND c.subscription_id IS NOT NULL",
            [products[0], like],
        )
        first = month_starts(add_months(month, -11))
        following = month_starts(add_months(month, 1))
        span = (following - first).total_seconds()
        run(
            "INSERT INTO earnings_assessmenthandoff (claim_id, partner_id, programme, payment_eligible,"
            " queued_at, tenant_id, subscription_id, channel, baseline_seats, eligible, reasons,"
            " assessed_at, ended_at)"
            " SELECT c.id, c.partner_id, CASE c.activity WHEN 'presales' THEN 'osa' ELSE 'osu' END, TRUE,"
            " q.at, c.customer_tenant_id, c.subscription_id, COALESCE(s.channel, ''),"
            " CASE WHEN s.id IS NULL THEN NULL ELSE 40 + c.id %% 150 END, TRUE, '[]'::jsonb, q.at,"
            " CASE WHEN c.id %% 20 = 0 THEN q.at + interval '20 days' END"
            " FROM claims_claim c"
            " CROSS JOIN LATERAL (SELECT %s::timestamptz + (c.id * 7919 %% 1000) / 1000.0 * %s"
            "   * interval '1 second' AS at) q"
            " LEFT JOIN claims_subscription s ON s.subscription_id = c.subscription_id"
            " WHERE c.name LIKE %s",
            [first, span, like],
        )
        run(
            "INSERT INTO earnings_assessmenthandoff_products (assessmenthandoff_id, product_id)"
            " SELECT h.id, cp.product_id FROM earnings_assessmenthandoff h"
            " JOIN claims_claim_products cp ON cp.claim_id = h.claim_id JOIN claims_claim c ON c.id = h.claim_id"
            " WHERE c.name LIKE %s",
            [like],
        )
        run(
            "INSERT INTO claims_monthlyusage (tenant_id, product_id, month, active_users)"
            " SELECT t.id, p, m::date, (t.id * 31 + p * 17 + extract(month FROM m)::int * 13) %% 400"
            " FROM claims_tenant t CROSS JOIN unnest(%s::bigint[]) p"
            " CROSS JOIN generate_series(%s::date, %s::date, interval '1 month') m WHERE t.name LIKE %s",
            [products, add_months(month, 1 - months), month, f"{label} customer %"],
        )
    run("ANALYZE")
    print(f"built {associations:,} associations ({label}) in {time.perf_counter() - started:.1f} s")


RAW_STATEMENTS = """
INSERT INTO earnings_statement (partner_id, month, status, created_at, payment_reference)
SELECT DISTINCT h.partner_id, %(month)s::date, 'draft', %(now)s, '' FROM earnings_assessmenthandoff h
WHERE h.eligible AND h.queued_at < %(following)s
ON CONFLICT DO NOTHING
"""

# The same lines in one statement: the association month and its baseline from date_trunc in the
# site's zone, usage summed over a join and GROUP BY, money in numeric with round() (half away from
# zero, which is half up for these non-negative amounts).
RAW_LINES = """
INSERT INTO earnings_earningsline (kind, partner_id, assessment_id, programme, month, tenant_id,
    subscription_id, rule_id, metric, units, rate, minimum_units, cap, cap_applied, amount, currency,
    revision, reverses_id, reversal_reason, statement_id, created_at)
SELECT 'earning', a.partner_id, a.id, a.programme, %(month)s::date, a.tenant_id, a.subscription_id, r.id,
    r.metric, a.units, r.rate, r.minimum_units, r.monthly_cap,
    a.units >= r.minimum_units AND r.monthly_cap IS NOT NULL AND a.units * r.rate > r.monthly_cap,
    CASE WHEN a.units < r.minimum_units THEN 0
         ELSE round(LEAST(a.units * r.rate, COALESCE(r.monthly_cap, a.units * r.rate)), 2) END,
    r.currency, 0, NULL, '', s.id, %(now)s
FROM (
    SELECT h.id, h.partner_id, h.programme, h.tenant_id, h.subscription_id,
        GREATEST(0, COALESCE(SUM(u.active_users) FILTER (WHERE u.month = %(month)s::date), 0)
            - COALESCE(SUM(u.active_users) FILTER (WHERE u.month <> %(month)s::date), 0)) AS units
    FROM earnings_assessmenthandoff h
    JOIN claims_tenant t ON t.tenant_id = h.tenant_id
    JOIN earnings_assessmenthandoff_products q ON q.assessmenthandoff_id = h.id
    LEFT JOIN claims_monthlyusage u ON u.tenant_id = t.id AND u.product_id = q.product_id
        AND u.month IN (%(month)s::date,
            (date_trunc('month', h.queued_at AT TIME ZONE %(zone)s) - interval '1 month')::date)
    WHERE h.programme = 'osu' AND h.eligible AND h.queued_at >= %(osu_first)s
        AND h.queued_at < %(following)s AND (h.ended_at IS NULL OR h.ended_at >= %(following)s)
        AND h.channel <> 'csp' AND q.product_id = ANY(%(osu_workloads)s)
    GROUP BY h.id
    UNION ALL
    SELECT h.id, h.partner_id, h.programme, h.tenant_id, h.subscription_id,
        GREATEST(0, COALESCE(s.seats, 0) - h.baseline_seats)
    FROM earnings_assessmenthandoff h
    JOIN claims_tenant t ON t.tenant_id = h.tenant_id
    LEFT JOIN claims_subscription s ON s.subscription_id = h.subscription_id AND s.tenant_id = t.id
    WHERE h.programme = 'osa' AND h.eligible AND h.queued_at >= %(osa_first)s
        AND h.queued_at < %(following)s AND (h.ended_at IS NULL OR h.ended_at >= %(following)s)
) a
JOIN earnings_programmerule r ON r.id = CASE a.programme WHEN 'osu' THEN %(osu)s ELSE %(osa)s END
JOIN earnings_statement s ON s.partner_id = a.partner_id AND s.month = %(month)s::date
ON CONFLICT DO NOTHING
"""


def raw(month: dt.date, now: dt.datetime, osu: ProgrammeRule, osa: ProgrammeRule) -> int:
    params = {
        "month": month,
        "now": now,
        "following": month_starts(add_months(month, 1)),
        "zone": settings.TIME_ZONE,
        "osu": osu.pk,
        "osa": osa.pk,
        "osu_first": month_starts(add_months(month, 1 - osu.eligible_months)),
        "osa_first": month_starts(add_months(month, 1 - osa.eligible_months)),
        "osu_workloads": sorted(osu.workloads.values_list("id", flat=True)),
    }
    with transaction.atomic():
        run(RAW_STATEMENTS, params)
        return run(RAW_LINES, params)


def clear(month: dt.date) -> None:
    # The ledger refuses deletes through the model (append-only); the benchmark empties its month.
    run("DELETE FROM earnings_earningsline WHERE month = %s", [month])
    run("DELETE FROM earnings_statement WHERE month = %s", [month])
    run("ANALYZE earnings_earningsline")
    run("ANALYZE earnings_statement")
    run("CHECKPOINT")


def lines(month: dt.date) -> set[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.assessment_id, l.units, l.amount, l.cap_applied, l.rule_id, l.currency, s.partner_id,"
            " s.month, s.status FROM earnings_earningsline l JOIN earnings_statement s ON s.id = l.statement_id"
            " WHERE l.month = %s",
            [month],
        )
        return set(cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--associations", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…/cpor_earnings_bench")
    call_command("migrate", verbosity=0)
    now = timezone.now()
    month = add_months(month_of(now), -1)
    osu, osa = rules()
    build(f"Earnings bench {month:%Y-%m} {args.associations}", args.associations, month, args.months)

    print(
        f"assess {month:%Y-%m} on PostgreSQL, {args.associations:,} associations, batches of {ledger.ASSESS_BATCH:,}"
    )
    print(
        f"{'round':<7}{'job s':>8}{'raw s':>8}{'ratio':>7}{'job peak KiB':>14}{'job RSS+ KiB':>14}"
        f"{'raw peak KiB':>14}{'lines':>9}{'same':>6}"
    )
    ratios = []
    for round_ in range(1, args.rounds + 1):
        clear(month)
        job_s, job_peak, job_rss, result = measured(lambda: assess_month(month, now=now))
        ours = lines(month)
        clear(month)
        raw_s, raw_peak, _raw_rss, written = measured(lambda: raw(month, now, osu, osa))
        theirs = lines(month)
        same = ours == theirs and result.written == written == len(ours)
        ratios.append(job_s / raw_s)
        print(
            f"{round_:<7}{job_s:>8.2f}{raw_s:>8.2f}{job_s / raw_s:>7.2f}{job_peak:>14,}{job_rss:>14,}"
            f"{raw_peak:>14,}{len(ours):>9,}{'yes' if same else 'NO':>6}"
        )
        if not same:
            print(
                f"  differ: {len(ours - theirs)} lines only from the job, {len(theirs - ours)} only from raw SQL"
            )
    clear(month)
    median = statistics.median(ratios)
    print(f"median ratio job / raw SQL: {median:.2f} (target ≤ 3): {'OK' if median <= 3 else 'over target'}")


if __name__ == "__main__":
    main()
