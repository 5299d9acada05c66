"""A transition's conditions are evaluated once on the way through, on the one path and in a sweep.

Conditions may query the database (the duplicate rule, the submission checks), so each extra
evaluation is extra queries on every transition. When a condition refuses, the refusal is told in
that condition's own words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.utils import timezone

from claims import workflow
from claims.models import Claim, ClaimEvent
from claims.tasks import expire_partner_action_claims
from tests.factories import claim_in, draft, manager_of

pytestmark = pytest.mark.django_db
S = Claim.Status


def count_calls(monkeypatch: pytest.MonkeyPatch, action: str, source: str) -> list[int]:
    """Replace the conditions of `action` from `source` with counting copies; the counts, in order."""
    found = getattr(Claim, action)._django_fsm.get_transition(source)
    calls = [0] * len(found.conditions)

    def counting(index: int, condition: Callable[[Claim], bool]) -> Callable[[Claim], bool]:
        def wrapper(claim: Claim) -> bool:
            calls[index] += 1
            return condition(claim)

        wrapper.refusal = condition.refusal  # type: ignore[attr-defined]
        return wrapper

    monkeypatch.setattr(found, "conditions", [counting(i, c) for i, c in enumerate(found.conditions)])
    return calls


def test_a_transition_evaluates_its_conditions_once(monkeypatch: pytest.MonkeyPatch) -> None:
    claim = draft()
    calls = count_calls(monkeypatch, "submit", S.EDITING)

    workflow.transition(claim, "submit", by=manager_of(claim))

    assert calls == [1]


def test_a_refusing_condition_speaks_in_its_own_words_and_changes_nothing() -> None:
    claim = draft(document=False)

    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.transition(claim, "submit", by=manager_of(claim))

    assert str(refused.value) == "Upload at least one proof-of-execution document."
    claim.refresh_from_db()
    assert claim.status == S.EDITING
    assert not ClaimEvent.objects.filter(claim=claim, action="submit").exists()


def test_a_sweep_evaluates_each_claims_conditions_once(monkeypatch: pytest.MonkeyPatch) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        claims = [claim_in(S.PARTNER_ACTION_REQUIRED) for _ in range(2)]
    calls = count_calls(monkeypatch, "expire", S.PARTNER_ACTION_REQUIRED)

    with time_machine.travel(start + dt.timedelta(days=20), tick=False):
        assert expire_partner_action_claims() == 2

    assert calls == [2]
    assert {c.status for c in Claim.objects.filter(pk__in=[c.pk for c in claims])} == {S.REJECTED}
