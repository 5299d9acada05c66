"""The customer's decisions on an association, and a review lead's answer to them.

- `decline_workloads`: while the opt-out window is open, the customer declines some of the claimed
  workloads (the rest stay and go on to assessment when the window closes) or all of them, which
  is `deny_consent` through the one path.
- `request_end_association`: after the window, the customer asks to end the association; the
  review leads decide. Granting it is the transition `end_association` (its step
  `grant_end_request` marks the request granted and confirms to the customer); declining it is
  `decline_end_request`, which tells the customer why.

Each runs in one transaction on the locked claim, leaves one `ClaimEvent` and writes its mail to
the outbox, as `transition` does. The customer's address is kept in the event (`via`, channel
`customer`) so a receipt and the reviewer's history can say who decided; no token ever is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims import notifications
from claims.actors import CUSTOMER, Actor
from claims.history import CUSTOMER_CHANNEL
from claims.models import (
    AssociationEndRequest,
    Claim,
    ClaimEvent,
    Product,
    consent_window_open,
    is_lead,
)
from claims.workflow.events import claims_changed, record_event
from claims.workflow.locks import TransitionRefused, lock_claim
from claims.workflow.registry import StepContext, tell_listeners
from claims.workflow.transitions import transition

# The one limit of each text, which the model, the forms and their templates use.
MAX_REASON = AssociationEndRequest._meta.get_field("reason").max_length  # the customer's reason: 2000
MAX_DECISION_NOTE = AssociationEndRequest._meta.get_field("decision_note").max_length  # a lead's: 5000


def checked_reason(text: Any, *, limit: int = MAX_REASON) -> str:
    """`text` stripped, or ValidationError (a message fit to show beside the field) when it is longer
    than `limit` or holds a control character other than a line break or a tab (any Unicode `Cc`:
    C0, DEL and C1), since a reason is read in mail and on pages. The one check of a reason: the
    forms use it, and so does the workflow."""
    text = str(text or "").strip()
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        raise ValidationError(_("Remove the control characters from your text."), code="control")
    if limit is not None and len(text) > limit:
        raise ValidationError(
            _("Keep the text to %(count)s characters or fewer.") % {"count": limit}, code="max_length"
        )
    return text


def customer_via(email: str) -> dict[str, str] | None:
    """The `via` of an event the customer made: who decided (their address), for receipts and reviewers."""
    return {"channel": CUSTOMER_CHANNEL, "email": email} if email else None


def decline_workloads(
    claim: Claim | int,
    products: Iterable[Product | int | str] = (),
    *,
    decline_all: bool = False,
    by: Any = CUSTOMER,
    customer_email: str = "",
    customer_language: str = "",
    customer_name: str = "",
    reason: str = "",
    expected_status: str | None = None,
) -> Claim:
    """The customer declines `products` of an approved claim while its opt-out window is open, or
    the whole association (`decline_all=True`, and no products).

    Declining the whole association is `deny_consent` (rejected, `customer_decline`), with the
    reason as its comment; the claim's customer contact is confirmed, and so is the deciding
    address (`customer_email`, in `customer_language`) when it is another one. Declining some
    removes them from the claim, records one `workloads_declined` event (the products' before and
    after, the customer as actor) and mails the partner; a list that names every workload left is
    refused (the customer chose "only some", and an association keeps at least one). Raises
    ValidationError for bad input (no product, a product not on the claim, a reason too long) and
    TransitionRefused when the claim or the actor does not allow it; either way nothing changes.
    """
    if not (isinstance(by, Actor) and by.kind == CUSTOMER.kind):
        raise TransitionRefused(_("Only the customer can decline workloads of this association."))
    reason = _checked_text(reason, limit=MAX_REASON, field="reason")
    customer_email = _checked_email(customer_email, required=False)
    if decline_all:
        if list(products or ()):
            raise ValueError("decline_all declines every workload: name no products")
        wanted: list[int] = []
    else:
        wanted = _product_ids(products)
    with transaction.atomic():
        locked = _lock_seen(claim, expected_status)
        # One moment for the check and the record: the event is never dated after the window's end.
        now = timezone.now()
        if locked.status != Claim.Status.APPROVED or not consent_window_open(locked, now):
            raise TransitionRefused(_closed_window_message(locked))
        if decline_all:
            return _deny(
                locked,
                by=by,
                reason=reason,
                now=now,
                email=customer_email,
                language=customer_language,
                name=customer_name,
            )
        held = {product.pk: product for product in locked.products.order_by("name")}
        foreign = [pk for pk in wanted if pk not in held]
        if foreign:
            raise ValidationError({"products": _foreign_products_message(foreign)})
        if set(wanted) == set(held):
            raise ValidationError(
                {
                    "products": _(
                        "These are all the workloads left in this association: to decline them "
                        "all, decline the whole association."
                    )
                }
            )
        declined = [product for pk, product in held.items() if pk in wanted]
        remaining = [product for pk, product in held.items() if pk not in wanted]
        before = sorted(product.code for product in held.values())
        locked.products.remove(*declined)
        # The claim changed (its products): a CRM syncing by `updated_since` must see it again.
        locked.save(update_fields=["updated_at"])
        claims_changed([locked.partner_id])
        names = ", ".join(product.name for product in declined)
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.WORKLOADS_DECLINED,
            now=now,
            diff={"products": [before, sorted(product.code for product in remaining)]},
            note=f"{names} — {reason}" if reason else names,
            via=customer_via(customer_email),
        )
        notifications.after_workloads_declined(
            locked,
            declined=[p.code for p in declined],
            remaining=[p.code for p in remaining],
            reason=reason,
            now=now,
        )
        tell_listeners(
            "workloads_declined",
            claim=locked,
            declined=[p.code for p in declined],
            remaining=[p.code for p in remaining],
            reason=reason,
            now=now,
        )
    return locked


def _deny(locked: Claim, *, by: Any, reason: str, now: Any, email: str, language: str, name: str) -> Claim:
    """The whole association declined: `deny_consent` through the one path. Its own mail confirms to
    the claim's customer contact; a deciding address that is another one is confirmed too."""
    claim = transition(
        locked,
        "deny_consent",
        by=by,
        comment=reason,
        expected_status=Claim.Status.APPROVED,
        via=customer_via(email),
    )
    if email and email.lower() != (claim.customer_contact_email or "").lower():
        language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        notifications.send(
            claim,
            "consent_denied_customer",
            [(email, language)],
            now=now,
            partner_visible=False,  # the deciding address is the customer's business
            contact_name=name,
        )
    return claim


