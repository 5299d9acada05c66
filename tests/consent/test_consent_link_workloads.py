"""The consent link offers the portal's choice: the whole association or only some workloads.

The link answers for its one claim (a single-use answer); the organisation's other associations are
behind the portal's own sign-in, which the page links to but the token does not open.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Product, RejectionReason
from consent.models import ConsentRequest
from cpor import outbox
from cpor.models import OutboundEmail
from tests.consent.portal_helpers import association, tenant

pytestmark = pytest.mark.django_db
S = Claim.Status
LINK = re.compile(r"https?://[^/\s]+(/consent/[A-Za-z0-9_\-]+/)")
TWO = ("d365-sales", "power-bi")


def mailed_link(claim: Claim) -> str:
    notice = ConsentRequest.objects.get(claim=claim)
    assert outbox.deliver(notice.email_id)
    (sent,) = [m for m in mail.outbox if m.to == [claim.customer_contact_email]]
    return LINK.search(sent.body).group(1)


def fingerprint(claim: Claim) -> tuple[Any, ...]:
    claim.refresh_from_db()
    return (
        claim.status,
        sorted(claim.products.values_list("code", flat=True)),
        list(ClaimEvent.objects.filter(claim=claim).values_list("pk", flat=True)),
        OutboundEmail.objects.count(),
        list(ConsentRequest.objects.filter(claim=claim).values_list("used_at", flat=True)),
    )


@pytest.fixture
def claim() -> Claim:
    return association(tenant(), products=TWO)


def test_the_page_offers_each_workload_and_links_to_the_portal(claim: Claim) -> None:
    path = mailed_link(claim)
    before = fingerprint(claim)
    client = Client()
    page = client.get(path).content.decode()
    for code in TWO:
        assert f'name="products" value="{Product.objects.get(code=code).pk}"' in page
    assert "The whole association" in page and "Only the workloads I choose" in page
    assert f'action="{path}"' in page  # the choice posts back to the link, not to the portal
    assert f'href="{reverse("consent:customer_home")}"' in page
    assert client.head(path).status_code == 200
    assert client.get(path + "?scope=all&products=1").status_code == 200
    assert fingerprint(claim) == before  # a mail scanner's GET and HEAD change nothing
    # The token opened this page only: the portal still asks who you are.
    assert client.get(reverse("consent:customer_association", args=[claim.pk])).status_code == 403


def test_declining_one_workload_through_the_link(claim: Claim) -> None:
    path = mailed_link(claim)
    power_bi = Product.objects.get(code="power-bi")
    response = Client().post(path, {"scope": "chosen", "products": [power_bi.pk], "reason": "We run it."})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Your answer is recorded" in text and "You declined Power BI." in text
    claim.refresh_from_db()
    assert claim.status == S.APPROVED
    assert list(claim.products.values_list("code", flat=True)) == ["d365-sales"]
    event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.WORKLOADS_DECLINED)
    assert event.actor_kind == "customer" and "We run it." in event.note
    assert event.diff["via"]["email"] == claim.customer_contact_email
    assert OutboundEmail.objects.filter(kind="workloads_declined_partner").count() == 1
    assert ConsentRequest.objects.get(claim=claim).used_at is not None
    # The link was answered; more is declined in the portal, and a second post records nothing.
    before = fingerprint(claim)
    again = Client().post(path, {"scope": "all"})
    assert "Your answer is already recorded" in again.content.decode()
    assert "sign in to the customer portal" in again.content.decode()
    assert fingerprint(claim) == before


def test_a_post_without_any_workload_field_declines_everything_as_before(claim: Claim) -> None:
    path = mailed_link(claim)
    response = Client().post(path, {"reason": "Never worked with them."})
    assert "Your answer is recorded" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == S.REJECTED and claim.rejection_reason == RejectionReason.CUSTOMER_DECLINE
    assert ClaimEvent.objects.get(claim=claim, action="deny_consent").note == "Never worked with them."


def test_choosing_the_whole_association_declines_everything(claim: Claim) -> None:
    Client().post(mailed_link(claim), {"scope": "all"})
    claim.refresh_from_db()
    assert claim.status == S.REJECTED and claim.rejection_reason == RejectionReason.CUSTOMER_DECLINE


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"scope": "chosen"}, "Choose at least one workload"),
        ({"scope": "chosen", "products": ["zzz"]}, "not part of this association"),
        ({"scope": "all", "products": ["PB"]}, "ticked some workloads"),
        ({"scope": "chosen", "products": ["PB"], "reason": "x" * 2001}, "2000"),
    ],
)
def test_bad_posts_through_the_link_change_nothing(claim: Claim, data: dict[str, Any], words: str) -> None:
    if data.get("products") == ["PB"]:
        data["products"] = [Product.objects.get(code="power-bi").pk]
    path = mailed_link(claim)
    before = fingerprint(claim)
    response = Client().post(path, data)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert fingerprint(claim) == before


def test_a_workload_of_another_claim_is_refused_through_the_link(claim: Claim) -> None:
    path = mailed_link(claim)
    finance = Product.objects.get(code="d365-finance")
    before = fingerprint(claim)
    response = Client().post(path, {"scope": "chosen", "products": [finance.pk]})
    assert response.status_code == 400 and "not part of this association" in response.content.decode()
    assert fingerprint(claim) == before


def test_a_stale_page_through_the_link_is_refused(claim: Claim) -> None:
    path = mailed_link(claim)
    before = fingerprint(claim)
    response = Client().post(path, {"scope": "all", "seen_status": S.ASSOCIATED})
    assert response.status_code == 409
    assert "changed while you were looking at it" in response.content.decode()
    assert fingerprint(claim) == before


def test_after_the_window_the_link_declines_nothing(claim: Claim) -> None:
    path = mailed_link(claim)
    before = fingerprint(claim)
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1)):
        response = Client().post(
            path, {"scope": "chosen", "products": [Product.objects.get(code="power-bi").pk]}
        )
    assert response.status_code == 200 and "consent period has ended" in response.content.decode()
    assert fingerprint(claim) == before


def test_the_page_speaks_turkish(claim: Claim) -> None:
    path = mailed_link(claim)
    page = Client().get(path + "?lang=tr").content.decode()
    assert 'lang="tr"' in page
    assert "Only the workloads I choose" not in page
