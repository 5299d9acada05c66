"""Webhook events, written in the transaction of the change they report (an outbox).

`claims.workflow` runs `transition_step` inside every transition (and `transition_step_many` for each batch
of a beat sweep) and calls `comment_added` / `reminder_sent` and the customer's decisions
(`workloads_declined`, `end_requested`, `end_request_declined`) inside those changes. Each writes one
event per change for the claim's partner — only when the partner has an active endpoint subscribed
to that type — and one delivery row per such endpoint. A rolled-back change leaves neither. The
deliveries go to Celery after commit (`api.webhooks.delivery`).

The event's `data.claim` is the claim exactly as `GET /api/v1/claims/{id}` shows it, at the moment
of the change, seen by the partner's managers (a managing role; not any one user, so the view
does not change when the endpoint's creator leaves or is demoted).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.schemas import api_time
from claims.history import author_label
from claims.models import Claim, ClaimEvent, Comment, Membership, Product

logger = logging.getLogger(__name__)

# Every event type a partner may subscribe to, in the order the portal lists them.
EVENT_TYPES: list[tuple[str, Any]] = [
    ("claim.submitted", _("Claim submitted")),
    ("claim.review_started", _("Review started")),
    ("claim.information_requested", _("Information requested")),
    ("claim.resubmitted", _("Claim resubmitted")),
    ("claim.approved", _("Claim approved")),
    ("claim.rejected", _("Claim rejected")),
    ("claim.consent_denied", _("Customer declined consent")),
    ("claim.associated", _("Association confirmed")),
    ("claim.disputed", _("Rejection disputed")),
    ("claim.dispute_decided", _("Dispute decided")),
    ("claim.withdrawn", _("Claim withdrawn")),
    ("claim.superseded", _("Claim superseded")),
    ("claim.workloads_declined", _("Customer declined some workloads")),
    ("claim.end_requested", _("Customer asked to end the association")),
    ("claim.end_request_declined", _("Request to end the association declined")),
    ("claim.association_ended", _("Association ended at the customer's request")),
    ("claim.lapsed", _("Association ended: the subscription is no longer active")),
    ("claim.comment_added", _("Reviewer comment added")),
    ("claim.reminder", _("Response reminder")),
]
EVENT_TYPE_CODES: tuple[str, ...] = tuple(code for code, _label in EVENT_TYPES)
# Sent by "send test event" to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"
COMMENT_EVENT = "claim.comment_added"
REMINDER_EVENT = "claim.reminder"
# The customer's decisions that are not transitions (claims.workflow.customer), by listener kind.
CUSTOMER_DECISION_EVENTS: dict[str, str] = {
    "workloads_declined": "claim.workloads_declined",
    "end_requested": "claim.end_requested",
    "end_request_declined": "claim.end_request_declined",
}
# Every transition of the claim's state machine and the event it is (claims.workflow.TRANSITIONS).
ACTION_EVENT: dict[str, str] = {
    "submit": "claim.submitted",
    "start_review": "claim.review_started",
    "request_information": "claim.information_requested",
    "resubmit": "claim.resubmitted",
    "approve": "claim.approved",
    "reject": "claim.rejected",
    "expire": "claim.rejected",
    "deny_consent": "claim.consent_denied",
    "close_consent_window": "claim.associated",
    "dispute": "claim.disputed",
    "reopen": "claim.dispute_decided",
    "uphold_rejection": "claim.dispute_decided",
    "withdraw": "claim.withdrawn",
    "supersede": "claim.superseded",
    "end_association": "claim.association_ended",
    "lapse": "claim.lapsed",
}
DISPUTE_DECISIONS = {"reopen": "reopened", "uphold_rejection": "rejection_upheld"}
# More deliveries than this in one transaction go to one re-drive run instead of a task each.
MAX_TASKS_PER_COMMIT = 20
# The re-drive leaves a delivery that has its own after-commit task this long before trying it.
FIRST_REDRIVE_DELAY = dt.timedelta(minutes=1)


def first_attempt_at(now: dt.datetime, count: int) -> dt.datetime:
    """When the re-drive may first try a delivery written with `count - 1` others: at once when
    they go to one re-drive run, after FIRST_REDRIVE_DELAY when each has a task."""
    return now if count > MAX_TASKS_PER_COMMIT else now + FIRST_REDRIVE_DELAY


def moment(value: dt.datetime | None) -> str | None:
    """A time as the API writes it (ISO 8601, microseconds, Z)."""
    return api_time(value)


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Change:
    """One change of one claim to report: the event type and what it adds beside the claim."""

    claim_id: int
    partner_id: int
    type: str
    occurred_at: dt.datetime
    extra: dict[str, Any]


@dataclass(frozen=True)
class _Subscriber:
    endpoint_id: int
    event_types: frozenset[str]


def _subscribers(partner_ids: Iterable[int]) -> dict[int, list[_Subscriber]]:
    """The active endpoints of these partners (one indexed query), oldest first."""
    found: dict[int, list[_Subscriber]] = defaultdict(list)
    rows = (
        WebhookEndpoint.objects.filter(partner_id__in=set(partner_ids), is_active=True)
        .order_by("created_at", "id")
        .values_list("pk", "partner_id", "event_types")
    )
    for pk, partner_id, event_types in rows:
        found[partner_id].append(_Subscriber(pk, frozenset(event_types or ())))
    return found


class _PartnerManager:
    """Any of a partner's managers, no one in particular: what the claim permission checks read of a
    user (active, not staff, a membership of the partner in a role that manages claims)."""

    is_authenticated = True
    is_active = True
    is_staff = False
    pk = None

    def __init__(self, partner_id: int) -> None:
        self.membership = Membership(partner_id=partner_id, role=Membership.Role.GLOBAL_ADMIN)


class _Caller:
    """What the API's claim serializer reads of a request: the key (its partner, write scope) and
    the acting user — here the partner's managers, as a read-write key of theirs sees the claim."""

    def __init__(self, partner_id: int) -> None:
        self.user = _PartnerManager(partner_id)
        self.auth = _KeyView(partner_id)


