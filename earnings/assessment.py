"""The hand-off to incentive assessment when an association's opt-out window closes (a step on
`close_consent_window`, registered in `EarningsConfig.ready`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import F

from claims.models import Claim
from claims.workflow import StepContext
from cpor.bulk import insert_new_rows
from earnings.models import AssessmentHandoff


def _handoff_rows(contexts: Sequence[StepContext]) -> list[dict[str, Any]]:
    # What the association names, read for the batch in one query (a sweep loads only the columns
    # its transition needs).
    named = {
        pk: (tenant_id, subscription_id if Claim.area_takes_subscription_id(area) else None)
        for pk, tenant_id, subscription_id, area in Claim.objects.filter(
            pk__in=[c.claim.pk for c in contexts]
        ).values_list("pk", "customer_tenant_id", "subscription_id", "solution_area")
    }
    rows = []
    for context in contexts:
        claim = context.claim
        # An association has an activity (submitting needs one), so it has a programme.
        programme = claim.programme
        tenant_id, subscription_id = named[claim.pk]
        rows.append(
            {
                "claim_id": claim.pk,
                "partner_id": claim.partner_id,
                "programme": programme,
                "payment_eligible": programme is not None and programme.pays_incentives,
                "queued_at": context.now,
                "tenant_id": tenant_id,
                "subscription_id": subscription_id,
                "channel": "",
                "reasons": [],
            }
        )
    return rows


def hand_off_for_assessment(context: StepContext) -> None:
    """On close_consent_window: queue the claim for the programme its activity leads to."""
    hand_off_many([context])


def hand_off_many(contexts: Sequence[StepContext]) -> None:
    """Queue a batch of claims with the workloads each holds now, in a fixed number of queries.

    The claim's products at hand-off are what remains after any the customer declined, so the
    assessment takes only those. Three statements for any batch: the hand-off rows, one read of the
    rows' ids beside the claims' products, and the queued products (and one read of what the
    claims name).
    """
    # One row per claim (unique): a claim already queued (it cannot be, unless a step ran twice)
    # keeps its row; the database skips it in the same statement instead of a lookup first.
    insert_new_rows(AssessmentHandoff, _handoff_rows(contexts))
    claim_ids = [c.claim.pk for c in contexts]
    queued = (
        Claim.products.through.objects.filter(claim_id__in=claim_ids)
        .filter(claim__assessment__isnull=False)
        .annotate(handoff_id=F("claim__assessment__id"))
        .values_list("handoff_id", "product_id")
    )
    # The same pair twice (a step run again) is skipped by the through table's unique constraint.
    insert_new_rows(
        AssessmentHandoff.products.through,
        [{"assessmenthandoff_id": handoff, "product_id": product} for handoff, product in queued],
    )
