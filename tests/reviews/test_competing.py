"""Approving the winner of competing claims ends the others: rejected as superseded, both sides told."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment, RejectionReason
from cpor import outbox
from tests.factories import PartnerFactory, claim_in, mail_to, manager_of, reviewer

from .admin_pages import button, client_for, messages_of

pytestmark = pytest.mark.django_db
S = Claim.Status


@pytest.fixture
def tenant() -> uuid.UUID:
    return uuid.uuid4()


def test_approving_the_winner_supersedes_the_other_partners_claims(tenant: uuid.UUID) -> None:
    fabrikam = PartnerFactory(name="Fabrikam", language="tr")
    loser = claim_in(
        S.UNDER_REVIEW,
        partner=fabrikam,
        customer_tenant_id=tenant,
        products=("power-bi",),
        name="Fabrikam BI",
    )
    associated = claim_in(S.APPROVED, customer_tenant_id=tenant, products=("power-bi", "d365-sales"))
    winner = claim_in(
        S.UNDER_REVIEW, customer_tenant_id=tenant, products=("d365-sales", "power-bi"), name="Contoso Sales"
    )
    # `associated` was approved before `winner` existed; `loser` was superseded by it already.
    loser.refresh_from_db()
    assert loser.status == S.REJECTED
    loser_events = list(ClaimEvent.objects.filter(claim=loser).values_list("pk", flat=True))

    response = client_for(reviewer()).post(button(winner, "approve"), {"seen_status": S.UNDER_REVIEW})

    assert messages_of(response) == [f"Claim #{winner.pk}: Approved."]
    winner.refresh_from_db()
    associated.refresh_from_db()
    assert winner.status == S.APPROVED
    assert (associated.status, associated.rejection_reason) == (S.REJECTED, RejectionReason.SUPERSEDED)
    # The already-rejected claim is not touched again.
    assert list(ClaimEvent.objects.filter(claim=loser).values_list("pk", flat=True)) == loser_events


def test_both_partners_are_told_why_and_both_histories_say_so(tenant: uuid.UUID) -> None:
    fabrikam = PartnerFactory(name="Fabrikam", language="tr")
    other = claim_in(S.SUBMITTED, partner=fabrikam, customer_tenant_id=tenant, products=("power-bi",))
    winner = claim_in(S.UNDER_REVIEW, customer_tenant_id=tenant, products=("d365-sales", "power-bi"))
    untouched = [
        claim_in(S.SUBMITTED, customer_tenant_id=tenant, products=("d365-finance",)),  # another product
        claim_in(S.SUBMITTED, products=("power-bi",)),  # another tenant
        claim_in(
            S.SUBMITTED,
            partner=winner.partner,
            by=manager_of(winner),
            customer_tenant_id=tenant,
            activity="presales",
            products=("power-bi",),
        ),  # the winner's own partner
    ]

    client_for(reviewer()).post(button(winner, "approve"), {"seen_status": S.UNDER_REVIEW})

    other.refresh_from_db()
    assert (other.status, other.rejection_reason) == (S.REJECTED, RejectionReason.SUPERSEDED)
    assert other.dispute_window_ends_at is not None
    ended = ClaimEvent.objects.get(claim=other, action="supersede")
    assert (ended.actor_kind, ended.from_status, ended.to_status, ended.partner_visible) == (
        "system",
        S.SUBMITTED,
        S.REJECTED,
        True,
    )
    assert "Power BI" in ended.note  # in the partner's language (Turkish here)
    for claim in untouched:
        claim.refresh_from_db()
        assert claim.status == S.SUBMITTED

    # The superseded partner's mail, in its language, says why.
    rejected_mail = mail_to(other.partner_contact_email, kind="claim_rejected")
    assert rejected_mail.language == "tr"
    assert outbox.deliver(rejected_mail.pk)
    sent = mail.outbox[-1]
    assert "Başka bir iş ortağının" in sent.body and "Power BI" in sent.body
    assert "geçersiz kaldı" in sent.body.lower()

    # The winner's partner sees on its claim that competing claims ended.
    note = Comment.objects.get(claim=winner, author_kind="system")
    assert note.partner_visible and "ended 1 competing claim" in note.body
    assert ClaimEvent.objects.filter(
        claim=winner, action="comment", partner_visible=True, note=note.body
    ).exists()
    internal = ClaimEvent.objects.get(claim=winner, action="comment", partner_visible=False)
    assert internal.diff == {"superseded_claims": [other.pk]}
    # …and neither partner's visible history names the other's claim.
    assert f"#{winner.pk}" not in ended.note and f"#{other.pk}" not in note.body


def test_the_english_mail_says_superseded(tenant: uuid.UUID) -> None:
    other = claim_in(S.UNDER_REVIEW, customer_tenant_id=tenant, products=("power-bi",))
    winner = claim_in(S.UNDER_REVIEW, customer_tenant_id=tenant, products=("power-bi",))

    workflow.transition(winner, "approve", by=reviewer())

    rejected_mail = mail_to(other.partner_contact_email, kind="claim_rejected")
    _subject, body = outbox.render(rejected_mail)
    assert "Superseded by another partner's association" in body
    assert "Another partner's claim for the same customer tenant and product was approved" in body
    assert "dispute this rejection until" in body


def test_a_disputed_competitor_stays_disputed(tenant: uuid.UUID) -> None:
    disputed = claim_in(S.DISPUTED, customer_tenant_id=tenant, products=("power-bi",))
    winner = claim_in(S.UNDER_REVIEW, customer_tenant_id=tenant, products=("power-bi",))

    workflow.transition(winner, "approve", by=reviewer())

    disputed.refresh_from_db()
    assert disputed.status == S.DISPUTED
    assert not Comment.objects.filter(claim=winner, author_kind="system").exists()