def request_end_association(
    claim: Claim | int,
    *,
    by: Any = CUSTOMER,
    customer_email: str,
    language: str,
    reason: str,
) -> AssociationEndRequest:
    """The customer asks, after the opt-out window, to end an association; a review lead decides.

    One pending request per claim: a second is refused and changes nothing. Records one
    `end_requested` event (the partner sees it and the reason: it may dispute an ending, so it
    should know what was asked and why) and mails the review leads (the request to decide) and the
    partner.
    """
    if not (isinstance(by, Actor) and by.kind == CUSTOMER.kind):
        raise TransitionRefused(_("Only the customer can ask to end this association."))
    reason = _checked_text(reason, limit=MAX_REASON, field="reason")
    if not reason:
        raise ValidationError({"reason": _("Tell the review team why the association should end.")})
    customer_email = _checked_email(customer_email, required=True)
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with transaction.atomic():
        locked = lock_claim(claim)
        if locked.status == Claim.Status.APPROVED:
            raise TransitionRefused(
                _("The opt-out window of this association is still open: decline its workloads instead.")
            )
        if locked.status != Claim.Status.ASSOCIATED:
            raise TransitionRefused(_("This association has ended; there is nothing to ask for."))
        if locked.end_requests.filter(outcome=AssociationEndRequest.Outcome.PENDING).exists():
            raise TransitionRefused(_("Your request is already with the review team."))
        now = timezone.now()
        request = AssociationEndRequest.objects.create(
            claim=locked,
            requested_by_email=customer_email,
            language=language,
            reason=reason,
            created_at=now,
        )
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.END_REQUESTED,
            now=now,
            note=reason,
            via=customer_via(customer_email),
        )
        notifications.after_end_requested(locked, request, now=now)
        tell_listeners("end_requested", claim=locked, request=request, now=now)
        claims_changed([locked.partner_id])  # the claim page shows the request in its history
    return request


def decline_end_request(claim: Claim | int, *, by: Any, reason: str) -> AssociationEndRequest:
    """A review lead declines the customer's pending request to end an association: the
    association stands. The customer is mailed why (in their language); the partner, which was
    told of the request, is told it was declined."""
    if not is_lead(by):
        raise TransitionRefused(_("Only a review lead can decide a request to end an association."))
    reason = _checked_text(reason, limit=MAX_DECISION_NOTE, field="reason")
    if not reason:
        raise ValidationError({"reason": _("Tell the customer why their request is declined.")})
    with transaction.atomic():
        locked = lock_claim(claim)
        request = (
            locked.end_requests.select_for_update()
            .filter(outcome=AssociationEndRequest.Outcome.PENDING)
            .first()
        )
        if request is None:
            raise TransitionRefused(_("There is no pending request to end this association."))
        if locked.status != Claim.Status.ASSOCIATED:  # settled when it left (settle_end_requests)
            raise TransitionRefused(_("This association has ended; there is nothing left to decide."))
        now = timezone.now()
        request.outcome = AssociationEndRequest.Outcome.DECLINED
        request.decided_at = now
        request.decided_by = by
        request.decision_note = reason
        request.save(update_fields=["outcome", "decided_at", "decided_by", "decision_note"])
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.END_REQUEST_DECLINED,
            now=now,
            note=reason,
        )
        notifications.after_end_request_declined(locked, request, now=now)
        tell_listeners("end_request_declined", claim=locked, request=request, now=now)
        claims_changed([locked.partner_id])
    return request


