"""Hostile input on every portal form: a form error or a 4xx, never a 500, nothing changed — and
markup that is accepted as text is shown escaped."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Comment, MpnId, PoeDocument, Product
from tests.factories import claim_in, draft
from tests.portal.test_new_claim import form_data

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('owned')</script>"
HUGE = "x" * 10_240
NUL = "abc\x00def"
HOSTILE = [SCRIPT, HUGE, NUL, "\x00" * 40, "' OR 1=1 --", "../../etc/passwd", "\u202egnp.exe"]
# Strange but harmless as plain text in a free-text field: stored as typed, shown escaped.
PLAIN_TEXT = {SCRIPT, "' OR 1=1 --", "../../etc/passwd", "\u202egnp.exe"}
FREE_TEXT = {"name", "customer_name", "customer_contact_name", "work_description"}
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;"


def state() -> tuple[Any, ...]:
    return (
        list(Claim.objects.order_by("pk").values_list("pk", "status", "updated_at")),
        ClaimEvent.objects.count(),
        Comment.objects.count(),
        PoeDocument.objects.count(),
    )


def assert_safe(response: Any) -> str:
    assert response.status_code < 500
    body = response.content.decode() if not getattr(response, "streaming", False) else ""
    assert "<script>alert(" not in body
    return body


TEXT_FIELDS = [
    "name",
    "customer_name",
    "customer_domain",
    "customer_tenant_id",
    "customer_contact_name",
    "customer_contact_email",
    "customer_contact_language",
    "technical_contact_phone",
    "partner_contact_email",
    "work_description",
    "activity",
    "mpn",
    "products",
    "solution_area",
    "subscription_id",
]


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", HOSTILE)
def test_new_claim_form(field: str, value: str, manager_client: Client, own_mpn: MpnId) -> None:
    data = form_data(own_mpn)
    data[field] = value
    response = manager_client.post("/claims/new/", data)
    assert_safe(response)
    created = Claim.objects.first()
    if created is None:
        assert response.status_code == 400
    else:  # only plain text in a free-text field is accepted, and shown escaped
        assert value in PLAIN_TEXT and field in FREE_TEXT
        html = manager_client.get(reverse("claims:detail", args=[created.pk])).content.decode()
        assert SCRIPT not in html
        if value == SCRIPT:
            assert ESCAPED_SCRIPT in html


def test_new_claim_rejects_products_of_the_other_area_and_unknown_ids(
    manager_client: Client, own_mpn: MpnId
) -> None:
    teams = Product.objects.get(code="m365-teams")
    for products in ([teams.pk], [999_999], ["d365-sales"], []):
        response = manager_client.post("/claims/new/", form_data(own_mpn, products=products))
        assert response.status_code == 400
    # An activity of the other area, and an area that is not the one the choices came from.
    assert (
        manager_client.post(
            "/claims/new/", form_data(own_mpn, activity="presales", solution_area="microsoft_365")
        ).status_code
        == 400
    )
    assert not Claim.objects.exists()


@pytest.mark.parametrize("value", HOSTILE)
def test_edit_form(value: str, manager: Any, manager_client: Client) -> None:
    claim = claim_in(Claim.Status.SUBMITTED, partner=manager.membership.partner, by=manager)
    before = state()
    for field in (
        "customer_contact_name",
        "customer_contact_email",
        "mpn",
        "products",
        "partner_contact_phone",
    ):
        data = {
            "mpn": claim.mpn_id,
            "products": [p.pk for p in claim.products.all()],
            "customer_contact_name": "Nina",
            "customer_contact_email": "nina@northwind.example",
            "customer_contact_language": "en",
            "technical_contact_name": "Tom",
            "technical_contact_email": "tom@northwind.example",
            "partner_contact_name": "Paula",
            "partner_contact_email": "paula@partner.example",
            field: value,
        }
        response = manager_client.post(reverse("claims:edit", args=[claim.pk]), data)
        assert_safe(response)
        if value not in PLAIN_TEXT or field != "customer_contact_name":
            assert response.status_code == 400, (field, response.status_code)
    if value not in PLAIN_TEXT:
        assert state() == before


@pytest.fixture
def claims_in_every_action_state(manager: Any) -> dict[str, Claim]:
    partner = manager.membership.partner
    return {
        "editing": draft(by=manager, name="the draft"),
        "pending": claim_in(
            Claim.Status.PARTNER_ACTION_REQUIRED,
            partner=partner,
            by=manager,
            customer_tenant_id="6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e41",
        ),
        "rejected": claim_in(
            Claim.Status.REJECTED,
            partner=partner,
            by=manager,
            customer_tenant_id="6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e42",
        ),
        "approved": claim_in(
            Claim.Status.APPROVED,
            partner=partner,
            by=manager,
            customer_tenant_id="6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e43",
        ),
    }


@pytest.mark.parametrize("value", [HUGE, NUL, "\x00" * 40])
def test_action_forms_refuse_oversized_and_nul_text(
    value: str, manager_client: Client, claims_in_every_action_state: dict[str, Claim]
) -> None:
    claims = claims_in_every_action_state
    before = state()
    attempts = [
        ("claims:withdraw", claims["approved"], {"withdraw-reason": "wrong_mpn", "withdraw-comment": value}),
        ("claims:dispute", claims["rejected"], {"dispute-justification": value}),
        ("claims:resubmit", claims["pending"], {"resubmit-comment": value}),
        ("claims:comment", claims["pending"], {"comment-body": value}),
    ]
    for name, claim, data in attempts:
        response = manager_client.post(reverse(name, args=[claim.pk]), data)
        assert_safe(response)
        assert response.status_code == 400, name
    assert state() == before


@pytest.mark.parametrize("value", HOSTILE)
def test_action_forms_refuse_unknown_codes_and_non_files(
    value: str, manager_client: Client, claims_in_every_action_state: dict[str, Claim]
) -> None:
    claims = claims_in_every_action_state
    before = state()
    for name, claim, data in [
        ("claims:withdraw", claims["approved"], {"withdraw-reason": value}),
        ("claims:upload", claims["editing"], {"upload-files": value}),
        ("claims:resubmit", claims["pending"], {"resubmit-files": value}),
        ("claims:remove_document", claims["editing"], {}),
    ]:
        url = (
            reverse(name, args=[claim.pk, 10**9])
            if name == "claims:remove_document"
            else reverse(name, args=[claim.pk])
        )
        response = manager_client.post(url, data)
        assert_safe(response)
        assert response.status_code in (400, 409), name
    # A checkbox is ticked whatever value it carries: hostile values submit (and render) safely.
    response = manager_client.post(
        reverse("claims:submit", args=[claims["editing"].pk]),
        {f"submit-{n}": value for n in ("customer_signature", "dates", "solution", "products", "tenant")},
    )
    assert_safe(response)
    assert state()[1:] >= before[1:]


def test_markup_in_a_comment_is_shown_escaped(manager: Any, manager_client: Client) -> None:
    claim = claim_in(Claim.Status.UNDER_REVIEW, partner=manager.membership.partner, by=manager)
    manager_client.post(reverse("claims:comment", args=[claim.pk]), {"comment-body": SCRIPT})
    html = manager_client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert ESCAPED_SCRIPT in html and SCRIPT not in html


@pytest.mark.parametrize("value", HOSTILE)
def test_dashboard_filters(value: str, manager: Any, manager_client: Client) -> None:
    draft(by=manager)
    before = state()
    for name in (
        "q",
        "status",
        "activity",
        "solution_area",
        "product",
        "submitted_from",
        "submitted_to",
        "sort",
        "page",
    ):
        assert_safe(manager_client.get("/claims/", {name: value}))
        response = manager_client.get(reverse("claims:export"), {name: value})
        if "\x00" in value:  # refused before any view runs (cpor.middleware.RejectNulMiddleware)
            assert response.status_code == 400
        else:
            assert response.status_code == 200
            b"".join(response.streaming_content)
    assert state() == before


@pytest.mark.parametrize("path", ["/claims/999999/", "/claims/0/", "/claims/-1/", "/claims/abc/"])
def test_unknown_claim_ids_are_404(path: str, manager_client: Client) -> None:
    assert manager_client.get(path).status_code == 404


def test_a_nul_in_the_path_is_a_400(manager_client: Client) -> None:
    assert manager_client.get("/claims/1%00/").status_code == 400


def test_other_forms(manager: Any, client: Client) -> None:
    for value in HOSTILE:
        assert_safe(client.post(reverse("claims:password_reset"), {"email": value}))
        assert_safe(client.post(reverse("claims:set_language"), {"language": value, "next": value}))
    client.force_login(manager)
    assert_safe(client.get("/claims/new/", {"solution_area": SCRIPT}))
