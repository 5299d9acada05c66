"""The one path for every change to a claim.

Whoever acts — a partner view, an admin button, the customer's link, a beat job — calls a function
here. Each runs in one database transaction: lock the claim row, check permission and condition,
change it, save, append a `ClaimEvent`, write the outbox rows. Nothing is sent inside the
transaction; mail leaves after commit (see `cpor.outbox`).

Other apps act inside a transition by registering a step (`register_step`) from their
`AppConfig.ready`; the step runs in the same transaction, after the claim is saved.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm

from claims import notifications
from claims.actors import CUSTOMER, SYSTEM, Actor
from claims.documents import store_document
from claims.history import STARTED_FROM
from claims.models import (
    LEAD_GROUP,
    Claim,
    ClaimEvent,
    ClaimRuleError,
    Comment,
    Partner,
    PoeDocument,
    Product,
    SolutionArea,
    dispute_window_open,
    is_managing_user,
    is_reviewer,
    membership_of,
)
from cpor.bulk import insert_rows

__all__ = [
    "CUSTOMER",
    "SYSTEM",
    "TRANSITIONS",
    "TransitionRefused",
    "add_comment",
    "add_document",
    "copy_claim",
    "create_claim",
    "delete_draft",
    "edit_claim",
    "allowed_actions",
    "assign_reviewer",
    "record_event",
    "register_listener",
    "register_step",
    "remove_document",
    "transition",
]


class TransitionRefused(PermissionDenied):
    """The action is not allowed now; the message says why in words fit to show the user."""


TRANSITIONS: tuple[str, ...] = tuple(
    sorted({t.name for t in Claim._meta.get_field("status").get_all_transitions(Claim)})
)
MAX_TEXT = 5000  # longest comment or justification
# Actions that may bring new PoE documents with them.
DOCUMENT_ACTIONS = frozenset({"resubmit", "dispute"})


@dataclass(frozen=True)
class StepContext:
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
    if all(registered.one is not step for registered in _steps[action]):
        _steps[action].append(_Registered(step, for_many))


# Other apps also hear of changes that are not transitions, inside their transactions:
# "comment" (listener(claim=, comment=, now=)) and "reminder" (listener(claim=, now=)).
LISTENER_KINDS = frozenset({"comment", "reminder"})
_listeners: dict[str, list[_Registered]] = defaultdict(list)


def register_listener(
    kind: str, listener: Callable[..., None], *, for_many: Callable[..., None] | None = None
) -> None:
    """Run `listener` inside the transaction of every change of `kind` (idempotent per listener).

    `for_many(claims=, ...)`, when given, hears one change to each of a batch's claims at once.
    """
    if kind not in LISTENER_KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    if all(registered.one is not listener for registered in _listeners[kind]):
        _listeners[kind].append(_Registered(listener, for_many))


def _tell_listeners(kind: str, **change: Any) -> None:
    for registered in _listeners[kind]:
        registered.one(**change)


def _tell_listeners_many(kind: str, *, claims: Sequence[Claim], **change: Any) -> None:
    """One change of `kind` to each of `claims`: a listener's `for_many(claims=, ...)` when it has one."""
    for registered in _listeners[kind]:
        if registered.many is not None:
            registered.many(claims=claims, **change)
        else:
            for claim in claims:
                registered.one(claim=claim, **change)


def actor_kind(by: Any) -> str:
    if isinstance(by, Actor):
        return ClaimEvent.ActorKind.CUSTOMER if by is CUSTOMER else ClaimEvent.ActorKind.SYSTEM
    if is_reviewer(by):
        return ClaimEvent.ActorKind.REVIEWER
    return ClaimEvent.ActorKind.PARTNER


def _user_or_none(by: Any) -> Any:
    return None if isinstance(by, Actor) or not getattr(by, "is_authenticated", False) else by


