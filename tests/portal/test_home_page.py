"""The home page: an anonymous visitor is offered the sign-in, a partner user sees its own partner's
claims (drafts included) and never another partner's, names are shown escaped, and a reviewer sees
no partner claims there."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, Membership
from tests.factories import claim_in, draft, manager_of, partner_user, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status


@pytest.fixture
def staff_reviewer_client(client: Client) -> Client:
    client.force_login(reviewer())
    return client


def test_the_home_page_answers_an_anonymous_visitor(client: Client) -> None:
    draft(name="Hidden from strangers")

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("login") in html
    assert "Hidden from strangers" not in html


@pytest.mark.parametrize("role", [Membership.Role.INCENTIVES_ADMIN, Membership.Role.MEMBER])
def test_a_partner_user_sees_its_own_claims_and_not_another_partners(client: Client, role: str) -> None:
    ours = claim_in(S.SUBMITTED, name="Contoso Sales rollout")
    draft(ours.partner, by=manager_of(ours), name="Contoso draft", customer_tenant_id=uuid.uuid4())
    theirs = claim_in(S.SUBMITTED, name="Fabrikam secret pitch")
    client.force_login(partner_user(ours.partner, role=role))

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Contoso Sales rollout" in html
    assert "Contoso draft" in html
    assert "Fabrikam secret pitch" not in html
    assert f"#{theirs.pk} " not in html


def test_a_claim_name_with_markup_is_shown_escaped(client: Client) -> None:
    claim = draft(name="<script>alert('owned')</script>")
    client.force_login(manager_of(claim))

    html = client.get("/").content.decode()

    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in html
    assert "<script>alert(" not in html


def test_a_reviewer_sees_no_partner_claims_on_the_home_page(staff_reviewer_client: Client) -> None:
    draft(name="Partner-only draft")

    response = staff_reviewer_client.get("/")

    assert response.status_code == 200
    assert "Partner-only draft" not in response.content.decode()
