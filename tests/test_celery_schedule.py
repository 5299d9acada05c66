"""The beat schedule names real tasks, and the clock-driven jobs are safe to run twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail

from claims import workflow
from claims.models import Claim, ClaimEvent, RejectionReason
from claims.tasks import expire_partner_action_claims, lapse_inactive_subscriptions
from consent.tasks import close_consent_windows
from cpor import outbox
from cpor.celery import app
from cpor.models import OutboundEmail
from earnings.tasks import assess_previous_month
from tests.factories import addresses, claim_in, manager_of

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)  # a Monday


def test_every_scheduled_task_is_registered() -> None:
    app.loader.import_default_modules()
    registered = set(app.tasks)
    scheduled = {name: entry["task"] for name, entry in app.conf.beat_schedule.items()}
    unknown = {name: task for name, task in scheduled.items() if task not in registered}
    assert unknown == {}
    assert {
        "cpor.tasks.redeliver_pending_email",
        "claims.tasks.expire_partner_action_claims",
        "consent.tasks.close_consent_windows",
        "claims.tasks.lapse_inactive_subscriptions",
        "consent.tasks.send_requested_sign_in_links",
        "consent.tasks.purge_sign_in_links",
        "earnings.tasks.assess_previous_month",
    } <= set(scheduled.values())


def test_the_fixed_job_names_are_the_task_names() -> None:
    assert expire_partner_action_claims.name == "claims.tasks.expire_partner_action_claims"
    assert close_consent_windows.name == "consent.tasks.close_consent_windows"
    assert lapse_inactive_subscriptions.name == "claims.tasks.lapse_inactive_subscriptions"
    assert assess_previous_month.name == "earnings.tasks.assess_previous_month"


def history(claim: Claim) -> list[tuple[str, str, str, str]]:
    return list(
        ClaimEvent.objects.filter(claim=claim).values_list("action", "actor_kind", "from_status", "to_status")
    )


@pytest.mark.django_db
def test_expiry_rejects_a_claim_past_its_deadline_once(django_capture_on_commit_callbacks: Any) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        overdue = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED)
        clock.move_to(T0 + dt.timedelta(days=1))
        later = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED)  # its deadline is a day later
        deadline = overdue.partner_response_due_at
        assert deadline is not None
        assert later.partner_response_due_at > deadline

        clock.move_to(deadline - dt.timedelta(minutes=1))
        assert expire_partner_action_claims() == 0
        overdue.refresh_from_db()
        assert overdue.status == Claim.Status.PARTNER_ACTION_REQUIRED

        clock.move_to(deadline + dt.timedelta(minutes=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert expire_partner_action_claims() == 1
        overdue.refresh_from_db()
        assert overdue.status == Claim.Status.REJECTED
        assert overdue.rejection_reason == RejectionReason.NO_PARTNER_RESPONSE
        assert overdue.partner_response_due_at is None
        assert overdue.dispute_window_ends_at == deadline + dt.timedelta(minutes=1, days=30)
        after_first_run = history(overdue)
        assert after_first_run.count(("expire", "system", "partner_action_required", "rejected")) == 1
        rejection_mail = OutboundEmail.objects.filter(kind="claim_rejected")
        recipients = addresses(rejection_mail)
        assert overdue.partner_contact_email in recipients
        assert len(recipients) == len(set(recipients))

        # A second run, or a run in another process a moment later, changes nothing.
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert expire_partner_action_claims() == 0
            clock.move_to(deadline + dt.timedelta(minutes=2))
            assert expire_partner_action_claims() == 0
        assert callbacks == []
        assert history(overdue) == after_first_run
        assert addresses(rejection_mail) == recipients

        later.refresh_from_db()
        assert later.status == Claim.Status.PARTNER_ACTION_REQUIRED

        # Every rejection notice goes out exactly once.
        clock.move_to(deadline + dt.timedelta(hours=1))
        outbox.redeliver_pending()
        assert outbox.redeliver_pending() == 0
    sent = sorted(address for m in mail.outbox if m.subject.startswith("Rejected") for address in m.to)
    assert sent == recipients


@pytest.mark.django_db
def test_a_claim_whose_partner_answered_in_time_is_not_expired() -> None:
    with time_machine.travel(T0, tick=False) as clock:
        claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED)
        manager = manager_of(claim)
        clock.move_to(T0 + dt.timedelta(hours=2))
        workflow.add_comment(claim, by=manager, body="The signed SOW is attached now.")
        workflow.transition(claim, "resubmit", by=manager)

        clock.move_to(T0 + dt.timedelta(days=30))
        assert expire_partner_action_claims() == 0
    claim.refresh_from_db()
    assert claim.status == Claim.Status.UNDER_REVIEW
    assert not ClaimEvent.objects.filter(claim=claim, action="expire").exists()


@pytest.mark.django_db
def test_an_approved_claim_past_its_consent_window_becomes_associated_once() -> None:
    with time_machine.travel(T0, tick=False) as clock:
        claim = claim_in(Claim.Status.APPROVED, activity="presales")
        window_ends = claim.consent_window_ends_at
        assert window_ends == T0 + dt.timedelta(days=7)

        clock.move_to(window_ends - dt.timedelta(minutes=1))
        assert close_consent_windows() == 0
        claim.refresh_from_db()
        assert claim.status == Claim.Status.APPROVED

        clock.move_to(window_ends + dt.timedelta(minutes=1))
        assert close_consent_windows() == 1
        claim.refresh_from_db()
        assert claim.status == Claim.Status.ASSOCIATED
        assert claim.consent_window_ends_at is None
        after_first_run = history(claim)
        assert after_first_run.count(("close_consent_window", "system", "approved", "associated")) == 1
        assessment_mail = addresses(OutboundEmail.objects.filter(kind="sent_for_assessment"))
        assert claim.partner_contact_email in assessment_mail

        assert close_consent_windows() == 0
        clock.move_to(window_ends + dt.timedelta(days=1))
        assert close_consent_windows() == 0
        assert history(claim) == after_first_run
        assert addresses(OutboundEmail.objects.filter(kind="sent_for_assessment")) == assessment_mail
