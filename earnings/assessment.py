"""The hand-off to incentive assessment when an association's opt-out window closes (a step on
`close_consent_window`, registered in `EarningsConfig.ready`), and the assessment made there.

Each association is assessed once, at hand-off, under the version of its programme's terms in
force for its association month: eligible, or not with the reasons (`AssessmentHandoff.Reason`)
the partner reads in the claim's history. Being eligible is not a payment: the ledger decides each
month (earnings/ledger.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from claims.models import Claim, ClaimEvent, Programme, Subscription
from claims.workflow import StepContext
from claims.workflow.events import claims_changed
from cpor.bulk import insert_new_rows, insert_rows
from earnings.models import AssessmentHandoff, ProgrammeRule, first_of_month

Reason = AssessmentHandoff.Reason


@dataclass(frozen=True)
class Terms:
    """What the assessment reads of one rule version."""

    pk: int
    programme: str
    effective_from: dt.date
    workloads: frozenset[int]
    excluded_channels: frozenset[str]
    is_example: bool


@dataclass(frozen=True)
class NamedSubscription:
    """The registry's record of the subscription an association names, as it is at hand-off."""

    channel: str
    status: str
    seats: int


@dataclass(frozen=True)
class Assessment:
    eligible: bool
    reasons: tuple[str, ...]
    terms: Terms | None


def terms_in_force(versions: Iterable[Terms], month: dt.date) -> Terms | None:
    """The version with the latest `effective_from` on or before `month` (None: none yet)."""
    in_force = [terms for terms in versions if terms.effective_from <= month]
    return max(in_force, key=lambda terms: terms.effective_from, default=None)


def assess(
    *,
    programme: str,
    versions: Iterable[Terms],
    month: dt.date,
    workloads: Iterable[int],
    subscription: NamedSubscription | None,
) -> Assessment:
    """The assessment of one association: every reason that applies (several can), eligible when none.

    `versions` are the programme's rule versions, `month` the association month, `workloads` the
    product ids queued, `subscription` the named one as the registry holds it (None when the claim
    names none or the registry does not know it: nothing to hold against the association then).
    """
    reasons: list[str] = []
    pays = Programme(programme).pays_incentives
    terms = terms_in_force(versions, month)
    if not pays:
        reasons.append(Reason.REVENUE_ASSOCIATION)
    elif terms is None:
        reasons.append(Reason.NO_PROGRAMME_RULE)
    if terms is not None:
        if pays and not terms.workloads & set(workloads):
            reasons.append(Reason.WORKLOAD_OUTSIDE_PROGRAMME)
        if subscription is not None and subscription.channel in terms.excluded_channels:
            # CSP is the exclusion programmes make; any other channel finance excludes reads generically.
            reasons.append(
                Reason.CSP_SUBSCRIPTION
                if subscription.channel == Subscription.Channel.CSP
                else Reason.CHANNEL_EXCLUDED
            )
    if subscription is not None and subscription.status not in Subscription.LIVE_STATUSES:
        reasons.append(Reason.SUBSCRIPTION_NOT_ACTIVE)
    return Assessment(eligible=not reasons, reasons=tuple(reasons), terms=terms)


def rule_versions(programmes: Iterable[str]) -> dict[str, list[Terms]]:
    """Every version of the `programmes`' rules, by programme: two queries whatever their number
    (a programme has a handful of versions, so all of them are read rather than one per month)."""
    programmes = sorted(set(programmes))
    workloads: dict[int, set[int]] = defaultdict(set)
    for rule_id, product_id in ProgrammeRule.workloads.through.objects.filter(
        programmerule__programme__in=programmes
    ).values_list("programmerule_id", "product_id"):
        workloads[rule_id].add(product_id)
    versions: dict[str, list[Terms]] = defaultdict(list)
    for pk, programme, effective_from, excluded, is_example in ProgrammeRule.objects.filter(
        programme__in=programmes
    ).values_list("pk", "programme", "effective_from", "excluded_channels", "is_example"):
        versions[programme].append(
            Terms(
                pk=pk,
                programme=programme,
                effective_from=effective_from,
                workloads=frozenset(workloads[pk]),
                excluded_channels=frozenset(excluded or ()),
                is_example=is_example,
            )
        )
    return versions


