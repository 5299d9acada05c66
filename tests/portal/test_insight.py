"""Customer insight (/insight/): isolation, the numbers, sorting, CSV, constant queries, en/tr."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import workflow
from claims.models import Claim, MonthlyUsage, Partner, Product, Tenant, TenantDomain
from consent.tasks import close_consent_windows
from tests.factories import claim_in, partner_user

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DECEMBER = dt.datetime(2025, 12, 2, 10, 0, tzinfo=UTC)
NOW = dt.datetime(2026, 2, 15, 12, 0, tzinfo=UTC)


def tenant(name: str) -> Tenant:
    t = Tenant.objects.create(tenant_id=uuid.uuid4(), name=name)
    TenantDomain.objects.create(tenant=t, domain=f"{name.lower().replace(' ', '-')}.example")
    return t


def associate(
    partner: Partner,
    by: Any,
    customer: Tenant,
    *,
    at: dt.datetime = DECEMBER,
    products: tuple[str, ...] = ("d365-sales",),
) -> Claim:
    with time_machine.travel(at, tick=False):
        claim = claim_in(
            Claim.Status.APPROVED,
            partner=partner,
            by=by,
            customer_name=customer.name,
            customer_domain=customer.domains.first().domain,
            customer_tenant_id=customer.tenant_id,
            products=products,
        )
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1), tick=False):
        close_consent_windows()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.ASSOCIATED
    return claim


def usage(customer: Tenant, code: str, month: dt.date, users: int) -> None:
    MonthlyUsage.objects.create(
        tenant=customer, product=Product.objects.get(code=code), month=month, active_users=users
    )


def signed_in(user: Any, language: str = "en") -> Client:
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


def without_tokens(html: str) -> str:
    """The page minus GUIDs and form values (the CSRF token), which could hold any digits."""
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "GUID", html)
    return re.sub(r'value="[^"]*"', 'value=""', html)


def rows_of(html: str) -> list[str]:
    """The customer names in the overview's order."""
    return re.findall(r'<a href="/insight/\d+/">([^<]+)</a>', html)


@pytest.fixture
def northwind(partner: Partner, manager: Any) -> tuple[Claim, Tenant]:
    customer = tenant("Northwind")
    claim = associate(partner, manager, customer)
    assert claim.events.get(to_status=Claim.Status.ASSOCIATED).created_at.month == 12
    usage(customer, "d365-sales", dt.date(2025, 10, 1), 777)  # before the baseline month: never shown
    usage(customer, "d365-sales", dt.date(2025, 11, 1), 100)  # the baseline
    usage(customer, "d365-sales", dt.date(2025, 12, 1), 110)
    usage(customer, "d365-sales", dt.date(2026, 1, 1), 150)
    # Another product on the same tenant, not claimed: never shows.
    usage(customer, "d365-finance", dt.date(2025, 11, 1), 4321)
    usage(customer, "d365-finance", dt.date(2026, 1, 1), 9876)
    return claim, customer


@time_machine.travel(NOW, tick=False)
def test_year_end_baseline_is_november_and_january_is_the_latest(northwind: Any, member: Any) -> None:
    claim, _customer = northwind
    html = without_tokens(signed_in(member).get(reverse("claims:insight")).content.decode())
    assert rows_of(html) == ["Northwind"]
    assert '100 <span class="muted">(November 2025)</span>' in html
    assert '150 <span class="muted">(January 2026)</span>' in html
    assert "+50" in html and "+50.0 %" in html
    for hidden in ("777", "4321", "9876", "Finance"):
        assert hidden not in html

    page = without_tokens(
        signed_in(member).get(reverse("claims:insight_customer", args=[claim.pk])).content.decode()
    )
    assert "Baseline (November 2025): 100 active users." in page
    months = re.findall(r"<tr><td>([A-Za-z]+ \d{4})</td><td class=\"num\">(\d+)</td>", page)
    assert months == [("December 2025", "110"), ("January 2026", "150")]
    assert "+10.0 %" in page and "+50.0 %" in page
    assert "<svg" in page and page.count('<rect class="bar"') == 2 and 'class="baseline"' in page
    for hidden in ("777", "4321", "9876", "October 2025", "Finance"):
        assert hidden not in page


