"""Webhook endpoints: register, delete, re-enable, send a test event.

The portal's webhook pages and the API's `/webhooks` router both call these functions; they check
who may act (the partner's Global or Incentives admins, as for API keys) and validate the URL.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks import encryption
from api.webhooks.events import (
    EVENT_TYPE_CODES,
    TEST_EVENT,
    first_attempt_at,
    moment,
    new_event_id,
    schedule_deliveries,
)
from api.webhooks.network import address_refusal, is_loopback_host
from claims.models import Membership, Partner, has_control_character
from claims.selectors import membership_for

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
MAX_ENDPOINTS_PER_PARTNER = 10
SECRET_PREFIX = "whsec_"
# Who may manage a partner's webhooks: the admins who hold its API keys.
MANAGING_ROLES = frozenset({Membership.Role.GLOBAL_ADMIN, Membership.Role.INCENTIVES_ADMIN})
# A host name: letters, digits, hyphens and underscores in dot-separated labels (an IDN in its xn--
# form), an optional final dot. Anything else (a %-escape, punctuation) is not a host we send to.
HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
# A last label that URL parsers and resolvers read as a number, making the whole host an IPv4
# address in one of its old forms (2130706433, 127.1, 0x7f.1, 0177.0.0.1).
NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


def may_manage_webhooks(user: Any, partner: Partner | int) -> bool:
    partner_id = partner if isinstance(partner, int) else partner.pk
    membership = membership_for(user) if getattr(user, "is_authenticated", False) else None
    return (
        membership is not None and membership.partner_id == partner_id and membership.role in MANAGING_ROLES
    )


def _require_manager(user: Any, partner: Partner | int) -> None:
    if not may_manage_webhooks(user, partner):
        raise PermissionDenied(_("Only your organization's Global or Incentives admins manage webhooks."))


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secret(endpoint: WebhookEndpoint) -> str:
    return encryption.decrypt(endpoint.encrypted_secret)


def validate_url(url: str) -> str:
    """The URL cleaned, or a ValidationError on `url` saying what is wrong with it."""
    url = (url or "").strip()

    def refuse(message: str) -> ValidationError:
        return ValidationError({"url": [message]})

    if not url:
        raise refuse(_("Enter the URL that should receive events."))
    if len(url) > MAX_URL_LENGTH:
        raise refuse(_("A URL is at most %(count)s characters.") % {"count": MAX_URL_LENGTH})
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise refuse(_("A URL cannot contain spaces or control characters."))
    if not url.isascii():
        raise refuse(_("Write the URL in ASCII characters (an international domain name in its xn-- form)."))
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError:
        raise refuse(_("This is not a valid URL.")) from None
    if parts.scheme not in ("https", "http") or not host:
        raise refuse(_("Enter a full URL starting with https://."))
    if parts.username is not None or parts.password is not None:
        raise refuse(_("Do not put a user name or password in the URL; verify the signature instead."))
    if parts.fragment:
        raise refuse(_("A webhook URL cannot have a #fragment."))
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        if ":" in host or not HOST_NAME.fullmatch(host):
            raise refuse(_("This is not a valid URL.")) from None
        if NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
            raise refuse(
                _("Write an IP address as four decimal numbers (e.g. 203.0.113.10), or use a host name.")
            ) from None
    if isinstance(literal, ipaddress.IPv6Address) and literal.scope_id is not None:
        raise refuse(_("This is not a valid URL."))
    loopback = is_loopback_host(host)
    if parts.scheme == "http" and not (loopback and settings.CPOR_WEBHOOK_ALLOW_LOOPBACK):
        raise refuse(_("The URL must start with https://."))
    if literal is not None and address_refusal(literal):
        raise refuse(_("Events cannot be sent to a private, loopback or reserved address."))
    if literal is None and loopback and not settings.CPOR_WEBHOOK_ALLOW_LOOPBACK:
        raise refuse(_("Events cannot be sent to a private, loopback or reserved address."))
    return url


def validate_event_types(event_types: Any) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise ValidationError({"event_types": [_("Choose at least one event type.")]})
    unknown = sorted({str(t) for t in event_types} - set(EVENT_TYPE_CODES))
    if unknown:
        raise ValidationError(
            {"event_types": [_("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}]}
        )
    chosen = set(event_types)
    return [code for code in EVENT_TYPE_CODES if code in chosen]


def create_endpoint(
    *, partner: Partner, by: Any, url: str, event_types: Any, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; return it with its signing secret, which is shown only now."""
    _require_manager(by, partner)
    errors: dict[str, list[str]] = {}
    try:
        url = validate_url(url)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        event_types = validate_event_types(event_types)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        errors["description"] = [
            _("A description is at most %(count)s characters.") % {"count": MAX_DESCRIPTION_LENGTH}
        ]
    elif has_control_character(description):  # as the portal's form: one line, shown in lists
        errors["description"] = [_("Use one line without control characters.")]
    if errors:
        raise ValidationError(errors)
    secret = new_secret()
    with transaction.atomic():
        # Serialize a partner's registrations, so two at once cannot pass the limit together.
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if WebhookEndpoint.objects.filter(partner=partner).count() >= MAX_ENDPOINTS_PER_PARTNER:
            raise ValidationError(
                _("Your organization has %(count)s webhook endpoints already; delete one first.")
                % {"count": MAX_ENDPOINTS_PER_PARTNER}
            )
        endpoint = WebhookEndpoint.objects.create(
            partner=partner,
            url=url,
            description=description,
            event_types=event_types,
            encrypted_secret=encryption.encrypt(secret),
            created_by=by,
        )
    return endpoint, secret