def grant_end_request(context: StepContext) -> None:
    """Step of `end_association` (registered in ClaimsConfig.ready): the customer's pending request
    is granted with the lead's comment, and the customer who asked is told the association ended."""
    request = (
        context.claim.end_requests.select_for_update()
        .filter(outcome=AssociationEndRequest.Outcome.PENDING)
        .first()
    )
    if request is None:  # the transition's condition makes one exist; nothing to mark otherwise
        return
    request.outcome = AssociationEndRequest.Outcome.GRANTED
    request.decided_at = context.now
    request.decided_by = None if isinstance(context.by, Actor) else context.by
    request.decision_note = str((context.details or {}).get("comment") or "").strip()
    request.save(update_fields=["outcome", "decided_at", "decided_by", "decision_note"])
    notifications.end_request_granted(context.claim, request, now=context.now)


def actions_leaving_associated() -> tuple[str, ...]:
    """The transitions that take a claim out of `associated`, from the state machine itself (so a
    new one, such as a lapse, is covered without anyone remembering to): those whose sources hold
    `associated` and whose target from there is another state. `end_association` is one; it grants
    the request instead (`grant_end_request`)."""
    field = Claim._meta.get_field("status")
    associated = Claim.Status.ASSOCIATED
    return tuple(
        sorted(
            {
                t.name
                for t in field.get_all_transitions(Claim)
                if associated in Claim.sources_of(t.name)
                and t.source == associated
                and t.target != associated
            }
        )
    )


def settle_end_requests(context: StepContext) -> None:
    """Step of every other transition that ends an association (withdraw, supersede, a lapse): a
    customer's pending request to end it is settled ("no longer needed"), so no lead is left a
    request to decide, and the customer who asked is told (in their language)."""
    settle_end_requests_for_many([context])


def settle_end_requests_for_many(contexts: Sequence[StepContext]) -> None:
    """`settle_end_requests` for a sweep's batch: three statements, whatever its size."""
    if not contexts:
        return
    claims = {context.claim.pk: context for context in contexts}
    pending = list(
        AssociationEndRequest.objects.select_for_update()
        .filter(claim_id__in=claims, outcome=AssociationEndRequest.Outcome.PENDING)
        .order_by("pk")
    )
    if not pending:
        return
    now = contexts[0].now
    AssociationEndRequest.objects.filter(pk__in=[request.pk for request in pending]).update(
        outcome=AssociationEndRequest.Outcome.SETTLED, decided_at=now, decided_by=None, decision_note=""
    )
    notifications.end_requests_settled(
        [(claims[request.claim_id].claim, claims[request.claim_id].action, request) for request in pending],
        now=now,
    )


# -- checks ---------------------------------------------------------------------------------------


def _lock_seen(claim: Claim | int, expected_status: str | None) -> Claim:
    locked = lock_claim(claim)
    if expected_status is not None and locked.status != expected_status:
        raise TransitionRefused(
            _("This association changed while you were looking at it: it is now %(status)s.")
            % {"status": locked.get_status_display()}
        )
    return locked


def _closed_window_message(claim: Claim) -> str:
    if claim.status in (Claim.Status.APPROVED, Claim.Status.ASSOCIATED):
        return _(
            "The opt-out window of this association has closed, so its workloads can no longer be declined."
        )
    return _("This association has ended; there is nothing left to decline.")


def _product_ids(products: Iterable[Product | int | str]) -> list[int]:
    """The chosen products' ids (instances, ids or ids as text), once each; refuse none or junk."""
    ids: list[int] = []
    for product in products or ():
        value: Any = product.pk if isinstance(product, Product) else product
        try:
            pk = int(str(value).strip())
        except (TypeError, ValueError):
            pk = 0
        if not 0 < pk < 2**63:  # junk, or beyond any id the database holds
            raise ValidationError({"products": _("A chosen workload is not part of this association.")})
        if pk not in ids:
            ids.append(pk)
    if not ids:
        raise ValidationError({"products": _("Choose at least one workload to decline.")})
    return ids


def _foreign_products_message(pks: list[int]) -> str:
    names = list(Product.objects.filter(pk__in=pks).order_by("name").values_list("name", flat=True))
    if len(names) != 1:
        return _("A chosen workload is not part of this association.")
    return _("“%(name)s” is not part of this association.") % {"name": names[0]}


def _checked_text(text: Any, *, limit: int, field: str) -> str:
    """`checked_reason`, its message keyed by `field`."""
    try:
        return checked_reason(text, limit=limit)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None


def _checked_email(email: Any, *, required: bool) -> str:
    email = str(email or "").strip()
    if not email and not required:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"customer_email": _("Enter a valid email address.")}) from None
    return email
