"""Load the demo: Contoso and Fabrikam, their people, the reviewers, a claim in every state, and
the demo tenants' subscriptions and 18 months of usage.

Idempotent: users and partners are updated in place, and a demo claim that already exists (by
partner and name) is left alone. Claims move through `claims.workflow` like any other claim. The
subscriptions and usage go through the feed import (`claims.feeds`), so a second run changes
nothing; usage covers the 18 months up to this one, from a seeded random walk per tenant and product.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from claims import feeds, workflow
from claims.contributions import demo_seeders
from claims.demo_pdf import one_page_pdf
from claims.models import (
    LEAD_GROUP,
    REVIEWER_GROUP,
    Claim,
    Membership,
    MonthlyUsage,
    MpnId,
    Partner,
    Tenant,
    TenantDomain,
)
from claims.workflow import SYSTEM

PASSWORD = "demo-password"
NORTHWIND = uuid.UUID("6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f")
TAILSPIN = uuid.UUID("0d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5")
ADVENTURE = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
WINGTIP = uuid.UUID("2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901")
LITWARE = uuid.UUID("7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098")

ACCOUNTS = [
    ("alice@contoso.example", "Alice", "Contoso", Membership.Role.INCENTIVES_ADMIN, None),
    ("bob@contoso.example", "Bob", "Contoso", Membership.Role.MEMBER, None),
    ("carol@fabrikam.example", "Carol", "Fabrikam", Membership.Role.GLOBAL_ADMIN, None),
    ("rita@cpor.example", "Rita", None, None, REVIEWER_GROUP),
    ("leo@cpor.example", "Leo", None, None, LEAD_GROUP),
]

TENANTS = [
    (NORTHWIND, "Northwind Traders", "northwind.example"),
    (TAILSPIN, "Tailspin Toys", "tailspin.example"),
    (ADVENTURE, "Adventure Works", "adventure-works.example"),
    (WINGTIP, "Wingtip Toys", "wingtip.example"),
    (LITWARE, "Litware Inc.", "litware.example"),
]
# Each demo tenant has one verified domain, and every claim on the tenant names it.
CUSTOMERS = {tenant_id: (name, domain) for tenant_id, name, domain in TENANTS}

USAGE_MONTHS = 18
# The demo tenants' subscriptions: one bought through CSP, one in grace, and one suspended long
# enough ago (LAPSED_DAYS) that the lapse job would end an association naming it.
LAPSED = uuid.UUID("5b0c7a1e-9d2f-4e3a-8b6c-0d1e2f3a4b5c")
LAPSED_DAYS = 45
# The associated claim that names it: filed while the subscription was active, so the lapse job
# (`claims.tasks.lapse_inactive_subscriptions`) has an association to end in the demo.
LAPSE_CLAIM = "Wingtip — Customer Service rollout"
# The Business Applications claims name these (active, not CSP, on the claim's tenant); the CSP
# and the grace-period subscriptions are named by none, as the subscription checks would refuse them.
NORTHWIND_SALES = uuid.UUID("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a01")
ADVENTURE_POWER_APPS = uuid.UUID("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a05")
WINGTIP_FIELD_SERVICE = uuid.UUID("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a07")
SUBSCRIPTIONS = [
    # subscription_id, tenant, product code, channel, status, seats, start date
    ("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a01", NORTHWIND, "d365-sales", "direct", "active", 50, "2025-01-01"),
    ("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a02", NORTHWIND, "m365-intune", "direct", "active", 300, "2024-07-01"),
    (
        "3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a03",
        TAILSPIN,
        "d365-business-central",
        "csp",
        "active",
        15,
        "2025-03-01",
    ),
    ("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a04", TAILSPIN, "m365-teams", "direct", "active", 450, "2024-01-01"),
    ("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a05", ADVENTURE, "power-apps", "ea", "active", 120, "2024-10-01"),
    ("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a06", ADVENTURE, "power-bi", "direct", "grace", 35, "2025-02-01"),
    ("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a07", WINGTIP, "d365-field-service", "ea", "active", 60, "2025-05-01"),
    (
        "3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a08",
        LITWARE,
        "m365-exchange-online",
        "ea",
        "active",
        800,
        "2023-09-01",
    ),
    (str(LAPSED), WINGTIP, "d365-customer-service", "direct", "suspended", 25, "2025-04-01"),
]


class Command(BaseCommand):
    help = "Load idempotent demo data: partners, people, products and a claim in every state."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            people = self._people()
            for tenant_id, name, domain in TENANTS:
                tenant, _ = Tenant.objects.update_or_create(tenant_id=tenant_id, defaults={"name": name})
                TenantDomain.objects.update_or_create(domain=domain, defaults={"tenant": tenant})
            # What the apps built on claims need in place before the claims move (earnings: the
            # programme terms the assessment at hand-off applies).
            contributed = [line for seeder in demo_seeders(before_claims=True) for line in seeder()]
            now = timezone.now()
            self._subscriptions(now)
            created = self._claims(people)
            # Suspended after the claim naming it was associated (while active, it passed the checks).
            feeds.import_subscriptions(
                _csv(SUBSCRIPTION_HEADER, _subscription_rows(only=LAPSED)),
                now=now - dt.timedelta(days=LAPSED_DAYS),
            )
            usage = self._usage(now)
            # And what they add once the claims are there.
            contributed += [line for seeder in demo_seeders() for line in seeder()]
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready ({created} new claims, {usage.changed} usage rows changed).")
        )
        self.stdout.write(f"Sign in at {settings.SITE_URL}/ with password {PASSWORD!r} as:")
        for email, _first, partner, role, group in ACCOUNTS:
            who = f"{partner}, {Membership.Role(role).label}" if partner else f"group {group!r} (admin)"
            self.stdout.write(f"  {email:26} {who}")
        for line in contributed:
            self.stdout.write(line)

    def _people(self) -> dict[str, Any]:
        user_model = get_user_model()
        partners = {
            "Contoso": self._partner("Contoso", [("1234567", "Seattle, US"), ("1234568", "Istanbul, TR")]),
            "Fabrikam": self._partner("Fabrikam", [("7654321", "Ankara, TR")]),
        }
        Partner.objects.filter(name="Fabrikam").update(language="tr")
        people: dict[str, Any] = {"partners": partners}
        for email, first_name, partner_name, role, group in ACCOUNTS:
            user, _ = user_model.objects.update_or_create(
                username=email,
                defaults={
                    "email": email,
                    "first_name": first_name,
                    "is_staff": group is not None,
                    "is_active": True,
                },
            )
            user.set_password(PASSWORD)
            user.save()
            if partner_name:
                Membership.objects.update_or_create(
                    user=user, defaults={"partner": partners[partner_name], "role": role}
                )
            if group:
                user.groups.add(Group.objects.get(name=group))
            people[first_name.lower()] = user
        return people

    def _partner(self, name: str, mpns: list[tuple[str, str]]) -> Partner:
        partner, _ = Partner.objects.get_or_create(name=name)
        for number, location in mpns:
            MpnId.objects.update_or_create(number=number, defaults={"partner": partner, "location": location})
        return partner

    def _claims(self, people: dict[str, Any]) -> int:
        alice, carol, rita, leo = people["alice"], people["carol"], people["rita"], people["leo"]
        contoso, fabrikam = people["partners"]["Contoso"], people["partners"]["Fabrikam"]
        plans: list[
            tuple[Any, Partner, str, dict[str, Any], list[str], list[tuple[str, Any, dict[str, Any]]]]
        ] = [
            (
                alice,
                contoso,
                "Northwind — Dynamics 365 Sales rollout (ready to submit)",
                _ba(NORTHWIND, "usage", subscription=NORTHWIND_SALES),
                ["d365-sales"],
                [],
            ),
            (
                alice,
                contoso,
                "Tailspin — Teams adoption",
                _m365(TAILSPIN),
                ["m365-teams", "m365-teams-phone"],
                [("submit", alice, {})],
            ),
            (
                alice,
                contoso,
                "Adventure Works — Power Apps field inspections",
                _ba(ADVENTURE, "presales", subscription=ADVENTURE_POWER_APPS),
                ["power-apps"],
                [("submit", alice, {}), ("start_review", rita, {})],
            ),
            (
                alice,
                contoso,
                "Wingtip — Customer Service pilot",
                _ba(WINGTIP, "usage"),
                ["d365-customer-service"],
                [
                    ("submit", alice, {}),
                    ("start_review", rita, {}),
                    (
                        "request_information",
                        rita,
                        {
                            "reasons": ["missing_customer_acknowledgment", "missing_or_old_dates"],
                            "comment": "The SOW is not signed by the customer and has no date.",
                        },
                    ),
                ],
            ),
            (
                alice,
                contoso,
                "Litware — Exchange Online migration",
                _m365(LITWARE),
                ["m365-exchange-online"],
                [("submit", alice, {}), ("start_review", rita, {}), ("approve", rita, {})],
            ),
            (
                alice,
                contoso,
                "Northwind — Intune rollout",
                _m365(NORTHWIND),
                ["m365-intune"],
                [
                    ("submit", alice, {}),
                    ("start_review", rita, {}),
                    ("approve", rita, {}),
                    ("close_consent_window", SYSTEM, {}),
                ],
            ),
            (
                alice,
                contoso,
                "Tailspin — Business Central finance",
                _ba(TAILSPIN, "revenue_association"),
                ["d365-business-central"],
                [
                    ("submit", alice, {}),
                    ("start_review", rita, {}),
                    (
                        "reject",
                        rita,
                        {
                            "sub_reasons": ["missing_products"],
                            "comment": "The PoE covers Finance, not Business Central.",
                        },
                    ),
                ],
            ),
            (
                alice,
                contoso,
                "Adventure Works — Power BI reporting",
                _ba(ADVENTURE, "usage"),
                ["power-bi"],
                [
                    ("submit", alice, {}),
                    ("start_review", rita, {}),
                    (
                        "reject",
                        rita,
                        {"sub_reasons": ["missing_customer_consent"], "comment": "No customer signature."},
                    ),
                    (
                        "dispute",
                        alice,
                        {"justification": "The customer signed the attached acceptance letter."},
                    ),
                ],
            ),
            (
                alice,
                contoso,
                LAPSE_CLAIM,
                _ba(WINGTIP, "revenue_association", subscription=LAPSED),
                ["d365-customer-service"],
                [
                    ("submit", alice, {}),
                    ("start_review", rita, {}),
                    ("approve", rita, {}),
                    ("close_consent_window", SYSTEM, {}),
                ],
            ),
            (
                carol,
                fabrikam,
                "Litware — Teams Phone",
                _m365(LITWARE, language="tr"),
                ["m365-teams-phone"],
                [("submit", carol, {}), ("start_review", leo, {})],
            ),
            (
                carol,
                fabrikam,
                "Wingtip — Field Service",
                _ba(WINGTIP, "usage", language="tr", subscription=WINGTIP_FIELD_SERVICE),
                ["d365-field-service"],
                [("submit", carol, {})],
            ),
        ]
        created = 0
        for author, partner, name, fields, products, steps in plans:
            if Claim.objects.filter(partner=partner, name=name).exists():
                continue
            mpn = partner.mpn_ids.order_by("number").first()
            claim = workflow.create_claim(
                by=author,
                fields={**fields, "name": name, "mpn": mpn, **_contacts(partner)},
                products=products,
            )
            pdf = one_page_pdf(
                [
                    f"Proof of execution: {name}",
                    f"Partner: {partner.name}",
                    f"Customer: {fields['customer_name']}",
                    "Signed by the customer.",
                ]
            )
            workflow.add_document(claim, by=author, upload=SimpleUploadedFile("proof-of-execution.pdf", pdf))
            for action, actor, details in steps:
                if action == "close_consent_window":
                    # Demo only: pretend the 7-day opt-out window ended an hour ago.
                    Claim.objects.filter(pk=claim.pk).update(
                        consent_window_ends_at=timezone.now() - dt.timedelta(hours=1)
                    )
                claim = workflow.transition(claim, action, by=actor, **details)
            created += 1
        return created

    def _subscriptions(self, now: dt.datetime) -> None:
        """The demo tenants' subscriptions through the feed. The one that lapses is reported active
        first while no claim names it yet: the associated claim naming it was filed and checked
        while it was (`handle` then imports it suspended, LAPSED_DAYS ago)."""
        rows = _subscription_rows(excluding=LAPSED)
        feeds.import_subscriptions(_csv(SUBSCRIPTION_HEADER, rows), now=now)
        if not Claim.objects.filter(name=LAPSE_CLAIM).exists():
            was_active = [row.replace(",suspended,", ",active,") for row in _subscription_rows(only=LAPSED)]
            feeds.import_subscriptions(
                _csv(SUBSCRIPTION_HEADER, was_active), now=now - dt.timedelta(days=LAPSED_DAYS + 30)
            )

    def _usage(self, now: dt.datetime) -> feeds.ImportResult:
        """18 months of usage per claimed workload of each demo tenant, through the feed."""
        this_month = timezone.localdate(now).replace(day=1)
        months = [_month_before(this_month, back) for back in range(USAGE_MONTHS - 1, -1, -1)]
        claimed = (
            Claim.objects.filter(customer_tenant_id__in=CUSTOMERS)
            .values_list("customer_tenant_id", "products__code")
            .distinct()
            .order_by("customer_tenant_id", "products__code")
        )
        usage = [
            f"{tenant},{code},{month:%Y-%m},{users}"
            for tenant, code in claimed
            if code
            for month, users in zip(months, _users(tenant, code), strict=True)
        ]
        result = feeds.import_usage(_csv(",".join(feeds.USAGE.columns), usage), now=now)
        MonthlyUsage.objects.filter(tenant__tenant_id__in=CUSTOMERS, month__lt=months[0]).delete()
        return result


SUBSCRIPTION_HEADER = ",".join(feeds.SUBSCRIPTIONS.columns)


def _subscription_rows(*, only: uuid.UUID | None = None, excluding: uuid.UUID | None = None) -> list[str]:
    return [
        f"{sub_id},{tenant},{code},{channel},{status},{seats},{start},"
        for sub_id, tenant, code, channel, status, seats, start in SUBSCRIPTIONS
        if (only is None or sub_id == str(only)) and sub_id != str(excluding)
    ]


def _csv(header: str, rows: list[str]) -> io.BytesIO:
    return io.BytesIO("\n".join([header, *rows]).encode())


def _month_before(month: dt.date, back: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _users(tenant: uuid.UUID, code: str) -> list[int]:
    """USAGE_MONTHS months of active users, oldest first: a start, a monthly growth and noise, all
    drawn from a generator seeded by the tenant and product (the same numbers on every run)."""
    rng = random.Random(f"{tenant}:{code}")
    users = float(rng.randint(15, 250))
    growth = rng.uniform(0.01, 0.07)
    series = []
    for _month in range(USAGE_MONTHS):
        series.append(max(0, round(users * (1 + rng.uniform(-0.05, 0.05)))))
        users *= 1 + growth
    return series


def _ba(
    tenant: uuid.UUID, activity: str, language: str = "en", subscription: uuid.UUID | None = None
) -> dict[str, Any]:
    customer, domain = CUSTOMERS[tenant]
    return {
        "subscription_id": subscription,
        "solution_area": "business_applications",
        "activity": activity,
        "customer_name": customer,
        "customer_domain": domain,
        "customer_tenant_id": tenant,
        "customer_contact_language": language,
        "technical_contact_name": "Terry Technical",
        "technical_contact_email": f"it@{domain}",
        "work_description": "Designed, configured and rolled out the solution; trained the customer's team.",
    }


def _m365(tenant: uuid.UUID, language: str = "en") -> dict[str, Any]:
    customer, domain = CUSTOMERS[tenant]
    return {
        "solution_area": "microsoft_365",
        "activity": "usage",
        "customer_name": customer,
        "customer_domain": domain,
        "customer_tenant_id": tenant,
        "customer_contact_language": language,
        "work_description": "Planned the deployment, migrated the users and ran adoption workshops.",
    }


def _contacts(partner: Partner) -> dict[str, Any]:
    slug = partner.name.lower()
    return {
        "customer_contact_name": "Casey Customer",
        "customer_contact_title": "IT director",
        "customer_contact_email": "casey.customer@customer.example",
        "partner_contact_name": f"{partner.name} incentives desk",
        "partner_contact_email": f"incentives@{slug}.example",
    }
