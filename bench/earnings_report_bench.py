"""Benchmark the partner's earnings report (/earnings/) over a 1,000,000-line ledger.

Usage (PostgreSQL; the script migrates the database named in DATABASE_URL and builds its data once,
partners named "Report Bench …"; later runs reuse them):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_report_bench .venv/bin/python bench/earnings_report_bench.py

Options: --partners N (20), --associations N per partner (2,500), --months N (20), --runs N (20),
--warmup N (5).

The data (defaults): 20 partners × 2,500 associations × 20 months = 1,000,000 earning lines, so the
measured partner holds 50,000 of them among 950,000 of others. Each partner's customers are 1,250
tenants with two associations each (OSU paid in USD per active user gained, capped; OSA a fee in
EUR), every other association naming a subscription; one statement per partner and month, all but
the last two approved (their totals frozen) or paid. Claims and hand-offs are written with
bulk_create, the lines with one INSERT … SELECT (the benchmark is about the read, not the job).

It prints the median server time of /earnings/ (perf_counter around each Django test Client request,
whole middleware stack, DEBUG off, after a warm-up) for a Global admin: unfiltered, filtered by
tenant, by subscription, by programme and month range, and a page deep in the keyset (lines older
than the middle one), each with its query count and the time its queries took in one request; then the same pages for a partner holding 2 lines,
to show the count does not grow with the ledger. Target: ≤ 150 ms median filtered by tenant, with
constant queries.
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

from decimal import Decimal  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from claims.models import Claim, Membership, MpnId, Partner, Programme  # noqa: E402
from earnings.models import (  # noqa: E402
    AssessmentHandoff,
    Currency,
    EarningsLine,
    Metric,
    ProgrammeRule,
    Statement,
)

PREFIX = "Report Bench"


def month_back(month: dt.date, count: int) -> dt.date:
    for _ in range(count):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def rules() -> dict[str, ProgrammeRule]:
    """One bench version per programme, from long ago so it is in force for every month built."""
    start = dt.date(2001, 1, 1)
    osu, _ = ProgrammeRule.objects.get_or_create(
        programme=Programme.OSU,
        effective_from=start,
        defaults={
            "metric": Metric.ACTIVE_USER_GROWTH,
            "rate": Decimal("2.5"),
            "currency": Currency.USD,
            "monthly_cap": Decimal("150.00"),
            "minimum_units": 5,
            "eligible_months": 36,
            "is_example": True,
        },
    )
    osa, _ = ProgrammeRule.objects.get_or_create(
        programme=Programme.OSA,
        effective_from=start,
        defaults={
            "metric": Metric.ONE_TIME_FEE,
            "rate": Decimal("250"),
            "currency": Currency.EUR,
            "monthly_cap": None,
            "minimum_units": 0,
            "eligible_months": 36,
            "is_example": True,
        },
    )
    return {Programme.OSU: osu, Programme.OSA: osa}


def build_partner(index: int, associations: int, months: int, rule_of: dict[str, ProgrammeRule]) -> Partner:
    """One partner with `associations` hand-offs and a line for each in each of `months` months."""
    name = f"{PREFIX} {index:02d} ({associations} × {months})"
    partner = Partner.objects.filter(name=name).first()
    if partner is not None:
        return partner
    now = timezone.now()
    this_month = timezone.localdate().replace(day=1)
    first = month_back(this_month, months)
    with transaction.atomic():
        partner = Partner.objects.create(name=name)
        mpn = MpnId.objects.create(
            partner=partner, number=str(8_000_000 + index * 10_000 + associations % 10_000), location="Bench"
        )
        user = get_user_model().objects.create_user(
            username=f"report-bench-{index}-{associations}",
            email=f"report-{index}-{associations}@bench.example",
            password=None,
        )
        Membership.objects.create(user=user, partner=partner, role=Membership.Role.GLOBAL_ADMIN)
        tenants = [uuid.uuid4() for _ in range(max(associations // 2, 1))]
        claims = Claim.objects.bulk_create(
            (
                Claim(
                    name=f"Bench earnings {index}-{i}",
                    partner=partner,
                    mpn=mpn,
                    solution_area="business_applications",
                    activity="usage" if i % 2 == 0 else "presales",
                    customer_name=f"Bench customer {i // 2:05d}",
                    customer_domain=f"c{i // 2}.p{index}.bench.example",
                    customer_tenant_id=tenants[(i // 2) % len(tenants)],
                    subscription_id=uuid.uuid4() if i % 4 < 2 else None,
                    status=Claim.Status.ASSOCIATED,
                    created_at=now - dt.timedelta(days=800),
                    submitted_at=now - dt.timedelta(days=790),
                )
                for i in range(associations)
            ),
            batch_size=5000,
        )
        queued_at = dt.datetime.combine(first, dt.time(12), tzinfo=dt.UTC)
        AssessmentHandoff.objects.bulk_create(
            (
                AssessmentHandoff(
                    claim=claim,
                    partner=partner,
                    programme=Programme.OSU if i % 2 == 0 else Programme.OSA,
                    payment_eligible=True,
                    queued_at=queued_at,
                    tenant_id=claim.customer_tenant_id,
                    subscription_id=claim.subscription_id,
                    eligible=True,
                    reasons=[],
                    rule=rule_of[Programme.OSU if i % 2 == 0 else Programme.OSA],
                    assessed_at=queued_at,
                )
                for i, claim in enumerate(claims)
            ),
            batch_size=5000,
        )
        month_list = [month_back(this_month, back) for back in range(months, 0, -1)]
        Statement.objects.bulk_create(Statement(partner=partner, month=month) for month in month_list)
        with connection.cursor() as cursor:
            # Every hand-off earns in every month: units vary with the hand-off and the month; the
            # amount follows the stated rule (min(units × rate, cap), 0 below the threshold, 2 places).
            cursor.execute(
                f"""
                INSERT INTO {EarningsLine._meta.db_table}
                    (kind, partner_id, assessment_id, programme, month, tenant_id, subscription_id,
                     rule_id, metric, units, rate, minimum_units, cap, cap_applied, amount, currency,
                     revision, reverses_id, reversal_reason, statement_id, created_at)
                SELECT 'earning', h.partner_id, h.id, h.programme, s.month, h.tenant_id, h.subscription_id,
                       r.id, r.metric, u.units, r.rate, r.minimum_units, r.monthly_cap,
                       COALESCE(u.units * r.rate > r.monthly_cap AND u.units >= r.minimum_units, false),
                       CASE WHEN u.units < r.minimum_units THEN 0
                            ELSE round(LEAST(u.units * r.rate, COALESCE(r.monthly_cap, u.units * r.rate)), 2)
                       END,
                       r.currency, 0, NULL, '', s.id, %s
                FROM {AssessmentHandoff._meta.db_table} h
                JOIN {ProgrammeRule._meta.db_table} r ON r.id = h.rule_id
                JOIN {Statement._meta.db_table} s ON s.partner_id = h.partner_id
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN r.metric = 'one_time_fee' THEN 1
                                ELSE ((h.id * 7 + EXTRACT(MONTH FROM s.month)::int * 13) %% 90)
                           END AS units
                ) u
                WHERE h.partner_id = %s
                ORDER BY s.month, h.id
                """,
                [now, partner.pk],
            )
            # All but the last two months approved, the older half of those paid, with frozen totals.
            approved = month_list[:-2]
            if approved:
                cursor.execute(
                    f"""
                    UPDATE {Statement._meta.db_table}
                    SET status = CASE WHEN month < %s THEN 'paid' ELSE 'approved' END,
                        approved_at = %s,
                        paid_at = CASE WHEN month < %s THEN %s END,
                        payment_reference = CASE WHEN month < %s THEN 'BENCH-' || id ELSE '' END
                    WHERE partner_id = %s AND month <= %s
                    """,
                    [
                        approved[len(approved) // 2],
                        now,
                        approved[len(approved) // 2],
                        now,
                        approved[len(approved) // 2],
                        partner.pk,
                        approved[-1],
                    ],
                )
                cursor.execute(
                    """
                    INSERT INTO earnings_statementtotal (statement_id, currency, amount, line_count)
                    SELECT l.statement_id, l.currency, SUM(l.amount), COUNT(*)
                    FROM earnings_earningsline l JOIN earnings_statement s ON s.id = l.statement_id
                    WHERE s.partner_id = %s AND s.status <> 'draft'
                    GROUP BY l.statement_id, l.currency
                    """,
                    [partner.pk],
                )
    return partner


def measure(client: Client, url: str, *, runs: int, warmup: int) -> tuple[float, int, float]:
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
    # The database's share of one request (what the queries cost, apart from Python and templates):
    # on a machine shared with other work, the server time swings with the CPU and this less.
    sql_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    return statistics.median(timings), len(captured), sql_ms


def pages_for(partner: Partner) -> dict[str, str]:
    lines = EarningsLine.objects.filter(partner=partner)
    sample = lines.exclude(subscription_id=None).order_by("id").first()
    total = lines.count()
    middle = lines.order_by("-month", "-id")[total // 2]
    months = sorted({sample.month, month_back(sample.month, 2)})
    return {
        "unfiltered": "/earnings/",
        "by tenant": f"/earnings/?tenant={sample.tenant_id}",
        "by subscription": f"/earnings/?subscription={sample.subscription_id}",
        "programme + months": f"/earnings/?programme=osu&from={months[0]:%Y-%m}&to={months[-1]:%Y-%m}",
        "deep keyset page": f"/earnings/?after={middle.month:%Y-%m-%d}.{middle.pk}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--associations", type=int, default=2500)
    parser.add_argument("--months", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…/cpor_report_bench")
    call_command("migrate", verbosity=0)
    rule_of = rules()
    started = time.perf_counter()
    partners = [build_partner(i, args.associations, args.months, rule_of) for i in range(args.partners)]
    small = build_partner(99, 2, 1, rule_of)
    built = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    big = partners[0]
    print(
        f"ledger: {EarningsLine.objects.count():,} lines; measured partner: "
        f"{EarningsLine.objects.filter(partner=big).count():,} lines (built or found in {built:.1f} s)"
    )
    print(f"median of {args.runs} requests after {args.warmup} warm-up, Django test Client, PostgreSQL")
    print(f"{'partner':<18}{'page':<22}{'median ms':>10}{'queries':>9}{'sql ms':>9}")
    results: dict[tuple[str, str], tuple[float, int]] = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        for label, partner in (("big", big), ("small", small)):
            client = Client()
            client.force_login(partner.memberships.get().user)
            for page, url in pages_for(partner).items():
                ms, queries, sql_ms = measure(client, url, runs=args.runs, warmup=args.warmup)
                results[(label, page)] = (ms, queries)
                held = f"{EarningsLine.objects.filter(partner=partner).count():,} lines"
                print(f"{held:<18}{page:<22}{ms:>10.2f}{queries:>9}{sql_ms:>9.1f}")
    tenant_ms = results[("big", "by tenant")][0]
    constant = all(results[("big", page)][1] == results[("small", page)][1] for page in pages_for(small))
    verdict = "OK" if tenant_ms <= 150 and constant else "over target"
    print(f"target ≤ 150 ms by tenant and the same query count for the small and the big partner: {verdict}")


if __name__ == "__main__":
    main()