@time_machine.travel(NOW, tick=False)
def test_no_baseline_when_the_month_before_is_missing_or_zero(partner: Partner, manager: Any) -> None:
    missing, zero = tenant("Missing Co"), tenant("Zero Co")
    associate(partner, manager, missing)
    zero_claim = associate(partner, manager, zero)
    usage(missing, "d365-sales", dt.date(2026, 1, 1), 40)
    usage(zero, "d365-sales", dt.date(2025, 11, 1), 0)
    usage(zero, "d365-sales", dt.date(2026, 1, 1), 60)
    html = signed_in(manager).get(reverse("claims:insight")).content.decode()
    assert html.count("no baseline") == 2
    page = signed_in(manager).get(reverse("claims:insight_customer", args=[zero_claim.pk])).content.decode()
    assert "No baseline: no active users reported for November 2025." in page


@time_machine.travel(NOW, tick=False)
def test_isolation(
    northwind: Any, partner: Partner, other_partner: Partner, manager: Any, outsider: Any
) -> None:
    claim, _customer = northwind
    # The other partner's associated customer, on its own tenant.
    theirs = associate(other_partner, outsider, tenant("Their Customer"))
    # Own claims that are not (or no longer) associated.
    rejected = claim_in(Claim.Status.REJECTED, partner=partner, by=manager, customer_name="Rejected Co")
    approved = claim_in(Claim.Status.APPROVED, partner=partner, by=manager, customer_name="Approved Co")
    ended = associate(partner, manager, tenant("Ended Co"))
    workflow.transition(ended, "withdraw", by=manager, reason="wrong_mpn")

    client = signed_in(manager)
    html = client.get(reverse("claims:insight")).content.decode()
    assert rows_of(html) == ["Northwind"]
    for absent in ("Their Customer", "Rejected Co", "Approved Co", "Ended Co"):
        assert absent not in html
    csv_text = b"".join(client.get(reverse("claims:insight_export")).streaming_content).decode()
    assert "Northwind" in csv_text and "Their Customer" not in csv_text and "Ended Co" not in csv_text
    for pk in (theirs.pk, rejected.pk, approved.pk, ended.pk, 999999):
        assert client.get(reverse("claims:insight_customer", args=[pk])).status_code == 404
    assert client.get(reverse("claims:insight_customer", args=[claim.pk])).status_code == 200
    # The other partner sees only theirs.
    other = signed_in(outsider).get(reverse("claims:insight")).content.decode()
    assert rows_of(other) == ["Their Customer"]
    assert signed_in(outsider).get(reverse("claims:insight_customer", args=[claim.pk])).status_code == 404


@pytest.fixture
def three(partner: Partner, manager: Any) -> dict[str, Claim]:
    """Three customers whose every column orders differently from their names."""
    made = {}
    specs = [
        # name, association day, workloads, baseline (Nov), latest (Jan)
        ("Alpha", DECEMBER + dt.timedelta(days=3), ("d365-sales",), 200, 210),
        ("Bravo", DECEMBER, ("d365-finance",), 10, 40),
        ("Charlie", DECEMBER + dt.timedelta(days=1), ("d365-commerce",), 50, 30),
    ]
    for name, at, products, baseline, latest in specs:
        customer = tenant(name)
        made[name] = associate(partner, manager, customer, at=at, products=products)
        usage(customer, products[0], dt.date(2025, 11, 1), baseline)
        usage(customer, products[0], dt.date(2026, 1, 1), latest)
    return made


