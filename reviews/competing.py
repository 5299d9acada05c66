"""Competing claims: other partners' live claims on the same customer tenant and product.

Each workload of a tenant can be associated with one partner only. Reviewers see the competitors of
a claim and arbitrate; approving the winner ends the others (`supersede`, reason `superseded`),
inside the transaction of the approval (a workflow step registered in `ReviewsConfig.ready`).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import DatabaseError, transaction
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from claims.models import Claim, ClaimEvent, Comment
from claims.workflow import SYSTEM, StepContext, TransitionRefused, record_event, transition

S = Claim.Status
# Claims a partner holds live: submitted and not rejected (a draft is nobody's claim yet).
HELD_STATUSES = (S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.ASSOCIATED, S.DISPUTED)


def competing_claims(claim: Claim) -> QuerySet[Claim]:
    """Other partners' live claims on `claim`'s tenant sharing at least one of its products."""
    return (
        Claim.objects.filter(
            customer_tenant_id=claim.customer_tenant_id,
            status__in=HELD_STATUSES,
            products__claims=claim.pk,
        )
        .exclude(partner_id=claim.partner_id)
        .distinct()
    )


def is_competing() -> Case:
    """Per row of a claim queryset: is it live while another partner holds one on its tenant and a product?"""
    others = Claim.objects.filter(
        ~Q(partner_id=OuterRef("partner_id")),
        customer_tenant_id=OuterRef("customer_tenant_id"),
        status__in=HELD_STATUSES,
        products__claims=OuterRef("pk"),
    )
    return Case(
        When(status__in=HELD_STATUSES, then=Exists(others)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _shared_products(winner: Claim, loser_ids: list[int]) -> dict[int, list[str]]:
    through = Claim.products.through
    winner_products = set(through.objects.filter(claim_id=winner.pk).values_list("product_id", flat=True))
    shared: dict[int, list[str]] = defaultdict(list)
    for claim_id, name in (
        through.objects.filter(claim_id__in=loser_ids, product_id__in=winner_products)
        .order_by("product__name")
        .values_list("claim_id", "product__name")
    ):
        shared[claim_id].append(name)
    return shared


def supersede_competing(context: StepContext) -> None:
    """Workflow step of `approve`: end every competing claim, and tell both sides.

    Each competitor moves through the one path (`supersede`, by the system), which rejects it with
    reason `superseded` and mails its partner. The competitors are locked without waiting: when one
    of them is being changed right now (another reviewer approving it), the approval is refused
    with a message instead of two approvals deadlocking.
    """
    winner = context.claim
    losers = list(
        competing_claims(winner)
        .filter(status__in=Claim.supersedable_statuses())
        .order_by("pk")
        .values_list("pk", "partner__language")
    )
    if not losers:
        return
    try:
        with transaction.atomic():
            list(
                Claim.objects.select_for_update(nowait=True)
                .filter(pk__in=[pk for pk, _language in losers])
                .values_list("pk", flat=True)
            )
    except DatabaseError:
        raise TransitionRefused(
            _("A competing claim is being changed right now; try again in a moment.")
        ) from None
    shared = _shared_products(winner, [pk for pk, _language in losers])
    for pk, language in losers:
        with translation.override(language):
            comment = _(
                "Superseded: another partner's claim on this customer tenant covering %(products)s was "
                "approved on %(date)s. A workload of a tenant is associated with one partner only."
            ) % {
                "products": ", ".join(shared.get(pk, [])) or _("the same products"),
                "date": formats.date_format(context.now, "DATE_FORMAT"),
            }
        transition(pk, "supersede", by=SYSTEM, comment=comment)
    with translation.override(winner.partner.language):
        note = ngettext(
            "Approving this claim ended %(count)s competing claim of another partner for the same "
            "customer tenant and product.",
            "Approving this claim ended %(count)s competing claims of other partners for the same "
            "customer tenant and product.",
            len(losers),
        ) % {"count": len(losers)}
    Comment.objects.create(
        claim=winner,
        author=None,
        author_kind=ClaimEvent.ActorKind.SYSTEM,
        body=note,
        partner_visible=True,
        created_at=context.now,
    )
    record_event(winner, by=SYSTEM, action=ClaimEvent.Action.COMMENT, now=context.now, note=note)
    # Which claims ended is for reviewers only: partners never learn each other's claims.
    record_event(
        winner,
        by=SYSTEM,
        action=ClaimEvent.Action.COMMENT,
        now=context.now,
        note="Superseded: " + ", ".join(f"#{pk}" for pk, _language in losers),
        diff={"superseded_claims": [pk for pk, _language in losers]},
        partner_visible=False,
    )