def _lock(claim: Claim | int, *, skip_locked: bool = False) -> Claim:
    pk = claim.pk if isinstance(claim, Claim) else claim
    locked = Claim.objects.select_for_update(skip_locked=skip_locked).filter(pk=pk).first()
    if locked is None:
        if skip_locked and Claim.objects.filter(pk=pk).exists():
            raise TransitionRefused(_("Someone else is changing this claim right now."))
        raise TransitionRefused(_("This claim no longer exists."))
    return locked


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {key: [before.get(key), after.get(key)] for key in after if before.get(key) != after.get(key)}


def _reasons_given(claim: Claim, action: str) -> dict[str, list[Any]]:
    """The reasons the transition `action` just set on `claim` (a request's, a rejection's)."""
    if claim.status == Claim.Status.PARTNER_ACTION_REQUIRED:
        names: tuple[str, ...] = ("information_request_reasons",)
    elif claim.status == Claim.Status.REJECTED and action != "uphold_rejection":
        names = ("rejection_reason", "rejection_sub_reasons")
    else:
        return {}
    return {name: [None, getattr(claim, name)] for name in names if getattr(claim, name)}


def record_event(
    claim: Claim,
    *,
    by: Any,
    action: str,
    now: dt.datetime,
    from_status: str = "",
    to_status: str = "",
    diff: Mapping[str, Any] | None = None,
    note: str = "",
    partner_visible: bool = True,
    email_id: int | None = None,
    via: Mapping[str, str] | None = None,
) -> ClaimEvent:
    """Append one event. `via` names the channel a person acted through when it is not the portal
    (the Partner API passes `{"channel": "api", "key": <the key's name>}`); history shows it."""
    diff = dict(diff or {})
    if via:
        diff["via"] = dict(via)
    return ClaimEvent.objects.create(
        claim=claim,
        created_at=now,
        actor_kind=actor_kind(by),
        actor=_user_or_none(by),
        action=action,
        from_status=from_status,
        to_status=to_status,
        diff=diff,
        note=note,
        partner_visible=partner_visible,
        email_id=email_id,
    )


def _failed_condition(claim: Claim, action: str) -> str | None:
    meta = getattr(Claim, action)._django_fsm
    found = meta.get_transition(claim.status)
    for condition in found.conditions if found else ():
        if not condition(claim):
            message = getattr(condition, "refusal", _("The conditions for this action are not met."))
            return str(message(claim) if callable(message) else message)
    return None


def _may(claim: Claim, action: str, by: Any) -> bool:
    meta = getattr(Claim, action)._django_fsm
    found = meta.get_transition(claim.status)
    return bool(found and found.has_perm(claim, by))


def _refuse_state(claim: Claim, action: str) -> TransitionRefused:
    label = ClaimEvent.Action(action).label if action in ClaimEvent.Action.values else action
    return TransitionRefused(
        _("“%(action)s” is not possible while the claim is %(status)s.")
        % {"action": label, "status": claim.get_status_display()}
    )


def _refuse_stale(claim: Claim) -> TransitionRefused:
    return TransitionRefused(
        _("Someone changed this claim while you were looking at it: it is now %(status)s.")
        % {"status": claim.get_status_display()}
    )


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
    return _transition(
        claim, action, by=by, details=details, skip_locked=False, via=via, expected_status=expected_status
    )


