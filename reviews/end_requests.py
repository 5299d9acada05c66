"""Customers' requests to end an association, as the review leads meet them: a flag in the queue,
the requests on the claim page, and how many wait for a decision.

A pending request is the lead's work item, decided by ending the association (`end_association`)
or declining the request (`decline_end_request`). The workflow keeps it pending only while the claim
is associated: any other way out of `associated` settles it (`settle_end_requests`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from claims.models import AssociationEndRequest, Claim, is_lead
from reviews.forms import DeclineEndRequestForm

PENDING = AssociationEndRequest.Outcome.PENDING
WAITING_CAP = 100  # the queue's link counts at most this many ("100+"), never the whole table


def end_requested() -> Exists:
    """True on a claim with a pending request, for the queue: one index probe per row (the partial
    unique index of one pending request per claim), so the queue's query count does not grow with its
    rows."""
    return Exists(AssociationEndRequest.objects.filter(claim=OuterRef("pk"), outcome=PENDING).values("pk"))


def is_waiting(claim: Claim) -> bool:
    """A queue row annotated with `end_requested` holds a request waiting for a lead."""
    return bool(getattr(claim, "end_requested", False))


def waiting_count() -> tuple[int, bool]:
    """How many requests wait for a lead, at most `WAITING_CAP`, and whether there are more."""
    counted = _waiting().order_by().values("pk")[: WAITING_CAP + 1].count()
    return min(counted, WAITING_CAP), counted > WAITING_CAP


def _waiting() -> QuerySet[AssociationEndRequest]:
    return AssociationEndRequest.objects.filter(outcome=PENDING)


@dataclass
class EndRequests:
    """A claim's requests to end its association: the one waiting for a lead, and the decided ones."""

    pending: AssociationEndRequest | None
    past: list[AssociationEndRequest]
    decline_form: DeclineEndRequestForm | None  # for a review lead, while a request waits

    def __bool__(self) -> bool:
        return self.pending is not None or bool(self.past)


def end_requests_of(claim: Claim, user: Any) -> EndRequests:
    requests = list(claim.end_requests.select_related("decided_by").order_by("-created_at", "-id"))
    pending = next((r for r in requests if r.outcome == PENDING), None)
    return EndRequests(
        pending=pending,
        past=[r for r in requests if r is not pending],
        decline_form=DeclineEndRequestForm() if pending is not None and is_lead(user) else None,
    )
