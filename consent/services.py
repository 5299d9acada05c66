"""Consent notices, the customer's denial, and the hand-off to incentive assessment.

`open_consent_request` and `hand_off_for_assessment` are workflow steps: they run inside the
transaction of `approve` and `close_consent_window` (registered in `ConsentConfig.ready`).

A notice's link is minted when its mail is sent (`consent_link`, an outbox secret loader): the
outbox row holds only the consent request's id, the request only the SHA-256 of the link last
mailed, so no row, admin page, log line or history entry holds a usable link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from claims import notifications, workflow
from claims.models import (
    Claim,
    ClaimEvent,
    Product,
    RejectionReason,
    consent_window_open,
    is_reviewer,
)
from claims.workflow import CUSTOMER, StepContext, TransitionRefused
from consent.models import ConsentRequest, hash_token, new_token


def consent_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('consent:notice', args=[token])}"


def consent_link(context: dict[str, Any], live: bool) -> dict[str, Any]:
    """Outbox secret loader: a fresh link for the notice being sent, or a stand-in for staff.

    Minting replaces the request's hash, so a link from an earlier attempt stops working.
    """
    if not live:
        return {**context, "consent_url": _("[consent link: sent only to the customer]")}
    token, token_hash = new_token()
    ConsentRequest.objects.filter(pk=context["consent_request_id"]).update(token_hash=token_hash)
    return {**context, "consent_url": consent_url(token)}


def _send_notice(
    claim: Claim, *, name: str, email: str, language: str, now: dt.datetime, sent_by: Any = None
) -> ConsentRequest:
    request = ConsentRequest.objects.create(
        claim=claim,
        contact_name=name,
        contact_email=email,
        language=language,
        expires_at=claim.consent_window_ends_at,
        created_at=now,
        sent_by=sent_by,
    )
    ((_event_id, email_id),) = notifications.send(
        claim,
        "consent_notice",
        [(email, language)],
        now=now,
        # A contact a reviewer chose is the customer's business, not the partner's.
        partner_visible=sent_by is None,
        consent_request_id=request.pk,
        window_ends=claim.consent_window_ends_at,
        contact_name=name,
        products=[p.name for p in claim.products.all()],
    )
    request.email_id = email_id
    request.save(update_fields=["email"])
    return request


def open_consent_request(context: StepContext) -> None:
    """On approve: a single-use link for the customer contact, in their language."""
    claim = context.claim
    # Links from an earlier approval (before a dispute reopened the claim) must not work again.
    ConsentRequest.objects.filter(claim=claim, expires_at__gt=context.now).update(expires_at=context.now)
    if not claim.customer_contact_email:
        return
    _send_notice(
        claim,
        name=claim.customer_contact_name,
        email=claim.customer_contact_email,
        language=claim.customer_contact_language,
        now=context.now,
    )


def resend_notice(
    claim: Claim | int, *, by: Any, name: str = "", email: str = "", language: str = ""
) -> ConsentRequest:
    """A reviewer sends the notice again, to the claim's customer contact or an alternate one."""
    if not is_reviewer(by):
        raise TransitionRefused(_("Only reviewers can send the consent notice."))
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": _("Enter a valid email address.")}) from None
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose English or Turkish.")})
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk if isinstance(claim, Claim) else claim)
        if locked.status != Claim.Status.APPROVED or not consent_window_open(locked):
            raise TransitionRefused(
                _("The consent notice can be sent only while the opt-out window is open.")
            )
        to = email or locked.customer_contact_email
        if not to:
            raise ValidationError({"email": _("The claim has no customer contact email; give one.")})
        now = timezone.now()
        # The new notice replaces the unanswered links sent to the same address before.
        ConsentRequest.objects.filter(claim=locked, contact_email__iexact=to, used_at=None).update(
            token_hash=None
        )
        request = _send_notice(
            locked,
            name=(name or ("" if email else locked.customer_contact_name)).strip()[:200],
            email=to,
            language=language or locked.customer_contact_language,
            now=now,
            sent_by=by,
        )
        workflow.record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.NOTIFICATION,
            now=now,
            note=_("Consent notice resent to %(email)s.") % {"email": to},
            partner_visible=False,
            email_id=request.email_id,
        )
    return request