def _transition(
    claim: Claim | int,
    action: str,
    *,
    by: Any,
    details: dict[str, Any],
    skip_locked: bool,
    via: Mapping[str, str] | None = None,
    expected_status: str | None = None,
) -> Claim:
    if action not in TRANSITIONS:
        raise TransitionRefused(_("Unknown action “%(action)s”.") % {"action": action})
    method_params = inspect.signature(getattr(Claim, action)).parameters
    documents: list[UploadedFile] = list(details.pop("documents", None) or ())
    if documents and action not in DOCUMENT_ACTIONS:
        raise TransitionRefused(_("Documents cannot be added with this action."))
    unexpected = set(details) - set(method_params)
    if unexpected:
        raise TypeError(f"{action} takes no {', '.join(sorted(unexpected))}")
    for name in ("comment", "justification"):
        text = details.get(name)
        if text is not None and ("\x00" in str(text) or len(str(text)) > MAX_TEXT):
            raise TransitionRefused(
                _("Keep the text under %(count)s characters, without control characters.")
                % {"count": MAX_TEXT}
            )

    with transaction.atomic():
        locked = _lock(claim, skip_locked=skip_locked)
        if expected_status is not None and locked.status != expected_status:
            raise _refuse_stale(locked)
        method = getattr(locked, action)
        if not can_proceed(method, check_conditions=False):
            raise _refuse_state(locked, action)
        if not _may(locked, action, by):
            raise TransitionRefused(_("You are not allowed to do this on this claim."))
        if locked.status not in Claim.LIVE_STATUSES:
            # The claim comes back to life (a dispute): serialize with the partner's creations and
            # edits, as they are serialized with each other, so the duplicate rule holds.
            _lock_partner(locked.partner_id)
        now = timezone.now()
        before = locked.snapshot()
        from_status = locked.status
        comment = (details.get("comment") or "").strip()
        if comment and not isinstance(by, Actor):
            Comment.objects.create(
                claim=locked, author=by, author_kind=actor_kind(by), body=comment, created_at=now
            )
        stored: list[PoeDocument] = []
        try:
            for upload in documents:
                try:
                    stored.append(store_document(locked, upload, by=by, now=now))
                except ValidationError as exc:
                    raise TransitionRefused(" ".join(exc.messages)) from None
            refusal = _failed_condition(locked, action)
            if refusal:
                raise TransitionRefused(refusal)
            if not has_transition_perm(method, by):
                raise TransitionRefused(_("You are not allowed to do this on this claim."))
            if "documents" in method_params:
                details["documents"] = stored
            try:
                method(by=by, now=now, **details)
            except ClaimRuleError as exc:
                raise TransitionRefused(str(exc)) from None
            except TransitionNotAllowed:
                # A clock-bound condition turned between the check above and the call (a window that
                # closed in that instant): refuse with the condition's own words.
                raise TransitionRefused(
                    _failed_condition(locked, action) or _("The conditions for this action are not met.")
                ) from None
            locked.save()
            _claims_changed([locked.partner_id])
            diff = _diff(before, locked.snapshot())
            # The reasons a person's transition was made for, as codes the history shows as labels
            # (the system's are in its own words, and its sweeps write the same events in bulk).
            if not isinstance(by, Actor):
                diff.update(_reasons_given(locked, action))
            if stored:
                diff["documents_added"] = [doc.original_name for doc in stored]
            event = record_event(
                locked,
                by=by,
                action=action,
                now=now,
                from_status=from_status,
                to_status=locked.status,
                diff=diff,
                note=comment or (details.get("justification") or "").strip(),
                via=via,
            )
            context = StepContext(
                claim=locked, action=action, by=by, now=now, event_id=event.pk, details=details
            )
            for registered in _steps[action]:
                registered.one(context)
            notifications.after_transition(locked, action, by=by, now=now, note=event.note)
        except BaseException:
            # The rows roll back with the transaction; the files written for them must go too.
            for document in stored:
                document.file.storage.delete(document.file.name)
            raise
    return locked


# ---------------------------------------------------------------------------------------------
# Partner edits, documents and comments


def _require_manager(claim: Claim, by: Any) -> None:
    if not is_managing_user(by, claim.partner_id):
        raise TransitionRefused(_("You are not allowed to change this claim."))


def _products_from(values: Iterable[Product | str]) -> list[Product]:
    values = list(values)
    codes = [v for v in values if isinstance(v, str)]
    products = [v for v in values if isinstance(v, Product)]
    if codes:
        found = {p.code: p for p in Product.objects.filter(code__in=codes)}
        unknown = sorted(set(codes) - set(found))
        if unknown:
            raise ValidationError(
                {"products": _("Unknown product codes: %(codes)s.") % {"codes": ", ".join(unknown)}}
            )
        products += found.values()
    return list({p.pk: p for p in products}.values())


