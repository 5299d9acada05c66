"""The one path for a state change: `transition(claim, action, *, by, **details)`.

Every move of a claim through its state machine, whoever makes it (a partner's button, a
reviewer's, the customer's link, the Partner API), goes through `transition`. It reads as its
phases, each one function below:

1. check the request itself: a known action, documents only where the action takes them, no
   unknown details, texts within bounds (nothing is locked yet);
2. lock the claim and check it: the status the actor saw, the state, the actor's permission;
3. keep the actor's comment and store the documents they brought;
4. apply: call the transition method, whose conditions the state machine checks (once) and whose
   body checks the details' rules, and save;
5. record the `ClaimEvent`;
6. run the registered steps of other apps;
7. notify: write the outbox rows (mail leaves after commit).

All of it is one transaction: a refusal or failure at any phase changes nothing, and the files
stored for it are deleted. The beat sweeps move claims through the same transitions set-based (see
`claims.workflow.sweeps`).
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed

from claims import notifications
from claims.actors import Actor
from claims.documents import store_document
from claims.models import Claim, ClaimEvent, ClaimRuleError, Comment, Fact, PoeDocument
from claims.workflow.events import actor_kind, claims_changed, field_diff, record_event, records_workloads
from claims.workflow.locks import TransitionRefused, lock_claim, lock_partner
from claims.workflow.registry import TRANSITIONS, StepContext, run_steps

MAX_TEXT = 5000  # longest comment or justification
# Actions that may bring new PoE documents with them, as the transitions declare.
DOCUMENT_ACTIONS = frozenset(Claim.actions_with(Fact.TAKES_DOCUMENTS))


def transition(
    claim: Claim | int,
    action: str,
    *,
    by: Any,
    via: Mapping[str, str] | None = None,
    expected_status: str | None = None,
    **details: Any,
) -> Claim:
    """Move `claim` through `action` as `by`; return the saved claim.

    Raises TransitionRefused (and changes nothing) when the state, the actor or a condition does
    not allow it, or when `details` break a rule (missing reason, empty comment …). `via`: see
    `record_event`. `expected_status`: the status the actor saw on their page; when the claim has
    moved on since, the action is refused even if it would be possible again, so nobody decides on
    a page that no longer shows the claim as it is.
    """
    documents = _checked_request(action, details)
    with transaction.atomic():
        locked = _lock_checked(claim, action, by=by, expected_status=expected_status)
        now = timezone.now()
        before, from_status = locked.snapshot(), locked.status
        note = _keep_comment(locked, by=by, details=details, now=now)
        with discarded_on_failure() as stored:
            _store_documents(locked, documents, by=by, now=now, into=stored)
            _apply(locked, action, by=by, now=now, details=details, documents=stored)
            event = _record(
                locked,
                action,
                by=by,
                now=now,
                before=before,
                from_status=from_status,
                documents=stored,
                note=note,
                via=via,
            )
            run_steps(
                StepContext(claim=locked, action=action, by=by, now=now, event_id=event.pk, details=details)
            )
            notifications.after_transition(locked, action, by=by, now=now, note=event.note)
    return locked


def allowed_actions(claim: Claim, by: Any) -> list[str]:
    """The transitions `by` may start on `claim` now (state and permission; conditions are checked on use)."""
    return [
        action
        for action in TRANSITIONS
        if can_proceed(getattr(claim, action), check_conditions=False) and may_start(claim, action, by)
    ]


# -- 1. the request ------------------------------------------------------------------------------


def _checked_request(action: str, details: dict[str, Any]) -> list[UploadedFile]:
    """Refuse a request no claim could accept; take the uploads out of `details` and return them."""
    if action not in TRANSITIONS:
        raise TransitionRefused(_("Unknown action “%(action)s”.") % {"action": action})
    documents: list[UploadedFile] = list(details.pop("documents", None) or ())
    if documents and action not in DOCUMENT_ACTIONS:
        raise TransitionRefused(_("Documents cannot be added with this action."))
    unexpected = set(details) - set(_parameters(action))
    if unexpected:
        raise TypeError(f"{action} takes no {', '.join(sorted(unexpected))}")
    for name in ("comment", "justification"):
        text = details.get(name)
        if text is not None and ("\x00" in str(text) or len(str(text)) > MAX_TEXT):
            raise TransitionRefused(
                _("Keep the text under %(count)s characters, without control characters.")
                % {"count": MAX_TEXT}
            )
    return documents


def _parameters(action: str) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(getattr(Claim, action)).parameters


# -- 2. the locked claim -------------------------------------------------------------------------


def _lock_checked(claim: Claim | int, action: str, *, by: Any, expected_status: str | None) -> Claim:
    """The locked claim, once the actor's page is current, the state allows `action` and `by` may."""
    locked = lock_claim(claim)
    if expected_status is not None and locked.status != expected_status:
        raise TransitionRefused(
            _("Someone changed this claim while you were looking at it: it is now %(status)s.")
            % {"status": locked.get_status_display()}
        )
    if not can_proceed(getattr(locked, action), check_conditions=False):
        label = ClaimEvent.Action(action).label if action in ClaimEvent.Action.values else action
        raise TransitionRefused(
            _("“%(action)s” is not possible while the claim is %(status)s.")
            % {"action": label, "status": locked.get_status_display()}
        )
    if not may_start(locked, action, by):
        raise TransitionRefused(_("You are not allowed to do this on this claim."))
    if locked.status not in Claim.LIVE_STATUSES:
        # The claim comes back to life (a dispute): serialize with the partner's creations and
        # edits, as they are serialized with each other, so the duplicate rule holds.
        lock_partner(locked.partner_id)
    return locked


