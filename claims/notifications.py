"""Who is told what (DESIGN.md, "Who is told what"): outbox rows, each also a history event.

Called by the workflow inside its transaction; `cpor.outbox` delivers after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from claims.models import (
    LEAD_GROUP,
    Activity,
    Claim,
    ClaimEvent,
    Comment,
    InformationRequestReason,
    InsufficientPoeSubReason,
    Membership,
    RejectionReason,
    WithdrawReason,
)
from cpor import outbox

PROGRAMME_BY_ACTIVITY = {
    Activity.PRESALES: "OSA",
    Activity.USAGE: "OSU",
    Activity.REVENUE_ASSOCIATION: "Business Influencer",
}


def claim_url(claim: Claim) -> str:
    return f"{settings.SITE_URL}/claims/{claim.pk}/"


def admin_url(claim: Claim) -> str:
    try:
        path = reverse("admin:claims_claim_change", args=[claim.pk])
    except Exception:  # the admin is not mounted (a test URLconf): fall back to the conventional path
        path = f"/{settings.ADMIN_PATH}claims/claim/{claim.pk}/change/"
    return f"{settings.SITE_URL}{path}"


def _partner_contact(claim: Claim) -> list[tuple[str, str]]:
    return [(claim.partner_contact_email, claim.partner.language)] if claim.partner_contact_email else []


def _partner_people(claim: Claim) -> list[tuple[str, str]]:
    """The partner contact and every user who manages the partner's claims, once each."""
    emails = [claim.partner_contact_email] if claim.partner_contact_email else []
    emails += (
        Membership.objects.filter(
            partner_id=claim.partner_id, role__in=Membership.MANAGING_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    unique = list(dict.fromkeys(e.lower() for e in emails))
    return [(email, claim.partner.language) for email in unique]


def _reviewers(claim: Claim) -> list[tuple[str, str]]:
    """The assigned reviewer, or every review lead when nobody is assigned."""
    reviewer = claim.assigned_reviewer
    if reviewer is not None and reviewer.is_active and reviewer.email:
        return [(reviewer.email, settings.LANGUAGE_CODE)]
    leads = (
        get_user_model()
        .objects.filter(groups__name=LEAD_GROUP, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    return [(email, settings.LANGUAGE_CODE) for email in leads]


def _customer(claim: Claim) -> list[tuple[str, str]]:
    if not claim.customer_contact_email:
        return []
    return [(claim.customer_contact_email, claim.customer_contact_language)]


def send(
    claim: Claim,
    kind: str,
    recipients: list[tuple[str, str]],
    *,
    now: dt.datetime,
    partner_visible: bool = True,
    **context: Any,
) -> list[ClaimEvent]:
    """Queue `kind` for each recipient and record one `notification` event per message."""
    base = {
        "claim": claim,
        "claim_url": claim_url(claim),
        "admin_url": admin_url(claim),
        "programme": PROGRAMME_BY_ACTIVITY.get(claim.activity, ""),
    }
    events = []
    for email_address, language in recipients:
        email = outbox.enqueue(kind=kind, to=email_address, language=language, context={**base, **context})
        events.append(
            ClaimEvent.objects.create(
                claim=claim,
                created_at=now,
                actor_kind=ClaimEvent.ActorKind.SYSTEM,
                action=ClaimEvent.Action.NOTIFICATION,
                note=f"{kind} → {email_address}",
                partner_visible=partner_visible,
                email=email,
            )
        )
    return events


def _labels(codes: list[str], choices: Any) -> list[str]:
    return [str(choices(code).label) if code in choices.values else code for code in codes]


def rejection_context(claim: Claim) -> dict[str, Any]:
    sub_choices = (
        WithdrawReason
        if claim.rejection_reason == RejectionReason.PARTNER_REQUEST
        else InsufficientPoeSubReason
    )
    return {
        "reason": claim.get_rejection_reason_display(),
        "sub_reasons": _labels(claim.rejection_sub_reasons, sub_choices),
        "dispute_until": claim.dispute_window_ends_at,
    }


def after_transition(claim: Claim, action: str, *, by: Any, now: dt.datetime, note: str) -> None:
    if action == "submit":
        send(
            claim,
            "claim_submitted",
            _partner_contact(claim),
            now=now,
            review_start_due_at=claim.review_start_due_at,
        )
    elif action == "request_information":
        send(
            claim,
            "information_requested",
            _partner_people(claim),
            now=now,
            reasons=_labels(claim.information_request_reasons, InformationRequestReason),
            comment=note,
            deadline=claim.partner_response_due_at,
        )
    elif action in ("resubmit", "dispute"):
        send(claim, f"reviewer_{action}", _reviewers(claim), now=now, partner_visible=False, comment=note)
    elif action == "approve":
        send(
            claim, "claim_approved", _partner_people(claim), now=now, window_ends=claim.consent_window_ends_at
        )
    elif action in ("reject", "expire", "supersede", "uphold_rejection"):
        send(
            claim,
            "claim_rejected",
            _partner_people(claim),
            now=now,
            comment=note,
            action=action,
            **rejection_context(claim),
        )
    elif action == "deny_consent":
        send(claim, "consent_denied_partner", _partner_people(claim), now=now)
        send(claim, "consent_denied_customer", _customer(claim), now=now)
    elif action == "close_consent_window":
        send(claim, "sent_for_assessment", _partner_people(claim), now=now)
    elif action == "reopen":
        send(
            claim,
            "dispute_reopened",
            _partner_people(claim),
            now=now,
            comment=note,
            deadline=claim.review_due_at,
        )


def send_reminder(claim: Claim, *, now: dt.datetime) -> None:
    send(
        claim,
        "information_reminder",
        _partner_people(claim),
        now=now,
        reasons=_labels(claim.information_request_reasons, InformationRequestReason),
        deadline=claim.partner_response_due_at,
    )


def after_comment(claim: Claim, comment: Comment, *, now: dt.datetime) -> None:
    if comment.author_kind == ClaimEvent.ActorKind.PARTNER:
        send(
            claim, "reviewer_comment", _reviewers(claim), now=now, partner_visible=False, comment=comment.body
        )
    elif comment.partner_visible:
        send(claim, "partner_comment", _partner_people(claim), now=now, comment=comment.body)
