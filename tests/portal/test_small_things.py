"""Small things people noticed: an upload is confirmed, the contacts needed to submit say so, each
status has its own chart colour and labels as text, demo tenants have one domain, "Inc." is not
followed by a second period, a favicon, and development mail printed with readable subjects."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from claims.models import Claim, Tenant, TenantDomain
from claims.templatetags.sentences import end_sentence
from cpor.console_mail import EmailBackend
from cpor.models import OutboundEmail
from cpor.outbox import render
from tests.factories import claim_in, draft, pdf_upload, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status


def test_a_successful_upload_says_so_with_and_without_javascript(
    manager: Any, manager_client: Client
) -> None:
    claim = draft(by=manager, document=False)
    url = reverse("claims:upload", args=[claim.pk])
    response = manager_client.post(url, {"upload-files": [pdf_upload("plain.pdf")]}, follow=True)
    assert "Uploaded: plain.pdf." in response.content.decode()
    # The script uploads, then reloads the page: the reload shows the message.
    response = manager_client.post(
        url, {"upload-files": [pdf_upload("script.pdf")]}, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert response.json() == {"uploaded": ["script.pdf"], "errors": []}
    html = manager_client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "Uploaded: script.pdf." in html
    assert claim.documents.count() == 2


def test_the_contacts_needed_to_submit_are_marked(manager: Any, manager_client: Client) -> None:
    html = manager_client.get(reverse("claims:new") + "?solution_area=business_applications").content.decode()

    def marked(field: str) -> bool:
        label = re.search(rf'<label for="id_{field}">(.*?)</label>', html, re.S)
        assert label, field
        return "needed to submit" in label.group(1)

    for field in (
        "customer_contact_name",
        "customer_contact_email",
        "partner_contact_name",
        "partner_contact_email",
    ):
        assert marked(field), field
    for field in ("customer_contact_title", "partner_contact_phone", "technical_contact_phone"):
        assert not marked(field), field


def test_each_status_has_its_own_chart_colour_and_text_labels(manager: Any, manager_client: Client) -> None:
    css = (Path(settings.BASE_DIR) / "static" / "css" / "cpor.css").read_text()
    fills = {
        status: re.search(rf"\.bar\.status-{status} \{{ fill: (#[0-9a-f]{{6}}); \}}", css)
        for status in S.values
    }
    assert all(fills.values()), [s for s, m in fills.items() if not m]
    assert len({match.group(1) for match in fills.values() if match}) == len(S.values)
    claim_in(S.SUBMITTED, partner=manager.membership.partner, by=manager)
    html = manager_client.get(reverse("claims:dashboard")).content.decode()
    chart = html[html.index('<figure class="chart"') : html.index("</figure>")]
    for label in S.labels:
        assert f'<span class="chart-label">{label}</span>' in chart  # whole, as HTML text
    assert chart.count('class="bar status-') == len(S.values)


def test_demo_tenants_have_one_domain_and_claims_use_it() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    for tenant in Tenant.objects.all():
        domains = list(TenantDomain.objects.filter(tenant=tenant).values_list("domain", flat=True))
        assert len(domains) == 1, (tenant, domains)
        used = set(
            Claim.objects.filter(customer_tenant_id=tenant.tenant_id).values_list(
                "customer_domain", flat=True
            )
        )
        assert used <= set(domains), (tenant, used)


def test_a_name_ending_in_a_period_gets_no_second_one(manager: Any) -> None:
    assert end_sentence("Litware Inc.") == "Litware Inc."
    assert end_sentence("Northwind Traders") == "Northwind Traders."
    reviewer(lead=True, email="leo@cpor.example")  # the dispute mail goes to review leads
    claim = claim_in(S.DISPUTED, partner=manager.membership.partner, by=manager, customer_name="Contoso Inc.")
    kinds = set()
    for email in OutboundEmail.objects.filter(context__claim_id=claim.pk):
        _subject, body = render(email)
        assert "Contoso Inc.." not in body, email.kind
        kinds.add(email.kind)
    assert {"claim_submitted", "reviewer_dispute"} <= kinds


def test_the_favicon_is_linked_and_found(client: Client) -> None:
    html = client.get(reverse("login")).content.decode()
    assert 'rel="icon"' in html
    response = client.get("/favicon.ico")
    assert response.status_code in (301, 302)
    assert response["Location"].endswith("favicon.ico")
    assert (Path(settings.BASE_DIR) / "static" / "favicon.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


def test_development_mail_prints_readable_subjects() -> None:
    stream = io.StringIO()
    EmailBackend(stream=stream).send_messages(
        [
            EmailMessage(
                "Eylem gerekli: CPOR talebi “Satış”", "Merhaba,\nçalışma", "cpor@x.example", ["a@b.example"]
            )
        ]
    )
    printed = stream.getvalue()
    assert "Subject: Eylem gerekli: CPOR talebi “Satış”" in printed
    assert "=?utf-8?" not in printed and "Merhaba,\nçalışma" in printed
