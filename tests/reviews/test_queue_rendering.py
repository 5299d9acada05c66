"""The review queue's table, cell by cell: what a reviewer reads for a mix of claims.

Each row is compared, as HTML, with the cells written out here; the expectations were first run
against the queue as Django's stock change list rendered it (before issue 16's faster rows), so the
faster rendering is held to the same content: every column, its escaping, its links (with the
filters they keep), its labels in English and Turkish.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape

from claims import workflow
from claims.models import Claim
from tests.factories import MpnFactory, PartnerFactory, claim_in, reviewer

from .admin_pages import client_for, queue

pytestmark = pytest.mark.django_db
S = Claim.Status
# A Tuesday in March: the business days around it cross no US holiday.
T0 = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
READ_AT = T0 + dt.timedelta(days=8, hours=3)
TBODY = re.compile(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', re.S)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<(td|th)( class=\"[^\"]*\")?>(.*?)</\1>", re.S)


def table(html: str) -> list[list[str]]:
    """The queue's rows, each a list of its cells' HTML (the tag, its class and what it holds)."""
    (body,) = TBODY.findall(html)
    return [
        [f"<{tag}{cls}>{inner}</{tag}>" for tag, cls, inner in CELL.findall(row)] for row in ROW.findall(body)
    ]


def mixed_claims() -> dict[str, Claim]:
    """Claims in every state the queue lists, with text that needs escaping, shared tenants and an
    end request; written through the workflow at fixed moments, so their deadlines are fixed."""
    acme = PartnerFactory(name="Acme & <Partners>")
    MpnFactory(partner=acme, number="5100001")
    globex = PartnerFactory(name="Globex Türkiye")
    MpnFactory(partner=globex, number="5200002")
    rita = reviewer(email="rita@cpor.example", username="rita@cpor.example")
    tenant = uuid.UUID("7f9c2d0e-1111-4222-8333-444455556666")
    with time_machine.travel(T0, tick=False) as clock:
        claims = {
            "submitted": claim_in(
                S.SUBMITTED,
                partner=acme,
                name='Sales "rollout" <phase 1>',
                customer_name="Fabrikam & Sons",
                customer_domain="fabrikam.example",
                products=("d365-sales", "power-bi"),
            ),
        }
        clock.move_to(T0 + dt.timedelta(days=2))
        claims["under_review"] = claim_in(
            S.UNDER_REVIEW,
            partner=globex,
            review_by=rita,
            name="Finance go-live",
            customer_tenant_id=tenant,
            products=("power-bi",),
        )
        clock.move_to(T0 + dt.timedelta(days=6, hours=5))
        claims["competing"] = claim_in(
            S.SUBMITTED, partner=acme, name="Rival claim", customer_tenant_id=tenant, products=("power-bi",)
        )
        claims["disputed"] = claim_in(
            S.DISPUTED, partner=globex, name="Disputed one", products=("d365-finance",)
        )
        claims["information"] = claim_in(S.PARTNER_ACTION_REQUIRED, partner=acme, name="Needs detail")
        claims["rejected"] = claim_in(S.REJECTED, partner=globex, name="Turned down")
        claims["associated"] = claim_in(S.APPROVED, partner=acme, name="Long since associated")
    with time_machine.travel(
        claims["associated"].consent_window_ends_at + dt.timedelta(seconds=1), tick=False
    ):
        workflow.transition(claims["associated"].pk, "close_consent_window", by=workflow.SYSTEM)
        workflow.request_end_association(
            claims["associated"].pk,
            customer_email="it@northwind.example",
            language="en",
            reason="We moved on.",
        )
    with time_machine.travel(T0 + dt.timedelta(days=7), tick=False):
        claims["approved"] = claim_in(S.APPROVED, partner=globex, name="Approved lately")
    return claims


def rendered(client: Client, url: str) -> list[list[str]]:
    with time_machine.travel(READ_AT, tick=False):
        response = client.get(url)
    assert response.status_code == 200
    return table(response.content.decode())


ACME, GLOBEX = (
    "Acme &amp; &lt;Partners&gt;<br><small>MPN 5100001</small>",
    "Globex Türkiye<br><small>MPN 5200002</small>",
)
NORTHWIND = "Northwind Traders<br><small>northwind.example</small>"
NO_FLAG = "-"  # the stock change list's empty value for a cell that returned ""
FLAG = {
    "en": '<span class="competing-flag">Competing</span>',
    "tr": '<span class="competing-flag">Rakip</span>',
}


def sla(state: str, label: str) -> str:
    return f'<span class="sla sla-{state}">{label}</span>'


# Per claim, in queue order: partner, customer, products, status, age, SLA deadline, SLA state,
# competing; each language's text where it differs.
EXPECTED: dict[str, list[tuple[str, ...]]] = {
    "en": [
        (
            "submitted",
            ACME,
            "Fabrikam &amp; Sons<br><small>fabrikam.example</small>",
            "Dynamics 365 Sales, Power BI",
            "Submitted",
            "8 d",
            "03/10/2026<br><small>10 a.m.</small>",
            sla("breached", "Breached"),
            NO_FLAG,
        ),
        (
            "under_review",
            GLOBEX,
            NORTHWIND,
            "Power BI",
            "Under review",
            "6 d",
            "03/12/2026<br><small>10 a.m.</small>",
            sla("due_soon", "Due soon"),
            FLAG["en"],
        ),
        (
            "competing",
            ACME,
            NORTHWIND,
            "Power BI",
            "Submitted",
            "1 d",
            "03/16/2026<br><small>3 p.m.</small>",
            sla("on_time", "On time"),
            FLAG["en"],
        ),
        (
            "disputed",
            GLOBEX,
            NORTHWIND,
            "Dynamics 365 Finance",
            "Rejection disputed",
            "1 d",
            "03/16/2026<br><small>3 p.m.</small>",
            sla("on_time", "On time"),
            NO_FLAG,
        ),
        (
            "information",
            ACME,
            NORTHWIND,
            "Dynamics 365 Sales",
            "Partner action required",
            "1 d",
            "—",
            "—",
            NO_FLAG,
        ),
        ("rejected", GLOBEX, NORTHWIND, "Dynamics 365 Sales", "Rejected", "1 d", "—", "—", NO_FLAG),
        (
            "associated",
            ACME,
            NORTHWIND,
            "Dynamics 365 Sales",
            "Approved · sent for incentive assessment"
            '<br><span class="end-request-flag">Customer asked to end</span>',
            "1 d",
            "—",
            "—",
            NO_FLAG,
        ),
        (
            "approved",
            GLOBEX,
            NORTHWIND,
            "Dynamics 365 Sales",
            "Approved (customer opt-out window open)",
            "1 d",
            "—",
            "—",
            NO_FLAG,
        ),
    ],
    "tr": [
        (
            "submitted",
            ACME,
            "Fabrikam &amp; Sons<br><small>fabrikam.example</small>",
            "Dynamics 365 Sales, Power BI",
            "Gönderildi",
            "8 g",
            "10 Mar 2026<br><small>10:00</small>",
            sla("breached", "Süresi aşıldı"),
            NO_FLAG,
        ),
        (
            "under_review",
            GLOBEX,
            NORTHWIND,
            "Power BI",
            "İnceleniyor",
            "6 g",
            "12 Mar 2026<br><small>10:00</small>",
            sla("due_soon", "Süresi yaklaşıyor"),
            FLAG["tr"],
        ),
        (
            "competing",
            ACME,
            NORTHWIND,
            "Power BI",
            "Gönderildi",
            "1 g",
            "16 Mar 2026<br><small>15:00</small>",
            sla("on_time", "Zamanında"),
            FLAG["tr"],
        ),
        (
            "disputed",
            GLOBEX,
            NORTHWIND,
            "Dynamics 365 Finance",
            "Redde itiraz edildi",
            "1 g",
            "16 Mar 2026<br><small>15:00</small>",
            sla("on_time", "Zamanında"),
            NO_FLAG,
        ),
        (
            "information",
            ACME,
            NORTHWIND,
            "Dynamics 365 Sales",
            "İş ortağı işlemi gerekli",
            "1 g",
            "—",
            "—",
            NO_FLAG,
        ),
        ("rejected", GLOBEX, NORTHWIND, "Dynamics 365 Sales", "Reddedildi", "1 g", "—", "—", NO_FLAG),
        (
            "associated",
            ACME,
            NORTHWIND,
            "Dynamics 365 Sales",
            "Onaylandı · teşvik değerlendirmesine gönderildi"
            '<br><span class="end-request-flag">Müşteri sonlandırmak istiyor</span>',
            "1 g",
            "—",
            "—",
            NO_FLAG,
        ),
        (
            "approved",
            GLOBEX,
            NORTHWIND,
            "Dynamics 365 Sales",
            "Onaylandı (müşterinin itiraz süresi açık)",
            "1 g",
            "—",
            "—",
            NO_FLAG,
        ),
    ],
}
SELECT_LABEL = {"en": "Select this object for an action - ", "tr": "İşlem için bu nesneyi seçin - "}


def expected_row(claim: Claim, cells: tuple[str, ...], language: str, filters: str = "") -> list[str]:
    partner, customer, products, status, age, deadline, state, competing = cells
    name = escape(f"#{claim.pk} {claim.name}")
    reviewer = claim.assigned_reviewer
    if reviewer is None:
        assigned = "—"
    else:
        local, at, domain = reviewer.email.partition("@")
        assigned = f"{local}<wbr>{at}{domain}"
    link = f"/admin/claims/claim/{claim.pk}/change/" + (f"?_changelist_filters={filters}" if filters else "")
    return [
        '<td class="action-checkbox"><input type="checkbox" name="_selected_action" '
        f'value="{claim.pk}" class="action-select" aria-label="{SELECT_LABEL[language]}{name}"></td>',
        f'<th class="field-claim"><a href="{link}">{name}</a></th>',
        f'<td class="field-partner_and_mpn">{partner}</td>',
        f'<td class="field-customer">{customer}</td>',
        f'<td class="field-product_names">{products}</td>',
        f'<td class="field-status_label">{status}</td>',
        f'<td class="field-assigned">{assigned}</td>',
        f'<td class="field-age">{age}</td>',
        f'<td class="field-sla_deadline">{deadline}</td>',
        f'<td class="field-sla_state_label">{state}</td>',
        f'<td class="field-competing">{competing}</td>',
    ]


@pytest.fixture(autouse=True)
def _utc(settings: Any) -> None:
    """The expected cells spell deadlines at UTC clock times: the dated CI runs set another zone."""
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def claims() -> dict[str, Claim]:
    made = mixed_claims()
    return {
        key: Claim.objects.select_related("assigned_reviewer").get(pk=claim.pk) for key, claim in made.items()
    }


@pytest.mark.parametrize("language", ["en", "tr"])
def test_every_cell_of_the_queue_for_a_mix_of_claims(claims: dict[str, Claim], language: str) -> None:
    client = client_for(reviewer(lead=True))
    client.cookies["django_language"] = language

    rows = rendered(client, queue())

    assert rows == [expected_row(claims[key], cells, language) for key, *cells in EXPECTED[language]]


def test_a_filtered_sorted_queue_links_back_with_its_filters(claims: dict[str, Claim]) -> None:
    client = client_for(reviewer())

    rows = rendered(client, queue() + "?status=submitted&o=1")

    submitted = [entry for entry in EXPECTED["en"] if entry[0] in ("submitted", "competing")]
    assert rows == [
        expected_row(claims[key], cells, "en", filters="status%3Dsubmitted%26o%3D1")
        for key, *cells in submitted
    ]


def test_filters_that_need_the_annotations_list_the_same_rows(claims: dict[str, Claim]) -> None:
    client = client_for(reviewer(lead=True))

    def names(query: str) -> list[str]:
        return [re.sub(r"<[^>]+>", "", row[1]).split(" ", 1)[1] for row in rendered(client, queue() + query)]

    assert names("?sla=breached") == ["Sales &quot;rollout&quot; &lt;phase 1&gt;"]
    assert names("?sla=due_soon") == ["Finance go-live"]
    assert names("?competing=yes") == ["Finance go-live", "Rival claim"]
    assert names("?end_request=waiting") == ["Long since associated"]
    assert names("?assigned=none") == ["Sales &quot;rollout&quot; &lt;phase 1&gt;", "Rival claim"]
    assert names("?product=power-bi&q=Rival") == ["Rival claim"]
