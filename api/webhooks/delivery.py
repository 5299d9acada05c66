"""Deliver webhook events: signed per Standard Webhooks, retried with backoff, at least once.

`deliver` sends one pending delivery at most once per attempt: a short transaction claims the row
(locked with `skip_locked`, only a pending row whose attempt is due), counts the attempt and leases
the row past the send's deadline, then commits; the request goes out with no transaction or lock
held and within one overall deadline (CPOR_WEBHOOK_TIMEOUT, connect to status line); a second short
transaction records the result, only if the lease still holds. Overlapping tasks and the re-drive
never send the same attempt twice. The same `webhook-id` (the event id) goes with every
attempt, so receivers deduplicate by it. A 2xx is success; any other status, a timeout, a network
error or a refused address is a failed attempt, recorded in the delivery log (status code and a
short error, never the secret or the headers). After CPOR_WEBHOOK_DISABLE_AFTER failed attempts in
a row, or when one event has failed all its CPOR_WEBHOOK_MAX_ATTEMPTS attempts (about 27 hours with
the defaults), the endpoint is disabled and the partner's admins are mailed; its pending deliveries,
that event included, wait until it is enabled again, and are then tried anew. An event is never
given up on silently.

Order: the re-drive sends due deliveries oldest event first, but retries and parallel workers can
deliver a later event before an earlier one; receivers order by the event's `occurred_at`.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from standardwebhooks import Webhook

from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks import encryption, network
from api.webhooks.events import TEST_EVENT
from claims.models import Membership
from cpor import outbox

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, … failed attempt; then doubling from the last, at most MAX_DELAY.
RETRY_DELAYS = (
    dt.timedelta(seconds=5),
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(hours=1),
)
MAX_DELAY = dt.timedelta(hours=12)
# A retry this soon gets a task with an ETA; later ones are left to the beat re-drive (a broker
# holds an unacknowledged ETA task only so long).
MAX_TASK_DELAY = dt.timedelta(minutes=10)
# A claimed attempt's lease outlasts the send's overall deadline (CPOR_WEBHOOK_TIMEOUT) by this
# much (name resolution, the database round trips around it).
LEASE_MARGIN = dt.timedelta(seconds=60)
USER_AGENT = "CPOR-Webhooks/1"
DISABLED_MAIL = "webhook_disabled"


def retry_delay(attempts: int) -> dt.timedelta:
    if attempts <= len(RETRY_DELAYS):
        return RETRY_DELAYS[max(0, attempts - 1)]
    return min(MAX_DELAY, RETRY_DELAYS[-1] * 2 ** (attempts - len(RETRY_DELAYS)))


def body_of(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def signed_headers(*, secret: str, event_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, now, body),
    }


def _attempt(delivery: WebhookDelivery, now: dt.datetime) -> tuple[int | None, str]:
    """Send once: (status code or None, error text; empty on a 2xx)."""
    endpoint = delivery.endpoint
    try:
        secret = encryption.decrypt(endpoint.encrypted_secret)
    except InvalidToken:
        return None, "the signing secret cannot be decrypted (CPOR_ENCRYPTION_KEYS changed?)"
    body = body_of(delivery.event.payload)
    headers = signed_headers(secret=secret, event_id=delivery.event_id, body=body, now=now)
    try:
        response = network.post(
            endpoint.url, body.encode(), headers, timeout=float(settings.CPOR_WEBHOOK_TIMEOUT)
        )
    except network.AddressRefused as exc:
        return None, str(exc)
    except TimeoutError:
        return None, f"timed out after {settings.CPOR_WEBHOOK_TIMEOUT} s"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # whatever else goes wrong is this attempt's failure, never the task's
        logger.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        return None, type(exc).__name__
    if 200 <= response.status < 300:
        return response.status, ""
    return response.status, f"HTTP {response.status}"


def lease_length() -> dt.timedelta:
    """How long a claimed attempt keeps its row: the whole call's deadline and a margin."""
    return dt.timedelta(seconds=float(settings.CPOR_WEBHOOK_TIMEOUT)) + LEASE_MARGIN


