"""Customer consent notices (with their single-use opt-out tokens) and the incentive hand-off."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import Claim, Tenant
from cpor.models import OutboundEmail

TOKEN_BYTES = 32  # 256 bits of randomness; only the SHA-256 of the token is stored


def new_token() -> tuple[str, str]:
    """Return (token for the link, hash to store)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ConsentRequest(models.Model):
    """One consent notice sent to a customer contact, with the link that lets them opt out."""

    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="consent_requests", verbose_name=_("claim")
    )
    # The SHA-256 of the link last mailed: minted when the notice is sent (each attempt a new one,
    # replacing the last), so no row, not even the outbox's, holds a usable link. Empty until then.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"))
    language = models.CharField(_("language"), max_length=8, default="en")
    expires_at = models.DateTimeField(_("link expires"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("sent by")
    )
    email = models.ForeignKey(
        OutboundEmail, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("email")
    )
    used_at = models.DateTimeField(_("customer answered"), null=True, blank=True)
    denial_reason = models.TextField(_("denial reason"), blank=True, max_length=2000)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("consent request")
        verbose_name_plural = _("consent requests")

    def __str__(self) -> str:
        return _("Consent notice for claim #%(pk)s to %(email)s") % {
            "pk": self.claim_id,
            "email": self.contact_email,
        }

    @property
    def delivery_state(self) -> str:
        return self.email.get_status_display() if self.email else _("not queued")


class CustomerSignInLink(models.Model):
    """A single-use sign-in link to the customer portal, mailed to an address at a verified domain
    of a registered tenant. Only the SHA-256 of the link is stored, minted when the mail is sent.

    Every well-formed request writes a row (the page does the same work for any address); a
    background task then checks the domain (`checked_at`): a row left without a tenant was for an
    unknown domain and is never mailed.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("tenant")
    )
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8, default="en")
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    expires_at = models.DateTimeField(_("link expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    email_message = models.ForeignKey(
        OutboundEmail, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("email")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer sign-in link")
        verbose_name_plural = _("customer sign-in links")
        indexes = [
            models.Index(fields=["expires_at"], name="signin_link_expiry_idx"),
            models.Index(fields=["email", "created_at"], name="signin_link_email_idx"),
            models.Index(
                fields=["created_at"], condition=models.Q(checked_at=None), name="signin_link_unchecked_idx"
            ),
        ]

    def __str__(self) -> str:
        return _("Sign-in link for %(email)s") % {"email": self.email}