def delete_endpoint(endpoint: WebhookEndpoint, *, by: Any) -> None:
    """Delete the endpoint with its delivery log; events not yet delivered to it are dropped."""
    _require_manager(by, endpoint.partner_id)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def enable_endpoint(endpoint: WebhookEndpoint, *, by: Any) -> WebhookEndpoint:
    """Re-enable an endpoint disabled after failures: the failure run starts again from zero and the
    deliveries still pending are tried again now."""
    _require_manager(by, endpoint.partner_id)
    now = timezone.now()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0
        )
        pending = list(
            WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=WebhookDelivery.Status.PENDING)
            .order_by("event__occurred_at", "id")
            .values_list("pk", flat=True)
        )
        WebhookDelivery.objects.filter(pk__in=pending).update(next_attempt_at=now)
        schedule_deliveries(pending)
    endpoint.refresh_from_db()
    return endpoint


def send_test_event(endpoint: WebhookEndpoint, *, by: Any) -> WebhookEvent:
    """Queue a `webhook.test` event to this endpoint alone (even a disabled one, to check a fix
    before re-enabling it); its outcome shows in the delivery log like any other."""
    _require_manager(by, endpoint.partner_id)
    now = timezone.now()
    event_id = new_event_id()
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            id=event_id,
            type=TEST_EVENT,
            occurred_at=now,
            partner_id=endpoint.partner_id,
            claim=None,
            payload={
                "id": event_id,
                "type": TEST_EVENT,
                "occurred_at": moment(now),
                "data": {"endpoint_id": endpoint.pk, "message": "CPOR test event"},
            },
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event=event, next_attempt_at=first_attempt_at(now, 1), created_at=now
        )
        schedule_deliveries([delivery.pk])
    return event


def reencrypt_secrets(*, batch_size: int = 500) -> tuple[int, int]:
    """Encrypt every stored signing secret under the first of CPOR_ENCRYPTION_KEYS (after a key was
    put first), so the old key can be dropped. Returns (re-encrypted, unreadable): an unreadable
    secret was encrypted with a key no longer listed; its endpoint needs a new one."""
    done = unreadable = 0
    last_pk = 0
    while True:
        batch = list(
            WebhookEndpoint.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "encrypted_secret")[:batch_size]
        )
        if not batch:
            return done, unreadable
        for pk, token in batch:
            try:
                fresh = encryption.reencrypt(token)
            except InvalidToken:
                unreadable += 1
                continue
            # Compare-and-swap: a concurrent change of this row wins.
            done += WebhookEndpoint.objects.filter(pk=pk, encrypted_secret=token).update(
                encrypted_secret=fresh
            )
        last_pk = batch[-1][0]
