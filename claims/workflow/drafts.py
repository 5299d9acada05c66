"""A partner's work on a claim outside its state machine: drafts, edits, documents and comments.

Creating a draft, copying a rejected claim into a new one, editing the fields the current state
leaves open, deleting a draft, adding and removing PoE documents, and commenting (partners and
reviewers alike). Each is one transaction that locks what it changes, checks who may, writes the
change and its `ClaimEvent`; a refusal raises `TransitionRefused` and changes nothing.

A new draft comes to be one way only (`_file_draft`), whether typed in or copied: validated like
any new claim, checked against the duplicate rule, recorded as created.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims import notifications
from claims.documents import store_document
from claims.history import STARTED_FROM
from claims.models import (
    Claim,
    ClaimEvent,
    Comment,
    Partner,
    PoeDocument,
    Product,
    is_managing_user,
    membership_of,
)
from claims.workflow.events import actor_kind, claims_changed, field_diff, record_event
from claims.workflow.locks import TransitionRefused, lock_claim, lock_partner
from claims.workflow.registry import tell_listeners
from claims.workflow.transitions import MAX_TEXT, discarded_on_failure


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
        lock_partner(membership.partner_id)
        return _file_draft(
            partner=membership.partner, by=by, fields=fields, products=_products_from(products), via=via
        )


def copy_claim(claim: Claim | int, *, by: Any) -> Claim:
    """Start a new draft from a rejected claim whose dispute window is over (or never opened).

    The copy is a new claim like any other: what no longer passes the rules (a product withdrawn
    from the catalogue since, a duplicate filed since) is refused as it would be on a new claim.
    """
    with transaction.atomic():
        source = lock_claim(claim)
        _require_manager(source, by)
        lock_partner(source.partner_id)
        if not source.may_copy:
            raise TransitionRefused(source.copy_refusal())
        # The partner's reference names the rejected claim in their CRM; the new draft gets its own.
        fields = {
            name: getattr(source, name) for name in Claim.PARTNER_FIELDS - {"products", "external_reference"}
        }
        fields["name"] = (_("%(name)s (new)") % {"name": source.name})[:200]
        return _file_draft(
            partner=source.partner,
            by=by,
            fields=fields,
            products=list(source.products.all()),
            copied_from=source,
        )


def _file_draft(
    *,
    partner: Partner,
    by: Any,
    fields: Mapping[str, Any],
    products: list[Product],
    copied_from: Claim | None = None,
    via: Mapping[str, str] | None = None,
) -> Claim:
    """Validate, save and record a new draft of `partner` (whose row the caller has locked)."""
    now = timezone.now()
    claim = Claim(partner=partner, created_by=by, created_at=now, copied_from=copied_from, **fields)
    _validate(claim, products)
    claim.save()
    claims_changed([claim.partner_id])
    claim.products.set(products)
    _check_duplicates(claim)
    diff = field_diff({}, claim.snapshot())
    note = ""
    if copied_from is not None:
        diff["copied_from"] = [None, copied_from.pk]
        # English, the history's stable key: the page shows it in the reader's language.
        note = STARTED_FROM % {"pk": copied_from.pk}
    record_event(
        claim,
        by=by,
        action=ClaimEvent.Action.CREATE,
        now=now,
        to_status=claim.status,
        diff=diff,
        note=note,
        via=via,
    )
    return claim


def edit_claim(
    claim: Claim | int, *, by: Any, changes: Mapping[str, Any], via: Mapping[str, str] | None = None
) -> Claim:
    """Change partner fields the current state allows; one `edit` event with the field diff."""
    with transaction.atomic():
        locked = lock_claim(claim)
        _require_manager(locked, by)
        lock_partner(locked.partner_id)
        allowed = _editable(locked, changes)
        now = timezone.now()
        before = locked.snapshot()
        products = _products_from(changes["products"]) if "products" in changes else None
        for name, value in changes.items():
            if name != "products":
                setattr(locked, name, value)
        if not locked.takes_subscription_id and "subscription_id" in allowed:
            locked.subscription_id = None
        _validate(locked, products if products is not None else list(locked.products.all()))
        locked.save()
        if products is not None:
            locked.products.set(products)
        _check_duplicates(locked)
        _check_still_submittable(locked)
        diff = field_diff(before, locked.snapshot())
        if diff:
            record_event(locked, by=by, action=ClaimEvent.Action.EDIT, now=now, diff=diff, via=via)
            claims_changed([locked.partner_id])  # the dashboard shows names, customers, products
    return locked


def _editable(claim: Claim, changes: Mapping[str, Any]) -> frozenset[str]:
    """The fields the claim's state leaves open, once every one of `changes` is among them."""
    allowed = claim.editable_fields()
    if not allowed:
        raise TransitionRefused(claim.edit_refusal())
    refused = sorted(set(changes) - allowed)
    if refused:
        raise TransitionRefused(
            _("While the claim is %(status)s these fields cannot be changed: %(names)s.")
            % {"status": claim.get_status_display(), "names": ", ".join(refused)}
        )
    return allowed