def _validate(claim: Claim, products: list[Product] | None) -> None:
    """Model rules plus the product catalogue and the duplicate rule; raises ValidationError."""
    errors: dict[str, list[str]] = {}
    try:
        claim.full_clean(exclude=["status", "created_by", "copied_from"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if products is not None:
        problems = claim.product_problems(products)
        if problems:
            errors.setdefault("products", []).extend(problems)
    if errors:
        raise ValidationError(errors)


def _claims_changed(partner_ids: Iterable[int]) -> None:
    """Bump the partners' claims version (in the caller's transaction): their cached counts are stale."""
    Partner.objects.filter(pk__in=set(partner_ids)).update(claims_version=F("claims_version") + 1)


def _lock_partner(partner_id: int) -> None:
    """Serialize a partner's claim creations and edits, so two at once cannot both pass the duplicate rule."""
    Partner.objects.select_for_update().filter(pk=partner_id).first()


def _check_duplicates(claim: Claim) -> None:
    duplicates = list(claim.duplicates()[:3])
    if duplicates:
        names = ", ".join(f"“{c.name}” (#{c.pk})" for c in duplicates)
        raise ValidationError(
            {
                "products": _(
                    "You already have a live claim for this customer, activity and product: %(names)s."
                )
                % {"names": names}
            }
        )


def create_claim(
    *,
    by: Any,
    fields: Mapping[str, Any],
    products: Iterable[Product | str] = (),
    via: Mapping[str, str] | None = None,
) -> Claim:
    """Create a draft (`editing`) claim for the acting user's partner."""
    membership = membership_of(by)
    if membership is None or not membership.can_manage_claims:
        raise TransitionRefused(
            _("Only your organization's Global, Billing or Incentives admins can create claims.")
        )
    unknown = set(fields) - (Claim.PARTNER_FIELDS - {"products"})
    if unknown:
        raise ValidationError(
            _("These fields cannot be set: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    with transaction.atomic():
        _lock_partner(membership.partner_id)
        now = timezone.now()
        claim = Claim(partner=membership.partner, created_by=by, created_at=now, **fields)
        chosen = _products_from(products)
        _validate(claim, chosen)
        claim.save()
        _claims_changed([claim.partner_id])
        claim.products.set(chosen)
        _check_duplicates(claim)
        record_event(
            claim,
            by=by,
            action=ClaimEvent.Action.CREATE,
            now=now,
            to_status=claim.status,
            diff=_diff({}, claim.snapshot()),
            via=via,
        )
    return claim


def edit_claim(
    claim: Claim | int, *, by: Any, changes: Mapping[str, Any], via: Mapping[str, str] | None = None
) -> Claim:
    """Change partner fields the current state allows; one `edit` event with the field diff."""
    with transaction.atomic():
        locked = _lock(claim)
        _require_manager(locked, by)
        _lock_partner(locked.partner_id)
        allowed = locked.editable_fields()
        if not allowed:
            raise TransitionRefused(
                _("A claim that is %(status)s cannot be edited.") % {"status": locked.get_status_display()}
            )
        refused = sorted(set(changes) - allowed)
        if refused:
            raise TransitionRefused(
                _("While the claim is %(status)s these fields cannot be changed: %(names)s.")
                % {"status": locked.get_status_display(), "names": ", ".join(refused)}
            )
        now = timezone.now()
        before = locked.snapshot()
        products = _products_from(changes["products"]) if "products" in changes else None
        for name, value in changes.items():
            if name != "products":
                setattr(locked, name, value)
        if locked.solution_area != SolutionArea.BUSINESS_APPLICATIONS and "subscription_id" in allowed:
            locked.subscription_id = None  # a subscription ID belongs to Business Applications only
        _validate(locked, products if products is not None else list(locked.products.all()))
        locked.save()
        if products is not None:
            locked.products.set(products)
        _check_duplicates(locked)
        if locked.status != Claim.Status.EDITING:
            # What submitting required (products, contacts …) must still hold while it is reviewed.
            problems = locked.submission_problems()
            if problems:
                raise ValidationError(problems)
        diff = _diff(before, locked.snapshot())
        if diff:
            record_event(locked, by=by, action=ClaimEvent.Action.EDIT, now=now, diff=diff, via=via)
    return locked


def add_document(
    claim: Claim | int, *, by: Any, upload: UploadedFile, via: Mapping[str, str] | None = None
) -> PoeDocument:
    """Store one PoE file (type checked from its bytes) and record the upload."""
    with transaction.atomic():
        locked = _lock(claim)
        _require_manager(locked, by)
        if not locked.may_add_documents:
            raise TransitionRefused(
                _("Documents cannot be added while the claim is %(status)s.")
                % {"status": locked.get_status_display()}
            )
        now = timezone.now()
        document = store_document(locked, upload, by=by, now=now)
        try:
            record_event(
                locked,
                by=by,
                action=ClaimEvent.Action.UPLOAD,
                now=now,
                diff={"documents_added": [document.original_name]},
                note=document.original_name,
                via=via,
            )
        except BaseException:
            # The row rolls back with the transaction; the stored file must go too.
            document.file.storage.delete(document.file.name)
            raise
    return document


def remove_document(claim: Claim | int, *, by: Any, document_id: int) -> None:
    with transaction.atomic():
        locked = _lock(claim)
        _require_manager(locked, by)
        if locked.status != Claim.Status.EDITING:
            raise TransitionRefused(_("Documents can be removed only while the claim is a draft."))
        document = locked.documents.filter(pk=document_id).first()
        if document is None:
            raise TransitionRefused(_("That document is not part of this claim."))
        name = document.original_name
        stored_name = document.file.name
        storage = document.file.storage
        document.delete()
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.REMOVE_DOCUMENT,
            now=timezone.now(),
            diff={"documents_removed": [name]},
            note=name,
        )
        transaction.on_commit(lambda: storage.delete(stored_name))


def add_comment(
    claim: Claim | int,
    *,
    by: Any,
    body: str,
    partner_visible: bool = True,
    via: Mapping[str, str] | None = None,
) -> Comment:
    """A partner reply (always partner-visible) or a reviewer comment or internal note."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write a comment first.")})
    if len(body) > 5000:
        raise ValidationError({"body": _("A comment is at most 5,000 characters.")})
    if "\x00" in body:
        raise ValidationError({"body": _("Null characters are not allowed.")})
    with transaction.atomic():
        locked = _lock(claim)
        kind = actor_kind(by)
        if kind == ClaimEvent.ActorKind.PARTNER:
            _require_manager(locked, by)
            if locked.status == Claim.Status.EDITING:
                raise TransitionRefused(_("Comments open once the claim is submitted."))
            partner_visible = True
        elif kind == ClaimEvent.ActorKind.REVIEWER:
            if locked.status == Claim.Status.EDITING:
                raise TransitionRefused(_("A draft is not in review yet; comment once it is submitted."))
        else:
            raise TransitionRefused(_("You are not allowed to comment on this claim."))
        now = timezone.now()
        comment = Comment.objects.create(
            claim=locked,
            author=by,
            author_kind=kind,
            body=body,
            partner_visible=partner_visible,
            created_at=now,
        )
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.COMMENT,
            now=now,
            note=body,
            partner_visible=partner_visible,
            via=via,
        )
        notifications.after_comment(locked, comment, now=now)
        _tell_listeners("comment", claim=locked, comment=comment, now=now)
    return comment


def delete_draft(claim: Claim | int, *, by: Any) -> None:
    with transaction.atomic():
        locked = _lock(claim)
        _require_manager(locked, by)
        if locked.status != Claim.Status.EDITING:
            raise TransitionRefused(_("Only a draft can be deleted; withdraw a submitted claim instead."))
        stored = [(d.file.storage, d.file.name) for d in locked.documents.all()]
        locked.delete()
        _claims_changed([locked.partner_id])
        for storage, name in stored:
            transaction.on_commit(lambda s=storage, n=name: s.delete(n))


def copy_claim(claim: Claim | int, *, by: Any) -> Claim:
    """Start a new draft from a rejected claim whose dispute window is over (or never opened)."""
    with transaction.atomic():
        source = _lock(claim)
        _require_manager(source, by)
        _lock_partner(source.partner_id)
        if source.status != Claim.Status.REJECTED or dispute_window_open(source):
            raise TransitionRefused(
                _("A new claim can be started from a rejected claim once it can no longer be disputed.")
            )
        # The partner's reference names the rejected claim in their CRM; the new draft gets its own.
        fields = {
            name: getattr(source, name) for name in Claim.PARTNER_FIELDS - {"products", "external_reference"}
        }
        fields["name"] = (_("%(name)s (new)") % {"name": source.name})[:200]
        now = timezone.now()
        copy = Claim(partner=source.partner, created_by=by, created_at=now, copied_from=source, **fields)
        copy.save()
        _claims_changed([copy.partner_id])
        copy.products.set(source.products.all())
        _check_duplicates(copy)
        record_event(
            copy,
            by=by,
            action=ClaimEvent.Action.CREATE,
            now=now,
            to_status=copy.status,
            diff={**_diff({}, copy.snapshot()), "copied_from": [None, source.pk]},
            # English, the history's stable key: the page shows it in the reader's language.
            note=STARTED_FROM % {"pk": source.pk},
        )
    return copy


# What a beat sweep loads of each claim: what conditions, steps and mail read. The transition sets
# what it changes; those columns are written whether they were loaded or not.
SWEEP_FIELDS = ("id", "status", "partner_id", "activity", "name", "partner_contact_email")
SWEEP_TRACKED = frozenset(
    f.attname for f in Claim._meta.concrete_fields if not f.primary_key and f.attname != "updated_at"
)


def sweep_due(*, action: str, status: str, deadline_field: str, batch_size: int = 1000) -> int:
    """Move every claim in `status` whose `deadline_field` has passed through `action` as the system.

    Set-based, one transaction per batch: lock a batch of due claims (`skip_locked`, so a claim a
    partner or another job is changing right now is left for the next run), run the FSM transition
    on each in memory (state, condition and permission checked exactly as on the one path), then
    write the batch's changes, one `ClaimEvent` per claim, the registered steps and the outbox rows
    with a constant number of statements. A crash rolls the whole batch back: each claim is fully
    moved or untouched. Running twice, or in two processes at once, moves nothing twice.
    """
    moved = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            # Walk on by id from the last batch (keyset): no batch sorts or rescans what the earlier
            # ones took, and a claim skipped for a lock waits for the next run.
            batch = _partial_claims(
                Claim.objects.filter(status=status, **{f"{deadline_field}__lte": now}, pk__gt=last_pk)
                .select_for_update(skip_locked=True)
                .order_by("pk")[:batch_size],
                (*SWEEP_FIELDS, deadline_field),
            )
            if batch:
                last_pk = batch[-1].pk
            partners = Partner.objects.in_bulk({claim.partner_id for claim in batch})
            for claim in batch:
                claim.partner = partners[claim.partner_id]
            moved_now = _move_batch(batch, action, now=now)
        moved += moved_now
        if len(batch) < batch_size:
            return moved


def _partial_claims(queryset: QuerySet[Claim], names: tuple[str, ...]) -> list[Claim]:
    """The claims of `queryset` holding only the columns `names` (attnames), as `.only()` gives.

    `.only()` builds each instance through `Model.__init__`, which walks every concrete field of
    the claim (about 12 µs a claim: over a second of a 100,000-claim sweep). An instance loaded from
    part of a row is its `ModelState` and the loaded values in `__dict__`; the other columns load on
    access, as deferred ones do. That is built here directly from the rows. While anything listens
    to the init signals of Claim, the ordinary path runs, so no receiver is skipped.
    """
    if pre_init.has_listeners(Claim) or post_init.has_listeners(Claim):
        return list(queryset.only(*names))
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
    moved: list[tuple[Claim, str]] = []
    changed: set[str] = set()
    for claim in batch:
        method = getattr(claim, action)
        if not has_transition_perm(method, SYSTEM):
            continue
        # Only the columns a sweep reads were loaded; a column the transition sets lands in __dict__.
        before = dict(claim.__dict__)
        from_status = claim.status
        try:
            method(by=SYSTEM, now=now)
        except TransitionNotAllowed:  # a clock-bound condition turned since the check: next run
            continue
        changed |= {
            name
            for name, value in claim.__dict__.items()
            if name in SWEEP_TRACKED and (name not in before or before[name] != value)
        }
        moved.append((claim, from_status))
    if not moved:
        return 0
    claims = [claim for claim, _ in moved]
    _claims_changed(claim.partner_id for claim in claims)
    values = {name: getattr(claims[0], name) for name in changed}
    if all(getattr(claim, name) == value for claim in claims for name, value in values.items()):
        # The transition set the same values on every claim (they depend only on `now`): one UPDATE.
        # The rows are locked above, so this is not a blind write.
        Claim.objects.filter(pk__in=[c.pk for c in claims]).update(**values, updated_at=now)
    else:
        for claim in claims:
            claim.updated_at = now
        Claim.objects.bulk_update(claims, [*changed, "updated_at"])
    rows = [
        {
            "claim_id": claim.pk,
            "created_at": now,
            "actor_kind": ClaimEvent.ActorKind.SYSTEM,
            "actor_id": None,
            "action": action,
            "from_status": from_status,
            "to_status": claim.status,
            "diff": {"status": [from_status, claim.status]},
            "note": "",
            "partner_visible": True,
            "email_id": None,
        }
        for claim, from_status in moved
    ]
    event_ids = insert_rows(ClaimEvent, rows)
    contexts = [
        StepContext(claim=claim, action=action, by=SYSTEM, now=now, event_id=event_id)
        for claim, event_id in zip(claims, event_ids, strict=True)
    ]
    for registered in _steps[action]:
        if registered.many is not None:
            registered.many(contexts)
        else:
            for context in contexts:
                registered.one(context)
    managers = notifications.managing_emails(claim.partner_id for claim in claims)
    notifications.write(
        [planned for claim in claims for planned in notifications.plan(claim, action, managers=managers)],
        now=now,
    )
    return len(moved)


def send_due_reminders(*, batch_size: int = 500) -> int:
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
            .values_list("pk", flat=True)[:batch_size]
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
                _tell_listeners_many("reminder", claims=reminded, now=now)
            sent += len(reminded)
        last_pk = due[-1]


def allowed_actions(claim: Claim, by: Any) -> list[str]:
    """The transitions `by` may start on `claim` now (state and permission; conditions are checked on use)."""
    return [
        action
        for action in TRANSITIONS
        if can_proceed(getattr(claim, action), check_conditions=False) and _may(claim, action, by)
    ]


def is_lead(user: Any) -> bool:
    return is_reviewer(user) and LEAD_GROUP in user._cpor_group_names


def assign_reviewer(claim: Claim | int, *, by: Any, to: Any) -> Claim:
    """Assign a claim under review to a reviewer: anyone to themself, review leads to anyone."""
    if not is_reviewer(by):
        raise TransitionRefused(_("Only reviewers can assign claims."))
    if to is not None and not is_reviewer(to):
        raise TransitionRefused(_("Claims can be assigned to reviewers only."))
    if (to is None or to.pk != by.pk) and not is_lead(by):
        raise TransitionRefused(_("Only review leads assign claims to other reviewers."))
    with transaction.atomic():
        locked = _lock(claim)
        if locked.status in (Claim.Status.EDITING, Claim.Status.REJECTED, Claim.Status.ASSOCIATED):
            raise TransitionRefused(
                _("A claim that is %(status)s has no reviewer to assign.")
                % {"status": locked.get_status_display()}
            )
        before = locked.assigned_reviewer.email if locked.assigned_reviewer else None
        after = to.email if to is not None else None
        if before == after:
            return locked
        locked.assigned_reviewer = to
        locked.save(update_fields=["assigned_reviewer", "updated_at"])
        record_event(
            locked,
            by=by,
            action=ClaimEvent.Action.ASSIGN,
            now=timezone.now(),
            diff={"assigned_reviewer": [before, after]},
            partner_visible=False,
        )
    return locked