@dataclass(frozen=True)
class _KeyView:
    partner_id: int
    can_write: bool = True
    name: str = "webhooks"


def _claims_as_api_shows(claim_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each claim as GET /api/v1/claims/{id} returns it to a read-write key of the partner's
    managers (JSON values), in its partner's language (no one user's view)."""
    from api.v1 import _claim_out  # the API module mounts this package's router: import late

    claims = (
        Claim.objects.filter(pk__in=set(claim_ids))
        .select_related("mpn", "partner")
        .prefetch_related(Prefetch("products", queryset=Product.objects.only("id", "code").order_by("code")))
    )
    shown: dict[int, dict[str, Any]] = {}
    for claim in claims:
        with translation.override(claim.partner.language or None):
            out = _claim_out(_Caller(claim.partner_id), claim)
            # Rendered as the API's claim responses are (pydantic's JSON), so values read as GET gives them.
            shown[claim.pk] = out.model_dump(mode="json")
    return shown


def write_events(
    changes: Sequence[Change], *, subscribers: dict[int, list[_Subscriber]] | None = None
) -> list[int]:
    """Store an event per change whose partner has a subscribed active endpoint, and a delivery per
    such endpoint; schedule them after commit. Constant queries however many changes (a sweep's
    batch). Returns the new deliveries' ids."""
    if not changes:
        return []
    if subscribers is None:
        subscribers = _subscribers(change.partner_id for change in changes)
    wanted = [
        (change, [s for s in subscribers.get(change.partner_id, ()) if change.type in s.event_types])
        for change in changes
    ]
    wanted = [(change, endpoints) for change, endpoints in wanted if endpoints]
    if not wanted:
        return []
    shown = _claims_as_api_shows(change.claim_id for change, _e in wanted)
    events: list[WebhookEvent] = []
    deliveries: list[WebhookDelivery] = []
    count = sum(len(endpoints) for _change, endpoints in wanted)
    for change, endpoints in wanted:
        event_id = new_event_id()
        payload = {
            "id": event_id,
            "type": change.type,
            "occurred_at": moment(change.occurred_at),
            "data": {"claim": shown.get(change.claim_id), **change.extra},
        }
        events.append(
            WebhookEvent(
                id=event_id,
                type=change.type,
                occurred_at=change.occurred_at,
                partner_id=change.partner_id,
                claim_id=change.claim_id,
                payload=payload,
            )
        )
        deliveries += [
            WebhookDelivery(
                endpoint_id=s.endpoint_id,
                event_id=event_id,
                next_attempt_at=first_attempt_at(change.occurred_at, count),
                created_at=change.occurred_at,
            )
            for s in endpoints
        ]
    WebhookEvent.objects.bulk_create(events)
    created = WebhookDelivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in created]
    schedule_deliveries(ids)
    return ids


def schedule_deliveries(delivery_ids: Sequence[int]) -> None:
    """After commit: a delivery task each, or one re-drive run for many (a sweep's batch)."""
    ids = list(delivery_ids)
    if not ids:
        return
    if len(ids) > MAX_TASKS_PER_COMMIT:
        transaction.on_commit(_publish_redrive)
    else:
        transaction.on_commit(lambda: [_publish_delivery(pk) for pk in ids])


def _publish_delivery(delivery_id: int) -> None:
    from api.tasks import deliver_webhook

    try:
        deliver_webhook.delay(delivery_id)
    except Exception:  # the broker is down: the re-drive job delivers it later
        logger.warning("could not hand webhook delivery %s to the broker; the re-drive will", delivery_id)