def _check_still_submittable(claim: Claim) -> None:
    """What submitting required (products, contacts …) must still hold while the claim is reviewed."""
    if claim.status != Claim.Status.EDITING:
        problems = claim.submission_problems()
        if problems:
            raise ValidationError(problems)


def delete_draft(claim: Claim | int, *, by: Any) -> None:
    with transaction.atomic():
        locked = lock_claim(claim)
        _require_manager(locked, by)
        if not locked.may_delete:
            raise TransitionRefused(locked.delete_refusal())
        stored = [(d.file.storage, d.file.name) for d in locked.documents.all()]
        locked.delete()
        claims_changed([locked.partner_id])
        for storage, name in stored:
            transaction.on_commit(lambda s=storage, n=name: s.delete(n))


def add_document(
    claim: Claim | int, *, by: Any, upload: UploadedFile, via: Mapping[str, str] | None = None
) -> PoeDocument:
    """Store one PoE file (type checked from its bytes) and record the upload."""
    with transaction.atomic():
        locked = lock_claim(claim)
        _require_manager(locked, by)
        if not locked.may_add_documents:
            raise TransitionRefused(
                _("Documents cannot be added while the claim is %(status)s.")
                % {"status": locked.get_status_display()}
            )
        now = timezone.now()
        with discarded_on_failure() as stored:
            document = store_document(locked, upload, by=by, now=now)
            stored.append(document)
            record_event(
                locked,
                by=by,
                action=ClaimEvent.Action.UPLOAD,
                now=now,
                diff={"documents_added": [document.original_name]},
                note=document.original_name,
                via=via,
            )
            claims_changed([locked.partner_id])  # a draft's documents decide whether it is ready
    return document


def remove_document(claim: Claim | int, *, by: Any, document_id: int) -> None:
    with transaction.atomic():
        locked = lock_claim(claim)
        _require_manager(locked, by)
        if not locked.may_remove_documents:
            raise TransitionRefused(locked.document_removal_refusal())
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
        claims_changed([locked.partner_id])
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
    if len(body) > MAX_TEXT:
        raise ValidationError({"body": _("A comment is at most 5,000 characters.")})
    if "\x00" in body:
        raise ValidationError({"body": _("Null characters are not allowed.")})
    with transaction.atomic():
        locked = lock_claim(claim)
        kind = actor_kind(by)
        if kind == ClaimEvent.ActorKind.PARTNER:
            _require_manager(locked, by)
        if not locked.may_comment(kind):
            raise TransitionRefused(locked.comment_refusal(kind))
        partner_visible = Claim.comment_partner_visible(kind, asked=partner_visible)
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
        tell_listeners("comment", claim=locked, comment=comment, now=now)
        if partner_visible:
            claims_changed([locked.partner_id])  # the claim page shows the comment
    return comment


def _require_manager(claim: Claim, by: Any) -> None:
    if not is_managing_user(by, claim.partner_id):
        raise TransitionRefused(_("You are not allowed to change this claim."))


def _products_from(values: Iterable[Product | str]) -> list[Product]:
    """Products given as rows or catalogue codes, each once; an unknown code is a field error."""
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


def _validate(claim: Claim, products: list[Product]) -> None:
    """Model rules plus the product catalogue; raises ValidationError."""
    errors: dict[str, list[str]] = {}
    try:
        claim.full_clean(exclude=["status", "created_by", "copied_from"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    problems = claim.product_problems(products)
    if problems:
        errors.setdefault("products", []).extend(problems)
    if errors:
        raise ValidationError(errors)


def _check_duplicates(claim: Claim) -> None:
    """Refuse the claim as saved if it duplicates a live one (the caller's transaction rolls back)."""
    duplicates = list(claim.duplicates()[:3])
    if duplicates:
        raise ValidationError({"products": Claim.duplicate_message(duplicates)})