def _claim(delivery_id: int) -> tuple[WebhookDelivery, dt.datetime] | None:
    """Take one pending, due delivery for one attempt, in a short transaction of its own.

    The attempt is counted and the row leased (its next attempt pushed past the send's deadline)
    before anything is sent, so no other worker takes it meanwhile and no lock or transaction is
    held while the receiver answers. A worker that dies mid-send leaves the lease to run out: the
    re-drive then makes the next attempt.
    """
    with transaction.atomic():
        now = timezone.now()
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            # A failed (or leased) delivery waits out its backoff, whoever asks.
            .filter(Q(attempts=0) | Q(next_attempt_at__lte=now))
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.is_active and delivery.event.type != TEST_EVENT:
            return None  # waits for the endpoint to be enabled again
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + lease_length()
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    return delivery, now


def deliver(delivery_id: int) -> bool:
    """Attempt one pending, due delivery. True when this call delivered it."""
    claimed = _claim(delivery_id)
    if claimed is None:
        return False
    delivery, now = claimed
    lease = delivery.next_attempt_at
    is_test = delivery.event.type == TEST_EVENT
    status_code, error = _attempt(delivery, now)  # outside any transaction
    with transaction.atomic():
        changes: dict[str, Any] = {"last_status_code": status_code, "last_error": error[:300]}
        exhausted = bool(error) and delivery.attempts >= settings.CPOR_WEBHOOK_MAX_ATTEMPTS
        if not error:
            changes.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now, next_attempt_at=None)
        elif exhausted and is_test:
            changes.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
        elif exhausted:
            # Never dropped: it waits (still pending) for the endpoint, disabled below, to be
            # enabled again, which tries it anew.
            changes["next_attempt_at"] = None
        else:
            changes["next_attempt_at"] = now + retry_delay(delivery.attempts)
        # Only while the lease holds: the same attempt, not taken over since.
        recorded = WebhookDelivery.objects.filter(
            pk=delivery.pk,
            status=WebhookDelivery.Status.PENDING,
            attempts=delivery.attempts,
            next_attempt_at=lease,
        ).update(**changes)
        if not recorded:
            logger.warning("webhook delivery %s: attempt %s outran its lease", delivery.pk, delivery.attempts)
            return not error
        if error and changes.get("next_attempt_at") and retry_delay(delivery.attempts) <= MAX_TASK_DELAY:
            pk, eta = delivery.pk, changes["next_attempt_at"]
            transaction.on_commit(lambda: _publish_retry(pk, eta))
        if not is_test:
            _count(
                delivery.endpoint,
                failed=bool(error),
                now=now,
                exhausted_after=delivery.attempts if exhausted else 0,
            )
    if error:
        logger.info(
            "webhook delivery %s to endpoint %s failed (attempt %s): %s",
            delivery.pk,
            delivery.endpoint_id,
            delivery.attempts,
            error[:300],
        )
    return not error


def _publish_retry(delivery_id: int, eta: dt.datetime) -> None:
    from api.tasks import deliver_webhook

    try:
        deliver_webhook.apply_async((delivery_id,), eta=eta)
    except Exception:  # the broker is down: the re-drive retries it
        logger.warning("could not hand webhook retry %s to the broker; the re-drive will", delivery_id)


def _count(endpoint: WebhookEndpoint, *, failed: bool, now: dt.datetime, exhausted_after: int = 0) -> None:
    """Keep the endpoint's run of failed attempts; disable it (once) when the run is long enough,
    or when one event has failed its last attempt (`exhausted_after` attempts), however rarely the
    endpoint is used: an event is never given up on without the endpoint's admins hearing of it."""
    if not failed:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(consecutive_failures=0).update(
            consecutive_failures=0
        )
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    threshold = settings.CPOR_WEBHOOK_DISABLE_AFTER
    still_active = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True)
    if exhausted_after:
        failures, reason = exhausted_after, f"an event failed {exhausted_after} attempts in a row"
    else:
        failures, reason = threshold, f"{threshold} failed deliveries in a row"
        still_active = still_active.filter(consecutive_failures__gte=threshold)
    disabled = still_active.update(is_active=False, disabled_at=now, disabled_reason=reason)
    if disabled:
        _mail_disabled(endpoint, now=now, failures=failures)