def _publish_redrive() -> None:
    from api.tasks import redeliver_pending_webhooks

    try:
        redeliver_pending_webhooks.delay()
    except Exception:
        logger.warning("could not hand the webhook re-drive to the broker; beat will run it")


# -- what each change reports ---------------------------------------------------------------------


def _transition_extra(action: str, from_status: str, to_status: str, comment: str) -> dict[str, Any]:
    extra: dict[str, Any] = {"action": action, "from_status": from_status, "to_status": to_status}
    if comment:
        extra["comment"] = comment
    if action in DISPUTE_DECISIONS:
        extra["decision"] = DISPUTE_DECISIONS[action]
    return extra


def transition_step(context: Any) -> None:
    """Workflow step for every transition (claims.workflow.register_step)."""
    transition_step_many([context])


def transition_step_many(contexts: Sequence[Any]) -> None:
    """The same for a sweep's batch: one query skips partners without a subscribed endpoint."""
    if not contexts:
        return
    event_type = ACTION_EVENT[contexts[0].action]
    subscribers = _subscribers({c.claim.partner_id for c in contexts})
    subscribed = {
        partner_id
        for partner_id, endpoints in subscribers.items()
        if any(event_type in s.event_types for s in endpoints)
    }
    contexts = [c for c in contexts if c.claim.partner_id in subscribed]
    if not contexts:
        return
    from_statuses = dict(
        ClaimEvent.objects.filter(pk__in=[c.event_id for c in contexts]).values_list("pk", "from_status")
    )
    changes = []
    for c in contexts:
        details = c.details or {}
        comment = str(details.get("comment") or details.get("justification") or "").strip()
        changes.append(
            Change(
                claim_id=c.claim.pk,
                partner_id=c.claim.partner_id,
                type=event_type,
                occurred_at=c.now,
                extra=_transition_extra(c.action, from_statuses.get(c.event_id, ""), c.claim.status, comment),
            )
        )
    write_events(changes, subscribers=subscribers)


def comment_added(*, claim: Claim, comment: Comment, now: dt.datetime) -> None:
    """Workflow listener: a partner-visible reviewer comment is `claim.comment_added`."""
    if comment.author_kind != ClaimEvent.ActorKind.REVIEWER or not comment.partner_visible:
        return
    write_events(
        [
            Change(
                claim_id=claim.pk,
                partner_id=claim.partner_id,
                type=COMMENT_EVENT,
                occurred_at=now,
                extra={
                    "comment": {
                        "id": comment.pk,
                        "author": str(author_label(comment.author_kind, comment.author)),
                        "body": comment.body,
                        "created_at": moment(comment.created_at),
                    }
                },
            )
        ]
    )


def reminder_sent(*, claim: Claim, now: dt.datetime) -> None:
    """Workflow listener: the reminder 2 business days before an information request's deadline."""
    reminders_sent_many(claims=[claim], now=now)


def reminders_sent_many(*, claims: Sequence[Claim], now: dt.datetime) -> None:
    """The same for a sweep's batch of reminded claims, in constant queries."""
    write_events(
        [
            Change(
                claim_id=claim.pk,
                partner_id=claim.partner_id,
                type=REMINDER_EVENT,
                occurred_at=now,
                extra={
                    "reasons": list(claim.information_request_reasons or []),
                    "deadline": moment(claim.partner_response_due_at),
                },
            )
            for claim in claims
        ]
    )


def workloads_declined(
    *, claim: Claim, declined: list[str], remaining: list[str], reason: str, now: dt.datetime
) -> None:
    """Workflow listener: the customer declined some of the claim's workloads (product codes) while
    the opt-out window was open; the rest stay on the claim."""
    extra: dict[str, Any] = {"declined_products": list(declined), "remaining_products": list(remaining)}
    if reason:
        extra["comment"] = reason
    _customer_decision(claim, "workloads_declined", now, extra)


def end_requested(*, claim: Claim, request: Any, now: dt.datetime) -> None:
    """Workflow listener: the customer asked to end the association; a review lead decides."""
    _customer_decision(
        claim, "end_requested", now, {"comment": request.reason, "requested_at": moment(request.created_at)}
    )


def end_request_declined(*, claim: Claim, request: Any, now: dt.datetime) -> None:
    """Workflow listener: a review lead declined the customer's request; the association stands."""
    _customer_decision(
        claim,
        "end_request_declined",
        now,
        {"comment": request.decision_note, "requested_at": moment(request.created_at)},
    )


def _customer_decision(claim: Claim, kind: str, now: dt.datetime, extra: dict[str, Any]) -> None:
    # The customer's address is not the partner's to hold: the event names what, not who.
    write_events(
        [
            Change(
                claim_id=claim.pk,
                partner_id=claim.partner_id,
                type=CUSTOMER_DECISION_EVENTS[kind],
                occurred_at=now,
                extra=extra,
            )
        ]
    )
