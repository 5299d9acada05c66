"""Who is told what (docs/design.md, "Who is told what"): outbox rows, each also a history event.

Called by the workflow inside its transaction. `plan` decides the messages a change sends;
`write` stores them (an outbox row per message, to all its recipients who share a language, plus
one `notification` event each) with a constant number of queries however many there are, so a beat
job moving thousands of claims writes its mail in bulk.
The outbox renders each message in the recipient's language on delivery; `load_context` (registered
in ClaimsConfig.ready) turns the stored references (claim id, reason codes) into template values.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse

from claims.models import (
    LEAD_GROUP,
    AssociationEndRequest,
    Claim,
    ClaimEvent,
    Comment,
    InformationRequestReason,
    Membership,
    Product,
    RejectionReason,
    choice_labels,
)
from cpor import outbox
from cpor.bulk import insert_rows

Recipients = list[tuple[str, str]]  # (email, language)


@dataclass
class Planned:
    """One kind of message about one claim, to some recipients."""

    claim: Claim
    kind: str
    recipients: Recipients
    partner_visible: bool = True
    context: dict[str, Any] = field(default_factory=dict)


def claim_url(claim_id: int) -> str:
    return f"{settings.SITE_URL}/claims/{claim_id}/"


def customer_association_url(claim_id: int) -> str:
    """The claim on the customer portal (consent's URL, reversed by name: claims imports no app)."""
    try:
        path = reverse("consent:customer_association", args=[claim_id])
    except NoReverseMatch:  # the portal is not mounted (a test URLconf): its conventional path
        path = f"/customer/associations/{claim_id}/"
    return f"{settings.SITE_URL}{path}"


def admin_url(claim_id: int) -> str:
    try:
        path = reverse("admin:claims_claim_change", args=[claim_id])
    except NoReverseMatch:  # the admin is not mounted (a test URLconf): the conventional path
        path = f"/{settings.ADMIN_PATH}claims/claim/{claim_id}/change/"
    return f"{settings.SITE_URL}{path}"


# -- recipients ----------------------------------------------------------------------------------


def managing_emails(partner_ids: Iterable[int]) -> dict[int, list[str]]:
    """The emails of every active user who manages claims, per partner, in one query."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = (
        Membership.objects.filter(
            partner_id__in=set(partner_ids), role__in=Membership.MANAGING_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("partner_id", "user__email")
    )
    for partner_id, email in rows:
        found[partner_id].append(email)
    return found


def partner_contact(claim: Claim) -> Recipients:
    return [(claim.partner_contact_email, claim.partner.language)] if claim.partner_contact_email else []


def partner_people(claim: Claim, managers: Mapping[int, list[str]] | None = None) -> Recipients:
    """The partner contact and every user who manages the partner's claims, once each."""
    if managers is None:
        managers = managing_emails([claim.partner_id])
    emails = [claim.partner_contact_email] if claim.partner_contact_email else []
    emails += managers.get(claim.partner_id, [])
    return [(email, claim.partner.language) for email in dict.fromkeys(e.lower() for e in emails)]


def reviewers(claim: Claim) -> Recipients:
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


def review_leads() -> Recipients:
    """Every active review lead, whoever is assigned: the people who decide a customer's request to
    end an association."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True, groups__name=LEAD_GROUP)
    emails = users.exclude(email="").order_by("email").values_list("email", flat=True).distinct()
    return [(email, settings.LANGUAGE_CODE) for email in emails]


def dispute_deciders(claim: Claim) -> Recipients:
    """Who may decide a dispute: every review lead but the reviewer who rejected the claim
    (separation of duties)."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    if claim.rejected_by_id:
        users = users.exclude(pk=claim.rejected_by_id)
    leads = users.filter(groups__name=LEAD_GROUP)
    emails = leads.order_by("email").values_list("email", flat=True).distinct()
    return [(email, settings.LANGUAGE_CODE) for email in emails]


def customer(claim: Claim) -> Recipients:
    if not claim.customer_contact_email:
        return []
    return [(claim.customer_contact_email, claim.customer_contact_language)]


# -- what each change sends --------------------------------------------------------------------------


def _rejection(claim: Claim) -> dict[str, Any]:
    return {
        "rejection_reason": claim.rejection_reason,
        "sub_reason_codes": list(claim.rejection_sub_reasons),
        "dispute_until": claim.dispute_window_ends_at,
    }


def plan(
    claim: Claim, action: str, *, note: str = "", managers: Mapping[int, list[str]] | None = None
) -> list[Planned]:
    """The messages `action` on `claim` sends (the table in docs/design.md, "Who is told what"),
    with the values they need."""
    people = lambda: partner_people(claim, managers)  # noqa: E731  (only queried when needed)
    if action == "submit":
        return [
            Planned(
                claim,
                "claim_submitted",
                partner_contact(claim),
                context={"review_start_due_at": claim.review_start_due_at},
            )
        ]
    if action == "request_information":
        return [
            Planned(
                claim,
                "information_requested",
                people(),
                context={
                    "reason_codes": list(claim.information_request_reasons),
                    "comment": note,
                    "deadline": claim.partner_response_due_at,
                },
            )
        ]
    if action in ("resubmit", "dispute"):
        return [
            Planned(
                claim,
                f"reviewer_{action}",
                dispute_deciders(claim) if action == "dispute" else reviewers(claim),
                partner_visible=False,
                context={"comment": note},
            )
        ]
    if action == "approve":
        return [
            Planned(claim, "claim_approved", people(), context={"window_ends": claim.consent_window_ends_at})
        ]
    if action in ("reject", "expire", "supersede", "uphold_rejection", "end_association", "lapse"):
        return [
            Planned(
                claim,
                "claim_rejected",
                people(),
                context={
                    "comment": note,
                    "action": action,
                    **_rejection(claim),
                    **({"lapse_days": settings.CPOR_LAPSE_DAYS} if action == "lapse" else {}),
                },
            )
        ]
    if action == "deny_consent":
        return [
            Planned(claim, "consent_denied_partner", people()),
            Planned(claim, "consent_denied_customer", customer(claim)),
        ]
    if action == "close_consent_window":
        return [Planned(claim, "sent_for_assessment", people())]
    if action == "reopen":
        return [
            Planned(
                claim,
                "dispute_reopened",
                people(),
                context={"comment": note, "deadline": claim.review_due_at},
            )
        ]
    return []


def write(planned: Sequence[Planned], *, now: dt.datetime) -> list[tuple[int, int]]:
    """Store every planned message: outbox rows and one `notification` event each, in bulk.

    The recipients of one planned message who read the same language get one mail together (the
    people of one partner are told the same thing at once), so each message is one outbox row and
    one history event whoever it reaches. Returns (event id, outbox row id) per message.
    """
    messages: list[tuple[Planned, list[str], str]] = []
    for p in planned:
        by_language: dict[str, list[str]] = {}
        for email, language in p.recipients:
            by_language.setdefault(language, []).append(email)
        messages += [(p, emails, language) for language, emails in by_language.items()]
    email_ids = outbox.enqueue_many(
        outbox.Message(
            kind=p.kind,
            to=emails,
            language=language,
            # written_at: deadline words in the mail count from now, however late it is delivered.
            context={"claim_id": p.claim.pk, "written_at": now, **p.context},
        )
        for p, emails, language in messages
    )
    rows = [
        {
            "claim_id": p.claim.pk,
            "created_at": now,
            "actor_kind": ClaimEvent.ActorKind.SYSTEM,
            "actor_id": None,
            "action": ClaimEvent.Action.NOTIFICATION,
            "from_status": "",
            "to_status": "",
            "diff": {},
            "note": f"{p.kind} → {', '.join(emails)}",
            "partner_visible": p.partner_visible,
            "email_id": email_id,
        }
        for (p, emails, _language), email_id in zip(messages, email_ids, strict=True)
    ]
    return list(zip(insert_rows(ClaimEvent, rows), email_ids, strict=True))


def send(
    claim: Claim,
    kind: str,
    recipients: Recipients,
    *,
    now: dt.datetime,
    partner_visible: bool = True,
    **context: Any,
) -> list[tuple[int, int]]:
    """Queue `kind` to the recipients (one mail per language) and record one event per message."""
    return write([Planned(claim, kind, recipients, partner_visible, context)], now=now)


def after_transition(claim: Claim, action: str, *, by: Any, now: dt.datetime, note: str) -> None:
    write(plan(claim, action, note=note), now=now)


def after_comment(claim: Claim, comment: Comment, *, now: dt.datetime) -> None:
    if comment.author_kind == ClaimEvent.ActorKind.PARTNER:
        send(
            claim, "reviewer_comment", reviewers(claim), now=now, partner_visible=False, comment=comment.body
        )
    elif comment.partner_visible:
        send(claim, "partner_comment", partner_people(claim), now=now, comment=comment.body)


# -- the customer's decisions (claims.workflow.customer) ----------------------------------------------


def after_workloads_declined(
    claim: Claim, *, declined: list[str], remaining: list[str], reason: str, now: dt.datetime
) -> None:
    """The partner: which workloads the customer declined, which remain, and that nothing else is needed."""
    send(
        claim,
        "workloads_declined_partner",
        partner_people(claim),
        now=now,
        declined_codes=declined,
        remaining_codes=remaining,
        comment=reason,
    )


def after_end_requested(claim: Claim, request: AssociationEndRequest, *, now: dt.datetime) -> None:
    """The review leads: a request to decide (who asked, why, the admin link); the partner: that the
    customer asked, why, and that a review lead decides."""
    write(
        [
            Planned(
                claim,
                "end_requested_leads",
                review_leads(),
                partner_visible=False,
                context={"comment": request.reason, "customer_email": request.requested_by_email},
            ),
            Planned(
                claim, "end_requested_partner", partner_people(claim), context={"comment": request.reason}
            ),
        ],
        now=now,
    )


def after_end_request_declined(claim: Claim, request: AssociationEndRequest, *, now: dt.datetime) -> None:
    """The customer who asked: the request is declined, and the lead's reason (in their language);
    the partner, which was told of the request: the association stands."""
    write(
        [
            Planned(
                claim,
                "end_request_declined_customer",
                [(request.requested_by_email, request.language)],
                # The customer's address is the customer's business, not the partner's.
                partner_visible=False,
                context={"comment": request.decision_note, "requested_at": request.created_at},
            ),
            Planned(
                claim,
                "end_request_declined_partner",
                partner_people(claim),
                context={"comment": request.decision_note},
            ),
        ],
        now=now,
    )


def end_request_granted(claim: Claim, request: AssociationEndRequest, *, now: dt.datetime) -> None:
    """The customer who asked: the association has ended (the partner is told by `end_association`'s
    own mail, `claim_rejected`)."""
    send(
        claim,
        "end_request_granted_customer",
        [(request.requested_by_email, request.language)],
        now=now,
        partner_visible=False,
        requested_at=request.created_at,
        dispute_until=claim.dispute_window_ends_at,
    )


def end_requests_settled(
    settled: Sequence[tuple[Claim, str, AssociationEndRequest]], *, now: dt.datetime
) -> None:
    """Each customer whose pending request the association outlived (it ended another way: `action`,
    such as withdraw or supersede): the request is no longer needed. One write for a whole batch."""
    write(
        [
            Planned(
                claim,
                "end_request_settled_customer",
                [(request.requested_by_email, request.language)],
                # The customer's address is the customer's business, not the partner's.
                partner_visible=False,
                context={"requested_at": request.created_at, "action": action},
            )
            for claim, action, request in settled
        ],
        now=now,
    )


def send_reminder(claim: Claim, *, now: dt.datetime) -> None:
    send(
        claim,
        "information_reminder",
        partner_people(claim),
        now=now,
        reason_codes=list(claim.information_request_reasons),
        deadline=claim.partner_response_due_at,
    )


# -- rendering (on delivery, in the recipient's language) --------------------------------------------


def load_context(context: dict[str, Any], language: str) -> dict[str, Any]:
    """Outbox context loader: the claim and its URLs, and reason codes as labels in `language`."""
    claim_id = context.get("claim_id")
    if claim_id is None:
        return context
    claim = Claim.objects.select_related("partner").get(pk=claim_id)
    loaded = {
        **context,
        "claim": claim,
        "claim_url": claim_url(claim_id),
        "admin_url": admin_url(claim_id),
        "customer_url": customer_association_url(claim_id),
        "programme": str(claim.programme.label) if claim.programme else "",
    }
    if "reason_codes" in context:
        loaded["reasons"] = choice_labels(context["reason_codes"], InformationRequestReason)
    if "declined_codes" in context or "remaining_codes" in context:
        codes = [*context.get("declined_codes", ()), *context.get("remaining_codes", ())]
        names = dict(Product.objects.filter(code__in=codes).values_list("code", "name"))
        loaded["declined"] = [names.get(code, code) for code in context.get("declined_codes", ())]
        loaded["remaining"] = [names.get(code, code) for code in context.get("remaining_codes", ())]
    if "rejection_reason" in context:
        code = context["rejection_reason"]
        loaded["reason"] = str(RejectionReason(code).label) if code in RejectionReason.values else code
        loaded["sub_reasons"] = choice_labels(
            context.get("sub_reason_codes", []), Claim.sub_reason_choices(code)
        )
    return loaded
