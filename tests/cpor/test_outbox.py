"""The mail outbox: rows written in the change's transaction, sent after commit, re-driven with backoff."""

from __future__ import annotations

import base64
import datetime as dt
import json
import smtplib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import time_machine
from celery.signals import after_task_publish
from django.core import mail
from django.core.mail.backends import locmem
from django.core.mail.message import EmailMessage
from django.db import transaction

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment
from cpor import outbox
from cpor.models import OutboundEmail
from cpor.tasks import deliver_email, redeliver_pending_email
from tests.factories import PartnerFactory, claim_in, mail_to, manager_of

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)  # a Monday

# While set, FlakyBackend refuses every message the way an unavailable SMTP server does.
SMTP_DOWN = False


class FlakyBackend(locmem.EmailBackend):
    """The test mail backend (messages land in `mail.outbox`), with an outage switch."""

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        if SMTP_DOWN:
            raise smtplib.SMTPException("421 4.3.2 Service not available, try again later")
        return super().send_messages(messages)


def smtp_is_down(down: bool) -> None:
    global SMTP_DOWN
    SMTP_DOWN = down


@pytest.fixture
def flaky_smtp(settings: Any) -> Iterator[None]:
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    smtp_is_down(True)
    yield
    smtp_is_down(False)


@pytest.fixture
def published() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """(task name, args) of every task message handed to the broker during the test."""
    messages: list[tuple[str, tuple[Any, ...]]] = []

    def record(sender: str | None = None, headers: Any = None, body: Any = None, **kwargs: Any) -> None:
        args = body[0] if isinstance(body, list | tuple) else ()
        messages.append((headers["task"], tuple(args)))

    after_task_publish.connect(record, weak=False)
    yield messages
    after_task_publish.disconnect(record)


def transition_events(claim: Claim, action: str) -> int:
    return ClaimEvent.objects.filter(claim=claim, action=action).count()


# ---------------------------------------------------------------------------------------------
# Nothing leaves a rolled-back or refused change


@pytest.mark.django_db
def test_a_rolled_back_transition_leaves_no_row_and_sends_nothing(
    django_capture_on_commit_callbacks: Any, published: list[Any]
) -> None:
    claim = claim_in(Claim.Status.UNDER_REVIEW)
    rows_before = OutboundEmail.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError, match="after the approval"):
            with transaction.atomic():
                approved = workflow.transition(claim, "approve", by=claim.assigned_reviewer)
                assert approved.status == Claim.Status.APPROVED
                assert OutboundEmail.objects.count() > rows_before  # written, then rolled back
                raise RuntimeError("something failed after the approval")

    assert callbacks == []
    assert published == []
    assert mail.outbox == []
    assert OutboundEmail.objects.count() == rows_before
    assert transition_events(claim, "approve") == 0
    claim.refresh_from_db()
    assert claim.status == Claim.Status.UNDER_REVIEW
    assert claim.consent_window_ends_at is None
    assert outbox.redeliver_pending() == 0


@pytest.mark.django_db
def test_a_refused_transition_leaves_no_row_no_comment_and_sends_nothing(
    django_capture_on_commit_callbacks: Any, published: list[Any]
) -> None:
    claim = claim_in(Claim.Status.UNDER_REVIEW)
    rows_before = OutboundEmail.objects.count()
    events_before = ClaimEvent.objects.filter(claim=claim).count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # The comment is stored before the rule check refuses the missing reasons: it must go too.
        with pytest.raises(workflow.TransitionRefused):
            workflow.transition(claim, "reject", by=claim.assigned_reviewer, sub_reasons=[], comment="No.")
        with pytest.raises(workflow.TransitionRefused):
            workflow.transition(claim, "approve", by=manager_of(claim))

    assert callbacks == []
    assert published == []
    assert mail.outbox == []
    assert OutboundEmail.objects.count() == rows_before
    assert ClaimEvent.objects.filter(claim=claim).count() == events_before
    assert not Comment.objects.filter(claim=claim).exists()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.UNDER_REVIEW


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_real_commit_publishes_and_real_rollback_does_not(published: list[Any]) -> None:
    kept = claim_in(Claim.Status.UNDER_REVIEW)
    dropped = claim_in(Claim.Status.UNDER_REVIEW)
    published.clear()

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            workflow.transition(dropped, "approve", by=dropped.assigned_reviewer)
            raise RuntimeError("rolled back")
    assert published == []

    rows_before = set(OutboundEmail.objects.values_list("pk", flat=True))
    workflow.transition(kept, "approve", by=kept.assigned_reviewer)
    new_rows = set(OutboundEmail.objects.values_list("pk", flat=True)) - rows_before
    assert new_rows
    assert sorted(published) == sorted(("cpor.tasks.deliver_email", (pk,)) for pk in new_rows)
    assert mail.outbox == []  # the broker has it; no worker has run yet

    dropped.refresh_from_db()
    assert dropped.status == Claim.Status.UNDER_REVIEW
    assert transition_events(dropped, "approve") == 0


