"""Which reviewer holds a claim under review.

Anyone in the reviewers' group may take a claim for themself; only a review lead hands a claim to
someone else, or takes it off a reviewer. An assignment is internal: its event is for reviewers.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, ClaimEvent, is_lead, is_reviewer
from claims.workflow.events import record_event
from claims.workflow.locks import TransitionRefused, lock_claim


def assign_reviewer(claim: Claim | int, *, by: Any, to: Any) -> Claim:
    """Assign a claim under review to a reviewer: anyone to themself, review leads to anyone."""
    _check_assigner(by, to)
    with transaction.atomic():
        locked = lock_claim(claim)
        if not locked.is_assignable:
            raise TransitionRefused(locked.assignment_refusal())
        before = locked.assigned_reviewer.email if locked.assigned_reviewer else None
        after = to.email if to is not None else None
        if before == after:
            return locked
        locked.assigned_reviewer = to
        locked.save(update_fields=["assigned_reviewer", "updated_at"])
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.ASSIGN,
            now=timezone.now(),
            diff={"assigned_reviewer": [before, after]},
            partner_visible=False,
        )
    return locked


def _check_assigner(by: Any, to: Any) -> None:
    """Refuse an assignment `by` may not make, whatever the claim (`to` None: nobody holds it)."""
    if not is_reviewer(by):
        raise TransitionRefused(_("Only reviewers can assign claims."))
    if to is not None and not is_reviewer(to):
        raise TransitionRefused(_("Claims can be assigned to reviewers only."))
    if (to is None or to.pk != by.pk) and not is_lead(by):
        raise TransitionRefused(_("Only review leads assign claims to other reviewers."))
