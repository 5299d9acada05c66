"""Steps and listeners register once: the same function again (a bound method is a new object each
time it is read, but equal) changes nothing, and the same function with another batch form is refused
at start-up instead of being ignored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from claims import workflow
from claims.workflow import registry


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def step(self, context: Any) -> None:
        self.calls += 1

    def many(self, contexts: Any) -> None:
        self.calls += len(contexts)


@pytest.fixture
def submit_steps() -> Iterator[list[Any]]:
    kept = list(registry._steps["submit"])
    yield registry._steps["submit"]
    registry._steps["submit"][:] = kept


def test_a_bound_method_registered_twice_is_one_step(submit_steps: list[Any]) -> None:
    counter = Counter()
    before = len(submit_steps)
    workflow.register_step("submit", counter.step)
    workflow.register_step("submit", counter.step)
    assert len(submit_steps) == before + 1


def test_the_same_step_with_another_batch_form_is_refused(submit_steps: list[Any]) -> None:
    counter = Counter()
    workflow.register_step("submit", counter.step)
    with pytest.raises(ValueError, match="another for_many"):
        workflow.register_step("submit", counter.step, for_many=counter.many)


def test_an_unknown_action_or_change_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown transition"):
        workflow.register_step("approve_everything", Counter().step)
    with pytest.raises(ValueError, match="unknown change kind"):
        workflow.register_listener("everything", Counter().step)
