"""The earnings demo, added to `manage.py seed_demo` (registered in `EarningsConfig.ready`).

Idempotent like the command: Fiona of "Incentive finance", Contoso's Global and Billing admins
(Grace and Bill), and example terms for OSU (active-user growth) and OSA (a one-time fee), marked
as examples — not any real programme's rates. The terms are seeded before the demo's claims move
(`seed_terms`), so the associations the demo forms are assessed under them at hand-off.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from claims.models import Membership, Partner, Product, Programme, Subscription
from earnings.assessment import assess_outstanding
from earnings.models import FINANCE_GROUP, Currency, Metric, ProgrammeRule

PASSWORD = "demo-password"
# Fixed, so a second run (in any month) finds the same versions; before every demo association.
TERMS_FROM = dt.date(2024, 1, 1)

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
    return lines


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