def may_start(claim: Claim, action: str, by: Any) -> bool:
    """The transition's permission for `by`, from the claim's current state (conditions aside)."""
    found = getattr(Claim, action)._django_fsm.get_transition(claim.status)
    return bool(found and found.has_perm(claim, by))


# -- 3. what the actor brought -------------------------------------------------------------------


def _keep_comment(claim: Claim, *, by: Any, details: Mapping[str, Any], now: dt.datetime) -> str:
    """Keep a person's comment on the claim; return the event's note (the comment or justification)."""
    comment = (details.get("comment") or "").strip()
    if comment and not isinstance(by, Actor):
        Comment.objects.create(
            claim=claim, author=by, author_kind=actor_kind(by), body=comment, created_at=now
        )
    return comment or (details.get("justification") or "").strip()


@contextmanager
def discarded_on_failure() -> Iterator[list[PoeDocument]]:
    """A list for the documents a write stores; their files are deleted if the write fails.

    The rows roll back with the transaction, but files are not in the database: without this, a
    refused or failed write would leave them in storage with nothing pointing at them.
    """
    stored: list[PoeDocument] = []
    try:
        yield stored
    except BaseException:
        for document in stored:
            document.file.storage.delete(document.file.name)
        raise


def _store_documents(
    claim: Claim, uploads: list[UploadedFile], *, by: Any, now: dt.datetime, into: list[PoeDocument]
) -> None:
    for upload in uploads:
        try:
            into.append(store_document(claim, upload, by=by, now=now))
        except ValidationError as exc:
            raise TransitionRefused(" ".join(exc.messages)) from None


# -- 4. apply ------------------------------------------------------------------------------------


def _apply(
    claim: Claim,
    action: str,
    *,
    by: Any,
    now: dt.datetime,
    details: dict[str, Any],
    documents: list[PoeDocument],
) -> None:
    """Call the transition method and save the claim.

    The state machine checks the transition's conditions as it calls the method; this is the one
    place they are evaluated on the way through. State and permission were checked under the lock,
    so a refusal here is a condition's, and it is told in the condition's own words.
    """
    if "documents" in _parameters(action):
        details["documents"] = documents
    try:
        getattr(claim, action)(by=by, now=now, **details)
    except TransitionNotAllowed:
        raise TransitionRefused(
            _failed_condition(claim, action) or _("The conditions for this action are not met.")
        ) from None
    except ClaimRuleError as exc:
        raise TransitionRefused(str(exc)) from None
    claim.save()
    claims_changed([claim.partner_id])


def _failed_condition(claim: Claim, action: str) -> str | None:
    """The refusal of the first condition of `action` that `claim` does not meet, if any."""
    found = getattr(Claim, action)._django_fsm.get_transition(claim.status)
    for condition in found.conditions if found else ():
        if not condition(claim):
            message = getattr(condition, "refusal", _("The conditions for this action are not met."))
            return str(message(claim) if callable(message) else message)
    return None


# -- 5. record -----------------------------------------------------------------------------------


def _record(
    claim: Claim,
    action: str,
    *,
    by: Any,
    now: dt.datetime,
    before: Mapping[str, Any],
    from_status: str,
    documents: list[PoeDocument],
    note: str,
    via: Mapping[str, str] | None,
) -> ClaimEvent:
    after = claim.snapshot()
    diff = field_diff(before, after)
    if records_workloads(from_status):
        # The workloads the decision concerned, kept with it even when they did not change.
        diff["products"] = [before["products"], after["products"]]
    # The reasons a person's transition was made for, as codes the history shows as labels (the
    # system's are in its own words, and its sweeps write the same events in bulk).
    if not isinstance(by, Actor):
        diff.update(_reasons_given(claim, action))
    if documents:
        diff["documents_added"] = [document.original_name for document in documents]
    return record_event(
        claim,
        by=by,
        action=action,
        now=now,
        from_status=from_status,
        to_status=claim.status,
        diff=diff,
        note=note,
        via=via,
    )


def _reasons_given(claim: Claim, action: str) -> dict[str, list[Any]]:
    """The reasons the transition `action` just set on `claim` (a request's, a rejection's)."""
    if claim.status == Claim.Status.PARTNER_ACTION_REQUIRED:
        names: tuple[str, ...] = ("information_request_reasons",)
    elif claim.status == Claim.Status.REJECTED and action != "uphold_rejection":
        names = ("rejection_reason", "rejection_sub_reasons")
    else:
        return {}
    return {name: [None, getattr(claim, name)] for name in names if getattr(claim, name)}