# ---------------------------------------------------------------------------------------------
# Delivery after commit


@pytest.mark.django_db
def test_a_committed_transition_is_published_after_commit_and_delivered_once(
    django_capture_on_commit_callbacks: Any, published: list[Any]
) -> None:
    claim = claim_in(Claim.Status.UNDER_REVIEW)
    rows_before = set(OutboundEmail.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        workflow.transition(claim, "approve", by=claim.assigned_reviewer)
        assert published == []  # nothing leaves before commit

    rows = list(OutboundEmail.objects.exclude(pk__in=rows_before))
    assert {row.kind for row in rows} >= {"claim_approved"}
    assert all(row.status == OutboundEmail.Status.QUEUED for row in rows)
    assert callbacks
    assert sorted(published) == sorted(("cpor.tasks.deliver_email", (row.pk,)) for row in rows)
    assert mail.outbox == []  # published, not sent: no worker has run

    # The worker runs each published task.
    for task_name, args in published:
        assert task_name == deliver_email.name
        assert deliver_email(*args) is True

    for row in rows:
        row.refresh_from_db()
        assert row.status == OutboundEmail.Status.SENT
        assert row.attempts == 1
        assert row.sent_at is not None
    assert sorted((m.to, m.subject) for m in mail.outbox) == sorted(
        (row.recipients, row.subject) for row in rows
    )
    assert any(m.subject == f"Approved: CPOR claim “{claim.name}”" for m in mail.outbox)

    # A duplicate message sends nothing more; the re-drive job much later sends only what was
    # never delivered (the set-up's submit receipt, whose after-commit callback never ran).
    assert deliver_email(rows[0].pk) is False
    never_sent = OutboundEmail.objects.filter(pk__in=rows_before, status=OutboundEmail.Status.QUEUED).count()
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=1)):
        assert redeliver_pending_email() == never_sent
        assert redeliver_pending_email() == 0
    sent = [(m.to, m.subject) for m in mail.outbox]
    assert len(sent) == len(rows) + never_sent
    for row in rows:
        assert sent.count((row.recipients, row.subject)) == 1


# ---------------------------------------------------------------------------------------------
# Retries with backoff


@pytest.mark.django_db
def test_an_smtp_outage_delays_the_mail_and_loses_none(flaky_smtp: None) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        claim_in(Claim.Status.SUBMITTED)
        row = OutboundEmail.objects.get(kind="claim_submitted")

        assert deliver_email(row.pk) is False  # the after-commit task meets the outage
        row.refresh_from_db()
        assert row.status == OutboundEmail.Status.QUEUED
        assert row.attempts == 1
        assert "SMTPException" in row.last_error
        assert "Service not available" in row.last_error
        assert row.next_attempt_at > T0
        assert row.sent_at is None
        first_retry_at = row.next_attempt_at

        # Re-driving before the retry is due does nothing, even with SMTP back.
        smtp_is_down(False)
        assert redeliver_pending_email() == 0
        row.refresh_from_db()
        assert row.attempts == 1
        assert mail.outbox == []

        clock.move_to(first_retry_at + dt.timedelta(seconds=1))
        assert redeliver_pending_email() == 1
        row.refresh_from_db()
        assert [(m.to, m.subject) for m in mail.outbox] == [([row.to], row.subject)]
        assert row.subject.startswith("CPOR claim “")
        assert row.status == OutboundEmail.Status.SENT
        assert row.attempts == 2
        assert row.last_error == ""
        assert row.sent_at == first_retry_at + dt.timedelta(seconds=1)

        clock.move_to(first_retry_at + dt.timedelta(hours=5))
        assert outbox.redeliver_pending() == 0
        assert deliver_email(row.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_backoff_grows_and_the_row_fails_after_the_last_attempt(settings: Any, flaky_smtp: None) -> None:
    settings.CPOR_OUTBOX_MAX_ATTEMPTS = 4
    with time_machine.travel(T0, tick=False) as clock:
        claim_in(Claim.Status.SUBMITTED)
        row = OutboundEmail.objects.get(kind="claim_submitted")
        waits = []
        for attempt in range(1, 4):
            clock.move_to(row.next_attempt_at)
            assert outbox.redeliver_pending() == 0
            row.refresh_from_db()
            assert row.attempts == attempt
            assert row.status == OutboundEmail.Status.QUEUED
            waits.append(row.next_attempt_at - dt.datetime.now(tz=dt.UTC))
        assert waits == sorted(waits)
        assert waits[0] < waits[-1]

        clock.move_to(row.next_attempt_at)
        assert outbox.redeliver_pending() == 0
        row.refresh_from_db()
        assert row.status == OutboundEmail.Status.FAILED
        assert row.attempts == 4
        assert "SMTPException" in row.last_error

        # Failed is final: neither the job nor a late task message sends it, even once SMTP is back.
        smtp_is_down(False)
        clock.move_to(T0 + dt.timedelta(days=3))
        assert outbox.redeliver_pending() == 0
        assert deliver_email(row.pk) is False
        row.refresh_from_db()
        assert row.attempts == 4
        assert row.status == OutboundEmail.Status.FAILED
    assert mail.outbox == []


# ---------------------------------------------------------------------------------------------
# Language


def deliver_everything() -> None:
    """Run the re-drive job once every queued row is due, as beat would."""
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=1)):
        outbox.redeliver_pending()


