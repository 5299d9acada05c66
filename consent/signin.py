"""Customers sign in to the portal with a single-use link mailed to their work address.

Asking: anyone may type an address. Only an address whose domain is a verified domain of a
registered tenant gets a link, but the page answers every request the same way (known domain,
unknown domain, malformed, rate-limited), so the page cannot be used to learn which organisations
are registered or which addresses exist.

Asking does the same work for any well-formed address (known domain or not, so its timing tells
nothing): one row (`CustomerSignInLink`, no tenant yet) and one task after commit. The task
(`send_link`) checks the domain; for a verified one it writes the outbox row. A beat job re-drives
requests the broker did not take. The link itself is minted when the mail is sent (`sign_in_link`,
an outbox secret loader), like the consent link: the row keeps only the SHA-256 of the token, the
outbox row's stored body a stand-in, and the link works for `CPOR_CUSTOMER_LINK_MINUTES` from
minting. A daily job deletes rows some days past expiry.

Using: GET and HEAD only show the link's page (mail scanners fetch links); POST redeems it once,
on the locked row, so two POSTs cannot both sign in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Tenant, TenantDomain
from consent.models import CustomerSignInLink, hash_token, new_token
from cpor import outbox, ratelimit

MAIL_KIND = "customer_sign_in"
# The outbox context key that marks a sign-in mail; its secret loader mints the link.
LINK_ID_KEY = "customer_sign_in_link_id"
MAX_TOKEN_LENGTH = 128
MAX_EMAIL_LENGTH = 254
# The re-drive job leaves a request alone this long: its after-commit task normally checks it first.
REDRIVE_DELAY = dt.timedelta(minutes=1)

logger = logging.getLogger(__name__)


class LinkState:
    """What the link's page says about a link."""

    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def link_lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=settings.CPOR_CUSTOMER_LINK_MINUTES)


def normalise_email(raw: str) -> str | None:
    """The address as the portal keeps it (trimmed, lower case), or None when it is not one."""
    email = (raw or "").strip().lower()
    if not email or len(email) > MAX_EMAIL_LENGTH or "\x00" in email:
        return None
    try:
        validate_email(email)
    except ValidationError:
        return None
    return email


def domain_of(email: str) -> str:
    return email.rpartition("@")[2]


def verified_domain(email: str) -> TenantDomain | None:
    """The verified tenant domain the address is at (exactly that domain, not a subdomain)."""
    return TenantDomain.objects.select_related("tenant").filter(domain=domain_of(email)).first()


def _address_key(email: str, client_ip: str) -> str:
    # Rate-limit keys hold no address: a cache dump names nobody.
    return hashlib.sha256(f"{email}\n{client_ip}".encode()).hexdigest()


def request_link(*, email: str, language: str, client_ip: str) -> CustomerSignInLink | None:
    """Take a request for a sign-in link to `email` (already normalised); the mail follows from a task.

    The request does the same work for any address, so its timing tells nothing: the rate limits,
    one row, one task handed to the broker after commit. Whether the domain is registered is
    decided by the task (`send_link`); rows for unknown domains are never mailed. Returns the row,
    or None when a limit held the request back; callers answer the same either way.

    Limits: per client IP (per minute), and per address *from that IP* (per hour), so a stranger
    asking for someone's address uses up only the stranger's own allowance, never the customer's.
    The mail a tenant's addresses get is capped in `send_link` (per tenant, counting sent links).
    """
    ip = client_ip or "unknown"
    within_ip = ratelimit.hit(
        "customer_sign_in_ip", ip, limit=settings.CPOR_CUSTOMER_SIGN_IN_RATE_LIMIT, window_seconds=60
    )
    within_address = ratelimit.hit(
        "customer_sign_in_address",
        _address_key(email, ip),
        limit=settings.CPOR_CUSTOMER_SIGN_IN_PER_ADDRESS,
        window_seconds=3600,
    )
    if not (within_ip and within_address):
        return None
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    now = timezone.now()
    link = CustomerSignInLink.objects.create(
        email=email,
        language=language,
        created_at=now,
        # Until the mail is sent: the real deadline is set when the link is minted.
        expires_at=now + link_lifetime(),
    )
    transaction.on_commit(lambda: _schedule_send(link.pk))
    return link


def _schedule_send(link_id: int) -> None:
    from consent.tasks import send_sign_in_link

    try:
        send_sign_in_link.delay(link_id)
    except Exception:  # the broker is down: the re-drive job sends it later
        logger.warning("could not hand sign-in link %s to the broker; the re-drive job will", link_id)


