"""Write notification rows inside a transaction; deliver them after commit, with retries.

`enqueue` renders the message in the recipient's language at the moment of the change (the row
holds exactly what will be sent) and arranges delivery once the transaction commits. A rolled-back
change leaves no row and sends nothing. `deliver` sends one row at most once: the row is locked
(`skip_locked`, so overlapping workers and the re-drive job never send it twice) and only a queued
row is sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from cpor.models import OutboundEmail

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}
# The re-drive job leaves a fresh row alone this long: the after-commit task normally sends it first.
FIRST_REDRIVE_DELAY = dt.timedelta(minutes=2)


def render_email(kind: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """Render `templates/mail/<language>/<kind>.txt`, whose first line is `Subject: …`."""
    with translation.override(language):
        text = render_to_string(f"mail/{language}/{kind}.txt", dict(context))
    first_line, _, body = text.lstrip().partition("\n")
    if not first_line.startswith("Subject:"):
        raise ValueError(f"mail template {language}/{kind} must start with 'Subject:'")
    subject = " ".join(first_line.removeprefix("Subject:").split())
    return subject, body.strip() + "\n"


def enqueue(*, kind: str, to: str, language: str, context: Mapping[str, Any]) -> OutboundEmail:
    """Store one message in the outbox (inside the caller's transaction) and deliver it after commit."""
    if language not in SUPPORTED_LANGUAGES:
        language = settings.LANGUAGE_CODE
    subject, body = render_email(kind, language, context)
    email = OutboundEmail.objects.create(
        kind=kind,
        to=to,
        language=language,
        subject=subject[:255],
        body=body,
        next_attempt_at=timezone.now() + FIRST_REDRIVE_DELAY,
    )
    transaction.on_commit(lambda: _schedule_delivery(email.pk))
    return email


def _schedule_delivery(email_id: int) -> None:
    from cpor.tasks import deliver_email

    try:
        deliver_email.delay(email_id)
    except Exception:  # the broker is down: the re-drive job will send it later
        logger.warning(
            "could not hand email %s to the broker; the re-drive job will send it", email_id, exc_info=True
        )


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: 1, 2, 4 … minutes, at most an hour."""
    return dt.timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def deliver(email_id: int) -> bool:
    """Send one queued row. Returns True when this call sent it."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboundEmail.Status.QUEUED)
            .first()
        )
        if email is None:
            return False
        now = timezone.now()
        email.attempts += 1
        try:
            EmailMessage(
                subject=email.subject, body=email.body, from_email=settings.DEFAULT_FROM_EMAIL, to=[email.to]
            ).send()
        except Exception as exc:  # SMTP refused, timed out, …: record it and try again later
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= settings.CPOR_OUTBOX_MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
            else:
                email.next_attempt_at = now + retry_delay(email.attempts)
            email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("email %s not sent (attempt %s): %s", email.pk, email.attempts, email.last_error)
            return False
        email.status = OutboundEmail.Status.SENT
        email.sent_at = now
        email.last_error = ""
        email.save(update_fields=["attempts", "last_error", "status", "sent_at"])
        return True


def redeliver_pending(*, batch_size: int = 200) -> int:
    """Try every queued row whose next attempt is due. Returns how many were sent."""
    due_ids = list(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    return sum(deliver(email_id) for email_id in due_ids)
