"""The claim admin at /admin/: reviewers, review leads and superusers read claims there, nobody adds,
changes or deletes one there (changes go through the decision buttons and the workflow), and
partner users and anonymous visitors are sent to the admin's sign-in."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Membership
from tests.factories import UserFactory, claim_fields, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status


def changelist() -> str:
    return reverse("admin:claims_claim_changelist")


def change_page(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def test_the_admin_lives_at_admin() -> None:
    assert changelist() == "/admin/claims/claim/"


@pytest.mark.parametrize("who", ["reviewer", "review_lead", "superuser"])
def test_reviewers_and_superusers_see_the_claim_list(client: Client, who: str) -> None:
    claim = claim_in(S.SUBMITTED, name="Contoso Sales rollout")
    user = {
        "reviewer": lambda: reviewer(),
        "review_lead": lambda: reviewer(lead=True),
        "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
    }[who]()
    client.force_login(user)

    response = client.get(changelist())

    assert response.status_code == 200
    assert "Contoso Sales rollout" in response.content.decode()
    assert client.get(change_page(claim)).status_code == 200


@pytest.mark.parametrize("who", ["reviewer", "superuser"])
def test_the_claim_admin_cannot_add_change_or_delete(client: Client, who: str) -> None:
    claim = claim_in(S.SUBMITTED, name="Original name")
    user = reviewer() if who == "reviewer" else UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    before = ClaimEvent.objects.filter(claim=claim).count()

    page = client.get(change_page(claim)).content.decode()
    posted = client.post(
        change_page(claim),
        {"name": "Changed in admin", "customer_name": "Someone else", "status": S.APPROVED},
    )
    added = client.post(reverse("admin:claims_claim_add"), claim_fields(claim.partner) | {"name": "Added"})
    deleted = client.post(reverse("admin:claims_claim_delete", args=[claim.pk]), {"post": "yes"})

    assert 'name="_save"' not in page
    assert posted.status_code == 403
    assert added.status_code == 403
    assert deleted.status_code == 403
    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.name, stored.status) == ("Original name", S.SUBMITTED)
    assert Claim.objects.count() == 1
    assert ClaimEvent.objects.filter(claim=claim).count() == before


@pytest.mark.parametrize("role", [Membership.Role.GLOBAL_ADMIN, Membership.Role.MEMBER])
def test_a_partner_user_is_sent_to_the_admin_login(client: Client, role: str) -> None:
    claim = claim_in(S.SUBMITTED, name="Partner visible name")
    client.force_login(partner_user(claim.partner, role=role))

    for url in [changelist(), change_page(claim)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    response = client.post(change_page(claim), {"name": "Changed by partner"})
    assert response.status_code == 302
    assert Claim.objects.get(pk=claim.pk).name == "Partner visible name"


def test_an_anonymous_visitor_is_sent_to_the_admin_login(client: Client) -> None:
    response = client.get(changelist())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