def send_link(link_id: int) -> bool:
    """Check a requested link's domain and, for a verified one, queue its mail. True when queued.

    Runs once per row (the row is locked and marked checked). The tenant's row is locked too, so
    two requests for one tenant's addresses are decided one after the other: only the newest
    request for an address is mailed, it retires every older unused link of the address (whatever
    their provisional expiry: a mail delayed past it must not revive them), and the per-tenant cap
    counts each sent link once.
    """
    email = (
        CustomerSignInLink.objects.filter(pk=link_id, checked_at=None).values_list("email", flat=True).first()
    )
    if email is None:
        return False
    domain = verified_domain(email)
    with transaction.atomic():
        # The tenant first, then the row: every task takes its locks in this order (no deadlock).
        tenant = Tenant.objects.select_for_update().filter(pk=domain.tenant_id).first() if domain else None
        link = CustomerSignInLink.objects.select_for_update().filter(pk=link_id, checked_at=None).first()
        if link is None:
            return False
        now = timezone.now()
        link.checked_at = now
        if tenant is None:
            link.save(update_fields=["checked_at"])
            return False
        link.tenant = tenant
        unused = CustomerSignInLink.objects.filter(
            email=link.email, used_at=None, expires_at__gt=F("created_at")
        ).exclude(pk=link.pk)
        if CustomerSignInLink.objects.filter(email=link.email, pk__gt=link.pk).exists():
            # A newer request for the address is on its way: that one is mailed, this one retires.
            link.expires_at = link.created_at
            link.save(update_fields=["checked_at", "tenant", "expires_at"])
            return False
        sent_this_hour = CustomerSignInLink.objects.filter(
            tenant=tenant, email_message__isnull=False, checked_at__gte=now - dt.timedelta(hours=1)
        ).count()
        if sent_this_hour >= settings.CPOR_CUSTOMER_SIGN_IN_PER_TENANT:
            logger.warning(
                "sign-in links for tenant %s held back: %s sent this hour", tenant.pk, sent_this_hour
            )
            link.expires_at = link.created_at
            link.save(update_fields=["checked_at", "tenant", "expires_at"])
            return False
        # A new link retires the address's unused ones: only the latest mail signs in.
        # (Retired: it expired when it was made, which the secret loader will not revive.)
        unused.update(expires_at=F("created_at"), token_hash=None)
        (email_id,) = outbox.enqueue_many(
            [
                outbox.Message(
                    kind=MAIL_KIND,
                    to=link.email,
                    language=link.language,
                    context={
                        LINK_ID_KEY: link.pk,
                        "tenant_name": tenant.name,
                        "minutes": settings.CPOR_CUSTOMER_LINK_MINUTES,
                    },
                )
            ]
        )
        link.email_message_id = email_id
        link.save(update_fields=["checked_at", "tenant", "email_message"])
    return True


def send_requested_links(*, waited: dt.timedelta = REDRIVE_DELAY, batch_size: int = 200) -> int:
    """Re-drive: check every request older than `waited` that no task checked (a broker outage).

    Oldest first, batch after batch; returns how many mails were queued.
    """
    queued = 0
    last_id = 0
    while True:
        ids = list(
            CustomerSignInLink.objects.filter(
                checked_at=None, created_at__lte=timezone.now() - waited, pk__gt=last_id
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return queued
        queued += sum(send_link(pk) for pk in ids)
        last_id = ids[-1]


def purge_links(*, batch_size: int = 1000) -> int:
    """Delete rows `CPOR_CUSTOMER_LINK_RETENTION_DAYS` past expiry, and checked rows of unknown
    domains (never mailed, they serve nothing). In batches; returns how many were deleted."""
    cutoff = timezone.now() - dt.timedelta(days=settings.CPOR_CUSTOMER_LINK_RETENTION_DAYS)
    stale = Q(expires_at__lt=cutoff) | Q(tenant=None, checked_at__isnull=False)
    deleted = 0
    while True:
        ids = list(
            CustomerSignInLink.objects.filter(stale).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        count, _by_model = CustomerSignInLink.objects.filter(pk__in=ids).delete()
        deleted += count


def sign_in_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('consent:customer_sign_in', args=[token])}"


def sign_in_link(context: dict[str, Any], live: bool) -> dict[str, Any]:
    """Outbox secret loader: a fresh link for the mail being sent, or a stand-in for staff.

    Minting replaces the row's hash (a link from an earlier attempt stops working) and starts the
    link's lifetime. A link retired by a newer one, or already used, is not revived: its mail
    carries a link that the page refuses.
    """
    if not live:
        return {**context, "sign_in_url": _("[sign-in link: sent only to the customer]")}
    token, token_hash = new_token()
    now = timezone.now()
    CustomerSignInLink.objects.filter(
        pk=context[LINK_ID_KEY], used_at=None, expires_at__gt=F("created_at")
    ).update(token_hash=token_hash, expires_at=now + link_lifetime())
    return {**context, "sign_in_url": sign_in_url(token)}


def _by_token(token: str) -> Any:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return CustomerSignInLink.objects.none()
    return CustomerSignInLink.objects.filter(token_hash=hash_token(token))


def find_link(token: str) -> CustomerSignInLink | None:
    return _by_token(token).first()


def link_state(link: CustomerSignInLink | None, *, now: dt.datetime | None = None) -> str:
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if (now or timezone.now()) >= link.expires_at:
        return LinkState.EXPIRED
    return LinkState.VALID


def redeem(token: str) -> tuple[str, CustomerSignInLink | None]:
    """Use the link once: (its state before this call, the link). Only VALID signs anyone in.

    The row is locked and marked used in one transaction: of two POSTs at once, the second waits
    and then finds it used.
    """
    with transaction.atomic():
        link = _by_token(token).select_for_update(of=("self",)).select_related("tenant").first()
        state = link_state(link)
        if state == LinkState.VALID:
            link.used_at = timezone.now()
            link.save(update_fields=["used_at"])
    return state, link
