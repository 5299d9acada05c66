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
