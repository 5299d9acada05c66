"""Benchmark the beat sweeps against the raw SQL that makes the same state change and history rows.

Usage (PostgreSQL; the database is emptied and refilled):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_sweep_bench .venv/bin/python bench/sweep_bench.py

Options: --claims N (default 100,000), --job close|expire (default close), --memory-sizes 10000,100000.

It prints, in one run on one database:
- the sweep (`consent.tasks.close_consent_windows` or `claims.tasks.expire_partner_action_claims`)
  moving N due claims through the workflow: wall time, claims/s, and the rows it wrote (transition
  events, outbox rows, notification events, assessment hand-offs);
- a single raw SQL `UPDATE` plus `INSERT … SELECT` making the same state change and the same history
  rows (`ClaimEvent`: the transition and the notification of each claim, docs/design.md, "History"), on
  the same N claims reset to due, and the ratio of the two times: the issue's target is at most 3×;
- for a stricter view, the same with only the transition events (the sweep also writes the mail
  and its history, the raw SQL then does not);
- every timed run starts right after `ANALYZE` and a `CHECKPOINT` (the role needs the superuser or
  pg_checkpoint privilege), so neither inherits the other's dirty pages;
- the sweep's peak Python memory (tracemalloc) at each of --memory-sizes, to show it does not grow
  with the number of claims.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402

JOBS = {
    # job: (status the claims wait in, their deadline column, status they move to, action)
    "close": ("approved", "consent_window_ends_at", "associated", "close_consent_window"),
    "expire": ("partner_action_required", "partner_response_due_at", "rejected", "expire"),
}


def run(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  (fixed table names)
        return cursor.fetchone()[0]


def fill(n: int, job: str) -> None:
    """N claims due for `job` across 100 partners, each partner with one managing user."""
    status, deadline, _target, _action = JOBS[job]
    run(
        "TRUNCATE claims_claimevent, claims_comment, claims_poedocument, claims_claim_products, "
        "consent_consentrequest, earnings_assessmenthandoff, claims_claim, cpor_outboundemail, "
        "claims_membership, claims_mpnid, claims_partner RESTART IDENTITY CASCADE"
    )
    run("DELETE FROM auth_user WHERE username LIKE 'sweep-%'")
    run(
        "INSERT INTO claims_partner (name, language, claims_version) "
        "SELECT 'Sweep partner ' || p, 'en', 0 FROM generate_series(1, 100) p"
    )
    run(
        "INSERT INTO claims_mpnid (partner_id, number, location) SELECT id, (8000000 + id)::text, '' FROM claims_partner"
    )
    run(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined) SELECT '!', false, 'sweep-' || id, '', '', 'admin' || id || '@partner.example', "
        "false, true, now() FROM claims_partner"
    )
    run(
        "INSERT INTO claims_membership (user_id, partner_id, role) SELECT u.id, p.id, 'incentives_admin' "
        "FROM claims_partner p JOIN auth_user u ON u.username = 'sweep-' || p.id"
    )
    reminder = ", partner_reminder_at" if job == "expire" else ""
    reminder_value = ", now() - interval '3 days'" if job == "expire" else ""
    run(
        f"""
        INSERT INTO claims_claim (
            name, external_reference, partner_id, mpn_id, solution_area, activity, customer_name,
            customer_domain, customer_tenant_id, customer_contact_name, customer_contact_title, customer_contact_email,
            customer_contact_language, technical_contact_name, technical_contact_email, technical_contact_phone,
            partner_contact_name, partner_contact_email, partner_contact_phone, work_description, status,
            information_request_reasons, rejection_reason, rejection_sub_reasons, dispute_justification,
            created_at, updated_at, submitted_at, {deadline}{reminder}
        )
        SELECT 'Sweep claim ' || g, '', p.id, m.id, 'business_applications',
               CASE WHEN g % 2 = 0 THEN 'usage' ELSE 'presales' END,
               'Customer ' || g, 'customer' || g || '.example', md5('t' || g)::uuid,
               'Casey', 'CIO', 'casey' || g || '@customer.example', 'en', '', '', '',
               'Desk', 'desk' || p.id || '@partner.example', '', 'Work.', '{status}',
               '[]', '', '[]', '', now() - interval '20 days', now(), now() - interval '20 days',
               now() - interval '1 hour'{reminder_value}
        FROM generate_series(1, {int(n)}) g
        JOIN claims_partner p ON p.id = 1 + (g % 100)
        JOIN claims_mpnid m ON m.partner_id = p.id
        """
    )
    run("ANALYZE")
    # Each timed run starts from a fresh checkpoint, so neither pays for the other's dirty pages or
    # meets a checkpoint the other's WAL triggered (both pay the full-page writes of a first touch).
    run("CHECKPOINT")


def sweep(job: str) -> float:
    from claims.tasks import expire_partner_action_claims
    from consent.tasks import close_consent_windows

    task = close_consent_windows if job == "close" else expire_partner_action_claims
    started = time.perf_counter()
    moved = task()
    elapsed = time.perf_counter() - started
    status, _deadline, target, _action = JOBS[job]
    assert moved == count_status(target), (moved, count_status(target))
    assert count_status(status) == 0
    return elapsed


def count_status(status: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM claims_claim WHERE status = %s", [status])
        return cursor.fetchone()[0]


def raw_sql(job: str, *, with_notification_events: bool) -> float:
    """The same state change and history rows in one statement: the transition event per claim and,
    with `with_notification_events`, the sweep's notification event too (one per claim: one message
    to the partner contact and the managing users together)."""
    status, deadline, target, action = JOBS[job]
    kind = "sent_for_assessment" if job == "close" else "claim_rejected"
    extra = (
        ", rejection_reason = 'no_partner_response', dispute_window_ends_at = now() + interval '30 days', "
        "partner_reminder_at = NULL"
        if job == "expire"
        else ""
    )
    notifications = (
        f""",
        told AS (
            INSERT INTO claims_claimevent (claim_id, created_at, actor_kind, action, from_status, to_status, diff,
                                           note, partner_visible)
            SELECT m.id, now(), 'system', 'notification', '', '', '{{}}',
                   '{kind} → ' || concat_ws(', ', m.partner_contact_email, (
                       SELECT string_agg(u.email, ', ' ORDER BY u.email) FROM claims_membership ms
                       JOIN auth_user u ON u.id = ms.user_id WHERE ms.partner_id = m.partner_id
                   )), true
            FROM moved m
        )"""
        if with_notification_events
        else ""
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH moved AS (
                UPDATE claims_claim SET status = '{target}', {deadline} = NULL, updated_at = now(){extra}
                WHERE status = '{status}' AND {deadline} <= now()
                RETURNING id, partner_id, partner_contact_email
            ){notifications}
            INSERT INTO claims_claimevent (claim_id, created_at, actor_kind, action, from_status, to_status, diff,
                                           note, partner_visible)
            SELECT id, now(), 'system', '{action}', '{status}', '{target}',
                   jsonb_build_object('status', jsonb_build_array('{status}', '{target}')), '', true
            FROM moved
            """  # noqa: S608  (constants from JOBS)
        )
    elapsed = time.perf_counter() - started
    assert count_status(target) > 0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description="Sweep benchmark")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--job", choices=sorted(JOBS), default="close")
    parser.add_argument("--memory-sizes", default="10000,100000")
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The sweep benchmark needs PostgreSQL: set DATABASE_URL=postgres://…/cpor_sweep_bench")
    call_command("migrate", verbosity=0)
    # No broker is needed: the sweep hands its mail to one re-drive task after commit; keep it local.
    from cpor.celery import app

    app.conf.broker_url = "memory://"
    app.conf.broker_transport_options = {}
    n, job = args.claims, args.job

    fill(n, job)
    sweep_seconds = sweep(job)
    wrote = {
        "transition events": count(f"claims_claimevent WHERE action = '{JOBS[job][3]}'"),
        "outbox rows": count("cpor_outboundemail"),
        "notification events": count("claims_claimevent WHERE action = 'notification'"),
        "assessment hand-offs": count("earnings_assessmenthandoff"),
    }
    fill(n, job)
    raw_transitions = raw_sql(job, with_notification_events=False)
    fill(n, job)
    raw_history = raw_sql(job, with_notification_events=True)

    print(f"job: {job}, {n:,} due claims, PostgreSQL {connection.pg_version}")
    print(
        f"  sweep through the workflow          : {sweep_seconds:7.2f} s  ({n / sweep_seconds:,.0f} claims/s)"
    )
    print("      wrote: " + ", ".join(f"{v:,} {k}" for k, v in wrote.items()))
    ratio = sweep_seconds / raw_history
    print(
        f"  raw SQL, same state + history rows  : {raw_history:7.2f} s   ratio {ratio:5.2f}×"
        f"   (target ≤ 3×: {'met' if ratio <= 3 else 'NOT met'})"
    )
    print(
        f"  raw SQL, state + transition events  : {raw_transitions:7.2f} s   ratio {sweep_seconds / raw_transitions:5.2f}×"
        "   (stricter: no notification events)"
    )

    for size in [int(s) for s in args.memory_sizes.split(",") if s]:
        fill(size, job)
        reset_queries()
        tracemalloc.start()
        sweep(job)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  peak Python memory of the sweep at {size:>9,} claims: {peak / 1024 / 1024:7.1f} MiB")


if __name__ == "__main__":
    main()
