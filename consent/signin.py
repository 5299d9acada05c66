"""Customers sign in to the portal with a single-use link mailed to their work address.

Asking: anyone may type an address. Only an address whose domain is a verified domain of a
registered tenant gets a link, but the page answers every request the same way (known domain,
unknown domain, malformed, rate-limited), so the page cannot be used to learn which organisations
are registered or which addresses exist.

Mailing: the row (`CustomerSignInLink`) is written with the outbox row in one transaction; the
link itself is minted when the mail is sent (`sign_in_link`, an outbox secret loader), like the
consent link: the row keeps only the SHA-256 of the token, the outbox row's stored body a
stand-in, and the link works for `CPOR_CUSTOMER_LINK_MINUTES` from minting.

Using: GET and HEAD only show the link's page (mail scanners fetch links); POST redeems it once,
on the locked row, so two POSTs cannot both sign in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import TenantDomain
from consent.models import CustomerSignInLink, hash_token, new_token
from cpor import outbox, ratelimit

MAIL_KIND = "customer_sign_in"
# The outbox context key that marks a sign-in mail; its secret loader mints the link.
LINK_ID_KEY = "customer_sign_in_link_id"
MAX_TOKEN_LENGTH = 128
MAX_EMAIL_LENGTH = 254


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


def _address_key(email: str) -> str:
    # Rate-limit keys hold no address: a cache dump names nobody.
    return hashlib.sha256(email.encode()).hexdigest()


def request_link(*, email: str, language: str, client_ip: str) -> CustomerSignInLink | None:
    """Mail a sign-in link to `email` when it is at a verified tenant domain and within the limits.

    `email` is already normalised. Returns the new link row, or None when nothing was sent;
    callers must answer the same either way (never show which).
    """
    within_ip = ratelimit.hit(
        "customer_sign_in_ip",
        client_ip or "unknown",
        limit=settings.CPOR_CUSTOMER_SIGN_IN_RATE_LIMIT,
        window_seconds=60,
    )
    within_address = ratelimit.hit(
        "customer_sign_in_address",
        _address_key(email),
        limit=settings.CPOR_CUSTOMER_SIGN_IN_PER_ADDRESS,
        window_seconds=3600,
    )
    if not (within_ip and within_address):
        return None
    domain = verified_domain(email)
    if domain is None:
        return None
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    now = timezone.now()
    with transaction.atomic():
        # A new link retires the address's unused ones: only the latest mail signs in.
        # (Retired: it expired when it was made, which the secret loader will not revive.)
        CustomerSignInLink.objects.filter(email=email, used_at=None, expires_at__gt=now).update(
            expires_at=F("created_at"), token_hash=None
        )
        link = CustomerSignInLink.objects.create(
            tenant=domain.tenant,
            email=email,
            language=language,
            created_at=now,
            # Until the mail is sent: the real deadline is set when the link is minted.
            expires_at=now + link_lifetime(),
        )
        (email_id,) = outbox.enqueue_many(
            [
                outbox.Message(
                    kind=MAIL_KIND,
                    to=email,
                    language=language,
                    context={
                        LINK_ID_KEY: link.pk,
                        "tenant_name": domain.tenant.name,
                        "minutes": settings.CPOR_CUSTOMER_LINK_MINUTES,
                    },
                )
            ]
        )
        CustomerSignInLink.objects.filter(pk=link.pk).update(email_message_id=email_id)
        link.email_message_id = email_id
    return link


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
        link = _by_token(token).select_for_update().select_related("tenant").first()
        state = link_state(link)
        if state == LinkState.VALID:
            link.used_at = timezone.now()
            link.save(update_fields=["used_at"])
    return state, link


# -- keeping links out of logs -------------------------------------------------------------------

SIGN_IN_PATH_TOKEN = re.compile(r"(/customer/sign-in/)[^/\s\"']+")
# The loggers that write request paths: Django's (refused CSRF, 405, 429 …) and django-axes'
# (a sign-out, which signing in as a customer is for a partner signed in in the same browser).
PATH_LOGGERS = (
    "django.request",
    "django.security.csrf",
    "django.server",
    "axes.handlers.database",
    "axes.handlers.cache",
)


class HideSignInTokens(logging.Filter):
    """A refused request's log line names its path: for a sign-in link, that is the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/customer/sign-in/" in message:
            record.msg, record.args = SIGN_IN_PATH_TOKEN.sub(r"\1…", message), ()
        return True


def install_log_filter() -> None:
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HideSignInTokens) for f in logger.filters):
            logger.addFilter(HideSignInTokens())