def _endpoint_page_url(endpoint: WebhookEndpoint) -> str:
    """The portal page of the endpoint (its delivery log, with "Enable")."""
    try:
        return f"{settings.SITE_URL}{reverse('webhook_deliveries', args=[endpoint.pk])}"
    except NoReverseMatch:  # a URLconf without the portal (an API-only deployment)
        return f"{settings.SITE_URL}/"


def _mail_disabled(endpoint: WebhookEndpoint, *, now: dt.datetime, failures: int) -> None:
    """Tell the partner's Global and Incentives admins, in the partner's language (via the outbox)."""
    partner = endpoint.partner
    emails = list(
        Membership.objects.filter(
            partner_id=partner.pk,
            role__in=[Membership.Role.GLOBAL_ADMIN, Membership.Role.INCENTIVES_ADMIN],
            user__is_active=True,
        )
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    if not emails:
        return
    outbox.enqueue_many(
        [
            outbox.Message(
                kind=DISABLED_MAIL,
                to=emails,
                language=partner.language,
                context={
                    "partner_name": partner.name,
                    "endpoint_url": endpoint.url,
                    "failures": failures,
                    "disabled_at": now,
                    "webhooks_url": _endpoint_page_url(endpoint),
                },
            )
        ]
    )


def redeliver_pending(*, batch_size: int = 500) -> int:
    """Attempt every due pending delivery of an active endpoint (and test events), oldest event
    first, batch after batch: the beat re-drive for tasks lost to a broker outage, and the retries.
    Returns how many were delivered."""
    delivered = 0
    now = timezone.now()
    # Keyset paging in the order sent: what is due now, after the last one tried. An attempt
    # pushes its row's next attempt past `now` (or settles it), so nothing is taken twice in a run;
    # a row that stays due (its endpoint disabled meanwhile) is passed over, not re-read forever.
    due = WebhookDelivery.objects.filter(
        Q(endpoint__is_active=True) | Q(event__type=TEST_EVENT),
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
    ).order_by("event__occurred_at", "event_id", "id")
    after: tuple[dt.datetime, str, int] | None = None
    while True:
        page = due
        if after is not None:
            occurred_at, event_id, pk = after
            page = page.filter(
                Q(event__occurred_at__gt=occurred_at)
                | Q(event__occurred_at=occurred_at, event_id__gt=event_id)
                | Q(event__occurred_at=occurred_at, event_id=event_id, id__gt=pk)
            )
        rows = list(page.values_list("event__occurred_at", "event_id", "id")[:batch_size])
        if not rows:
            return delivered
        after = rows[-1]
        delivered += sum(deliver(pk) for _occurred_at, _event_id, pk in rows)


def purge_old_events(*, batch_size: int = 1000) -> int:
    """Delete events (with their delivery log) older than CPOR_WEBHOOK_RETENTION_DAYS, batch after
    batch, except those still waiting to be delivered somewhere. Safe to run twice or at once."""
    cutoff = timezone.now() - dt.timedelta(days=settings.CPOR_WEBHOOK_RETENTION_DAYS)
    deleted = 0
    while True:
        old = (
            WebhookEvent.objects.filter(occurred_at__lt=cutoff)
            .exclude(deliveries__status=WebhookDelivery.Status.PENDING)
            .order_by("occurred_at")
        )
        ids = list(old.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            _count, per_model = (
                WebhookEvent.objects.filter(pk__in=ids)
                .exclude(deliveries__status=WebhookDelivery.Status.PENDING)
                .delete()
            )
        deleted += per_model.get(WebhookEvent._meta.label, 0)
        if len(ids) < batch_size:
            return deleted
