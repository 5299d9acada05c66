"""The reminder two business days before an information request's deadline, sent once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from claims import workflow
from claims.models import Claim, ClaimEvent
from claims.tasks import expire_partner_action_claims, remind_partner_action_claims
from cpor.business_days import add_business_days
from cpor.models import OutboundEmail
from tests.factories import addresses, claim_in, manager_of, reviewer

pytestmark = pytest.mark.django_db

# Monday 2026-11-30 10:00 UTC: no holiday within the following two weeks.
MONDAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


def reminders(claim: Claim) -> int:
    return OutboundEmail.objects.filter(kind="information_reminder", claimevent__claim=claim).count()


def test_reminder_goes_out_once_three_business_days_after_the_request() -> None:
    with time_machine.travel(MONDAY, tick=False):
        claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED)
    assert claim.partner_reminder_at == add_business_days(MONDAY, 3)  # Thursday, 2 business days before
    assert claim.partner_response_due_at == add_business_days(MONDAY, 5)
    with time_machine.travel(claim.partner_reminder_at - dt.timedelta(seconds=1), tick=False):
        assert remind_partner_action_claims() == 0
    with time_machine.travel(claim.partner_reminder_at + dt.timedelta(seconds=1), tick=False):
        assert remind_partner_action_claims() == 1
        assert remind_partner_action_claims() == 0
    assert reminders(claim) >= 1
    sent = reminders(claim)
    with time_machine.travel(claim.partner_response_due_at - dt.timedelta(seconds=1), tick=False):
        assert remind_partner_action_claims() == 0
    assert reminders(claim) == sent
    recipients = set(
        addresses(OutboundEmail.objects.filter(kind="information_reminder", claimevent__claim=claim))
    )
    assert claim.partner_contact_email in recipients
    assert manager_of(claim).email in recipients


def test_no_reminder_once_the_partner_answered() -> None:
    with time_machine.travel(MONDAY, tick=False):
        claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED)
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        workflow.transition(claim, "resubmit", by=manager_of(claim), comment="Signed SOW attached.")
    with time_machine.travel(MONDAY + dt.timedelta(days=4), tick=False):
        assert remind_partner_action_claims() == 0
    assert reminders(claim) == 0


def test_expiry_one_second_before_and_after_the_deadline_and_twice() -> None:
    with time_machine.travel(MONDAY, tick=False):
        claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED)
    due = claim.partner_response_due_at
    with time_machine.travel(due - dt.timedelta(seconds=1), tick=False):
        assert expire_partner_action_claims() == 0
    with time_machine.travel(due + dt.timedelta(seconds=1), tick=False):
        assert expire_partner_action_claims() == 1
        assert expire_partner_action_claims() == 0
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED
    assert claim.rejection_reason == "no_partner_response"
    assert claim.partner_reminder_at is None
    assert ClaimEvent.objects.filter(claim=claim, action="expire").count() == 1
    assert OutboundEmail.objects.filter(kind="claim_rejected", claimevent__claim=claim).exists()


def test_a_new_information_request_gets_its_own_reminder() -> None:
    rita = reviewer()
    with time_machine.travel(MONDAY, tick=False):
        claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, review_by=rita)
    asked_again = claim.partner_reminder_at + dt.timedelta(minutes=1)
    with time_machine.travel(asked_again, tick=False):
        assert remind_partner_action_claims() == 1
        workflow.transition(claim, "resubmit", by=manager_of(claim), comment="Here it is.")
        workflow.transition(
            claim,
            "request_information",
            by=rita,
            reasons=["missing_or_old_dates"],
            comment="The dates are still missing.",
        )
    claim.refresh_from_db()
    assert claim.partner_reminder_at > asked_again
    with time_machine.travel(claim.partner_reminder_at + dt.timedelta(minutes=1), tick=False):
        assert remind_partner_action_claims() == 1
