"""Write notification rows inside a transaction; render and deliver them after commit, with retries.

A row holds what to say (the template `kind`, the recipient and language, and a JSON context of
plain values) and is written in the same transaction as the change it reports, so a rolled-back
change leaves no row and sends nothing. The message is rendered in the recipient's language when it
is delivered: apps that put references in the context (a claim id, reason codes) register a
context loader that turns them into template values. Writing a row costs one INSERT, so a beat job
moving 100,000 claims writes its mail set-based.

`deliver` sends one row at most once: the row is locked (`skip_locked`, so overlapping workers and
the re-drive job never send it twice) and only a queued row is sent.

Some messages carry a secret: a single-use link (the customer's consent link, a password reset).
The row never holds it: the context holds a reference, and the app registers a secret loader that
mints the secret each time the message is sent (each attempt a fresh one, which replaces the last).
The stored subject and body, which staff can read, are rendered with the loader's stand-in instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from cpor.bulk import insert_rows
from cpor.models import OutboundEmail

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}
# The re-drive job leaves a fresh row alone this long: the after-commit task normally sends it first.
FIRST_REDRIVE_DELAY = dt.timedelta(minutes=2)
# More rows than this in one transaction are handed to one re-drive run instead of a task each.
MAX_TASKS_PER_COMMIT = 20

ContextLoader = Callable[[dict[str, Any], str], dict[str, Any]]
_context_loaders: list[ContextLoader] = []


def register_context_loader(loader: ContextLoader) -> None:
    """`loader(context, language)` returns the context with references resolved (idempotent per loader)."""
    if loader not in _context_loaders:
        _context_loaders.append(loader)


SecretLoader = Callable[[dict[str, Any], bool], dict[str, Any]]
_secret_loaders: dict[str, SecretLoader] = {}


def register_secret_loader(key: str, loader: SecretLoader) -> None:
    """A message whose context holds `key` carries a secret that `loader(context, live)` adds.

    With `live` the loader mints the secret (its app keeps a hash at most) for the message
    about to be sent; without it, it adds a readable stand-in, which is what the row stores.
    """
    _secret_loaders[key] = loader


def holds_secret(email: OutboundEmail) -> bool:
    return any(key in email.context for key in _secret_loaders)


@dataclass(frozen=True)
class Message:
    """One message: `to` is one address or several (one mail to all of them, in one language)."""

    kind: str
    to: str | Sequence[str]
    language: str
    context: Mapping[str, Any]

    @property
    def address_list(self) -> str:
        return self.to if isinstance(self.to, str) else "\n".join(self.to)


_PLAIN = (str, int, float, bool, type(None))


def _encode(value: Any) -> Any:
    # Most values are plain: an exact type check first (a beat job encodes 100,000 contexts).
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dict | Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):  # subclasses: str enums, …
        return value
    raise TypeError(f"outbox context values must be plain data, not {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def render_email(kind: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """Render `templates/mail/<language>/<kind>.txt`, whose first line is `Subject: …`."""
    with translation.override(language):
        text = render_to_string(f"mail/{language}/{kind}.txt", dict(context))
    first_line, _, body = text.lstrip().partition("\n")
    if not first_line.startswith("Subject:"):
        raise ValueError(f"mail template {language}/{kind} must start with 'Subject:'")
    subject = " ".join(first_line.removeprefix("Subject:").split())
    return subject[:255], body.strip() + "\n"


def render(email: OutboundEmail, *, live: bool = False) -> tuple[str, str]:
    """The message as stored and shown to staff; `live`: as sent, with fresh secrets minted."""
    context = _decode(email.context)
    with translation.override(email.language):
        for loader in _context_loaders:
            context = loader(context, email.language)
        for key, secret_loader in _secret_loaders.items():
            if key in context:
                context = secret_loader(context, live)
    return render_email(email.kind, email.language, context)


def enqueue_many(messages: Iterable[Message]) -> list[int]:
    """Store messages in the outbox (inside the caller's transaction); deliver them after commit.

    Returns the new rows' ids, in the order of `messages`.
    """
    now = timezone.now()
    messages = list(messages)
    if not messages:
        return []
    many = len(messages) > MAX_TASKS_PER_COMMIT
    rows = [
        {
            "kind": m.kind,
            "to": m.address_list,
            "language": m.language if m.language in SUPPORTED_LANGUAGES else settings.LANGUAGE_CODE,
            "context": _encode(m.context),
            "subject": "",
            "body": "",
            "status": OutboundEmail.Status.QUEUED,
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            # Many rows at once go to one re-drive run right after commit; a few get a task each,
            # and the re-drive job leaves them alone for a while.
            "next_attempt_at": now if many else now + FIRST_REDRIVE_DELAY,
            "sent_at": None,
        }
        for m in messages
    ]
    ids = insert_rows(OutboundEmail, rows)
    if many:
        transaction.on_commit(_schedule_redrive)
    else:
        transaction.on_commit(lambda: [_schedule_delivery(pk) for pk in ids])
    return ids


def _schedule_delivery(email_id: int) -> None:
    from cpor.tasks import deliver_email

    try:
        deliver_email.delay(email_id)
    except Exception:  # the broker is down: the re-drive job will send it later
        logger.warning(
            "could not hand email %s to the broker; the re-drive job will send it", email_id, exc_info=True
        )


def _schedule_redrive() -> None:
    from cpor.tasks import redeliver_pending_email

    try:
        redeliver_pending_email.delay()
    except Exception:
        logger.warning("could not hand the re-drive to the broker; beat will run it", exc_info=True)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: 1, 2, 4 … minutes, at most an hour."""
    return dt.timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def deliver(email_id: int) -> bool:
    """Render and send one queued row. Returns True when this call sent it."""
    with transaction.atomic():
        now = timezone.now()
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboundEmail.Status.QUEUED)
            # A row that failed waits out its backoff, whoever asks (a late task, a duplicate).
            .filter(Q(attempts=0) | Q(next_attempt_at__lte=now))
            .first()
        )
        if email is None:
            return False
        email.attempts += 1
        try:
            if not email.subject:
                email.subject, email.body = render(email)
            # A secret is minted per attempt and goes only into the message, never into the row.
            subject, body = render(email, live=True) if holds_secret(email) else (email.subject, email.body)
            EmailMessage(
                subject=subject,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=email.recipients,
            ).send()
        except Exception as exc:  # SMTP refused, timed out, …: record it and try again later
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= settings.CPOR_OUTBOX_MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
            else:
                email.next_attempt_at = now + retry_delay(email.attempts)
            email.save(
                update_fields=["attempts", "last_error", "status", "next_attempt_at", "subject", "body"]
            )
            logger.warning("email %s not sent (attempt %s): %s", email.pk, email.attempts, email.last_error)
            return False
        email.status = OutboundEmail.Status.SENT
        email.sent_at = now
        email.last_error = ""
        email.save(update_fields=["attempts", "last_error", "status", "sent_at", "subject", "body"])
        return True


def redeliver_pending(*, batch_size: int = 500) -> int:
    """Try every queued row whose next attempt is due, batch after batch. Returns how many were sent."""
    sent = 0
    last_id = 0
    while True:
        due_ids = list(
            OutboundEmail.objects.filter(
                status=OutboundEmail.Status.QUEUED, next_attempt_at__lte=timezone.now(), pk__gt=last_id
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not due_ids:
            return sent
        sent += sum(deliver(email_id) for email_id in due_ids)
        last_id = due_ids[-1]
