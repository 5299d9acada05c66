"""What a signed-in customer may see: the associations on their tenant, from approval on.

A claim is an association the customer sees once a reviewer approved it at some point (an
`approve` event exists): drafts and claims under review are the partner's and the reviewers'
business, and a claim rejected before any approval never concerned the customer. What follows
(declined, associated, ended) stays visible, so the customer can read and print their decisions.

The customer's words for where an association stands (`customer_status`): the opt-out window is
open until …; closed and being confirmed; associated since …; declined on …; ended on …; being
reviewed again after the partner's dispute. A list of any length costs a fixed number of queries:
the dates come from annotations, the products from one prefetch and one query of events.

What a customer reads of an association that no longer stands comes from its events, never from
the claim as it is now: a dispute can reopen an ended claim to the partner's edits, which are the
partner's and the reviewers' business until a reviewer approves it again. A receipt is a function
of its event only (the event records the workloads its decision concerned).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import (
    AssociationEndRequest,
    Claim,
    ClaimEvent,
    Product,
    RejectionReason,
    Tenant,
    consent_window_open,
)
from claims.workflow.events import ASSOCIATION_STATUSES, DECISION_ACTIONS
from consent.models import ConsentRequest

A = ClaimEvent.Action
S = Claim.Status
# The statuses in which the association stands (the customer's "open" or "associated").
STANDING = ASSOCIATION_STATUSES

# The events a customer gets a receipt for: their own partial declines, and every transition that
# decides about a standing association (declined, the window closing, withdrawn, superseded, ended,
# lapsed …; read from the state machine). A withdrawal before approval concerned no customer.
RECEIPT_ACTIONS = (A.WORKLOADS_DECLINED, *DECISION_ACTIONS)
_RECEIPTS = Q(action=A.WORKLOADS_DECLINED) | Q(action__in=DECISION_ACTIONS, from_status__in=STANDING)
_ENDINGS = Q(from_status__in=STANDING) & ~Q(to_status__in=STANDING)
# Statuses of a claim that stood once and a dispute reopened (back with the reviewers or the partner).
REVIEWED_AGAIN = (S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED)


def _events_of_claim() -> QuerySet[ClaimEvent]:
    return ClaimEvent.objects.filter(claim=OuterRef("pk"))


def _latest(events: QuerySet[ClaimEvent]) -> Subquery:
    return Subquery(events.order_by("-created_at", "-id").values("created_at")[:1])


def tenant_associations(tenant: Tenant) -> QuerySet[Claim]:
    """The tenant's claims from approval on, across every partner, with what the pages show.

    Annotated: `associated_at` (the window closed), `left_at` (when it stopped standing: declined,
    ended), `end_pending` (the customer asked to end it and a lead has not decided).
    """
    return (
        Claim.objects.filter(customer_tenant_id=tenant.tenant_id)
        .filter(Exists(_events_of_claim().filter(to_status=S.APPROVED)))
        .select_related("partner")
        .prefetch_related(Prefetch("products", queryset=Product.objects.order_by("name")))
        .annotate(
            associated_at=_latest(_events_of_claim().filter(to_status=S.ASSOCIATED)),
            left_at=_latest(_events_of_claim().filter(_ENDINGS)),
            end_pending=Exists(
                AssociationEndRequest.objects.filter(
                    claim=OuterRef("pk"), outcome=AssociationEndRequest.Outcome.PENDING
                )
            ),
        )
        # Those the customer can still act on first: in their window, then standing, then ended.
        .order_by(
            Case(
                When(status=S.APPROVED, then=Value(0)),
                When(status=S.ASSOCIATED, then=Value(1)),
                default=Value(2),
            ),
            "-id",
        )
    )


def association_for(customer: Any, claim_id: int) -> Claim:
    """The customer's tenant's association `claim_id`, or 404 (another tenant's, a draft, junk)."""
    claim = tenant_associations(customer.tenant).filter(pk=claim_id).first()
    if claim is None:
        raise Http404("No such association")
    return claim


class Standing:
    OPEN = "open"
    # Approved, the window has passed, and the closing job has not yet run (minutes at most).
    CONFIRMING = "confirming"
    ASSOCIATED = "associated"
    DECLINED = "declined"
    ENDED = "ended"
    REVIEWED_AGAIN = "reviewed-again"


@dataclass(frozen=True)
class CustomerStatus:
    """Where an association stands, in the customer's words."""

    code: str
    when: dt.datetime | None
    label: str
    why: str = ""

    @property
    def is_open(self) -> bool:
        return self.code == Standing.OPEN


ENDED_BECAUSE = {
    RejectionReason.CUSTOMER_REQUEST: _("The review team ended it at your organization's request."),
    RejectionReason.PARTNER_REQUEST: _("The partner withdrew its claim."),
    RejectionReason.SUPERSEDED: _("Another partner's association for the same workloads replaced it."),
    RejectionReason.SUBSCRIPTION_INACTIVE: _("It ended because the subscription is no longer active."),
}


def _date(moment: dt.datetime | None) -> str:
    from django.utils.formats import date_format

    return date_format(timezone.localtime(moment, dt.UTC), "j F Y") if moment else ""


def customer_status(claim: Claim, *, now: dt.datetime | None = None) -> CustomerStatus:
    """Open (window open until …), associated (since …), declined (on …) or ended (on …).

    Reads the annotations of `tenant_associations` when present, else asks the history.
    """
    now = now or timezone.now()
    if claim.status == S.APPROVED:
        when = claim.consent_window_ends_at
        if when is None or consent_window_open(claim, now):
            return CustomerStatus(
                Standing.OPEN, when, _("Opt-out window open until %(date)s") % {"date": _date(when)}
            )
        # The window has passed and the closing job has not yet run: nothing can be declined any
        # more, and the association is not yet one the customer can ask to end.
        return CustomerStatus(
            Standing.CONFIRMING,
            when,
            _("Opt-out window closed on %(date)s; the association is being confirmed")
            % {"date": _date(when)},
        )
    if claim.status == S.ASSOCIATED:
        when = _annotation(claim, "associated_at", S.ASSOCIATED)
        return CustomerStatus(
            Standing.ASSOCIATED, when, _("Associated since %(date)s") % {"date": _date(when)}
        )
    when = _annotation(claim, "left_at", None)
    if claim.status in REVIEWED_AGAIN:
        # Shown, not hidden: the customer has seen it end and holds its receipts. What the partner
        # changes while it is reviewed again stays out of sight (see `shown_workloads`).
        return CustomerStatus(
            Standing.REVIEWED_AGAIN, when, _("Being reviewed again after the partner's dispute")
        )
    if claim.rejection_reason == RejectionReason.CUSTOMER_DECLINE:
        return CustomerStatus(Standing.DECLINED, when, _("Declined on %(date)s") % {"date": _date(when)})
    why = ENDED_BECAUSE.get(claim.rejection_reason, "")
    return CustomerStatus(Standing.ENDED, when, _("Ended on %(date)s") % {"date": _date(when)}, str(why))


def _annotation(claim: Claim, name: str, to_status: str | None) -> dt.datetime | None:
    if hasattr(claim, name):
        return getattr(claim, name)
    events = ClaimEvent.objects.filter(claim=claim)
    events = events.filter(to_status=to_status) if to_status else events.filter(_ENDINGS)
    return events.order_by("-created_at", "-id").values_list("created_at", flat=True).first()


def receipt_events(claim: Claim) -> QuerySet[ClaimEvent]:
    """The claim's events the customer has a receipt for, oldest first."""
    return ClaimEvent.objects.filter(claim=claim).filter(_RECEIPTS).order_by("created_at", "id")


def _is_receipt(event: ClaimEvent) -> bool:
    return event.action == A.WORKLOADS_DECLINED or (
        event.action in DECISION_ACTIONS and event.from_status in STANDING
    )


def receipt_event(claim: Claim, event_id: int) -> ClaimEvent:
    event = receipt_events(claim).filter(pk=event_id).first()
    if event is None:
        raise Http404("No such receipt")
    return event


@dataclass(frozen=True)
class Receipt:
    """What a receipt states: who decided what, when, on which workloads."""

    event: ClaimEvent
    what: str
    who: str
    workloads: list[str]
    kept: list[str]
    reference: str


def receipts_of(claim: Claim) -> list[Receipt]:
    """Every receipt of the claim, oldest first (the events and their products in one query)."""
    events = list(_recorded_products(claim.pk) | ClaimEvent.objects.filter(claim=claim).filter(_RECEIPTS))
    events.sort(key=lambda event: (event.created_at, event.pk))
    return [receipt_of(claim, event, recorded=events) for event in events if _is_receipt(event)]


def receipt_of(claim: Claim, event: ClaimEvent, *, recorded: list[ClaimEvent] | None = None) -> Receipt:
    """The receipt of `event`, built from the event: its workloads are those the event recorded.

    `recorded`: the claim's events that recorded products, oldest first, read only for an event
    written before decisions recorded their workloads (see `_products_around`).
    """
    before, after = _products_around(claim, event, recorded)
    if event.action == A.WORKLOADS_DECLINED:
        what = _("Some workloads declined")
        workloads, kept = _names(code for code in before if code not in after), _names(after)
    else:
        what = {
            A.DENY_CONSENT: _("Association declined"),
            A.CLOSE_CONSENT_WINDOW: _("Associated"),
        }.get(event.action, _("Association ended"))
        workloads, kept = _names(before), []
    return Receipt(
        event=event,
        what=str(what),
        who=str(decided_by(claim, event)),
        workloads=workloads,
        kept=kept,
        reference=receipt_reference(claim, event),
    )


def receipt_reference(claim: Claim, event: ClaimEvent) -> str:
    return f"CPOR-{claim.pk}-{event.pk}"


def decided_by(claim: Claim, event: ClaimEvent) -> Any:
    """Who decided, as the customer may read it: never a reviewer's or a partner user's name."""
    if event.action in (A.DENY_CONSENT, A.WORKLOADS_DECLINED):
        email = _customer_email(claim, event)
        return email or _("Your organization's contact")
    if event.action == A.CLOSE_CONSENT_WINDOW:
        return _("Automatically, when the 7-day opt-out window closed")
    if event.action == A.END_ASSOCIATION:
        return _("The review team, at your organization's request")
    if event.action == A.WITHDRAW:
        return _("The partner, %(partner)s") % {"partner": claim.partner.name}
    if event.action == A.SUPERSEDE:
        return _("Automatically, when another partner's association for the same workloads was approved")
    # The last way a standing association ends (DECISION_ACTIONS): lapse.
    return _("Automatically, when the subscription had been inactive too long")


def _customer_email(claim: Claim, event: ClaimEvent) -> str:
    via = (event.diff or {}).get("via")
    if isinstance(via, dict) and via.get("email"):
        return str(via["email"])
    # A decline through the consent link, before it recorded who: the notice's address answered.
    answered = (
        ConsentRequest.objects.filter(claim=claim, used_at__isnull=False, used_at__gte=event.created_at)
        .order_by("used_at")
        .values_list("contact_email", flat=True)
        .first()
    )
    return answered or ""


def _recorded_products(claim_ids: int | Iterable[int]) -> QuerySet[ClaimEvent]:
    ids = [claim_ids] if isinstance(claim_ids, int) else list(claim_ids)
    return ClaimEvent.objects.filter(claim_id__in=ids, diff__has_key="products")


def _products_pair(event: ClaimEvent) -> tuple[list[str], list[str]] | None:
    change = (event.diff or {}).get("products")
    if not (
        isinstance(change, list | tuple) and len(change) == 2 and all(isinstance(s, list) for s in change)
    ):
        return None
    return [str(code) for code in change[0]], [str(code) for code in change[1]]


def _products_around(
    claim: Claim, event: ClaimEvent, recorded: list[ClaimEvent] | None
) -> tuple[list[str], list[str]]:
    """The claim's product codes just before and just after `event`.

    Every decision now records them (`claims.workflow.events.records_workloads`). An event written
    before that did not; a transition leaves the products as they were, so they are what the next
    recorded change of products started from, or, with none since, the claim's products now. That
    is exact as long as every change of products left an event (edits and partial declines do).
    """
    pair = _products_pair(event)
    if pair is not None:
        return pair
    if recorded is None:
        recorded = sorted(_recorded_products(claim.pk), key=lambda e: (e.created_at, e.pk))
    for later in recorded:
        later_pair = _products_pair(later)
        if later_pair is not None and (later.created_at, later.pk) > (event.created_at, event.pk):
            return later_pair[0], later_pair[0]
    now_held = sorted(p.code for p in claim.products.all())
    return now_held, now_held


def shown_workloads(claims: Iterable[Claim]) -> dict[int, list[str]]:
    """The names of the workloads each association shows, by claim id.

    A standing association shows its products (nobody edits them while it stands). Any other shows
    them as its last decision left them: a dispute may have reopened it to the partner's edits,
    which are not the customer's to see until a reviewer approves them. Costs one query for all the
    claims that no longer stand, and one for the names (products prefetched as by
    `tenant_associations`).
    """
    claims = list(claims)
    shown: dict[int, list[str]] = {
        claim.pk: [product.name for product in claim.products.all()]
        for claim in claims
        if claim.status in STANDING
    }
    others = [claim for claim in claims if claim.status not in STANDING]
    if not others:
        return shown
    events = sorted(
        _recorded_products(claim.pk for claim in others)
        | ClaimEvent.objects.filter(claim__in=others).filter(_RECEIPTS),
        key=lambda e: (e.created_at, e.pk),
    )
    codes: dict[int, list[str]] = {}
    for claim in others:
        own = [event for event in events if event.claim_id == claim.pk]
        decisions = [event for event in own if _is_receipt(event)]
        if decisions:
            codes[claim.pk] = _products_around(claim, decisions[-1], own)[1]
        else:  # not reached for a claim that stood once; the products it holds, to be safe
            codes[claim.pk] = sorted(p.code for p in claim.products.all())
    names = dict(
        Product.objects.filter(code__in={c for held in codes.values() for c in held}).values_list(
            "code", "name"
        )
    )
    for pk, held in codes.items():
        shown[pk] = sorted(names.get(code, code) for code in held)
    return shown


def _names(codes: Iterable[str]) -> list[str]:
    codes = list(codes)
    if not codes:
        return []
    by_code = dict(Product.objects.filter(code__in=codes).values_list("code", "name"))
    return sorted(by_code.get(code, code) for code in codes)
