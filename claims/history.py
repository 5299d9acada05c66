"""A claim's history in people's words, for the partner's claim page and the reviewer's admin page.

Events store codes (statuses, product codes, reason codes, field names) so that history reads in the
viewer's language whenever it is shown: this module turns them into labels — product names, choice
labels, "old → new" — in one place, for both perspectives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from claims.models import (
    LEAD_GROUP,
    Claim,
    ClaimEvent,
    InformationRequestReason,
    InsufficientPoeSubReason,
    Product,
    Programme,
    RejectionReason,
    WithdrawReason,
)

S = Claim.Status

# Stored in English (a stable key), translated when shown; the claim's number is also in the diff.
STARTED_FROM = gettext_noop("Started from claim #%(pk)s.")
_STARTED_FROM_NOTE = re.compile(r"^Started from claim #(\d+)\.$")

# Keys a transition writes beside the field diff: the reasons it was made for.
REASON_KEYS: dict[str, Any] = {
    "information_request_reasons": InformationRequestReason,
    "rejection_reason": RejectionReason,
    # Sub-reasons of a rejection, or the partner's reason for withdrawing (codes do not overlap).
    "rejection_sub_reasons": (InsufficientPoeSubReason, WithdrawReason),
}


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    at: dt.datetime
    who: str
    action: str
    from_status: str
    to_status: str
    note: str
    changes: list[Change]
    recipient: str = ""
    event: ClaimEvent | None = field(default=None, repr=False)


def register_reason_labels(key: str, choices: type[models.TextChoices]) -> None:
    """Word the reason codes another app writes under `key` in its events (earnings registers its
    assessment's reasons from its `AppConfig.ready`): claims words them without importing the app."""
    registered = REASON_KEYS.get(key)
    if registered is not None and registered is not choices:
        raise ValueError(f"reason codes under {key!r} are already worded by {registered!r}")
    REASON_KEYS[key] = choices


# The diff key of an assessment's reason codes (written by earnings at hand-off).
ASSESSMENT_REASONS = "assessment_reasons"

# What each mail of a claim is about, as its history line says (the kinds of claims.notifications).
MAIL_KINDS: dict[str, str] = {
    "claim_submitted": gettext_noop("Receipt of the submitted claim"),
    "information_requested": gettext_noop("The reviewer's request for information"),
    "information_reminder": gettext_noop("Reminder: the information request is waiting"),
    "reviewer_resubmit": gettext_noop("Resubmission, to the reviewer"),
    "reviewer_dispute": gettext_noop("Dispute, to the review leads"),
    "reviewer_comment": gettext_noop("Partner comment, to the reviewer"),
    "partner_comment": gettext_noop("Reviewer comment, to the partner"),
    "claim_approved": gettext_noop("Approval and the customer's opt-out window"),
    "consent_notice": gettext_noop("Consent notice to the customer"),
    "claim_rejected": gettext_noop("Rejection, its reason and how to dispute"),
    "consent_denied_partner": gettext_noop("The customer declined"),
    "consent_denied_customer": gettext_noop("Confirmation of the decline, to the customer"),
    "sent_for_assessment": gettext_noop("Sent for incentive assessment"),
    "dispute_reopened": gettext_noop("Dispute accepted, review reopened"),
    "workloads_declined_partner": gettext_noop("The customer declined some workloads"),
    "end_requested_leads": gettext_noop("The customer's request to end, to the review leads"),
    "end_requested_partner": gettext_noop("The customer asked to end the association"),
    "end_request_declined_customer": gettext_noop("The request to end was declined, to the customer"),
    "end_request_settled_customer": gettext_noop("The request to end was no longer needed, to the customer"),
    "end_request_declined_partner": gettext_noop("The customer's request to end was declined"),
    "end_request_granted_customer": gettext_noop("The association ended, to the customer"),
}

# Decisions only a review lead makes (separation of duties on disputes).
LEAD_DECISIONS = frozenset({"reopen", "uphold_rejection", "end_association", "end_request_declined"})
# The `via` channel of the customer's own decisions (claims.workflow.customer.CUSTOMER_CHANNEL):
# it holds the customer's address, which reviewers see and partners do not.
CUSTOMER_CHANNEL = "customer"


def lead_flag(user_column: str) -> Exists:
    """An annotation: whether the user in `user_column` is a review lead, in the row's own query."""
    memberships = get_user_model().groups.through.objects
    return Exists(memberships.filter(user_id=OuterRef(user_column), group__name=LEAD_GROUP))


def author_label(kind: str, user: Any, action: str = "", *, by_lead: bool = False) -> str:
    """Partners see their colleagues by email, and Microsoft's people by role only."""
    if kind == ClaimEvent.ActorKind.PARTNER:
        return user.email if user is not None else _("Partner")
    if kind == ClaimEvent.ActorKind.REVIEWER:
        return _("Review lead") if by_lead or action in LEAD_DECISIONS else _("PoE reviewer")
    if kind == ClaimEvent.ActorKind.CUSTOMER:
        return _("Customer")
    return _("CPOR")


def status_label(value: str) -> str:
    return str(S(value).label) if value in S.values else value


def product_names_for(events: Iterable[ClaimEvent]) -> dict[str, str]:
    """Names of every product code the events' diffs mention (one query; none when none is named),
    so a product since removed from the claim or the catalogue still reads by its name."""
    codes: set[str] = set()
    for event in events:
        for value in (event.diff or {}).get("products") or ():
            if isinstance(value, list):
                codes.update(str(code) for code in value)
    if not codes:
        return {}
    return dict(Product.objects.filter(code__in=codes).values_list("code", "name"))


def history_entries(
    events: Iterable[ClaimEvent],
    *,
    product_names: dict[str, str] | None = None,
    reviewer_view: bool = False,
    assessment_reasons: bool = True,
) -> list[HistoryEntry]:
    """Each event in words. Partners see Microsoft's people by role; reviewers see everybody by email.
    Without `assessment_reasons` (a read-only member) an assessment reads as eligible or not only."""
    events = list(events)
    if product_names is None:
        product_names = product_names_for(events)
    return [
        _entry(event, product_names, reviewer_view=reviewer_view, assessment_reasons=assessment_reasons)
        for event in events
    ]


def _entry(
    event: ClaimEvent, product_names: dict[str, str], *, reviewer_view: bool, assessment_reasons: bool = True
) -> HistoryEntry:
    diff = event.diff or {}
    changes: list[Change] = []
    if event.action == ClaimEvent.Action.ASSESSED:
        # The assessment's codes, not field changes: worded as one note.
        diff = {"via": diff.get("via")} if diff.get("via") else {}
    for key, values in sorted(diff.items()):
        if key in ("status", "copied_from", "via"):
            continue
        if key in ("documents_added", "documents_removed"):
            label = _("Documents added") if key == "documents_added" else _("Documents removed")
            changes.append(Change(label, "", ", ".join(str(v) for v in values or ())))
            continue
        pair = list(values) if isinstance(values, list | tuple) else [None, values]
        before, after = (pair + [None, None])[:2]
        if before == after:
            # Not a change: a decision about an association keeps the workloads it concerned.
            continue
        shown_before, shown_after = _shown(key, before, product_names), _shown(key, after, product_names)
        if shown_before or shown_after:
            changes.append(Change(field_label(key), shown_before, shown_after))
    recipient = ""
    note = event.note
    if event.action == ClaimEvent.Action.NOTIFICATION:
        kind, _arrow, recipient = note.rpartition("→")
        recipient = recipient.strip() if _arrow else ""
        kind = kind.strip()
        # Everyone reads what the mail was about and whom it went to.
        if kind in MAIL_KINDS:
            note = _(MAIL_KINDS[kind])
        elif reviewer_view and kind in ClaimEvent.Action.values:
            note = str(ClaimEvent.Action(kind).label)
        else:
            note = ""
    elif event.action == ClaimEvent.Action.CREATE:
        note = _started_from(diff, note)
    elif event.action == ClaimEvent.Action.ASSESSED:
        note = _assessment(event.diff or {}, note, with_reasons=assessment_reasons)
    if reviewer_view:
        who = str(event.get_actor_kind_display())
        if event.actor is not None:
            who = f"{who} · {event.actor.email}"
    else:
        by_lead = getattr(event, "by_lead", False)
        who = author_label(event.actor_kind, event.actor, event.action, by_lead=by_lead)
    via = diff.get("via")
    if isinstance(via, dict) and via.get("channel") == "api":
        who = _("%(who)s via API (key “%(key)s”)") % {"who": who, "key": via.get("key", "")}
    elif (
        isinstance(via, dict)
        and via.get("channel") == CUSTOMER_CHANNEL
        and reviewer_view
        and via.get("email")
    ):
        who = f"{who} · {via['email']}"
    return HistoryEntry(
        at=event.created_at,
        who=who,
        action=str(event.get_action_display()),
        from_status=status_label(event.from_status) if event.from_status else "",
        to_status=status_label(event.to_status) if event.to_status else "",
        note=note,
        changes=changes,
        recipient=recipient,
        event=event,
    )


def _started_from(diff: dict[str, Any], note: str) -> str:
    """ "Started from claim #11." in the viewer's language (older events hold the English note only)."""
    source = diff.get("copied_from")
    pk = source[-1] if isinstance(source, list) and source else source
    if pk is None:
        match = _STARTED_FROM_NOTE.match(note.strip())
        if match is None:
            return note
        pk = match.group(1)
    return _(STARTED_FROM) % {"pk": pk}


def _assessment(diff: dict[str, Any], note: str, *, with_reasons: bool = True) -> str:
    """The assessment at hand-off in the viewer's words: the programme, eligible or not, the terms'
    version, and each reason on its own line (the stored English note when the codes are missing).
    Without reasons: eligible or not, nothing more."""
    programme, eligible = diff.get("programme"), diff.get("eligible")
    if programme not in Programme.values or not isinstance(eligible, bool):
        return note if with_reasons else ""
    name = str(Programme(programme).label)
    lines = [
        _("%(programme)s: eligible.") % {"programme": name}
        if eligible
        else _("%(programme)s: not eligible.") % {"programme": name}
    ]
    if not with_reasons:
        return lines[0]
    lines.extend(_choice_label(ASSESSMENT_REASONS, code) for code in diff.get(ASSESSMENT_REASONS) or ())
    if diff.get("terms_from"):
        lines.append(_("Terms in force from %(month)s.") % {"month": diff["terms_from"]})
    if diff.get("example_terms"):
        lines.append(_("These are example terms, not any real programme's rates."))
    return "\n".join(lines)


def field_label(name: str) -> str:
    labels = {
        "information_request_reasons": _("Reasons for the request"),
        "rejection_reason": _("Rejection reason"),
        "rejection_sub_reasons": _("Rejection details"),
        "assigned_reviewer": _("Assigned reviewer"),
    }
    if name in labels:
        return labels[name]
    try:
        return capfirst(str(Claim._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:  # a key written by another part of the workflow
        return name.replace("_", " ")


def _choice_label(key: str, value: Any) -> str:
    choices = REASON_KEYS.get(key)
    if choices is None:
        try:
            labels = dict(Claim._meta.get_field(key).flatchoices)
        except FieldDoesNotExist:
            labels = {}
    else:
        labels = {}
        for group in choices if isinstance(choices, tuple) else (choices,):
            labels.update(group.choices)
    return str(labels.get(value, value))


def _shown(key: str, value: Any, product_names: dict[str, str]) -> str:
    """A history value in words: product names, choice labels; "" for nothing."""
    if value is None or value == "" or value == []:
        return ""
    if key == "products" and isinstance(value, list):
        return ", ".join(sorted(product_names.get(code, code) for code in value))
    if isinstance(value, list):
        return ", ".join(_choice_label(key, v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return _choice_label(key, value)