def subjects_to(address: str) -> list[str]:
    return [m.subject for m in mail.outbox if address in m.to]


@pytest.mark.django_db
def test_each_recipient_gets_mail_in_their_own_language() -> None:
    turkish_partner = PartnerFactory(language="tr")
    turkish = claim_in(
        Claim.Status.APPROVED,
        partner=turkish_partner,
        name="Satış dönüşümü",
        customer_contact_language="tr",
        customer_contact_email="ayse@musteri.example",
    )
    english = claim_in(
        Claim.Status.APPROVED,
        partner=PartnerFactory(language="en"),
        name="Sales rollout",
        customer_contact_language="en",
        customer_contact_email="nina@northwind.example",
    )
    mixed = claim_in(  # a Turkish partner whose customer reads English
        Claim.Status.APPROVED,
        partner=turkish_partner,
        name="Teams",
        customer_contact_language="en",
        customer_contact_email="sam@contoso-customer.example",
    )
    for claim in (turkish, english, mixed):
        workflow.transition(claim, "deny_consent", by=workflow.CUSTOMER)
    deliver_everything()

    turkish_manager = manager_of(turkish).email
    english_manager = manager_of(english).email
    assert "CPOR talebi “Satış dönüşümü” alındı" in [m.subject for m in mail.outbox]  # the receipt
    assert {
        "Onaylandı: CPOR talebi “Satış dönüşümü”",
        "Müşteri reddetti: CPOR talebi “Satış dönüşümü”",
        "Müşteri reddetti: CPOR talebi “Teams”",  # the partner's language, not its customer's
    } <= set(subjects_to(turkish_manager))
    assert {
        "Approved: CPOR claim “Sales rollout”",
        "Customer declined: CPOR claim “Sales rollout”",
    } <= set(subjects_to(english_manager))
    assert not [s for s in subjects_to(turkish_manager) if "CPOR claim" in s]
    assert not [s for s in subjects_to(english_manager) if "CPOR talebi" in s]

    assert "İş ortağı ilişkilendirmesini reddettiniz" in subjects_to("ayse@musteri.example")
    assert "You declined the partner association" in subjects_to("nina@northwind.example")
    assert "You declined the partner association" in subjects_to("sam@contoso-customer.example")
    denial = next(m for m in mail.outbox if m.subject == "İş ortağı ilişkilendirmesini reddettiniz")
    assert denial.body.startswith("Merhaba")
    to_ayse = [row for row in OutboundEmail.objects.all() if "ayse@musteri.example" in row.recipients]
    assert {row.language for row in to_ayse} == {"tr"} and len(to_ayse) == 2  # notice, confirmation
    assert not OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).exists()


@pytest.mark.django_db
def test_an_unsupported_language_falls_back_to_english() -> None:
    claim = claim_in(Claim.Status.SUBMITTED, partner=PartnerFactory(language="de"), name="Rollout")
    deliver_everything()
    assert subjects_to(claim.partner_contact_email) == ["CPOR claim “Rollout” received"]
    assert mail_to(claim.partner_contact_email).language == "en"


# ---------------------------------------------------------------------------------------------
# The real broker


@pytest.mark.redis
@pytest.mark.django_db
def test_deliver_email_is_published_to_redis(settings: Any) -> None:
    import redis

    from cpor.celery import app

    assert app.conf.broker_url == settings.REDIS_URL
    claim_in(Claim.Status.SUBMITTED)
    row = OutboundEmail.objects.get(kind="claim_submitted")
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = app.conf.task_default_queue  # "celery": a Redis list the worker pops from

    result = deliver_email.delay(row.pk)

    ours = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        if message["headers"].get("id") == result.id:
            ours.append(raw)
            assert message["headers"]["task"] == "cpor.tasks.deliver_email"
            args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            assert args == [row.pk]
            assert kwargs == {}
    assert len(ours) == 1
    client.lrem(queue, 1, ours[0])  # leave the shared queue as we found it
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.QUEUED  # published, not delivered: that is the worker's job
