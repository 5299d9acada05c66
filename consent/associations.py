"""What a signed-in customer may see: the associations on their tenant, from approval on.

A claim is an association the customer sees once a reviewer approved it at some point (an
`approve` event exists): drafts and claims under review are the partner's and the reviewers'
business, and a claim rejected before any approval never concerned the customer. What follows
(declined, associated, ended) stays visible, so the customer can read and print their decisions.

The customer's words for where an association stands (`customer_status`): the opt-out window is
open until …; associated since …; declined on …; ended on …. A list of any length costs a fixed
number of queries: the dates come from annotations, the products from one prefetch.
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

from claims.models import AssociationEndRequest, Claim, ClaimEvent, Product, RejectionReason, Tenant
from consent.models import ConsentRequest

A = ClaimEvent.Action
S = Claim.Status
# The statuses in which the association stands (the customer's "open" or "associated").
STANDING = (S.APPROVED, S.ASSOCIATED)

# The events a customer gets a receipt for: their own decisions, the window closing, and every
# way an association they saw ends (only when it ends one: a withdrawal before approval is not).
RECEIPT_ACTIONS = (
    A.DENY_CONSENT,
    A.WORKLOADS_DECLINED,
    A.CLOSE_CONSENT_WINDOW,
    A.END_ASSOCIATION,
    A.WITHDRAW,
    A.SUPERSEDE,
    A.LAPSE,
)
_ENDINGS = Q(from_status__in=STANDING) & ~Q(to_status__in=STANDING)


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
    ASSOCIATED = "associated"
    DECLINED = "declined"
    ENDED = "ended"


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
    if claim.status == S.APPROVED and claim.consent_window_ends_at and now < claim.consent_window_ends_at:
        when = claim.consent_window_ends_at
        return CustomerStatus(
            Standing.OPEN, when, _("Opt-out window open until %(date)s") % {"date": _date(when)}
        )
    if claim.status in STANDING:
        # Associated; or approved with the window passed and the closing job not yet run.
        when = _annotation(claim, "associated_at", S.ASSOCIATED) or claim.consent_window_ends_at
        return CustomerStatus(
            Standing.ASSOCIATED, when, _("Associated since %(date)s") % {"date": _date(when)}
        )
    when = _annotation(claim, "left_at", None)
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
    return ClaimEvent.objects.filter(claim=claim).filter(_receipt_filter()).order_by("created_at", "id")


def _receipt_filter() -> Q:
    # Decisions of the customer and the system, and every ending of an association that stood.
    own = Q(action__in=(A.DENY_CONSENT, A.WORKLOADS_DECLINED, A.CLOSE_CONSENT_WINDOW, A.END_ASSOCIATION))
    endings = Q(action__in=[a for a in RECEIPT_ACTIONS if a not in (A.DENY_CONSENT, A.END_ASSOCIATION)])
    return own | (endings & _ENDINGS)


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


def receipt_of(claim: Claim, event: ClaimEvent) -> Receipt:
    declined_codes, kept_codes = _workload_change(event)
    if event.action == A.WORKLOADS_DECLINED:
        what = _("Some workloads declined")
        workloads, kept = _names(declined_codes), _names(kept_codes)
    else:
        what = {
            A.DENY_CONSENT: _("Association declined"),
            A.CLOSE_CONSENT_WINDOW: _("Associated"),
        }.get(event.action, _("Association ended"))
        workloads, kept = [p.name for p in claim.products.all()], []
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
    # The last ending of the receipts' list (RECEIPT_ACTIONS): lapse.
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


def _workload_change(event: ClaimEvent) -> tuple[list[str], list[str]]:
    change = (event.diff or {}).get("products")
    if not (isinstance(change, list | tuple) and len(change) == 2):
        return [], []
    before, after = (list(map(str, side)) if isinstance(side, list) else [] for side in change)
    return [code for code in before if code not in after], after


def _names(codes: Iterable[str]) -> list[str]:
    codes = list(codes)
    by_code = dict(Product.objects.filter(code__in=codes).values_list("code", "name"))
    return sorted(by_code.get(code, code) for code in codes)