class NoticeState:
    """What the customer's page shows for a notice."""

    OPEN = "open"
    ANSWERED = "answered"  # the link declined some workloads; the rest stay open in the portal
    DENIED = "denied"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"


# What the notice page reads (`consent.views.notice`, `notice_state`, `customer_status`, the templates):
# loading only these keeps the page's one query small. A POST reloads the notice after deciding.
NOTICE_FIELDS = (
    "id",
    "claim",
    "language",
    "expires_at",
    "used_at",
    "claim__id",
    "claim__partner",
    "claim__status",
    "claim__rejection_reason",
    "claim__consent_window_ends_at",
    "claim__activity",
    "claim__customer_name",
    "claim__customer_domain",
    "claim__work_description",
    "claim__partner__id",
    "claim__partner__name",
)


def find_request(token: str) -> ConsentRequest | None:
    """The notice a link opens, with its claim and partner (only the fields the notice page reads),
    or None."""
    if not token or len(token) > 128:
        return None
    found = list(
        ConsentRequest.objects.select_related("claim", "claim__partner")
        .only(*NOTICE_FIELDS)
        .filter(token_hash=hash_token(token))
        .order_by()[:1]  # the hash is unique
    )
    return found[0] if found else None


def notice_products(claim: Claim) -> list[Product]:
    """The claim's products as the notice page shows them (names, ids for the decline form)."""
    return list(claim.products.only("id", "name"))


def notice_state(request: ConsentRequest) -> str:
    claim = request.claim
    if claim.status == Claim.Status.REJECTED and claim.rejection_reason == RejectionReason.CUSTOMER_DECLINE:
        return NoticeState.DENIED
    if (
        claim.status == Claim.Status.APPROVED
        and consent_window_open(claim)
        and timezone.now() < request.expires_at
    ):
        return NoticeState.ANSWERED if request.used_at is not None else NoticeState.OPEN
    if claim.status in (Claim.Status.APPROVED, Claim.Status.ASSOCIATED):
        return NoticeState.ENDED
    return NoticeState.WITHDRAWN


def decline_by_link(
    request: ConsentRequest,
    products: Iterable[Product | int] | None = None,
    *,
    decline_all: bool | None = None,
    reason: str = "",
    expected_status: str | None = None,
) -> Claim:
    """The customer declines `products` of the claim, or the whole association (`decline_all`, or
    no products given: a denial), through the notice's link.

    The decision is `claims.workflow.decline_workloads`, as in the portal, with the notice's address
    as the customer's (a denial by an alternate contact confirms to them too, there); the link is
    single-use, answered by whatever it declined. Raises TransitionRefused (already answered, a
    link from an earlier approval, the window closed) or ValidationError (a workload not on the
    claim), and then nothing changes.
    """
    with transaction.atomic():
        # Claim first, then the notice: the order every path takes, so two never wait on each other.
        locked = Claim.objects.select_for_update().filter(pk=request.claim_id).first()
        current = ConsentRequest.objects.select_for_update().get(pk=request.pk)
        if locked is None:
            raise TransitionRefused(_("This claim no longer exists."))
        if decline_all is None:
            # A caller that names no workloads (`deny`) declines the whole association.
            decline_all = products is None
        if current.used_at is not None:
            raise TransitionRefused(_("Your answer through this link is already recorded."))
        now = timezone.now()
        if now >= current.expires_at:
            raise TransitionRefused(
                _("This link is no longer valid: the time to decline through it has passed.")
            )
        claim = workflow.decline_workloads(
            request.claim_id,
            () if decline_all else products or (),
            decline_all=decline_all,
            by=CUSTOMER,
            customer_email=current.contact_email,
            customer_language=current.language,
            customer_name=current.contact_name,
            reason=reason,
            expected_status=expected_status,
        )
        ConsentRequest.objects.filter(pk=request.pk).update(used_at=now, denial_reason=reason)
    return claim


def deny(request: ConsentRequest, *, reason: str = "") -> bool:
    """Record the customer's denial of the whole association. Returns False when it was already
    recorded or is too late."""
    reason = (reason or "").strip()[:2000]
    try:
        decline_by_link(request, reason=reason)
    except (TransitionRefused, ValidationError):
        return False
    return True
