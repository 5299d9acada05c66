"""The dashboard and the claim page run the same number of queries with 1 and with 50 claims,
products, documents, comments and events: nothing is fetched once per row."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import workflow
from claims.models import Claim, Product
from tests.factories import claim_in, pdf_upload, reviewer

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10


def queries_for(client: Client, url: str) -> int:
    client.get(url)  # warm: session
    # Count a page rendered from nothing: the dashboard's body, its counts and the product list are
    # cached (and another process may flush a shared cache).
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def grow(claim: Claim, manager: Any, rita: Any, *, count: int) -> None:
    """Give one claim `count` products, documents, comments in both directions and so events."""
    extra = [
        Product.objects.create(
            code=f"bench-{claim.pk}-{n}",
            name=f"Extra product {n}",
            solution_area=claim.solution_area,
            family="power_platform",
        )
        for n in range(count - claim.products.count())
    ]
    workflow.edit_claim(claim, by=manager, changes={"products": list(claim.products.all()) + extra})
    for n in range(count - claim.documents.count()):
        workflow.add_document(claim, by=manager, upload=pdf_upload(f"poe-{n}.pdf"))
    workflow.transition(claim, "start_review", by=rita)
    for n in range(count // 2):
        workflow.add_comment(claim, by=rita, body=f"Reviewer question {n}")
        workflow.add_comment(claim, by=manager, body=f"Partner answer {n}")


@pytest.fixture
def rita() -> Any:
    return reviewer(email="rita@cpor.example")


def test_claim_page_queries_do_not_grow(
    manager: Any, manager_client: Client, member_client: Client, rita: Any, settings: Any
) -> None:
    settings.CPOR_POE_MAX_FILES = 100
    small = claim_in(
        Claim.Status.UNDER_REVIEW, partner=manager.membership.partner, by=manager, review_by=rita
    )
    big = claim_in(
        Claim.Status.SUBMITTED,
        partner=manager.membership.partner,
        by=manager,
        review_by=rita,
        customer_tenant_id=uuid.uuid4(),
    )
    grow(big, manager, rita, count=50)
    assert big.products.count() == 50 and big.documents.count() == 50 and big.events.count() > 100
    for client in (manager_client, member_client):
        one = queries_for(client, reverse("claims:detail", args=[small.pk]))
        many = queries_for(client, reverse("claims:detail", args=[big.pk]))
        assert one == many, (one, many)
        assert many <= MAX_QUERIES


def test_draft_page_queries_do_not_grow(
    manager: Any, manager_client: Client, rita: Any, settings: Any
) -> None:
    """A draft also checks what still stops submitting: still a fixed number of queries."""
    from tests.factories import draft

    settings.CPOR_POE_MAX_FILES = 100
    small = draft(by=manager)
    big = draft(by=manager, customer_tenant_id=uuid.uuid4())
    grow_products = [
        Product.objects.create(
            code=f"x-{n}", name=f"X {n}", solution_area="business_applications", family="power_platform"
        )
        for n in range(49)
    ]
    workflow.edit_claim(big, by=manager, changes={"products": list(big.products.all()) + grow_products})
    for n in range(49):
        workflow.add_document(big, by=manager, upload=pdf_upload(f"d{n}.pdf"))
    one = queries_for(manager_client, reverse("claims:detail", args=[small.pk]))
    many = queries_for(manager_client, reverse("claims:detail", args=[big.pk]))
    assert one == many and many <= MAX_QUERIES + 3


def test_dashboard_queries_do_not_grow(
    manager: Any, manager_client: Client, rita: Any, settings: Any
) -> None:
    settings.CPOR_POE_MAX_FILES = 100
    first = claim_in(Claim.Status.SUBMITTED, partner=manager.membership.partner, by=manager, review_by=rita)
    urls = [
        "/claims/",
        "/",
        "/claims/?q=northwind&sort=customer",
        "/claims/?activity=usage&product=d365-sales&submitted_from=2020-01-01",
    ]
    one = [queries_for(manager_client, url) for url in urls]
    grow(first, manager, rita, count=50)
    for n in range(49):
        claim_in(
            Claim.Status.PARTNER_ACTION_REQUIRED if n % 2 else Claim.Status.SUBMITTED,
            partner=manager.membership.partner,
            by=manager,
            review_by=rita,
            customer_tenant_id=uuid.uuid4(),
            products=("d365-sales", "power-apps", "power-bi"),
        )
    assert Claim.objects.filter(partner=manager.membership.partner).count() == 50
    many = [queries_for(manager_client, url) for url in urls]
    assert one == many, (one, many)
    assert max(many) <= MAX_QUERIES
