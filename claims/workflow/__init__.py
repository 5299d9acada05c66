"""The one path for every change to a claim (docs/design.md, "The one path").

Whoever acts — a partner view, an admin button, the customer's link, the Partner API, a beat job —
calls a function imported from here. Each runs in one database transaction: lock the claim row,
check permission and condition, change it, save, append a `ClaimEvent`, write the outbox rows.
Nothing is sent inside the transaction; mail leaves after commit (see `cpor.outbox`).

Other apps act inside a transition by registering a step (`register_step`) from their
`AppConfig.ready`; the step runs in the same transaction, after the claim is saved.

Callers import from `claims.workflow` only. Inside, one module per subject:

- `transitions`: `transition`, the state changes, as named phases; `allowed_actions`.
- `drafts`: create, copy, edit and delete drafts; add and remove documents; comments.
- `assignment`: which reviewer holds a claim.
- `customer`: the customer's decisions (decline some workloads, ask to end an association) and a
  review lead's answer to a request to end.
- `sweeps`: the beat jobs' set-based path (the performance code) and the partner reminders.
- `registry`: the steps and listeners other apps register.
- `events` and `locks`: what every write leaves behind, and how every write begins.
"""

from claims.actors import CUSTOMER, SYSTEM
from claims.workflow.assignment import assign_reviewer
from claims.workflow.customer import (
    decline_end_request,
    decline_workloads,
    request_end_association,
)
from claims.workflow.drafts import (
    add_comment,
    add_document,
    copy_claim,
    create_claim,
    delete_draft,
    edit_claim,
    remove_document,
)
from claims.workflow.events import actor_kind, record_event
from claims.workflow.locks import TransitionRefused
from claims.workflow.registry import (
    TRANSITIONS,
    StepContext,
    register_listener,
    register_step,
)

# A test takes its own step back out of the registry through this name.
from claims.workflow.registry import _steps as _steps
from claims.workflow.sweeps import send_due_reminders, sweep_due, sweep_lapsed_subscriptions
from claims.workflow.transitions import MAX_TEXT, allowed_actions, transition

__all__ = [
    "CUSTOMER",
    "MAX_TEXT",
    "SYSTEM",
    "TRANSITIONS",
    "StepContext",
    "TransitionRefused",
    "actor_kind",
    "add_comment",
    "add_document",
    "allowed_actions",
    "assign_reviewer",
    "copy_claim",
    "create_claim",
    "decline_end_request",
    "decline_workloads",
    "delete_draft",
    "edit_claim",
    "record_event",
    "register_listener",
    "register_step",
    "remove_document",
    "request_end_association",
    "send_due_reminders",
    "sweep_due",
    "sweep_lapsed_subscriptions",
    "transition",
]
