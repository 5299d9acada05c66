"""The beat jobs' path: the same transitions as `transition`, for thousands of claims at once.

A sweep (expiring claims past their partner deadline, closing consent windows) moves every due
claim through a system transition. It checks each claim exactly as the one path does, by calling
the same transition method, but loads, writes and records a whole batch with a constant number of
statements: one SELECT of the columns the transitions read (and one each for the batch's partners
and their managers' addresses), one UPDATE, one INSERT of events, the steps' batch forms, one INSERT
of outbox rows. tests/claims/test_sweep_equivalence.py holds the
result equal to the one path's, column for column, event for event, mail for mail.

This module is the performance code kept apart from the file everyone reads: it builds claim
instances without `Model.__init__` and writes in bulk; what it must keep true is said where it does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from claims import notifications
from claims.actors import SYSTEM
from claims.models import Claim, ClaimEvent, Partner
from claims.workflow.events import claims_changed, records_workloads
from claims.workflow.registry import StepContext, run_steps_for_batch, tell_listeners_for_batch
from claims.workflow.transitions import may_start
from cpor.bulk import insert_rows

# Claims a sweep moves in one transaction, and reminders a reminder run sends in one: large enough
# that the per-batch statements are few, small enough that a batch's locks are held briefly.
SWEEP_BATCH = 1000
REMINDER_BATCH = 500

# What a beat sweep loads of each claim: what conditions, steps and mail read. The transition sets
# what it changes; those columns are written whether they were loaded or not.
SWEEP_FIELDS = ("id", "status", "partner_id", "activity", "name", "partner_contact_email")
SWEEP_TRACKED = frozenset(
    f.attname for f in Claim._meta.concrete_fields if not f.primary_key and f.attname != "updated_at"
)


def sweep_due(*, action: str, status: str, deadline_field: str) -> int:
    """Move every claim in `status` whose `deadline_field` has passed through `action` as the system
    (`sweep`, with the deadline as what makes a claim due)."""
    return sweep(
        action=action,
        status=status,
        due=lambda now: Q(**{f"{deadline_field}__lte": now}),
        fields=(deadline_field,),
    )


def sweep_lapsed_subscriptions() -> int:
    """End every association whose named subscription has been out of active/grace longer than
    `CPOR_LAPSE_DAYS` (`lapse`, as the system). The condition reads the subscription's
    `inactive_since`, loaded with the batch as one subquery, not asked per claim."""
    return sweep(
        action="lapse",
        status=Claim.Status.ASSOCIATED,
        due=Claim.lapse_due_q,
        annotations={Claim.INACTIVE_SINCE_ANNOTATION: Claim.subscription_inactive_since_expression()},
    )


def sweep(
    *,
    action: str,
    status: str,
    due: Callable[[dt.datetime], Q],
    fields: tuple[str, ...] = (),
    annotations: Mapping[str, Any] | None = None,
) -> int:
    """Move every claim in `status` that `due(now)` selects through `action` as the system.

    Set-based, one transaction per batch: lock a batch of due claims (`skip_locked`, so a claim a
    partner or another job is changing right now is left for the next run), run the FSM transition
    on each in memory (state, condition and permission checked exactly as on the one path), then
    write the batch's changes, one `ClaimEvent` per claim, the registered steps and the outbox rows
    with a constant number of statements. A crash rolls the whole batch back: each claim is fully
    moved or untouched. Running twice, or in two processes at once, moves nothing twice.

    `fields` and `annotations` are what the transition's conditions read beyond `SWEEP_FIELDS`,
    loaded with the batch so no condition asks the database once per claim.
    """
    moved = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            # Walk on by id from the last batch (keyset): no batch sorts or rescans what the earlier
            # ones took, and a claim skipped for a lock waits for the next run.
            batch = _partial_claims(
                Claim.objects.filter(due(now), status=status, pk__gt=last_pk)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")[:SWEEP_BATCH],
                (*SWEEP_FIELDS, *fields),
                annotations or {},
            )
            if batch:
                last_pk = batch[-1].pk
            partners = Partner.objects.in_bulk({claim.partner_id for claim in batch})
            for claim in batch:
                claim.partner = partners[claim.partner_id]
            moved_now = _move_batch(batch, action, now=now)
        moved += moved_now
        if len(batch) < SWEEP_BATCH:
            return moved


def _partial_claims(
    queryset: QuerySet[Claim], names: tuple[str, ...], annotations: Mapping[str, Any]
) -> list[Claim]:
    """The claims of `queryset` holding only the columns `names` (attnames) and the `annotations`,
    as `.only()` with `.annotate()` gives.

    `.only()` builds each instance through `Model.__init__`, which walks every concrete field of
    the claim (about 12 µs a claim: over a second of a 100,000-claim sweep). An instance loaded from
    part of a row is its `ModelState` and the loaded values in `__dict__`; the other columns load on
    access, as deferred ones do. That is built here directly from the rows. While anything listens
    to the init signals of Claim, the ordinary path runs, so no receiver is skipped.
    """
    queryset = queryset.annotate(**annotations)
    if pre_init.has_listeners(Claim) or post_init.has_listeners(Claim):
        return list(queryset.only(*names))
    names = (*names, *annotations)
    claims = []
    for row in queryset.values_list(*names):
        claim = Claim.__new__(Claim)
        claim._state = ModelState()
        claim._state.adding = False
        claim._state.db = queryset.db
        claim.__dict__.update(zip(names, row, strict=True))
        claims.append(claim)
    return claims


def _move_batch(batch: list[Claim], action: str, *, now: dt.datetime) -> int:
    """Transition the batch in memory, then write it: claims, events, steps, mail. Returns how many moved."""
    moved, changed = _transition_in_memory(batch, action, now=now)
    if not moved:
        return 0
    claims = [claim for claim, _from_status in moved]
    _write_claims(claims, changed, now=now)
    event_ids = _write_events(moved, action, now=now)
    run_steps_for_batch(
        action,
        [
            StepContext(claim=claim, action=action, by=SYSTEM, now=now, event_id=event_id)
            for claim, event_id in zip(claims, event_ids, strict=True)
        ],
    )
    managers = notifications.managing_emails(claim.partner_id for claim in claims)
    notifications.write(
        [planned for claim in claims for planned in notifications.plan(claim, action, managers=managers)],
        now=now,
    )
    # Last, so the partners' rows are locked only for the end of the batch's transaction (a comment
    # or upload of theirs waits for that, not for the whole batch).
    claims_changed(claim.partner_id for claim in claims)
    return len(moved)


def _transition_in_memory(
    batch: list[Claim], action: str, *, now: dt.datetime
) -> tuple[list[tuple[Claim, str]], set[str]]:
    """Call `action` on each claim the system may move: the moved claims with the status each left,
    and the columns the transition changed on any of them.

    The permission is checked here; state and conditions by the state machine as it calls the
    method, as on the one path. A claim it refuses (a clock-bound condition turned since the query)
    stays for the next run.
    """
    moved: list[tuple[Claim, str]] = []
    changed: set[str] = set()
    for claim in batch:
        if not may_start(claim, action, SYSTEM):
            continue
        # Only the columns a sweep reads were loaded; a column the transition sets lands in __dict__.
        before = dict(claim.__dict__)
        from_status = claim.status
        try:
            getattr(claim, action)(by=SYSTEM, now=now)
        except TransitionNotAllowed:
            continue
        changed |= _changed_columns(before, claim.__dict__)
        moved.append((claim, from_status))
    return moved, changed


def _changed_columns(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {
        name
        for name, value in after.items()
        if name in SWEEP_TRACKED and (name not in before or before[name] != value)
    }


def _write_claims(claims: list[Claim], changed: set[str], *, now: dt.datetime) -> None:
    values = {name: getattr(claims[0], name) for name in changed}
    if all(getattr(claim, name) == value for claim in claims for name, value in values.items()):
        # The transition set the same values on every claim (they depend only on `now`): one UPDATE.
        # The rows are locked by the sweep, so this is not a blind write.
        Claim.objects.filter(pk__in=[c.pk for c in claims]).update(**values, updated_at=now)
    else:
        for claim in claims:
            claim.updated_at = now
        Claim.objects.bulk_update(claims, [*changed, "updated_at"])


def _write_events(moved: list[tuple[Claim, str]], action: str, *, now: dt.datetime) -> list[int]:
    """One `ClaimEvent` per moved claim, as the one path writes it for the system; their ids in order."""
    workloads = _workloads_of([claim.pk for claim, from_status in moved if records_workloads(from_status)])
    rows = [
        {
            "claim_id": claim.pk,
            "created_at": now,
            "actor_kind": ClaimEvent.ActorKind.SYSTEM,
            "actor_id": None,
            "action": action,
            "from_status": from_status,
            "to_status": claim.status,
            "diff": _event_diff(claim, from_status, workloads),
            "note": "",
            "partner_visible": True,
            "email_id": None,
        }
        for claim, from_status in moved
    ]
    return insert_rows(ClaimEvent, rows)


def _workloads_of(claim_ids: list[int]) -> dict[int, list[str]]:
    """The product codes of each claim, sorted: one query for the whole batch (none for no claim)."""
    if not claim_ids:
        return {}
    codes: dict[int, list[str]] = {pk: [] for pk in claim_ids}
    rows = Claim.products.through.objects.filter(claim_id__in=claim_ids).values_list(
        "claim_id", "product__code"
    )
    for claim_id, code in rows:
        codes[claim_id].append(code)
    return {pk: sorted(held) for pk, held in codes.items()}


def _event_diff(claim: Claim, from_status: str, workloads: dict[int, list[str]]) -> dict[str, Any]:
    """The event's diff as `transitions._record` writes it for the system (no product changes here)."""
    diff: dict[str, Any] = {"status": [from_status, claim.status]}
    if records_workloads(from_status):
        diff["products"] = [workloads[claim.pk], workloads[claim.pk]]
    return diff


