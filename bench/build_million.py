"""Build the benchmark database: 1,000,000 claims across 1,000 partners, one partner with 20,000.

Usage (PostgreSQL only; it migrates the database named in DATABASE_URL and refills it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench .venv/bin/python bench/build_million.py

Options: --claims N (default 1,000,000), --partners N (1,000), --big-partner N (20,000).
Partner 1 ("Bench Partner 0001") is the big one; its Incentives admin is bench-admin@partner1.example.
Reviewers: bench-reviewer@cpor.example ("PoE reviewers"), bench-lead@cpor.example ("Review leads").
Rows are written with set-based SQL (generate_series), each claim once with its deadlines, into
tables whose secondary indexes are dropped for the load and built again after it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "true")  # development settings, as before DEBUG defaulted to off

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from claims.models import LEAD_GROUP, REVIEWER_GROUP, Membership, Partner  # noqa: E402

# Status mix of the generated claims, in per-mille (sums to 1000).
STATUS_MIX = [
    ("editing", 50),
    ("submitted", 100),
    ("under_review", 150),
    ("partner_action_required", 50),
    ("approved", 50),
    ("associated", 350),
    ("rejected", 200),
    ("disputed", 50),
]


def status_case() -> str:
    """SQL CASE mapping (id % 1000) onto STATUS_MIX."""
    parts, upper = [], 0
    for status, share in STATUS_MIX:
        upper += share
        parts.append(f"WHEN (g % 1000) < {upper} THEN '{status}'")
    return "CASE " + " ".join(parts) + " END"


def run(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# The tables the build fills with a million rows or more: their secondary indexes are dropped for
# the load and built again after it, which is several times faster than updating every index (28 on
# claims_claim, three of them trigram GIN indexes) row by row.
LOADED_TABLES = ["claims_claim", "claims_claim_products", "claims_claimevent"]


def drop_secondary_indexes() -> list[str]:
    """Drop the loaded tables' indexes that back no constraint; return their definitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
              FROM pg_index i
             WHERE i.indrelid = ANY(%s::regclass[])
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
             ORDER BY 1
            """,
            [LOADED_TABLES],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes]


def create_indexes(definitions: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")


def build(total: int, partners: int, big: int) -> None:
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print("truncating claims tables …")
    run(
        "TRUNCATE claims_claimevent, claims_comment, claims_poedocument, claims_claim_products, "
        "consent_consentrequest, earnings_assessmenthandoff, claims_claim, cpor_outboundemail RESTART IDENTITY CASCADE"
    )
    indexes = drop_secondary_indexes()
    try:
        load(total, partners, big)
    finally:
        # Even if the load failed: the database keeps every index its migrations made.
        print(f"indexes: {len(indexes)} …")
        create_indexes(indexes)
    print("vacuum analyze …")
    run("VACUUM ANALYZE")  # Django runs in autocommit here, as VACUUM needs
    print(f"built in {time.perf_counter() - started:.0f} s")


def load(total: int, partners: int, big: int) -> None:
    run(
        "DELETE FROM claims_membership WHERE partner_id IN (SELECT id FROM claims_partner WHERE name LIKE 'Bench %')"
    )
    run(
        "DELETE FROM claims_mpnid WHERE partner_id IN (SELECT id FROM claims_partner WHERE name LIKE 'Bench %')"
    )
    run("DELETE FROM claims_partner WHERE name LIKE 'Bench %'")

    print(f"partners: {partners}")
    run(
        "INSERT INTO claims_partner (name, language, claims_version) "
        "SELECT 'Bench Partner ' || lpad(p::text, 4, '0'), 'en', 0 FROM generate_series(1, %s) p",
        [partners],
    )
    run(
        "INSERT INTO claims_mpnid (partner_id, number, location) "
        "SELECT id, (9000000 + id)::text, 'Bench' FROM claims_partner WHERE name LIKE 'Bench %'"
    )
    first_partner = Partner.objects.filter(name__startswith="Bench ").order_by("pk").first()
    user_model = get_user_model()
    admin, _ = user_model.objects.update_or_create(
        username="bench-admin@partner1.example", defaults={"email": "bench-admin@partner1.example"}
    )
    admin.set_password("demo-password")
    admin.save()
    Membership.objects.update_or_create(
        user=admin, defaults={"partner": first_partner, "role": Membership.Role.INCENTIVES_ADMIN}
    )
    for email, group in (
        ("bench-reviewer@cpor.example", REVIEWER_GROUP),
        ("bench-lead@cpor.example", LEAD_GROUP),
    ):
        user, _ = user_model.objects.update_or_create(
            username=email, defaults={"email": email, "is_staff": True}
        )
        user.set_password("demo-password")
        user.save()
        user.groups.add(Group.objects.get(name=group))
    reviewer_id = user_model.objects.get(username="bench-reviewer@cpor.example").pk

    first = int(first_partner.pk)
    print(f"claims: {total} (partner {first} holds {big}) …")
    # Claim g: the first `big` belong to the big partner; the rest spread over the others. Each
    # claim is written once with its deadlines (no UPDATE of a million rows after: that rewrote
    # every row and every index entry again, and left a dead row per claim for VACUUM).
    run(
        f"""
        INSERT INTO claims_claim (
            name, external_reference, partner_id, mpn_id, solution_area, activity, customer_name, customer_domain,
            customer_tenant_id, subscription_id, customer_contact_name, customer_contact_title,
            customer_contact_email, customer_contact_language, technical_contact_name,
            technical_contact_email, technical_contact_phone, partner_contact_name, partner_contact_email,
            partner_contact_phone, work_description, status, information_request_reasons,
            rejection_reason, rejection_sub_reasons, dispute_justification, created_at, updated_at,
            submitted_at, assigned_reviewer_id, review_start_due_at, review_due_at, dispute_response_due_at,
            partner_response_due_at, consent_window_ends_at, dispute_window_ends_at, sla_due_at
        )
        SELECT
            'Bench claim ' || g, '',
            p.id, m.id,
            CASE WHEN g % 3 = 0 THEN 'microsoft_365' ELSE 'business_applications' END,
            CASE WHEN g % 3 = 0 THEN 'usage' WHEN g % 3 = 1 THEN 'presales' ELSE 'usage' END,
            'Customer ' || (g % 50000), 'customer' || (g % 50000) || '.example',
            md5('tenant' || (g % 50000))::uuid, NULL,
            'Casey Customer', 'CIO', 'casey' || g || '@customer.example', 'en',
            'Terry Tech', 'it' || g || '@customer.example', '',
            'Incentives desk', 'desk@partner' || p.id || '.example', '',
            'Deployed and adopted the workloads.', status, '[]',
            CASE WHEN status = 'rejected' THEN 'insufficient_poe' ELSE '' END,
            (CASE WHEN status = 'rejected' THEN '["poe_unavailable"]' ELSE '[]' END)::jsonb,
            '', now() - (g % 400) * interval '1 day', now(),
            CASE WHEN status = 'editing' THEN NULL ELSE now() - (g % 400) * interval '1 day' END,
            CASE WHEN status IN ('under_review', 'disputed') THEN {int(reviewer_id)} ELSE NULL END,
            CASE WHEN status = 'submitted' THEN due END,
            CASE WHEN status = 'under_review' THEN due END,
            CASE WHEN status = 'disputed' THEN due END,
            CASE WHEN status = 'partner_action_required' THEN due END,
            CASE WHEN status = 'approved' THEN due END,
            CASE WHEN status = 'rejected' THEN now() + ((g % 40) - 10) * interval '1 day' END,
            CASE WHEN status IN ('submitted', 'under_review', 'disputed') THEN due END
        FROM (
            SELECT g, {status_case()} AS status, now() + ((g % 11) - 4) * interval '1 day' AS due
            FROM generate_series(1, {int(total)}) g
        ) claim
        JOIN claims_partner p ON p.id = CASE
            WHEN g <= {big} THEN {first}
            ELSE {first} + 1 + (g % ({partners} - 1))
        END
        JOIN claims_mpnid m ON m.partner_id = p.id
        """,
    )
    print("products …")
    run(
        """
        INSERT INTO claims_claim_products (claim_id, product_id)
        SELECT c.id, (SELECT id FROM claims_product pr WHERE pr.solution_area = c.solution_area
                      ORDER BY pr.id OFFSET (c.id % 15) LIMIT 1)
        FROM claims_claim c
        """
    )
    print("history …")
    run(
        """
        INSERT INTO claims_claimevent (claim_id, created_at, actor_kind, action, from_status, to_status, diff,
                                       note, partner_visible)
        SELECT id, created_at, 'partner', 'create', '', 'editing', '{}', '', true FROM claims_claim
        """
    )
    run(
        """
        INSERT INTO claims_claimevent (claim_id, created_at, actor_kind, action, from_status, to_status, diff,
                                       note, partner_visible)
        SELECT id, submitted_at, 'partner', 'submit', 'editing', 'submitted',
               '{"status": ["editing", "submitted"]}', '', true
        FROM claims_claim WHERE submitted_at IS NOT NULL
        """
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--big-partner", type=int, default=20_000)
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark database must be PostgreSQL: set DATABASE_URL=postgres://…/cpor_bench")
    build(args.claims, args.partners, args.big_partner)


if __name__ == "__main__":
    main()
