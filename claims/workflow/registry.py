"""Steps and listeners: how other apps act inside the workflow's transactions.

An app that must do something as part of a change to a claim (consent opens its request when a
claim is approved, the webhooks record an event) registers a step for a transition, or a listener
for a change that is not a transition, from its `AppConfig.ready`. The workflow calls them inside
its own transaction, after the claim is saved: an explicit registry rather than Django signals, so
claims/ never imports the apps that act on it, and a step that fails rolls the whole change back.

A sweep moves claims in batches. A step or listener may register a batch form (`for_many`) that
does for a whole batch what it does for one claim, with a constant number of statements.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from claims.models import Claim

TRANSITIONS: tuple[str, ...] = tuple(
    sorted({t.name for t in Claim._meta.get_field("status").get_all_transitions(Claim)})
)


@dataclass(frozen=True)
class StepContext:
    """What a step learns of the transition it runs in; `event_id` is the transition's `ClaimEvent`."""

    claim: Claim
    action: str
    by: Any
    now: dt.datetime
    event_id: int
    details: Mapping[str, Any] = field(default_factory=dict)


Step = Callable[[StepContext], None]
StepMany = Callable[[Sequence[StepContext]], None]


@dataclass(frozen=True)
class _Registered:
    """A registered step or listener, and its set-based form for a sweep's batch (None: once per claim)."""

    one: Callable[..., None]
    many: Callable[..., None] | None


_steps: dict[str, list[_Registered]] = defaultdict(list)


def register_step(action: str, step: Step, *, for_many: StepMany | None = None) -> None:
    """Run `step` inside the transaction of every `action` (idempotent per step).

    A sweep moves claims in batches; `for_many(contexts)`, when given, does for a whole batch what
    `step` does for one claim, and the sweep calls it instead of `step` once per claim.
    """
    if action not in TRANSITIONS:
        raise ValueError(f"unknown transition {action!r}")
    _add(_steps[action], _Registered(step, for_many))


def _add(registry: list[_Registered], new: _Registered) -> None:
    """Register `new` once: the same function again (equal, as a bound method is) changes nothing;
    the same function with another batch form is a mistake, said at start-up."""
    for registered in registry:
        if registered.one == new.one:
            if registered.many != new.many:
                raise ValueError(f"{new.one!r} is already registered with another for_many")
            return
    registry.append(new)


def run_steps(context: StepContext) -> None:
    """The steps of one claim's transition, in the order they registered."""
    for registered in _steps[context.action]:
        registered.one(context)


def run_steps_for_batch(action: str, contexts: Sequence[StepContext]) -> None:
    """The steps of a batch's transitions: each step's batch form when it has one."""
    for registered in _steps[action]:
        if registered.many is not None:
            registered.many(contexts)
        else:
            for context in contexts:
                registered.one(context)


# Other apps also hear of changes that are not transitions, inside their transactions:
# "comment" (listener(claim=, comment=, now=)), "reminder" (listener(claim=, now=)), and the
# customer's decisions (claims.workflow.customer): "workloads_declined" (listener(claim=,
# declined=, remaining=, reason=, now=), product codes), "end_requested" and
# "end_request_declined" (listener(claim=, request=, now=), the AssociationEndRequest).
LISTENER_KINDS = frozenset(
    {"comment", "reminder", "workloads_declined", "end_requested", "end_request_declined"}
)
_listeners: dict[str, list[_Registered]] = defaultdict(list)


def register_listener(
    kind: str, listener: Callable[..., None], *, for_many: Callable[..., None] | None = None
) -> None:
    """Run `listener` inside the transaction of every change of `kind` (idempotent per listener).

    `for_many(claims=, ...)`, when given, hears one change to each of a batch's claims at once.
    """
    if kind not in LISTENER_KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    _add(_listeners[kind], _Registered(listener, for_many))


def tell_listeners(kind: str, **change: Any) -> None:
    for registered in _listeners[kind]:
        registered.one(**change)


def tell_listeners_for_batch(kind: str, *, claims: Sequence[Claim], **change: Any) -> None:
    """One change of `kind` to each of `claims`: a listener's `for_many(claims=, ...)` when it has one."""
    for registered in _listeners[kind]:
        if registered.many is not None:
            registered.many(claims=claims, **change)
        else:
            for claim in claims:
                registered.one(claim=claim, **change)
