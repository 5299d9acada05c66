"""The earnings demo, added to `manage.py seed_demo` (registered in `EarningsConfig.ready`).

Idempotent like the command: Fiona of "Incentive finance", Contoso's Global and Billing admins
(Grace and Bill), and example terms for OSU (active-user growth) and OSA (a one-time fee), marked
as examples — not any real programme's rates. The terms are seeded before the demo's claims move
(`seed_terms`), so the associations the demo forms are assessed under them at hand-off.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.db.models import F
from django.utils import timezone

from claims import workflow
from claims.demo_pdf import one_page_pdf
from claims.models import (
    Claim,
    ClaimEvent,
    Membership,
    Partner,
    PoeDocument,
    Product,
    Programme,
    Subscription,
    TenantDomain,
)
from claims.workflow import SYSTEM
from earnings.assessment import assess_outstanding
from earnings.ledger import add_months, assess_month, month_has_ended
from earnings.models import (
    FINANCE_GROUP,
    AssessmentHandoff,
    Currency,
    Metric,
    ProgrammeRule,
    Statement,
    first_of_month,
)
from earnings.statements import approve_statement, record_payment

PASSWORD = "demo-password"
# Fixed, so a second run (in any month) finds the same versions; before every demo association.
TERMS_FROM = dt.date(2024, 1, 1)

# Contoso's associations that earn in the demo, formed EARNING_SINCE months ago: OSU usage growth
# on Adventure Works' Power Apps, and an OSA one-time fee on Northwind's Sales (the demo's usage feed
# covers both tenants and workloads; both name an active, non-CSP subscription).
EARNING_SINCE = 4
EARNING_ASSOCIATIONS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "Adventure Works — Power Apps adoption (earning)",
        {
            "solution_area": "business_applications",
            "activity": "usage",
            "customer_name": "Adventure Works",
            "customer_tenant_id": uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
            "subscription_id": uuid.UUID("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a05"),
        },
        ["power-apps"],
    ),
    (
        "Northwind — Sales pre-sales advisory (earning)",
        {
            "solution_area": "business_applications",
            "activity": "presales",
            "customer_name": "Northwind Traders",
            "customer_tenant_id": uuid.UUID("6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f"),
            "subscription_id": uuid.UUID("3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a01"),
        },
        ["d365-sales"],
    ),
]

STAFF = [("fiona@cpor.example", "Fiona", FINANCE_GROUP)]
PARTNER_PEOPLE = [
    ("grace@contoso.example", "Grace", "Contoso", Membership.Role.GLOBAL_ADMIN),
    ("bill@contoso.example", "Bill", "Contoso", Membership.Role.BILLING_ADMIN),
]

# Example terms: round numbers for trying the pages, not any real programme's rates.
EXAMPLE_TERMS = [
    {
        "programme": Programme.OSU,
        "metric": Metric.ACTIVE_USER_GROWTH,
        "rate": Decimal("4.0000"),
        "currency": Currency.USD,
        "monthly_cap": Decimal("750.00"),
        "minimum_units": 5,
        "eligible_months": 12,
        "workloads": [
            "d365-sales",
            "d365-customer-service",
            "d365-field-service",
            "power-apps",
            "power-bi",
            "m365-teams",
            "m365-intune",
            "m365-exchange-online",
        ],
    },
    {
        "programme": Programme.OSA,
        "metric": Metric.ONE_TIME_FEE,
        "rate": Decimal("1500.0000"),
        "currency": Currency.USD,
        "monthly_cap": None,
        "minimum_units": 0,
        "eligible_months": 1,
        "workloads": [
            "d365-sales",
            "d365-customer-service",
            "d365-field-service",
            "d365-business-central",
            "power-apps",
            "power-bi",
        ],
    },
]


def seed_terms() -> list[str]:
    """The example terms, before the demo's claims move (their assessment at hand-off applies them)."""
    for terms in EXAMPLE_TERMS:
        _example_terms(terms)
    return []


