"""The Customer Associations dashboard: partner labels, deadlines in words, filters, search, sort,
pagination, counts per status, the chart, and the CSV export of the filtered list."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims import selectors
from claims.models import Claim, Product
from tests.factories import claim_in, draft

pytestmark = pytest.mark.django_db

S = Claim.Status
DASHBOARD = "/claims/"
# Deadlines in words and the submitted-date filter read the clock: every test here runs on a fixed
# Wednesday, whatever the machine's date (the words on other days are tests/cpor/test_deadlines.py's).
WEDNESDAY = dt.datetime(2026, 12, 9, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(WEDNESDAY, tick=True)


def html_of(client: Client, **params: Any) -> str:
    """The dashboard without its "What needs you now" section (tested on its own), which names
    claims whatever the filters."""
    response = client.get(DASHBOARD, params)
    assert response.status_code == 200
    return re.sub(r'<section class="needs.*?</section>', "", response.content.decode(), flags=re.S)


def csv_of(client: Client, **params: Any) -> list[list[str]]:
    response = client.get(reverse("claims:export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def claims(manager: Any) -> dict[str, Claim]:
    partner = manager.membership.partner
    return {
        "draft": draft(by=manager, name="Draft Northwind", customer_name="Northwind Traders"),
        "pending": claim_in(
            S.PARTNER_ACTION_REQUIRED,
            partner=partner,
            by=manager,
            name="Tailspin Teams",
            solution_area="microsoft_365",
            activity="usage",
            products=("m365-teams",),
            customer_name="Tailspin Toys",
            customer_domain="tailspin.example",
            customer_tenant_id=uuid.UUID("0d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"),
        ),
        "approved": claim_in(
            S.APPROVED,
            partner=partner,
            by=manager,
            name="Wingtip pre-sales",
            activity="presales",
            products=("power-apps",),
            customer_name="Wingtip Toys",
            customer_domain="wingtip.example",
            external_reference="CRM-0042",
        ),
    }


def test_rows_show_partner_labels_customer_tenant_products_and_deadline(
    claims: dict[str, Claim], manager_client: Client
) -> None:
    html = html_of(manager_client)
    pending = claims["pending"]
    assert "Partner action required" in html and "Approved (customer opt-out window open)" in html
    assert "Tailspin Toys" in html and "tailspin.example" in html and str(pending.customer_tenant_id) in html
    assert "Microsoft Teams" in html and "Power Apps" in html
    assert "Pre-sales" in html and "Usage" in html
    assert "5 business days left to respond" in html
    assert "Customer opt-out window closes in 7 days" in html
    assert f'href="{reverse("claims:detail", args=[pending.pk])}"' in html


def test_deadline_words_count_business_days() -> None:
    monday = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
    claim = Claim(
        status=S.PARTNER_ACTION_REQUIRED, partner_response_due_at=dt.datetime(2026, 11, 5, 10, tzinfo=dt.UTC)
    )
    assert selectors.next_deadline(claim, monday).words == "3 business days left to respond"
    friday = dt.datetime(2026, 11, 6, 10, 0, tzinfo=dt.UTC)
    claim.partner_response_due_at = dt.datetime(2026, 11, 9, 10, tzinfo=dt.UTC)  # next Monday
    assert selectors.next_deadline(claim, friday).words == "1 business day left to respond"
    claim.partner_response_due_at = dt.datetime(
        2026, 11, 12, 10, tzinfo=dt.UTC
    )  # Wednesday 11th is a holiday (US)
    assert selectors.next_deadline(claim, friday).words == "3 business days left to respond"
    claim.partner_response_due_at = friday - dt.timedelta(hours=1)
    deadline = selectors.next_deadline(claim, friday)
    assert deadline.overdue and deadline.words == "The time to respond has passed"
    claim.partner_response_due_at = friday + dt.timedelta(hours=3)
    assert selectors.next_deadline(claim, friday).words == "Last day to respond"
    rejected = Claim(status=S.REJECTED, dispute_window_ends_at=monday + dt.timedelta(days=30))
    assert selectors.next_deadline(rejected, monday).words == "30 days left to dispute"
    assert selectors.next_deadline(Claim(status=S.EDITING), monday) is None


def test_counts_per_status_and_the_chart(claims: dict[str, Claim], manager_client: Client) -> None:
    html = html_of(manager_client)
    assert html.count('class="bar status-') == len(S.choices)
    assert "Bar chart of your claims by status" in html
    assert "<script" not in html.split("<body>", 1)[1]  # the chart is server-rendered, no script
    board = selectors.dashboard(claims["draft"].partner_id, selectors.DashboardFilters())
    counts = {c.status: c.count for c in board.counts}
    assert counts[S.EDITING] == 1 and counts[S.PARTNER_ACTION_REQUIRED] == 1 and counts[S.APPROVED] == 1
    assert counts[S.REJECTED] == 0 and board.total == 3


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "approved"}, {"Wingtip pre-sales"}),
        ({"activity": "presales"}, {"Wingtip pre-sales"}),
        ({"solution_area": "microsoft_365"}, {"Tailspin Teams"}),
        ({"product": "d365-sales"}, {"Draft Northwind"}),
        ({"q": "tailspin"}, {"Tailspin Teams"}),  # customer name / domain
        ({"q": "0d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"}, {"Tailspin Teams"}),  # full tenant ID
        ({"q": "0d2e3f40"}, {"Tailspin Teams"}),  # part of a tenant ID
        ({"q": "pre-sales"}, {"Wingtip pre-sales"}),  # claim name
        ({"q": "WINGTIP.EXAMPLE"}, {"Wingtip pre-sales"}),  # domain, any case
        ({"q": "CRM-0042"}, {"Wingtip pre-sales"}),  # the partner's own reference, whole
        ({"q": "CRM-004"}, set()),  # ... not a part of it
        ({"q": "nothing like it"}, set()),
    ],
)
def test_filters_and_search(
    claims: dict[str, Claim], manager_client: Client, params: dict, expected: set
) -> None:
    html = html_of(manager_client, **params)
    names = {c.name for c in claims.values() if f">{c.name}</a>" in html}
    assert names == expected
    exported = {row[1] for row in csv_of(manager_client, **params)[1:]}
    assert exported == expected


def test_submitted_date_range(claims: dict[str, Claim], manager_client: Client) -> None:
    today = timezone.now().date()
    inside = html_of(manager_client, submitted_from=today.isoformat(), submitted_to=today.isoformat())
    assert "Tailspin Teams" in inside and "Draft Northwind" not in inside
    later = (today + dt.timedelta(days=1)).isoformat()
    assert "Tailspin Teams" not in html_of(manager_client, submitted_from=later)
    backwards = html_of(manager_client, submitted_from=later, submitted_to=today.isoformat())
    assert "The end date is before the start date." in backwards


def test_sort(claims: dict[str, Claim], manager_client: Client) -> None:
    by_customer = html_of(manager_client, sort="customer")
    assert (
        by_customer.index("Draft Northwind")
        < by_customer.index("Tailspin Teams")
        < by_customer.index("Wingtip pre-sales")
    )
    newest = html_of(manager_client)
    assert newest.index("Wingtip pre-sales") < newest.index("Draft Northwind")
    assert "Select a valid choice" in html_of(manager_client, sort="id; DROP TABLE")


def test_pagination(manager: Any, manager_client: Client) -> None:
    start = timezone.now() - dt.timedelta(days=2)
    for number in range(selectors.PAGE_SIZE + 3):
        with time_machine.travel(start + dt.timedelta(minutes=number), tick=False):
            draft(by=manager, name=f"Claim {number:03d}", customer_tenant_id=uuid.uuid4(), document=False)
    first = html_of(manager_client)
    assert "Claim 027" in first and "Claim 002" not in first and "Page 1 of 2" in first
    second = html_of(manager_client, page=2)
    assert "Claim 002" in second and "Claim 027" not in second and 'rel="prev"' in second
    assert "Page 2 of 2" in html_of(manager_client, page=999)
    assert len(csv_of(manager_client)) == selectors.PAGE_SIZE + 3 + 1  # every row, not one page


def test_csv_cells_cannot_run_as_formulas(manager: Any, manager_client: Client) -> None:
    draft(by=manager, name='=HYPERLINK("http://evil.example")', customer_name="+SUM(A1)")
    (row,) = csv_of(manager_client)[1:]
    assert row[1].startswith("'=") and row[3].startswith("'+")


def test_turkish_dashboard_and_export(claims: dict[str, Claim], manager_client: Client) -> None:
    manager_client.cookies["django_language"] = "tr"
    html = html_of(manager_client)
    assert 'lang="tr"' in html
    assert "Müşteri ilişkilendirmeleri" in html
    assert "İş ortağı işlemi gerekli" in html
    assert "yanıt vermek için 5 iş günü kaldı" in html.lower() or "5 iş günü" in html
    header = csv_of(manager_client)[0]
    assert "Durum" in header


def test_product_filter_lists_the_catalogue(manager_client: Client) -> None:
    html = html_of(manager_client)
    assert (
        Product.objects.filter(active=True).count()
        == html.split('name="product"', 1)[1].split("</select>")[0].count("<option") - 1
    )
