"""A copy of a rejected claim is a new claim: it passes the same rules as one typed in.

Create and copy file a draft through one path. What changed since the rejected claim was filed,
such as a product withdrawn from the catalogue, refuses the copy exactly as it refuses a new claim.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from claims import workflow
from claims.models import Claim, ClaimEvent, Product
from tests.factories import claim_fields, claim_in, manager_of

pytestmark = pytest.mark.django_db
S = Claim.Status


def withdrawn(**overrides: Any) -> Claim:
    """A rejected claim that may be copied at once: the partner withdrew it, so no dispute is open."""
    claim = claim_in(S.SUBMITTED, **overrides)
    return workflow.transition(claim, "withdraw", by=manager_of(claim), reason="wrong_mpn")


def test_a_copy_of_a_claim_whose_product_was_withdrawn_is_refused_like_a_new_claim() -> None:
    source = withdrawn(products=("d365-sales", "power-apps"))
    manager = manager_of(source)
    Product.objects.filter(code="power-apps").update(active=False)

    with pytest.raises(ValidationError) as copied:
        workflow.copy_claim(source, by=manager)
    with pytest.raises(ValidationError) as created:
        workflow.create_claim(
            by=manager, fields=claim_fields(source.partner), products=["d365-sales", "power-apps"]
        )

    assert copied.value.message_dict == created.value.message_dict
    assert copied.value.message_dict["products"] == ["Not products of Business Applications: Power Apps."]
    assert not Claim.objects.filter(copied_from=source).exists()
    assert not ClaimEvent.objects.filter(action=ClaimEvent.Action.CREATE, claim__copied_from=source).exists()


def test_a_copy_that_passes_the_rules_is_created_and_recorded_as_a_new_draft() -> None:
    source = withdrawn()
    manager = manager_of(source)

    copy = workflow.copy_claim(source, by=manager)

    assert (copy.status, copy.copied_from, copy.created_by) == (S.EDITING, source, manager)
    event = ClaimEvent.objects.get(claim=copy, action=ClaimEvent.Action.CREATE)
    assert event.diff["copied_from"] == [None, source.pk]
    assert event.note == f"Started from claim #{source.pk}."
