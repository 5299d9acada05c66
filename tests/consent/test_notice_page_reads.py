"""The consent page reads what it shows in two queries: the notice with its claim and partner (only
the columns the page uses), then the claim's products. A field the page needs but did not load would
cost a query of its own, in every state of the page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client

from claims.models import Claim, Product
from consent import services
from consent.models import ConsentRequest
from consent.tasks import close_consent_windows
from cpor import outbox
from tests.consent.portal_helpers import association, tenant

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://[^/\s]+(/consent/[A-Za-z0-9_\-]+/)")


def mailed_link(claim: Claim) -> str:
    notice = ConsentRequest.objects.get(claim=claim)
    assert outbox.deliver(notice.email_id)
    (sent,) = [m for m in mail.outbox if m.to == [claim.customer_contact_email]]
    mail.outbox.clear()
    return LINK.search(sent.body).group(1)


def read(client: Client, path: str, queries: int, assert_num_queries: Any, method: str = "get") -> str:
    with assert_num_queries(queries):
        response = getattr(client, method)(path)
    assert response.status_code == 200
    return response.content.decode()


def test_find_request_loads_only_what_the_page_reads(django_assert_num_queries: Any) -> None:
    claim = association(tenant(), products=("d365-sales", "power-bi"))
    token = mailed_link(claim).strip("/").split("/")[-1]
    with django_assert_num_queries(2):
        found = services.find_request(token)
        assert found is not None
        assert [p.name for p in found.claim.products.all()] == ["Dynamics 365 Sales", "Power BI"]
    assert {"contact_email", "token_hash", "denial_reason"} <= found.get_deferred_fields()
    assert {"customer_contact_email", "name", "technical_contact_name"} <= found.claim.get_deferred_fields()
    assert services.find_request("unknown") is None
    assert services.find_request("x" * 500) is None


def test_every_state_of_the_page_reads_in_its_queries(
    django_assert_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        claim = association(tenant(), products=("d365-sales", "power-bi"))
    path = mailed_link(claim)
    client = Client()
    page = read(client, path, 2, django_assert_num_queries)
    assert "Dynamics 365 Sales" in page and claim.partner.name in page and "Decline this association" in page
    read(client, path + "?lang=tr", 2, django_assert_num_queries)
    read(client, path, 2, django_assert_num_queries, method="head")

    power_bi = Product.objects.get(code="power-bi")
    with django_capture_on_commit_callbacks(execute=True):
        answered = client.post(
            path, {"scope": "chosen", "products": [str(power_bi.pk)], "seen_status": "approved"}
        )
    assert answered.status_code == 200 and "You declined Power BI" in answered.content.decode()
    page = read(client, path, 2, django_assert_num_queries)  # answered: the rest stay open in the portal
    assert "already declined some workloads" in page

    with django_capture_on_commit_callbacks(execute=True):
        other = association(tenant("Second Co", "second.example"))
    other_path = mailed_link(other)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(other_path, {"reason": "Never worked with them."}).status_code == 200
    page = read(client, other_path, 3, django_assert_num_queries)  # denied: and when, from the history
    assert "already denied" in page

    claim.refresh_from_db()
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1), tick=False):
        assert "consent period has ended" in read(client, path, 2, django_assert_num_queries)
        close_consent_windows()
        # associated: since when, from the history
        assert "consent period has ended" in read(client, path, 3, django_assert_num_queries)
