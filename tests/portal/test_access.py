"""Every portal page and action tried by a managing user, a read-only member, another partner's user
and an anonymous visitor: outsiders get 404, members can look but not act, anonymous must sign in,
and nothing changes for anyone refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Comment, PoeDocument
from tests.factories import claim_in, draft, pdf_upload
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

S = Claim.Status

CLAIM_PAGES = ["claims:detail", "claims:edit", "claims:download"]
POST_ACTIONS = [
    "claims:submit",
    "claims:resubmit",
    "claims:withdraw",
    "claims:dispute",
    "claims:copy",
    "claims:delete",
    "claims:comment",
    "claims:upload",
    "claims:remove_document",
]


def url(name: str, claim: Claim) -> str:
    if name in ("claims:download", "claims:remove_document"):
        return reverse(name, args=[claim.pk, claim.documents.first().pk])
    return reverse(name, args=[claim.pk])


def fingerprint(claim: Claim) -> tuple[Any, ...]:
    claim = Claim.objects.get(pk=claim.pk)
    return (
        claim.status,
        claim.updated_at,
        ClaimEvent.objects.filter(claim=claim).count(),
        Comment.objects.filter(claim=claim).count(),
        PoeDocument.objects.filter(claim=claim).count(),
        Claim.objects.count(),
    )


def payload() -> dict[str, Any]:
    return {
        "submit-customer_signature": "on",
        "submit-dates": "on",
        "submit-solution": "on",
        "submit-products": "on",
        "submit-tenant": "on",
        "resubmit-comment": "answer",
        "withdraw-reason": "wrong_mpn",
        "withdraw-confirm": "on",
        "dispute-justification": "because",
        "comment-body": "hello",
        "upload-files": pdf_upload("more.pdf"),
    }


@pytest.fixture
def a_draft(manager: Any) -> Claim:
    return draft(by=manager, name="Draft of Contoso")


@pytest.mark.parametrize("name", CLAIM_PAGES)
def test_another_partners_user_gets_404_on_every_claim_page(
    name: str, a_draft: Claim, outsider_client: Client
) -> None:
    assert outsider_client.get(url(name, a_draft)).status_code == 404


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_another_partners_user_gets_404_on_every_action(
    name: str, a_draft: Claim, outsider_client: Client
) -> None:
    before = fingerprint(a_draft)
    response = outsider_client.post(url(name, a_draft), payload())
    assert response.status_code == 404
    assert fingerprint(a_draft) == before


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_a_read_only_member_may_not_act(name: str, a_draft: Claim, member_client: Client) -> None:
    before = fingerprint(a_draft)
    response = member_client.post(url(name, a_draft), payload())
    assert response.status_code == 403
    assert fingerprint(a_draft) == before


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_anonymous_is_sent_to_sign_in(name: str, a_draft: Claim, client: Client) -> None:
    before = fingerprint(a_draft)
    response = client.post(url(name, a_draft), payload())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert fingerprint(a_draft) == before


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_actions_reject_get(name: str, a_draft: Claim, manager_client: Client) -> None:
    before = fingerprint(a_draft)
    assert manager_client.get(url(name, a_draft)).status_code == 405
    assert fingerprint(a_draft) == before


@pytest.mark.parametrize("route", ["claims:dashboard", "claims:export", "claims:new", "claims:poe_template"])
def test_anonymous_must_sign_in_for_portal_pages(route: str, client: Client) -> None:
    response = client.get(reverse(route))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", CLAIM_PAGES)
def test_anonymous_must_sign_in_for_claim_pages(name: str, a_draft: Claim, client: Client) -> None:
    response = client.get(url(name, a_draft))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_read_only_member_sees_everything_but_no_forms(a_draft: Claim, member_client: Client) -> None:
    detail = member_client.get(reverse("claims:detail", args=[a_draft.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "Draft of Contoso" in html
    main = html.split('<main id="main"', 1)[1]
    assert "<form" not in main and "<button" not in main
    assert member_client.get(url("claims:download", a_draft)).status_code == 200
    assert member_client.get(reverse("claims:dashboard")).status_code == 200
    assert member_client.get(reverse("claims:export")).status_code == 200
    assert member_client.get(reverse("claims:edit", args=[a_draft.pk])).status_code == 403
    assert member_client.get(reverse("claims:new")).status_code == 403
    dashboard = member_client.get(reverse("claims:dashboard")).content.decode()
    assert reverse("claims:new") not in dashboard.split('<main id="main"', 1)[1]


def test_a_reviewer_without_a_partner_sees_no_portal(a_draft: Claim) -> None:
    from tests.factories import reviewer

    client = client_for(reviewer())
    assert client.get(reverse("claims:dashboard")).status_code == 403
    assert client.get(reverse("claims:detail", args=[a_draft.pk])).status_code == 404
    assert client.get(url("claims:download", a_draft)).status_code == 404
    assert client.get(reverse("claims:export")).status_code == 404


def test_another_partners_claims_are_not_in_my_dashboard_or_export(
    a_draft: Claim, outsider: Any, outsider_client: Client
) -> None:
    theirs = claim_in(S.SUBMITTED, partner=outsider.membership.partner, by=outsider, name="Fabrikam secret")
    mine = client_for(a_draft.created_by)
    for page in (mine.get(reverse("claims:dashboard")), mine.get("/")):
        assert "Fabrikam secret" not in page.content.decode()
    export = b"".join(mine.get(reverse("claims:export")).streaming_content).decode()
    assert "Fabrikam secret" not in export and "Draft of Contoso" in export
    assert "Draft of Contoso" not in outsider_client.get(reverse("claims:dashboard")).content.decode()
    assert mine.get(reverse("claims:detail", args=[theirs.pk])).status_code == 404
    document = theirs.documents.first()
    assert mine.get(reverse("claims:download", args=[theirs.pk, document.pk])).status_code == 404
    # Another partner's document through my own claim's URL: still 404.
    assert mine.get(reverse("claims:download", args=[a_draft.pk, document.pk])).status_code == 404
