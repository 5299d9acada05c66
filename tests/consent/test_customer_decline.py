"""A signed-in customer declines all or some workloads of an association in the portal.

Every refusal (window closed, stale page, a workload not on the claim, nothing chosen, junk) shows
the page again with the reason and changes nothing: the database is fingerprinted around it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Product, RejectionReason
from cpor.models import OutboundEmail
from tests.consent.portal_helpers import association, signed_in, tenant

pytestmark = pytest.mark.django_db
S = Claim.Status
TWO = ("d365-sales", "power-bi")
NINA = "nina@northwind.example"


def product(code: str) -> Product:
    return Product.objects.get(code=code)


def fingerprint(claim: Claim) -> tuple[Any, ...]:
    claim.refresh_from_db()
    return (
        claim.status,
        sorted(claim.products.values_list("code", flat=True)),
        list(ClaimEvent.objects.filter(claim=claim).values_list("pk", flat=True)),
        OutboundEmail.objects.count(),
    )


@pytest.fixture
def northwind() -> Any:
    return tenant()


@pytest.fixture
def claim(northwind: Any) -> Claim:
    return association(northwind, products=TWO)


@pytest.fixture
def nina(northwind: Any) -> Client:
    return signed_in(NINA)


def decline(client: Client, claim: Claim, **data: Any) -> Any:
    data.setdefault("seen_status", S.APPROVED)
    return client.post(reverse("consent:customer_decline", args=[claim.pk]), data)


def test_declining_one_of_two_workloads_keeps_the_other(claim: Claim, nina: Client) -> None:
    response = decline(
        nina, claim, scope="chosen", products=[product("power-bi").pk], reason="We run Power BI ourselves."
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("consent:customer_association", args=[claim.pk])
    claim.refresh_from_db()
    assert claim.status == S.APPROVED
    assert list(claim.products.values_list("code", flat=True)) == ["d365-sales"]
    (event,) = ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.WORKLOADS_DECLINED)
    assert event.actor_kind == "customer"
    assert "Power BI" in event.note and "We run Power BI ourselves." in event.note
    (mail,) = OutboundEmail.objects.filter(kind="workloads_declined_partner")
    assert mail.claimevent_set.get().claim_id == claim.pk
    page = nina.get(response["Location"])
    text = page.content.decode()
    assert "You declined Power BI." in text
    receipt = reverse("consent:customer_receipt", args=[claim.pk, event.pk])
    assert f'href="{receipt}"' in text
    assert nina.get(receipt).status_code == 200


def test_declining_the_whole_association_rejects_it(claim: Claim, nina: Client) -> None:
    response = decline(nina, claim, scope="all", reason="Not our partner.")
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.REJECTED
    assert claim.rejection_reason == RejectionReason.CUSTOMER_DECLINE
    event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.DENY_CONSENT)
    assert event.actor_kind == "customer" and event.note == "Not our partner."
    assert "The claim is rejected" in nina.get(response["Location"]).content.decode()
    # The claim's contact (it@) is confirmed, and so is nina@, who decided, in her page's language.
    confirmations = OutboundEmail.objects.filter(kind="consent_denied_customer").order_by("pk")
    assert [row.recipients for row in confirmations] == [[claim.customer_contact_email], [NINA]]


def test_ticking_every_workload_under_only_some_asks_for_the_whole_association(
    claim: Claim, nina: Client
) -> None:
    """The choice of scope is the customer's: "only the workloads I choose" with all of them ticked
    is not turned into a denial behind their back; the page says how to decline everything."""
    before = list(claim.products.order_by("pk"))
    response = decline(nina, claim, scope="chosen", products=[p.pk for p in before])
    assert response.status_code == 409
    assert "decline the whole association" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == S.APPROVED and list(claim.products.order_by("pk")) == before


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"scope": "chosen"}, "Choose at least one workload"),
        ({"scope": "everything"}, "Choose the whole association or only some workloads"),
        ({"scope": "chosen", "products": ["abc"]}, "not part of this association"),
        ({"scope": "chosen", "products": ["999999"]}, "not part of this association"),
        ({"scope": "chosen", "products": ["99999999999999999999999"]}, "not part of this association"),
        ({"scope": "chosen", "products": ["-1", "1e9", "\x00"]}, "not part of this association"),
        ({"scope": "all", "products": ["PB"]}, "ticked some workloads"),
        ({"scope": "chosen", "products": ["PB"], "reason": "x" * 2001}, "2000"),
        ({"scope": "chosen", "products": ["PB"], "reason": "bad\x07bell"}, "control characters"),
        ({"scope": "chosen", "products": ["PB"], "reason": "bad\x00byte"}, "Null characters"),
    ],
)
def test_bad_posts_show_the_page_again_and_change_nothing(
    claim: Claim, nina: Client, data: dict[str, Any], words: str
) -> None:
    if data.get("products") == ["PB"]:
        data["products"] = [product("power-bi").pk]
    before = fingerprint(claim)
    response = decline(nina, claim, **data)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert "Nothing was changed" in response.content.decode()
    assert fingerprint(claim) == before


def test_a_workload_of_another_claim_is_refused(claim: Claim, nina: Client, northwind: Any) -> None:
    other = association(northwind, products=("d365-finance",), name="Finance rollout")
    before = fingerprint(claim)
    response = decline(nina, claim, scope="chosen", products=[product("d365-finance").pk])
    assert response.status_code == 400
    assert "not part of this association" in response.content.decode()
    assert fingerprint(claim) == before
    assert other.products.count() == 1


def test_after_the_window_closed_the_decline_is_refused(claim: Claim) -> None:
    with time_machine.travel(claim.consent_window_ends_at - dt.timedelta(seconds=30)):
        nina = signed_in(NINA)  # the page was open while the window was
    before = fingerprint(claim)
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1)):
        response = decline(nina, claim, scope="chosen", products=[product("power-bi").pk])
    assert response.status_code == 409
    text = response.content.decode()
    assert "Nothing was changed" in text and "opt-out window of this association has closed" in text
    assert fingerprint(claim) == before


def test_a_stale_page_is_refused(claim: Claim, nina: Client) -> None:
    before = fingerprint(claim)
    response = decline(nina, claim, scope="all", seen_status=S.ASSOCIATED)
    assert response.status_code == 409
    assert "changed while you were looking at it" in response.content.decode()
    assert fingerprint(claim) == before


def test_the_page_after_a_refusal_still_offers_the_choice_with_what_was_posted(
    claim: Claim, nina: Client
) -> None:
    response = decline(nina, claim, scope="chosen", reason="Keep my words")
    text = response.content.decode()
    assert f'value="chosen" id="decline-{claim.pk}-chosen" checked' in text
    assert "Keep my words</textarea>" in text


def test_a_claim_id_out_of_any_range_is_not_found(nina: Client) -> None:
    assert (
        nina.post("/customer/associations/99999999999999999999999/decline/", {"scope": "all"}).status_code
        == 404
    )


def test_another_tenants_claim_is_not_found(claim: Claim) -> None:
    contoso = tenant("Contoso Customer", "customer.contoso.example")
    outsider = signed_in("it@customer.contoso.example")
    before = fingerprint(claim)
    assert decline(outsider, claim, scope="all").status_code == 404
    assert fingerprint(claim) == before
    assert contoso.pk


def test_nobody_signed_in_gets_the_sign_in_page(claim: Claim) -> None:
    before = fingerprint(claim)
    response = decline(Client(), claim, scope="all")
    assert response.status_code == 403
    assert 'name="email"' in response.content.decode()
    assert fingerprint(claim) == before


def test_a_partner_user_is_not_a_customer(claim: Claim) -> None:
    from tests.factories import manager_of

    client = Client()
    client.force_login(manager_of(claim))
    before = fingerprint(claim)
    assert decline(client, claim, scope="all").status_code == 403
    assert fingerprint(claim) == before


def test_get_is_not_allowed(claim: Claim, nina: Client) -> None:
    url = reverse("consent:customer_decline", args=[claim.pk])
    assert nina.get(url).status_code == 405
    assert nina.head(url).status_code == 405
    claim.refresh_from_db()
    assert claim.status == S.APPROVED


def test_without_the_csrf_token_nothing_changes(claim: Claim, nina: Client) -> None:
    # The signed-in session, in a client that checks CSRF like a browser from another site would.
    client = Client(enforce_csrf_checks=True)
    client.cookies = nina.cookies
    before = fingerprint(claim)
    response = decline(client, claim, scope="all")
    assert response.status_code == 403 and b"CSRF" in response.content
    assert fingerprint(claim) == before
