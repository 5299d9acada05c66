"""The customer declines one workload at the very moment the opt-out window closes: one outcome
per round, and history that agrees with it.

PostgreSQL with real commits, as tests/consent/test_consent_race.py. Each round, when both
threads meet at the barrier, the claim's window is set to end 15 ms later; the customer declines
one of the claim's two workloads through `decline_workloads` while the beat job sweeps, both
aiming at that instant. Either may be refused (the decline too late, the sweep too early), so a
last sweep settles the rounds where both were. Every round must end in exactly one of:

- declined, then closed: the declined workload left the claim before the window ended, and the
  hand-off queued only the remaining one;
- closed, decline refused: the claim went to assessment with both workloads, and no decline was
  recorded.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from claims import workflow
from claims.models import Claim, ClaimEvent, Product
from claims.workflow import CUSTOMER, TransitionRefused
from consent.tasks import close_consent_windows
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

ROUNDS = 100

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_partial_decline_racing_the_window_close_gives_one_outcome_and_consistent_history() -> None:
    partner = PartnerFactory()
    manager = partner_user(partner)
    rita = reviewer()
    claims = [
        claim_in(
            Claim.Status.APPROVED,
            partner=partner,
            by=manager,
            review_by=rita,
            products=("d365-sales", "power-bi"),
        )
        for _ in range(ROUNDS)
    ]
    power_bi = Product.objects.get(code="power-bi")
    state: dict[str, Any] = {"round": -1, "ends": timezone.now()}
    ends: dict[int, dt.datetime] = {}
    crashes: list[BaseException] = []
    refused: list[str] = []

    def arm() -> None:
        # Runs once per round, in one of the players, when both have arrived.
        state["round"] += 1
        state["ends"] = timezone.now() + dt.timedelta(milliseconds=15)
        claim = claims[state["round"]]
        ends[claim.pk] = state["ends"]
        Claim.objects.filter(pk=claim.pk).update(consent_window_ends_at=state["ends"])

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

    def decline(claim: Claim) -> None:
        try:
            workflow.decline_workloads(
                claim.pk, [power_bi], by=CUSTOMER, customer_email="ines@northwind.example", reason="race"
            )
        except (TransitionRefused, ValidationError) as exc:
            refused.append(str(exc))

    # The customer aims just before the end, the job just after: whoever takes the row lock first wins.
    customer = threading.Thread(target=play, args=(decline, (-10.0, 0.0)))
    beat = threading.Thread(target=play, args=(lambda claim: close_consent_windows(), (0.0, 2.0)))
    started = time.monotonic()
    for thread in (customer, beat):
        thread.start()
    for thread in (customer, beat):
        thread.join(timeout=120)
    assert not crashes, crashes
    assert state["round"] == ROUNDS - 1  # every round was played
    assert time.monotonic() - started < 60
    close_consent_windows()  # settle rounds where both were refused
    # A refused decline says why in the customer's words, and only that the window closed.
    assert set(refused) <= {
        "The opt-out window of this association has closed, so its workloads can no longer be declined."
    }

    outcomes = {"declined_then_closed": 0, "closed": 0}
    for claim in Claim.objects.filter(pk__in=[c.pk for c in claims]):
        assert claim.status == Claim.Status.ASSOCIATED, claim.pk
        events = list(
            ClaimEvent.objects.filter(claim=claim, action__in=["workloads_declined", "close_consent_window"])
            .order_by("pk")
            .values_list("action", "created_at")
        )
        moves = [action for action, _at in events]
        products = sorted(claim.products.values_list("code", flat=True))
        (handoff,) = AssessmentHandoff.objects.filter(claim=claim)
        queued = sorted(handoff.products.values_list("code", flat=True))
        told = set(OutboundEmail.objects.filter(claimevent__claim=claim).values_list("kind", flat=True))
        if "workloads_declined" in moves:
            outcomes["declined_then_closed"] += 1
            # One decline, before the window ended, and the close after it.
            assert moves == ["workloads_declined", "close_consent_window"], (claim.pk, moves)
            assert events[0][1] < ends[claim.pk] <= events[1][1]
            assert products == queued == ["d365-sales"]
            assert {"workloads_declined_partner", "sent_for_assessment"} <= told
        else:
            outcomes["closed"] += 1
            assert moves == ["close_consent_window"], (claim.pk, moves)
            assert products == queued == ["d365-sales", "power-bi"]
            assert "workloads_declined_partner" not in told
    assert sum(outcomes.values()) == ROUNDS
    # Both sides won some rounds: the race was real, not one side always first.
    assert outcomes["declined_then_closed"] and outcomes["closed"], outcomes