def _named_subscriptions(named: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> dict[uuid.UUID, NamedSubscription]:
    """The registry's record of each named subscription that is on the claim's own tenant (one
    query). A subscription the registry does not know is left out: the subscription checks at
    submit already refused what the registry knew to be wrong."""
    named = list(named)
    if not named:
        return {}
    on_tenant = set(named)
    return {
        subscription_id: NamedSubscription(channel=channel, status=status, seats=seats)
        for subscription_id, tenant_id, channel, status, seats in Subscription.objects.filter(
            subscription_id__in={subscription_id for subscription_id, _tenant in named}
        ).values_list("subscription_id", "tenant__tenant_id", "channel", "status", "seats")
        if (subscription_id, tenant_id) in on_tenant
    }


def hand_off_for_assessment(context: StepContext) -> None:
    """On close_consent_window: queue the claim for the programme its activity leads to, assessed."""
    hand_off_many([context])


def hand_off_many(contexts: Sequence[StepContext]) -> None:
    """Queue and assess a batch of claims with the workloads each holds now, in a fixed number of
    queries however many claims (a sweep moves thousands).

    The claim's products at hand-off are what remains after any the customer declined, so the
    assessment takes only those. Statements for any batch: one read of what the claims name, one
    of their products, two of the rule versions, one of the named subscriptions, the hand-off rows
    (assessed as they are written), one read of their ids, the queued products, and one history
    event per newly assessed claim in one INSERT.
    """
    if not contexts:
        return
    claim_ids = [c.claim.pk for c in contexts]
    named = {
        pk: (tenant_id, subscription_id if Claim.area_takes_subscription_id(area) else None)
        for pk, tenant_id, subscription_id, area in Claim.objects.filter(pk__in=claim_ids).values_list(
            "pk", "customer_tenant_id", "subscription_id", "solution_area"
        )
    }
    products: dict[int, list[int]] = defaultdict(list)
    for claim_id, product_id in Claim.products.through.objects.filter(claim_id__in=claim_ids).values_list(
        "claim_id", "product_id"
    ):
        products[claim_id].append(product_id)
    # An association has an activity (submitting needs one), so it has a programme.
    programmes = {c.claim.pk: c.claim.programme for c in contexts}
    versions = rule_versions(p for p in programmes.values() if p is not None)
    subscriptions = _named_subscriptions(
        (subscription_id, tenant_id)
        for tenant_id, subscription_id in named.values()
        if subscription_id is not None and tenant_id is not None
    )
    rows = []
    assessments: dict[int, Assessment] = {}
    for context in contexts:
        claim = context.claim
        programme = programmes[claim.pk]
        tenant_id, subscription_id = named[claim.pk]
        subscription = subscriptions.get(subscription_id) if subscription_id else None
        assessment = assess(
            programme=programme,
            versions=versions.get(programme, ()),
            month=first_of_month(timezone.localtime(context.now).date()),
            workloads=products[claim.pk],
            subscription=subscription,
        )
        assessments[claim.pk] = assessment
        rows.append(
            {
                "claim_id": claim.pk,
                "partner_id": claim.partner_id,
                "programme": programme,
                "payment_eligible": programme is not None and programme.pays_incentives,
                "queued_at": context.now,
                "tenant_id": tenant_id,
                "subscription_id": subscription_id,
                "channel": subscription.channel if subscription else "",
                "baseline_seats": subscription.seats if subscription else None,
                "eligible": assessment.eligible,
                "reasons": list(assessment.reasons),
                "rule_id": assessment.terms.pk if assessment.terms else None,
                "assessed_at": context.now,
                "ended_at": None,
            }
        )
    # A claim associated again (its rejection disputed, the review reopened, approved, the window
    # closed once more) had its association ended: the row (which its ledger lines refer to) starts
    # a new association from now, assessed afresh with the workloads it holds now.
    restarted = AssessmentHandoff.objects.filter(claim_id__in=claim_ids, ended_at__isnull=False).values_list(
        "pk", "claim_id"
    )
    for pk, claim_id in restarted:
        row = next(row for row in rows if row["claim_id"] == claim_id)
        AssessmentHandoff.objects.filter(pk=pk).update(**{k: v for k, v in row.items() if k != "claim_id"})
        AssessmentHandoff.products.through.objects.filter(assessmenthandoff_id=pk).delete()
    # One row per claim (unique): a claim already queued (it cannot be, unless a step ran twice)
    # keeps its row and its assessment; the database skips it in the same statement.
    insert_new_rows(AssessmentHandoff, rows)
    handoffs = {
        claim_id: (pk, assessed_at)
        for pk, claim_id, assessed_at in AssessmentHandoff.objects.filter(claim_id__in=claim_ids).values_list(
            "pk", "claim_id", "assessed_at"
        )
    }
    # The same pair twice (a step run again) is skipped by the through table's unique constraint.
    insert_new_rows(
        AssessmentHandoff.products.through,
        [
            {"assessmenthandoff_id": handoffs[claim_id][0], "product_id": product_id}
            for claim_id in claim_ids
            for product_id in products[claim_id]
        ],
    )
    # History: the claims assessed just now (a row kept from an earlier run has its own event).
    insert_rows(
        ClaimEvent,
        [
            _assessed_event(
                context.claim.pk, context.now, programmes[context.claim.pk], assessments[context.claim.pk]
            )
            for context in contexts
            if handoffs[context.claim.pk][1] == context.now
        ],
    )


def assessment_note(programme: str, assessment: Assessment) -> str:
    """The event's note, in English whatever language is active: a stable record. The partner's
    history words the event anew in the reader's language from the codes in its diff
    (claims/history.py)."""
    with translation.override("en"):
        name = str(Programme(programme).label)
        if assessment.eligible:
            return f"Assessed for {name}: eligible."
        reasons = " ".join(str(Reason(code).label) for code in assessment.reasons)
        return f"Assessed for {name}: not eligible. {reasons}"


def assessment_diff(programme: str, assessment: Assessment) -> dict[str, Any]:
    """The codes the partner's history words the event from (claims/history.py reads these keys)."""
    diff: dict[str, Any] = {
        "programme": programme,
        "eligible": assessment.eligible,
        "assessment_reasons": list(assessment.reasons),
    }
    if assessment.terms is not None:
        diff["terms_from"] = f"{assessment.terms.effective_from:%Y-%m}"
        diff["example_terms"] = assessment.terms.is_example
    return diff


def _assessed_event(
    claim_id: int, now: dt.datetime, programme: str, assessment: Assessment
) -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "created_at": now,
        "actor_kind": ClaimEvent.ActorKind.SYSTEM,
        "actor_id": None,
        "action": ClaimEvent.Action.ASSESSED,
        "from_status": "",
        "to_status": "",
        "diff": assessment_diff(programme, assessment),
        "note": assessment_note(programme, assessment),
        "partner_visible": True,
        "email_id": None,
    }


