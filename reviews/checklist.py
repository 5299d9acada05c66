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


def save_checklist(
    claim: Claim | int, *, by: Any, passed: Iterable[str], missing: Iterable[str] = ()
) -> ReviewChecklist:
    """Keep which checks passed and which the PoE is missing; one internal `checklist` event when
    the marks changed. An item is at most one of the two."""
    if not is_reviewer(by):
        raise TransitionRefused(_("Only reviewers keep the PoE checklist."))
    chosen, lacking = set(passed), set(missing)
    unknown = (chosen | lacking) - set(CHECKLIST_ITEMS)
    if unknown:
        raise TransitionRefused(
            _("Unknown checklist item: %(codes)s.") % {"codes": ", ".join(sorted(unknown))}
        )
    if chosen & lacking:
        raise TransitionRefused(_("A check cannot both pass and be missing."))
    ordered = [code for code in CHECKLIST_ITEMS if code in chosen]
    ordered_missing = [code for code in CHECKLIST_ITEMS if code in lacking]
    pk = claim.pk if isinstance(claim, Claim) else claim
    with transaction.atomic():
        locked = Claim.objects.select_for_update().filter(pk=pk).first()
        if locked is None:
            raise TransitionRefused(_("This claim no longer exists."))
        if not locked.in_review_queue:
            raise TransitionRefused(_("A draft is not in review yet."))
        checklist, created = ReviewChecklist.objects.get_or_create(claim=locked)
        before, before_missing = list(checklist.passed), list(checklist.missing)
        if (before, before_missing) == (ordered, ordered_missing) and not created:
            return checklist
        now = timezone.now()
        checklist.passed = ordered
        checklist.missing = ordered_missing
        checklist.updated_by = by
        checklist.updated_at = now
        checklist.save()
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.CHECKLIST,
            now=now,
            diff={
                key: change
                for key, change in (
                    ("checklist", [before, ordered]),
                    ("checklist_missing", [before_missing, ordered_missing]),
                )
                if change[0] != change[1] or (created and key == "checklist")
            },
            note=_checklist_note(ordered, ordered_missing),
            partner_visible=False,
        )
    return checklist


def _checklist_note(passed: list[str], missing: list[str]) -> str:
    lines = (
        [_("Passed: %(checks)s") % {"checks": ", ".join(str(CHECKLIST_ITEMS[c]) for c in passed)}]
        if passed
        else []
    )
    if missing:
        lines.append(
            _("Missing: %(checks)s") % {"checks": ", ".join(str(CHECKLIST_ITEMS[c]) for c in missing)}
        )
    return "\n".join(lines) or _("No check passed")
