"""Sentences that end with a name: a name that already ends in a period ("Contoso Inc.") gets no
second one, on pages and in mail."""

from __future__ import annotations

from typing import Any

import pytest

from claims.models import Claim
from claims.templatetags.sentences import end_sentence
from cpor.models import OutboundEmail
from cpor.outbox import render
from tests.factories import claim_in, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status


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
