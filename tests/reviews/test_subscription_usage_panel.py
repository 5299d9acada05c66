"""The reviewer's claim page shows what the registry holds of the named subscription, and the
customer tenant's monthly active users of the claimed workloads (issue 14, items 2 and 5)."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Claim, MonthlyUsage, Product, Subscription, Tenant, TenantDomain
from consent.tasks import close_consent_windows
from tests.factories import claim_in, reviewer

from .admin_pages import client_for, page

pytestmark = pytest.mark.django_db
S = Claim.Status
TENANT = uuid.UUID("4d3c2b1a-0f9e-4d8c-b7a6-958473625140")
SUB = uuid.UUID("dddddddd-1111-4222-8333-444444444444")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def registry_tenant(tenant_id: uuid.UUID = TENANT) -> Tenant:
    tenant, _ = Tenant.objects.get_or_create(tenant_id=tenant_id, defaults={"name": "Northwind Traders"})
    if tenant_id == TENANT:
        TenantDomain.objects.get_or_create(domain="northwind.example", defaults={"tenant": tenant})
    return tenant


def subscription(subscription_id: uuid.UUID = SUB, **overrides: Any) -> Subscription:
    values: dict[str, Any] = {
        "tenant": registry_tenant(),
        "product": Product.objects.get(code="d365-sales"),
        "channel": "ea",
        "status": "active",
        "seats": 75,
        "start_date": dt.date(2025, 3, 1),
        "end_date": dt.date(2027, 2, 28),
    }
    values.update(overrides)
    return Subscription.objects.create(subscription_id=subscription_id, **values)


def usage(code: str, month: dt.date, users: int, tenant_id: uuid.UUID = TENANT) -> None:
    MonthlyUsage.objects.create(
        tenant=registry_tenant(tenant_id),
        product=Product.objects.get(code=code),
        month=month,
        active_users=users,
    )


def text_of(claim: Claim, language: str = "en") -> str:
    client = client_for(reviewer())
    client.cookies["django_language"] = language
    response = client.get(page(claim))
    assert response.status_code == 200
    body = response.content.decode()
    start = body.index('id="customer-usage-title"')
    section = body[start : body.index("</section>", start)]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section)))


def test_the_named_subscription_shows_channel_status_seats_product_and_dates(clock: Any) -> None:
    subscription()
    claim = claim_in(S.SUBMITTED, customer_tenant_id=TENANT, subscription_id=SUB)
    shown = text_of(claim)
    assert str(SUB) in shown
    for fact in ("Enterprise Agreement", "Active", "75", "Dynamics 365 Sales", "Northwind Traders"):
        assert fact in shown, fact
    assert "March 1, 2025" in shown and "Feb. 28, 2027" in shown
    assert "It passes the subscription checks today." in shown


def test_a_subscription_suspended_since_submission_is_flagged_with_the_checks_words(clock: Any) -> None:
    subscription()
    claim = claim_in(S.UNDER_REVIEW, customer_tenant_id=TENANT, subscription_id=SUB)
    Subscription.objects.filter(subscription_id=SUB).update(
        status="suspended", inactive_since=NOW - dt.timedelta(days=3)
    )
    shown = text_of(claim)
    assert "Suspended" in shown and "out of active and grace since Nov. 17, 2026" in shown
    assert "Partner Center's subscription checks refuse it today:" in shown
    assert f"Subscription {SUB} is not active (its status is “Suspended”)" in shown


def test_a_subscription_not_in_the_registry_says_so(clock: Any) -> None:
    claim = claim_in(S.SUBMITTED, customer_tenant_id=TENANT, subscription_id=SUB)
    shown = text_of(claim)
    assert "not in the registry" in shown and "cannot check this one" in shown
    subscription(uuid.uuid4())  # now the registry covers the tenant
    shown = text_of(claim)
    assert (
        "not in the registry" in shown and f"Subscription {SUB} does not exist on tenant {TENANT}." in shown
    )


def test_a_claim_naming_no_subscription_says_so_and_microsoft_365_shows_no_subscription_part(
    clock: Any,
) -> None:
    assert "The claim names no subscription." in text_of(claim_in(S.SUBMITTED))
    m365 = claim_in(S.SUBMITTED, solution_area="microsoft_365", products=("m365-teams",))
    shown = text_of(m365)
    assert "Named subscription" not in shown and "Monthly active users" in shown


def test_usage_of_the_claimed_workloads_only_with_the_association_month_marked(clock: Any) -> None:
    claim = claim_in(S.APPROVED, customer_tenant_id=TENANT, products=("d365-sales", "power-apps"))
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1), tick=False):
        close_consent_windows()
    claim.refresh_from_db()
    assert claim.status == S.ASSOCIATED
    usage("d365-sales", dt.date(2026, 10, 1), 4321)
    usage("d365-sales", dt.date(2025, 6, 1), 1111)  # the oldest of the 18 months shown
    usage("d365-sales", dt.date(2025, 5, 1), 999)  # older than the window
    usage("power-apps", dt.date(2026, 11, 1), 77)
    usage("d365-finance", dt.date(2026, 10, 1), 5555)  # the tenant's, but not claimed
    usage("d365-sales", dt.date(2026, 10, 1), 6666, tenant_id=uuid.uuid4())  # another tenant
    shown = text_of(claim)
    assert "4321" in shown and "1111" in shown and "77" in shown
    assert "999" not in shown and "5555" not in shown and "6666" not in shown
    assert "June 2025 to November 2026" in shown
    assert "latest 4321, peak 4321 active users" in shown and "latest 77, peak 77 active users" in shown
    assert "The highlighted month is the claim's association: November 2026." in shown
    assert "November 2026 (association)" in shown
    body = client_for(reviewer()).get(page(claim)).content.decode()
    assert body.count('class="usage-bar marked"') == 1  # power-apps in November 2026
    assert body.count('class="usage-marker"') == 2  # one per workload's chart


def test_no_usage_is_said_plainly(clock: Any) -> None:
    claim = claim_in(S.UNDER_REVIEW, customer_tenant_id=TENANT)
    usage("d365-finance", dt.date(2026, 10, 1), 12)
    shown = text_of(claim)
    assert "No usage recorded for these workloads." in shown
    assert "The highlighted month" not in shown


def test_the_panel_speaks_turkish(clock: Any) -> None:
    subscription(channel="csp")
    claim = claim_in(S.SUBMITTED, customer_tenant_id=TENANT)
    Claim.objects.filter(pk=claim.pk).update(subscription_id=SUB)  # as if named before the registry knew
    shown = text_of(claim, "tr")
    assert "Abonelik ve kullanım" in shown and "Bulut Çözüm Sağlayıcısı" in shown
    assert "Bu iş yükleri için kayıtlı kullanım yok." in shown
    assert f"{SUB} aboneliği bir Bulut Çözüm Sağlayıcısı (CSP)" in shown


def test_the_page_asks_as_many_queries_for_three_workloads_and_18_months_as_for_one_month(clock: Any) -> None:
    lead = reviewer(lead=True)

    def queries(claim: Claim) -> int:
        client = client_for(lead)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(claim)).status_code == 200
        return len(captured)

    subscription()
    small = claim_in(S.UNDER_REVIEW, customer_tenant_id=TENANT, subscription_id=SUB)
    usage("d365-sales", dt.date(2026, 11, 1), 10)
    other_tenant = uuid.UUID("5e4d3c2b-1a0f-4e9d-8c7b-a69584736251")
    other = Tenant.objects.create(tenant_id=other_tenant, name="Tailspin")
    TenantDomain.objects.create(tenant=other, domain="tailspin.example")
    big_sub = uuid.uuid4()
    subscription(big_sub, tenant=other)
    big = claim_in(
        S.UNDER_REVIEW,
        customer_tenant_id=other_tenant,
        customer_domain="tailspin.example",
        subscription_id=big_sub,
        products=("d365-sales", "power-apps", "power-bi"),
    )
    month = dt.date(2026, 11, 1)
    for _ in range(18):
        for code in ("d365-sales", "power-apps", "power-bi"):
            usage(code, month, 100, tenant_id=other_tenant)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    assert queries(big) == queries(small)
