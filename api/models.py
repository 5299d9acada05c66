"""API keys and the stored responses of idempotent requests."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import Partner

KEY_PREFIX = "cpor_"
# last_used_at is written at most this often, so a busy key's reads do not each write a row.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
IDEMPOTENCY_TTL = dt.timedelta(hours=24)


def key_hash(key: str) -> str:
    """The stored form of a key: SHA-256 of a 256-bit random secret needs no salt or slow hash."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    name = models.CharField(_("name"), max_length=100)
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("partner")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("created by"),
    )
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(_("prefix"), max_length=16)  # shown to tell keys apart
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @classmethod
    def issue(cls, *, name: str, partner: Partner, created_by: object, scope: str) -> tuple[ApiKey, str]:
        """Create a key; return it with its secret, which is never stored and shown only now."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            name=name,
            partner=partner,
            created_by=created_by,
            scope=scope,
            prefix=secret[: len(KEY_PREFIX) + 6],
            hashed_key=key_hash(secret),
        )
        return key, secret

    def touch(self, now: dt.datetime) -> None:
        """Record use, at most once per LAST_USED_PRECISION (a conditional UPDATE, safe under races)."""
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_PRECISION:
            return
        ApiKey.objects.filter(pk=self.pk).filter(
            models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
        self.last_used_at = now


class IdempotentRequest(models.Model):
    """One `Idempotency-Key` of one API key: the request's fingerprint and, once done, its response.

    The unique constraint makes the first request the owner; a concurrent duplicate finds the row
    without a response and is told to retry (409). Rows older than IDEMPOTENCY_TTL are forgotten.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="idempotent_requests")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_per_api_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.api_key_id})"


class WebhookEndpoint(models.Model):
    """A partner's URL that receives signed events of the types it subscribes to.

    The signing secret must be readable to sign with, so it is stored encrypted
    (`api.webhooks.encryption`), never hashed; it is shown once, when the endpoint is created.
    """

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("partner")
    )
    url = models.CharField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list)
    encrypted_secret = models.TextField(editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="webhook_endpoints",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["partner", "is_active"], name="webhook_endpoint_partner")]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """One event as sent: the same `id` (the `webhook-id` header) on every attempt to every endpoint."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    type = models.CharField(_("type"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred"))
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="webhook_events", verbose_name=_("partner")
    )
    claim = models.ForeignKey(
        "claims.Claim",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_events",
        verbose_name=_("claim"),
    )
    payload = models.JSONField(_("payload"))

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        # The re-drive sends oldest first; the retention job deletes by age.
        indexes = [models.Index(fields=["occurred_at"], name="webhook_event_occurred")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    """The delivery of one event to one endpoint: the endpoint's delivery log."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
            # An endpoint's delivery log, newest first.
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"