def send_due_reminders() -> int:
    """Remind partners whose information-request deadline is 2 business days away; once per request.

    Clearing `partner_reminder_at` in the same transaction as the mail rows is the compare-and-swap
    that makes a second run (or a second process) send nothing. A batch is one transaction: its
    rows locked (`skip_locked`, another process takes the others), and the listeners (the webhook
    events) told of the whole batch at once.
    """
    sent = 0
    last_pk = 0
    while True:
        due = list(
            Claim.objects.filter(
                status=Claim.Status.PARTNER_ACTION_REQUIRED,
                partner_reminder_at__lte=timezone.now(),
                pk__gt=last_pk,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:REMINDER_BATCH]
        )
        if not due:
            return sent
        with transaction.atomic():
            now = timezone.now()
            reminded = list(
                Claim.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("partner")
                .filter(pk__in=due, status=Claim.Status.PARTNER_ACTION_REQUIRED, partner_reminder_at__lte=now)
                .order_by("pk")
            )
            Claim.objects.filter(pk__in=[claim.pk for claim in reminded]).update(partner_reminder_at=None)
            for claim in reminded:
                claim.partner_reminder_at = None
                notifications.send_reminder(claim, now=now)
            if reminded:
                tell_listeners_for_batch("reminder", claims=reminded, now=now)
            sent += len(reminded)
        last_pk = due[-1]