def assess_outstanding(*, partner_ids: Iterable[int] | None = None, now: dt.datetime) -> int:
    """Assess the partners' associations that have not ended and hold no assessment under terms:
    those queued before assessments existed (moved from consent/, never assessed), and those
    assessed before their programme had terms in force for their month (`no_programme_rule`):
    terms published late apply to them as if they had been there. Nothing else is ever assessed
    again, and no ledger line can refer to these (they were not eligible). Each gets its
    assessment and a history event; returns how many were assessed. `partner_ids` None: every
    partner's. The rows are locked while assessed, so two runs at once assess each once."""
    with transaction.atomic():
        return _assess_outstanding(partner_ids=partner_ids, now=now)


def _assess_outstanding(*, partner_ids: Iterable[int] | None, now: dt.datetime) -> int:
    candidates = AssessmentHandoff.objects.filter(
        Q(assessed_at=None) | Q(eligible=False, rule=None), ended_at=None
    )
    if partner_ids is not None:
        candidates = candidates.filter(partner_id__in=list(partner_ids))
    handoffs = [
        handoff
        for handoff in candidates.select_for_update().order_by("pk")
        if handoff.assessed_at is None or Reason.NO_PROGRAMME_RULE in (handoff.reasons or ())
    ]
    if not handoffs:
        return 0
    versions = rule_versions(handoff.programme for handoff in handoffs)
    products: dict[int, list[int]] = defaultdict(list)
    for handoff_id, product_id in AssessmentHandoff.products.through.objects.filter(
        assessmenthandoff_id__in=[handoff.pk for handoff in handoffs]
    ).values_list("assessmenthandoff_id", "product_id"):
        products[handoff_id].append(product_id)
    subscriptions = _named_subscriptions(
        (handoff.subscription_id, handoff.tenant_id)
        for handoff in handoffs
        if handoff.subscription_id and handoff.tenant_id
    )
    events = []
    assessed = []
    for handoff in handoffs:
        subscription = subscriptions.get(handoff.subscription_id) if handoff.subscription_id else None
        assessment = assess(
            programme=handoff.programme,
            versions=versions.get(handoff.programme, ()),
            month=handoff.association_month,
            # Rows queued before workloads could be declined hold none: then all of the claim's.
            workloads=products[handoff.pk]
            or Claim.products.through.objects.filter(claim_id=handoff.claim_id).values_list(
                "product_id", flat=True
            ),
            subscription=subscription,
        )
        if handoff.assessed_at is not None and assessment.terms is None:
            continue  # still no terms for its month: nothing new to record, no second event
        handoff.eligible = assessment.eligible
        handoff.reasons = list(assessment.reasons)
        handoff.rule_id = assessment.terms.pk if assessment.terms else None
        handoff.assessed_at = now
        # Rows moved from consent/ never recorded what the subscription was; the ledger reads it.
        handoff.channel = subscription.channel if subscription else ""
        handoff.baseline_seats = subscription.seats if subscription else None
        assessed.append(handoff)
        events.append(_assessed_event(handoff.claim_id, now, handoff.programme, assessment))
    AssessmentHandoff.objects.bulk_update(
        assessed, ["eligible", "reasons", "rule", "assessed_at", "channel", "baseline_seats"]
    )
    insert_rows(ClaimEvent, events)
    if assessed:  # the partners' claim pages show the new events
        claims_changed(
            Claim.objects.filter(pk__in=[h.claim_id for h in assessed]).values_list("partner_id", flat=True)
        )
    return len(assessed)
