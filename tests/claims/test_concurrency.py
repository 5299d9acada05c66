"""Two people act on one claim at the same moment: the row lock lets exactly one of them win.

Runs on PostgreSQL with real commits: each thread has its own connection, and both start each
round together at a barrier.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment, RejectionReason
from tests.factories import DETAILS, PartnerFactory, claim_in, partner_user, reviewer

ROUNDS = 50

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

Attempt = Callable[[int], Claim]


def race(claim_ids: list[int], first: Attempt, second: Attempt) -> list[tuple[str, str]]:
    """Run `first` and `second` on each claim at once; per round, the outcome of each ("won"/"refused")."""
    barrier = threading.Barrier(2, timeout=30)
    outcomes: dict[str, list[str]] = {"first": [], "second": []}
    crashes: list[BaseException] = []

    def player(name: str, attempt: Attempt) -> None:
        try:
            for claim_id in claim_ids:
                barrier.wait()
                try:
                    attempt(claim_id)
                except workflow.TransitionRefused:
                    outcomes[name].append("refused")
                else:
                    outcomes[name].append("won")
        except BaseException as exc:  # surfaced in the main thread; free the other player
            crashes.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=player, args=("first", first)),
        threading.Thread(target=player, args=("second", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a player is stuck"
    if crashes:
        causes = [exc for exc in crashes if not isinstance(exc, threading.BrokenBarrierError)]
        raise (causes or crashes)[0]
    return list(zip(outcomes["first"], outcomes["second"], strict=True))


def transition_events(claim_id: int, action: str) -> int:
    return ClaimEvent.objects.filter(claim_id=claim_id, action=action).count()


def mail_kinds(claim_id: int) -> set[str]:
    """The kinds of mail queued for this claim, from its notification history."""
    return set(
        ClaimEvent.objects.filter(claim_id=claim_id, action=ClaimEvent.Action.NOTIFICATION).values_list(
            "email__kind", flat=True
        )
    )


def test_approve_and_reject_at_once_exactly_one_wins() -> None:
    partner = PartnerFactory()
    manager = partner_user(partner)
    approver, rejecter = reviewer(), reviewer()
    claims = [
        claim_in(Claim.Status.UNDER_REVIEW, partner=partner, by=manager, review_by=approver)
        for _ in range(ROUNDS)
    ]
    ids = [claim.pk for claim in claims]

    outcomes = race(
        ids,
        lambda pk: workflow.transition(pk, "approve", by=approver),
        lambda pk: workflow.transition(pk, "reject", by=rejecter, **DETAILS["reject"]),
    )

    assert len(outcomes) == ROUNDS
    for pk, (approve, reject) in zip(ids, outcomes, strict=True):
        assert sorted([approve, reject]) == ["refused", "won"], f"claim {pk}: {approve=} {reject=}"
        claim = Claim.objects.get(pk=pk)
        if approve == "won":
            assert claim.status == Claim.Status.APPROVED
            assert claim.consent_window_ends_at is not None
            assert claim.dispute_window_ends_at is None
            assert (transition_events(pk, "approve"), transition_events(pk, "reject")) == (1, 0)
            assert mail_kinds(pk) >= {"claim_approved"}
            assert "claim_rejected" not in mail_kinds(pk)
        else:
            assert claim.status == Claim.Status.REJECTED
            assert claim.rejection_reason == RejectionReason.INSUFFICIENT_POE
            assert claim.consent_window_ends_at is None
            assert (transition_events(pk, "approve"), transition_events(pk, "reject")) == (0, 1)
            assert "claim_rejected" in mail_kinds(pk)
            assert "claim_approved" not in mail_kinds(pk)
        # The loser left no trace: the winner's event is the last transition and starts from under_review.
        last = ClaimEvent.objects.filter(claim_id=pk).exclude(to_status="").latest("created_at", "id")
        assert (last.from_status, last.to_status) == (Claim.Status.UNDER_REVIEW, claim.status)


def test_partner_resubmit_and_expiry_job_at_once_exactly_one_wins() -> None:
    """The expiry job meets a partner who answers at the last moment."""
    partner = PartnerFactory()
    manager = partner_user(partner)
    reviewer_user = reviewer()
    claims = [
        claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=partner, by=manager, review_by=reviewer_user)
        for _ in range(ROUNDS)
    ]
    for claim in claims:
        workflow.add_comment(claim, by=manager, body="The signed SOW is now attached.")
    ids = [claim.pk for claim in claims]
    latest_deadline = max(Claim.objects.filter(pk__in=ids).values_list("partner_response_due_at", flat=True))

    with time_machine.travel(latest_deadline + dt.timedelta(minutes=1)):
        outcomes = race(
            ids,
            lambda pk: workflow.transition(pk, "resubmit", by=manager, comment="Please look again."),
            lambda pk: workflow.transition(pk, "expire", by=workflow.SYSTEM),
        )

    wins: dict[str, int] = {"resubmit": 0, "expire": 0}
    for pk, (resubmit, expire) in zip(ids, outcomes, strict=True):
        assert sorted([resubmit, expire]) == ["refused", "won"], f"claim {pk}: {resubmit=} {expire=}"
        winner = "resubmit" if resubmit == "won" else "expire"
        loser = "expire" if winner == "resubmit" else "resubmit"
        wins[winner] += 1
        claim = Claim.objects.get(pk=pk)
        assert claim.status == (Claim.Status.UNDER_REVIEW if winner == "resubmit" else Claim.Status.REJECTED)
        assert (transition_events(pk, winner), transition_events(pk, loser)) == (1, 0)
        # resubmit stores its comment before the state check; when expiry won, that is rolled back.
        answered = Comment.objects.filter(claim_id=pk, body="Please look again.").count()
        assert answered == (1 if winner == "resubmit" else 0)
    assert sum(wins.values()) == ROUNDS
