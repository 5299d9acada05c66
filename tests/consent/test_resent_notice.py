"""A consent notice a reviewer resends to another contact: the partner never sees that address,
and the contact who denies through it gets the confirmation, in their own language."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from claims.models import Claim, ClaimEvent
from consent import services
from cpor import outbox
from cpor.models import OutboundEmail
from tests.factories import claim_in, manager_of, reviewer
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db
S = Claim.Status


def test_a_reviewer_resending_to_another_contact_does_not_show_it_to_the_partner() -> None:
    claim = claim_in(S.APPROVED)
    services.resend_notice(claim, by=reviewer(), email="ceo-private@northwind.example")
    visible = ClaimEvent.objects.filter(claim=claim, partner_visible=True).values_list("note", flat=True)
    assert not any("ceo-private" in note for note in visible)
    page = client_for(manager_of(claim)).get(reverse("claims:detail", args=[claim.pk]))
    assert page.status_code == 200 and b"ceo-private" not in page.content


def test_an_alternate_contact_who_denies_gets_the_confirmation() -> None:
    claim = claim_in(S.APPROVED)
    notice = services.resend_notice(
        claim, by=reviewer(), name="Ayşe", email="ayse@northwind.example", language="tr"
    )
    assert services.deny(notice, reason="Not our partner.")
    for row in OutboundEmail.objects.filter(kind="consent_denied_customer"):
        assert outbox.deliver(row.pk)
    confirmations = {
        m.to[0]: m for m in mail.outbox if m.to[0] in ("ayse@northwind.example", claim.customer_contact_email)
    }
    assert set(confirmations) == {"ayse@northwind.example", claim.customer_contact_email}
    assert "Merhaba Ayşe" in confirmations["ayse@northwind.example"].body
