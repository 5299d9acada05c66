"""The customer denies at the very moment the opt-out window closes: one outcome per round.

PostgreSQL with real commits. Each round, when both threads meet at the barrier, the claim's
window is set to end 15 ms later; then the customer denies through the consent service while the
beat job sweeps, both aiming at that instant. Either may be refused (the denial too late, the sweep
too early), so a last sweep after the round settles it; what must never happen is both.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from claims.models import Claim, ClaimEvent, RejectionReason
from consent import services
from consent.models import ConsentRequest
from consent.tasks import close_consent_windows
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

ROUNDS = 200

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_denial_racing_the_window_close_gives_one_outcome_and_consistent_history() -> None:
    partner = PartnerFactory()
    manager = partner_user(partner)
    rita = reviewer()
    claims = [
        claim_in(Claim.Status.APPROVED, partner=partner, by=manager, review_by=rita) for _ in range(ROUNDS)
    ]
    requests = {r.claim_id: r for r in ConsentRequest.objects.filter(claim__in=claims)}
    state = {"round": -1, "ends": timezone.now()}
    crashes: list[BaseException] = []

    def arm() -> None:
        # Runs once per round, in one of the players, when both have arrived.
        state["round"] += 1
        state["ends"] = timezone.now() + dt.timedelta(milliseconds=15)
        Claim.objects.filter(pk=claims[state["round"]].pk).update(consent_window_ends_at=state["ends"])

    barrier = threading.Barrier(2, action=arm, timeout=30)

    def play(move, aim: tuple[float, float]) -> None:  # noqa: ANN001
        try:
            for _ in claims:
                barrier.wait()
                moment = state["ends"] + dt.timedelta(milliseconds=random.uniform(*aim))  # noqa: S311
                time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))
                move(claims[state["round"]])
        except BaseException as exc:
            crashes.append(exc)
            barrier.abort()
        finally:
            connection.close()

    # The customer aims just before the end, the job just after: whoever takes the row lock first wins.
    customer = threading.Thread(
        target=play, args=(lambda claim: services.deny(requests[claim.pk], reason="race"), (-10.0, 0.0))
    )
    beat = threading.Thread(target=play, args=(lambda claim: close_consent_windows(), (0.0, 2.0)))
    for thread in (customer, beat):
        thread.start()
    for thread in (customer, beat):
        thread.join(timeout=300)
    assert not crashes, crashes
    assert state["round"] == ROUNDS - 1  # every round was played
    close_consent_windows()  # settle rounds where both were refused

    outcomes = {"denied": 0, "associated": 0}
    for claim in Claim.objects.filter(pk__in=[c.pk for c in claims]):
        moves = list(
            ClaimEvent.objects.filter(
                claim=claim, action__in=["deny_consent", "close_consent_window"]
            ).values_list("action", flat=True)
        )
        assert len(moves) == 1, (claim.pk, moves)
        told = set(OutboundEmail.objects.filter(claimevent__claim=claim).values_list("kind", flat=True))
        if claim.status == Claim.Status.REJECTED:
            outcomes["denied"] += 1
            assert moves == ["deny_consent"]
            assert claim.rejection_reason == RejectionReason.CUSTOMER_DECLINE
            assert not AssessmentHandoff.objects.filter(claim=claim).exists()
            assert "consent_denied_partner" in told and "sent_for_assessment" not in told
            assert ConsentRequest.objects.get(claim=claim).used_at is not None
        else:
            outcomes["associated"] += 1
            assert claim.status == Claim.Status.ASSOCIATED
            assert moves == ["close_consent_window"]
            assert AssessmentHandoff.objects.filter(claim=claim).count() == 1
            assert "sent_for_assessment" in told and "consent_denied_partner" not in told
            assert ConsentRequest.objects.get(claim=claim).used_at is None
    assert sum(outcomes.values()) == ROUNDS
    # Both sides won some rounds: the race was real, not one side always first.
    assert outcomes["denied"] and outcomes["associated"], outcomes