@pytest.mark.parametrize(
    ("column", "ascending"),
    [
        ("customer", ["Alpha", "Bravo", "Charlie"]),
        ("workloads", ["Alpha", "Charlie", "Bravo"]),  # Sales, Commerce, Finance by product name
        ("since", ["Bravo", "Charlie", "Alpha"]),
        ("baseline", ["Bravo", "Charlie", "Alpha"]),
        ("latest", ["Charlie", "Bravo", "Alpha"]),
        ("growth", ["Charlie", "Alpha", "Bravo"]),  # -20, +10, +30
        ("growth_pct", ["Charlie", "Alpha", "Bravo"]),  # -40 %, +5 %, +300 %
    ],
)
@time_machine.travel(NOW, tick=False)
def test_sort_by_each_column(
    three: dict[str, Claim], manager: Any, column: str, ascending: list[str]
) -> None:
    if column == "workloads":
        names = {
            c: Product.objects.get(code=code).name
            for c, code in (("Alpha", "d365-sales"), ("Bravo", "d365-finance"), ("Charlie", "d365-commerce"))
        }
        ascending = sorted(names, key=names.__getitem__)
    client = signed_in(manager)
    up = client.get(reverse("claims:insight"), {"sort": column}).content.decode()
    assert rows_of(up) == ascending
    assert re.search(rf'<th scope="col" aria-sort="ascending"><a href="\?sort=-{column}"', up)
    down = client.get(reverse("claims:insight"), {"sort": f"-{column}"}).content.decode()
    assert rows_of(down) == ascending[::-1]
    assert 'aria-sort="descending"' in down and up.count("aria-sort=") == 1
    exported = list(
        csv.reader(
            io.StringIO(
                b"".join(
                    client.get(reverse("claims:insight_export"), {"sort": f"-{column}"}).streaming_content
                ).decode()
            )
        )
    )
    assert [row[1] for row in exported[1:]] == ascending[::-1]


@time_machine.travel(NOW, tick=False)
def test_sort_by_tenant(three: dict[str, Claim], manager: Any) -> None:
    by_tenant = sorted(three, key=lambda name: str(three[name].customer_tenant_id))
    assert (
        rows_of(signed_in(manager).get(reverse("claims:insight"), {"sort": "tenant"}).content.decode())
        == by_tenant
    )


@time_machine.travel(NOW, tick=False)
def test_csv_content(northwind: Any, manager: Any) -> None:
    claim, customer = northwind
    response = signed_in(manager).get(reverse("claims:insight_export"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["Claim ID", "Customer", "Tenant", "Claimed workloads"]
    assert rows[1] == [
        str(claim.pk),
        "Northwind",
        str(customer.tenant_id),
        "Dynamics 365 Sales",
        claim.events.get(to_status="associated").created_at.date().isoformat(),
        "2025-11",
        "100",
        "2026-01",
        "150",
        "50",
        "50.0",
    ]


def _customers(partner: Partner, by: Any, start: int, stop: int) -> None:
    for i in range(start, stop):
        customer = tenant(f"Customer {i:02d}")
        associate(partner, by, customer, products=("d365-sales", "d365-finance"))
        for code in ("d365-sales", "d365-finance"):
            for month in (dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1)):
                usage(customer, code, month, 10 + i)


@time_machine.travel(NOW, tick=False)
def test_constant_queries_for_2_and_20_customers(partner: Partner, manager: Any) -> None:
    client = signed_in(manager)
    client.get(reverse("claims:insight"))  # session and caches warm
    counts: list[int] = []
    made = 0
    for total in (2, 20):
        _customers(partner, manager, made, total)
        made = total
        with CaptureQueriesContext(connection) as queries:
            html = client.get(reverse("claims:insight"), {"sort": "-growth_pct"}).content.decode()
        assert len(rows_of(html)) == total
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10


@time_machine.travel(NOW, tick=False)
def test_turkish_and_the_nav_link(northwind: Any, manager: Any) -> None:
    en = signed_in(manager).get(reverse("claims:dashboard")).content.decode()
    assert '<a href="/insight/">Customer insight</a>' in en
    tr = signed_in(manager, "tr").get(reverse("claims:insight")).content.decode()
    assert "Müşteri içgörüsü" in tr and "Customer insight" not in tr
    assert "Kasım 2025" in tr


@time_machine.travel(NOW, tick=False)
def test_bad_parameters_and_people_who_are_not_partners(northwind: Any, manager: Any) -> None:
    client = signed_in(manager)
    for query in ({"sort": "password"}, {"page": "x"}, {"page": "999"}, {"sort": "-"}):
        response = client.get(reverse("claims:insight"), query)
        assert response.status_code == 200 and rows_of(response.content.decode()) == ["Northwind"]
    anonymous = Client().get(reverse("claims:insight"))
    assert anonymous.status_code == 302
    staff = signed_in(partner_user.__globals__["UserFactory"]())
    assert staff.get(reverse("claims:insight")).status_code == 403
    assert staff.get(reverse("claims:insight_export")).status_code == 403
    assert client.post(reverse("claims:insight")).status_code == 405
