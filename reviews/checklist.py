"""The reviewer's PoE checklist: kept per claim, every change an internal history event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, ClaimEvent, is_reviewer
from claims.workflow import TransitionRefused, record_event
from reviews.models import CHECKLIST_ITEMS, ReviewChecklist


def checklist_of(claim: Claim) -> ReviewChecklist:
    """The stored checklist, or an unsaved empty one (nothing ticked yet)."""
    return ReviewChecklist.objects.filter(claim=claim).first() or ReviewChecklist(claim=claim)


def save_checklist(claim: Claim | int, *, by: Any, passed: Iterable[str]) -> ReviewChecklist:
    """Keep which checks passed; one internal `checklist` event when the ticks changed."""
    if not is_reviewer(by):
        raise TransitionRefused(_("Only reviewers keep the PoE checklist."))
    chosen = set(passed)
    unknown = chosen - set(CHECKLIST_ITEMS)
    if unknown:
        raise TransitionRefused(
            _("Unknown checklist item: %(codes)s.") % {"codes": ", ".join(sorted(unknown))}
        )
    ordered = [code for code in CHECKLIST_ITEMS if code in chosen]
    pk = claim.pk if isinstance(claim, Claim) else claim
    with transaction.atomic():
        locked = Claim.objects.select_for_update().filter(pk=pk).first()
        if locked is None:
            raise TransitionRefused(_("This claim no longer exists."))
        if locked.status == Claim.Status.EDITING:
            raise TransitionRefused(_("A draft is not in review yet."))
        checklist, created = ReviewChecklist.objects.get_or_create(claim=locked)
        before = list(checklist.passed)
        if before == ordered and not created:
            return checklist
        now = timezone.now()
        checklist.passed = ordered
        checklist.updated_by = by
        checklist.updated_at = now
        checklist.save()
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.CHECKLIST,
            now=now,
            diff={"checklist": [before, ordered]},
            note=", ".join(str(CHECKLIST_ITEMS[code]) for code in ordered) or _("No check passed"),
            partner_visible=False,
        )
    return checklist
