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

    kind = models.CharField(max_length=64, help_text="The template that produced the message.")
    # One message may go to several people who are told the same thing in the same language (a
    # partner's managing users): one address per line (a line break cannot occur in an address;
    # a comma can, inside a quoted local part).
    to = models.TextField()
    language = models.CharField(max_length=8, default="en")
    context = models.JSONField(
        default=dict, blank=True, help_text="Plain values the template is rendered with."
    )
    # Rendered in the recipient's language when delivered.
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField()  # indexed with status below: what the re-drive job reads
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} to {', '.join(self.recipients)} ({self.status})"

    @property
    def recipients(self) -> list[str]:
        return [address for address in self.to.splitlines() if address]
