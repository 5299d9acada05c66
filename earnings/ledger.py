"""The earnings ledger: what ends an association's earning."""

from __future__ import annotations

from collections.abc import Sequence

from claims.workflow import StepContext
from earnings.models import AssessmentHandoff


def end_association(context: StepContext) -> None:
    """An association that ends (withdrawn, superseded, ended at the customer's request, lapsed)
    stops earning from the month it ended in."""
    end_associations([context])


def end_associations(contexts: Sequence[StepContext]) -> None:
    """`end_association` for a sweep's batch, with a fixed number of statements for any batch."""
    for now in {c.now for c in contexts}:
        AssessmentHandoff.objects.filter(
            claim_id__in=[c.claim.pk for c in contexts if c.now == now], ended_at=None
        ).update(ended_at=now)