def seed() -> list[str]:
    """Add the earnings demo's people (idempotent); the lines say who signs in for it."""
    user_model = get_user_model()
    lines = []
    for email, first_name, group in STAFF:
        user = _user(user_model, email, first_name, is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        lines.append(f"  {email:26} group {group!r} (admin)")
    partners = {partner.name: partner for partner in Partner.objects.filter(name="Contoso")}
    for email, first_name, partner_name, role in PARTNER_PEOPLE:
        user = _user(user_model, email, first_name, is_staff=False)
        Membership.objects.update_or_create(
            user=user, defaults={"partner": partners[partner_name], "role": role}
        )
        lines.append(f"  {email:26} {partner_name}, {Membership.Role(role).label}")
    # A demo database seeded before the earnings demo existed holds associations assessed without
    # terms, or never assessed: they are assessed under the example terms.
    assess_outstanding(
        partner_ids=Partner.objects.filter(name__in={"Contoso", "Fabrikam"}).values_list("pk", flat=True),
        now=timezone.now(),
    )
    seed_ledger()
    return lines


def seed_ledger(*, now: dt.datetime | None = None) -> list[str]:
    """Contoso's earning associations and months of their ledger, so /earnings/ has lines and
    statements in each state: the earliest month paid (with a reference), the next approved, the
    later ones draft.

    The associations are formed through the workflow like any claim, then their whole timeline
    (the claim's times, its history, documents and hand-off) is moved back to EARNING_SINCE months
    ago: a ledger only holds months that have ended. Idempotent: an association that exists is left
    as it is, the monthly job writes nothing twice, and a statement already approved or paid stays so.
    """
    now = now or timezone.now()
    contoso = Partner.objects.get(name="Contoso")
    association_month = add_months(first_of_month(timezone.localtime(now).date()), -EARNING_SINCE)
    for name, fields, products in EARNING_ASSOCIATIONS:
        if not Claim.objects.filter(partner=contoso, name=name).exists():
            _associate_in_the_past(contoso, name, fields, products, month=association_month, now=now)
    month = association_month
    while month_has_ended(month, now):
        assess_month(month, now=now)
        month = add_months(month, 1)
    fiona = get_user_model().objects.get(username=STAFF[0][0])
    statements = Statement.objects.filter(partner=contoso, month__gte=association_month).order_by("month")
    # The earliest month paid, the next approved, the later ones left draft.
    for statement in statements[:2]:
        if statement.status == Statement.Status.DRAFT and statement.lines.exists():
            approve_statement(statement.pk, by=fiona)
    earliest = statements.first()
    if earliest is not None and earliest.status == Statement.Status.APPROVED:
        record_payment(earliest.pk, by=fiona, reference=f"DEMO-PAY-{earliest.month:%Y%m}")
    return []


def _associate_in_the_past(
    partner: Partner,
    name: str,
    fields: dict[str, Any],
    products: list[str],
    *,
    month: dt.date,
    now: dt.datetime,
) -> Claim:
    """Form the association now through the workflow, then move its timeline back so that it
    formed in `month` (on the 12th): every time it holds keeps its order and spacing."""
    users = get_user_model().objects
    alice, rita = users.get(username="alice@contoso.example"), users.get(username="rita@cpor.example")
    domain = TenantDomain.objects.filter(tenant__tenant_id=fields["customer_tenant_id"]).values_list(
        "domain", flat=True
    )[0]
    claim = workflow.create_claim(
        by=alice,
        fields={
            **fields,
            "name": name,
            "mpn": partner.mpn_ids.order_by("number").first(),
            "customer_domain": domain,
            "customer_contact_name": "Casey Customer",
            "customer_contact_title": "IT director",
            "customer_contact_email": "casey.customer@customer.example",
            "customer_contact_language": "en",
            "technical_contact_name": "Terry Technical",
            "technical_contact_email": f"it@{domain}",
            "partner_contact_name": f"{partner.name} incentives desk",
            "partner_contact_email": f"incentives@{partner.name.lower()}.example",
            "work_description": "Rolled out the solution and trained the customer's team.",
        },
        products=products,
    )
    pdf = one_page_pdf([f"Proof of execution: {name}", f"Partner: {partner.name}", "Signed by the customer."])
    workflow.add_document(claim, by=alice, upload=SimpleUploadedFile("proof-of-execution.pdf", pdf))
    for action, actor in (("submit", alice), ("start_review", rita), ("approve", rita)):
        claim = workflow.transition(claim, action, by=actor)
    # Demo only: the 7-day opt-out window ended a moment ago.
    Claim.objects.filter(pk=claim.pk).update(consent_window_ends_at=now - dt.timedelta(minutes=1))
    claim = workflow.transition(claim, "close_consent_window", by=SYSTEM)
    formed = timezone.make_aware(dt.datetime.combine(month.replace(day=12), dt.time(10)))
    back = now - formed
    Claim.objects.filter(pk=claim.pk).update(
        **{
            field.attname: F(field.attname) - back
            for field in Claim._meta.concrete_fields
            if isinstance(field, models.DateTimeField)
        }
    )
    ClaimEvent.objects.filter(claim=claim).update(created_at=F("created_at") - back)
    PoeDocument.objects.filter(claim=claim).update(uploaded_at=F("uploaded_at") - back)
    AssessmentHandoff.objects.filter(claim=claim).update(
        queued_at=F("queued_at") - back, assessed_at=F("assessed_at") - back
    )
    return claim


def _user(user_model: Any, email: str, first_name: str, *, is_staff: bool) -> Any:
    user, _created = user_model.objects.update_or_create(
        username=email,
        defaults={"email": email, "first_name": first_name, "is_staff": is_staff, "is_active": True},
    )
    user.set_password(PASSWORD)
    user.save()
    return user


def _example_terms(terms: dict[str, Any]) -> None:
    """The programme's example version from TERMS_FROM, created once: a version that exists may
    already be in use, and is never changed."""
    fields = {key: value for key, value in terms.items() if key != "workloads"}
    rule, created = ProgrammeRule.objects.get_or_create(
        programme=terms["programme"],
        effective_from=TERMS_FROM,
        defaults={**fields, "excluded_channels": [Subscription.Channel.CSP], "is_example": True},
    )
    if created:
        rule.workloads.set(Product.objects.filter(code__in=terms["workloads"]))
