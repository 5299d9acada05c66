"""The mail outbox: every notification is a row written in the transaction of the change it reports.

Rows are delivered after commit by a Celery task and re-driven by a beat job, so a broker or SMTP
outage delays mail and loses none.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboundEmail(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=64, help_text=_("The template that produced the message."))
    # One message may go to several people who are told the same thing in the same language (a
    # partner's managing users): one address per line (a line break cannot occur in an address;
    # a comma can, inside a quoted local part).
    to = models.TextField(_("to"))
    language = models.CharField(_("language"), max_length=8, default="en")
    context = models.JSONField(
        _("context"), default=dict, blank=True, help_text=_("Plain values the template is rendered with.")
    )
    # Rendered in the recipient's language when delivered.
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt")
    )  # indexed with status below: what the re-drive job reads
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        # Shown to staff in any language: the template's code, an arrow, and the status label.
        return f"{self.kind} → {', '.join(self.recipients)} ({self.get_status_display()})"

    @property
    def recipients(self) -> list[str]:
        return [address for address in self.to.splitlines() if address]
