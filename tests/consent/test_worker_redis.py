"""End to end on a real broker: a Celery worker on Redis runs a beat job and delivers its mail."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from claims.models import Claim, ClaimEvent
from consent.tasks import close_consent_windows
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import claim_in

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def wait_for(condition, *, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_on_redis_closes_the_window_and_delivers_the_mail(settings) -> None:
    from celery.contrib.testing.worker import start_worker

    from cpor.celery import app

    assert app.conf.broker_url.startswith("redis://")
    claim = claim_in(Claim.Status.APPROVED)
    # Test set-up only: the 7-day window ended a minute ago.
    Claim.objects.filter(pk=claim.pk).update(consent_window_ends_at=timezone.now() - dt.timedelta(minutes=1))
    mail.outbox.clear()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=15):
        close_consent_windows.delay()
        assert wait_for(lambda: Claim.objects.get(pk=claim.pk).status == Claim.Status.ASSOCIATED)
        rows = OutboundEmail.objects.filter(kind="sent_for_assessment", claimevent__claim=claim)
        assert wait_for(lambda: rows.exists() and not rows.exclude(status=OutboundEmail.Status.SENT).exists())
    for connection in connections.all():
        connection.close()

    assert (
        ClaimEvent.objects.filter(claim=claim, action="close_consent_window", actor_kind="system").count()
        == 1
    )
    assert AssessmentHandoff.objects.get(claim=claim).programme == "osu"
    delivered = [m for m in mail.outbox if m.subject.startswith("Sent for incentive assessment")]
    assert sorted(m.to for m in delivered) == sorted(row.recipients for row in rows)
    assert all(claim.name in m.body for m in delivered)
