"""What a partner may change, in which state, and the history every change leaves (docs/design.md, "Editing").

Each rule is tried allowed and refused, for the claim's managing users, a read-only member, a user of
another partner and a reviewer; every test checks the stored rows, not only the exception.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment, Membership, PoeDocument
from claims.workflow import SYSTEM, TransitionRefused
from cpor.models import OutboundEmail
from tests.factories import (
    MpnFactory,
    PartnerFactory,
    addresses,
    claim_in,
    draft,
    manager_of,
    partner_user,
    pdf_upload,
    png_upload,
    reviewer,
)

pytestmark = pytest.mark.django_db

S = Claim.Status
AFTER_SUBMIT_STATES = [S.SUBMITTED, S.PARTNER_ACTION_REQUIRED]
CLOSED_STATES = [S.UNDER_REVIEW, S.APPROVED, S.ASSOCIATED, S.REJECTED, S.DISPUTED]
FROZEN_AFTER_SUBMIT = sorted(Claim.PARTNER_FIELDS - Claim.EDITABLE_AFTER_SUBMIT)


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def make_claim(status: str, **kwargs: Any) -> Claim:
    """`claim_in`, plus `associated`, which needs the opt-out window to pass."""
    if status != S.ASSOCIATED:
        return claim_in(status, **kwargs)
    claim = claim_in(S.APPROVED, **kwargs)
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(minutes=1), tick=False):
        claim = workflow.transition(claim, "close_consent_window", by=SYSTEM)
    assert claim.status == S.ASSOCIATED
    return claim


def edit_events(claim: Claim) -> list[ClaimEvent]:
    return list(ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.EDIT))


def stored_values(claim: Claim) -> dict[str, Any]:
    fresh = Claim.objects.get(pk=claim.pk)
    values = {
        name: getattr(fresh, Claim._meta.get_field(name).attname)
        for name in Claim.PARTNER_FIELDS - {"products"}
    }
    values["products"] = sorted(fresh.products.values_list("code", flat=True))
    values["status"] = fresh.status
    return values


# ---------------------------------------------------------------------------------------------
# Which fields, in which state


def test_in_editing_every_partner_field_is_editable_and_one_event_holds_the_whole_diff() -> None:
    claim = draft(activity="presales", subscription_id=uuid.uuid4())
    manager = manager_of(claim)
    other_mpn = MpnFactory(partner=claim.partner)
    new_tenant = uuid.uuid4()
    changes: dict[str, Any] = {
        "name": "Teams roll-out",
        "mpn": other_mpn,
        "solution_area": "microsoft_365",
        "activity": "usage",
        "customer_name": "Northwind Holdings",
        "customer_domain": "northwind-holdings.example",
        "customer_tenant_id": new_tenant,
        "subscription_id": None,
        "products": ["m365-teams", "m365-exchange-online"],
        "customer_contact_name": "Nora North",
        "customer_contact_title": "CTO",
        "customer_contact_email": "nora@northwind.example",
        "customer_contact_language": "tr",
        "technical_contact_name": "Tina Tech",
        "technical_contact_email": "tina@northwind.example",
        "technical_contact_phone": "+90 212 555 0101",
        "partner_contact_name": "Peter Partner",
        "partner_contact_email": "peter@partner.example",
        "partner_contact_phone": "+1 425 555 0100",
        "work_description": "Moved 300 users to Teams and trained the champions.",
        "external_reference": "CRM-0042",
    }
    # The test must cover every partner field: a new one has to be added here.
    assert set(changes) == Claim.PARTNER_FIELDS
    old_subscription = str(claim.subscription_id)
    old_mpn = claim.mpn.number

    workflow.edit_claim(claim, by=manager, changes=changes)

    fresh = Claim.objects.get(pk=claim.pk)
    assert fresh.status == S.EDITING
    assert fresh.name == "Teams roll-out"
    assert fresh.mpn == other_mpn
    assert fresh.solution_area == "microsoft_365"
    assert fresh.activity == "usage"
    assert fresh.external_reference == "CRM-0042"
    assert fresh.customer_tenant_id == new_tenant
    assert fresh.subscription_id is None
    assert fresh.customer_contact_language == "tr"
    assert fresh.work_description == changes["work_description"]
    assert sorted(fresh.products.values_list("code", flat=True)) == ["m365-exchange-online", "m365-teams"]
    (event,) = edit_events(claim)
    assert set(event.diff) == Claim.PARTNER_FIELDS
    assert event.diff["name"] == ["Sales rollout", "Teams roll-out"]
    assert event.diff["mpn"] == [old_mpn, other_mpn.number]  # MPN numbers, not database ids
    assert event.diff["activity"] == ["presales", "usage"]
    assert event.diff["subscription_id"] == [old_subscription, None]
    assert event.diff["customer_tenant_id"][1] == str(new_tenant)
    assert event.diff["products"] == [["d365-sales"], ["m365-exchange-online", "m365-teams"]]
    assert event.actor == manager
    assert event.actor_kind == ClaimEvent.ActorKind.PARTNER
    assert event.partner_visible is True


def _after_submit_value(claim: Claim, field: str) -> tuple[Any, list[Any]]:
    """A valid new value for `field` and the diff entry it must leave."""
    if field == "mpn":
        mpn = MpnFactory(partner=claim.partner)
        return mpn, [claim.mpn.number, mpn.number]
    if field == "products":
        return ["power-apps", "d365-sales"], [["d365-sales"], ["d365-sales", "power-apps"]]
    new = {
        "customer_contact_name": "Nora North",
        "customer_contact_title": "CTO",
        "customer_contact_email": "nora@northwind.example",
        "customer_contact_language": "tr",
        "technical_contact_name": "Tina Tech",
        "technical_contact_email": "tina@northwind.example",
        "technical_contact_phone": "+90 212 555 0101",
        "partner_contact_name": "Peter Partner",
        "partner_contact_email": "peter@partner.example",
        "partner_contact_phone": "+1 425 555 0100",
        "external_reference": "CRM-0042",
    }[field]
    return new, [getattr(claim, field), new]


@pytest.mark.parametrize("status", AFTER_SUBMIT_STATES)
@pytest.mark.parametrize("field", sorted(Claim.EDITABLE_AFTER_SUBMIT))
def test_after_submit_mpn_products_and_contacts_stay_editable(status: str, field: str) -> None:
    claim = claim_in(status)
    value, expected_diff = _after_submit_value(claim, field)
    before = stored_values(claim)

    workflow.edit_claim(claim, by=manager_of(claim), changes={field: value})

    after = stored_values(claim)
    assert after["status"] == status
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {field}
    (event,) = edit_events(claim)
    assert event.diff == {field: expected_diff}
    assert event.from_status == "" and event.to_status == ""


@pytest.mark.parametrize("status", AFTER_SUBMIT_STATES)
@pytest.mark.parametrize("field", FROZEN_AFTER_SUBMIT)
def test_after_submit_other_fields_are_refused_by_name(status: str, field: str) -> None:
    claim = claim_in(status)
    before = stored_values(claim)
    value = {
        "name": "Renamed",
        "solution_area": "microsoft_365",
        "activity": "presales",
        "customer_name": "Someone Else",
        "customer_domain": "someone-else.example",
        "customer_tenant_id": uuid.uuid4(),
        "subscription_id": uuid.uuid4(),
        "work_description": "Something else entirely.",
    }[field]

    with pytest.raises(TransitionRefused) as refused:
        workflow.edit_claim(claim, by=manager_of(claim), changes={field: value})

    assert field in str(refused.value)
    assert stored_values(claim) == before
    assert edit_events(claim) == []


@pytest.mark.parametrize("status", AFTER_SUBMIT_STATES)
def test_a_mixed_edit_after_submit_is_refused_whole_and_names_only_the_frozen_fields(status: str) -> None:
    claim = claim_in(status)
    before = stored_values(claim)

    with pytest.raises(TransitionRefused) as refused:
        workflow.edit_claim(
            claim,
            by=manager_of(claim),
            changes={
                "customer_contact_name": "Nora North",
                "customer_name": "Other Customer",
                "work_description": "Rewritten",
            },
        )

    message = str(refused.value)
    assert "customer_name" in message and "work_description" in message
    assert "customer_contact_name" not in message
    assert stored_values(claim) == before
    assert edit_events(claim) == []


@pytest.mark.parametrize("status", CLOSED_STATES)
@pytest.mark.parametrize("field", ["customer_contact_name", "products", "name"])
def test_in_every_other_state_no_field_is_editable(status: str, field: str) -> None:
    claim = make_claim(status)
    before = stored_values(claim)
    value = {"customer_contact_name": "Nora North", "products": ["power-apps"], "name": "Renamed"}[field]

    with pytest.raises(TransitionRefused, match="cannot be edited"):
        workflow.edit_claim(claim, by=manager_of(claim), changes={field: value})

    assert stored_values(claim) == before
    assert edit_events(claim) == []


@pytest.mark.parametrize("status", [S.EDITING, S.SUBMITTED])
def test_non_partner_fields_are_never_editable(status: str) -> None:
    claim = claim_in(status)
    before = stored_values(claim)

    with pytest.raises(TransitionRefused) as refused:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"status": S.APPROVED})

    assert "status" in str(refused.value)
    assert stored_values(claim) == before


# ---------------------------------------------------------------------------------------------
# The history of edits


@pytest.mark.parametrize("status", [S.EDITING, S.SUBMITTED, S.PARTNER_ACTION_REQUIRED])
def test_an_edit_that_changes_nothing_writes_no_event(status: str) -> None:
    claim = claim_in(status)
    events_before = ClaimEvent.objects.filter(claim=claim).count()

    workflow.edit_claim(
        claim,
        by=manager_of(claim),
        changes={"customer_contact_name": claim.customer_contact_name, "products": ["d365-sales"]},
    )

    assert ClaimEvent.objects.filter(claim=claim).count() == events_before


def test_products_in_another_order_are_no_change() -> None:
    claim = draft(products=("power-apps", "d365-sales"))

    workflow.edit_claim(claim, by=manager_of(claim), changes={"products": ["d365-sales", "power-apps"]})

    assert edit_events(claim) == []


def test_each_edit_is_its_own_event_in_order() -> None:
    claim = claim_in(S.SUBMITTED)
    manager = manager_of(claim)

    workflow.edit_claim(claim, by=manager, changes={"customer_contact_title": "CTO"})
    workflow.edit_claim(claim, by=manager, changes={"products": ["d365-sales", "d365-finance"]})

    first, second = edit_events(claim)
    assert first.diff == {"customer_contact_title": ["CIO", "CTO"]}
    assert second.diff == {"products": [["d365-sales"], ["d365-finance", "d365-sales"]]}


# ---------------------------------------------------------------------------------------------
# Who may edit


@pytest.mark.parametrize("role", sorted(Membership.MANAGING_ROLES))
def test_every_managing_role_of_the_partner_may_edit(role: str) -> None:
    claim = draft()
    user = partner_user(claim.partner, role=role)

    workflow.edit_claim(claim, by=user, changes={"name": f"Edited by {role}"})

    assert Claim.objects.get(pk=claim.pk).name == f"Edited by {role}"
    (event,) = edit_events(claim)
    assert event.actor == user


@pytest.mark.parametrize("who", ["read_only_member", "other_partner_admin", "reviewer", "inactive_admin"])
@pytest.mark.parametrize("status", [S.EDITING, S.SUBMITTED])
def test_only_the_partners_managing_users_may_edit(who: str, status: str) -> None:
    claim = claim_in(status)
    user = {
        "read_only_member": lambda: partner_user(claim.partner, role=Membership.Role.MEMBER),
        "other_partner_admin": lambda: partner_user(PartnerFactory(), role=Membership.Role.GLOBAL_ADMIN),
        "reviewer": lambda: reviewer(),
        "inactive_admin": lambda: partner_user(claim.partner, is_active=False),
    }[who]()
    before = stored_values(claim)

    with pytest.raises(TransitionRefused):
        workflow.edit_claim(claim, by=user, changes={"customer_contact_name": "Mallory"})

    assert stored_values(claim) == before
    assert edit_events(claim) == []


@pytest.mark.parametrize("status", [S.EDITING, S.SUBMITTED])
def test_the_mpn_must_be_one_of_the_partners_own(status: str) -> None:
    claim = claim_in(status)
    foreign_mpn = MpnFactory(partner=PartnerFactory())
    before = stored_values(claim)

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"mpn": foreign_mpn})

    assert "mpn" in invalid.value.message_dict
    assert stored_values(claim) == before
    assert edit_events(claim) == []


def test_an_invalid_edit_in_editing_changes_nothing() -> None:
    claim = draft()
    before = stored_values(claim)

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(
            claim, by=manager_of(claim), changes={"name": "Renamed", "customer_contact_email": "not an email"}
        )

    assert "customer_contact_email" in invalid.value.message_dict
    assert stored_values(claim) == before
    assert edit_events(claim) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"products": []},
        {"customer_contact_email": ""},
        {"partner_contact_name": ""},
        {"technical_contact_email": ""},
    ],
    ids=["no products", "no customer email", "no partner contact", "no technical contact for D365"],
)
@pytest.mark.parametrize("status", AFTER_SUBMIT_STATES)
def test_after_submit_an_edit_cannot_undo_what_submitting_required(
    status: str, changes: dict[str, Any]
) -> None:
    # The customer's consent notice goes to the customer contact; the reviewer judges the products.
    claim = claim_in(status)
    before = stored_values(claim)

    with pytest.raises(ValidationError):
        workflow.edit_claim(claim, by=manager_of(claim), changes=changes)

    assert stored_values(claim) == before
    assert edit_events(claim) == []


# ---------------------------------------------------------------------------------------------
# PoE documents


@pytest.mark.parametrize("status", [S.EDITING, S.SUBMITTED, S.PARTNER_ACTION_REQUIRED])
def test_documents_can_be_added_while_editing_submitted_or_answering(status: str, poe_folder: Path) -> None:
    claim = claim_in(status)
    manager = manager_of(claim)
    files_before = len(stored_files(poe_folder))

    document = workflow.add_document(claim, by=manager, upload=png_upload("screenshot.png"))

    assert claim.documents.count() == 2
    assert document.kind == PoeDocument.Kind.PNG
    assert document.original_name == "screenshot.png"
    assert document.uploaded_by == manager
    assert len(stored_files(poe_folder)) == files_before + 1
    event = ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.UPLOAD).latest("id")
    assert event.actor == manager
    assert event.diff == {"documents_added": ["screenshot.png"]}
    assert Claim.objects.get(pk=claim.pk).status == status


@pytest.mark.parametrize("status", CLOSED_STATES)
def test_documents_cannot_be_added_in_other_states(status: str, poe_folder: Path) -> None:
    claim = make_claim(status)
    files_before = stored_files(poe_folder)
    uploads_before = ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.UPLOAD).count()

    with pytest.raises(TransitionRefused):
        workflow.add_document(claim, by=manager_of(claim), upload=pdf_upload("late.pdf"))

    assert claim.documents.count() == 1
    assert stored_files(poe_folder) == files_before
    assert ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.UPLOAD).count() == uploads_before


@pytest.mark.parametrize("who", ["read_only_member", "other_partner_admin", "reviewer"])
def test_only_managing_users_add_documents(who: str, poe_folder: Path) -> None:
    claim = draft()
    user = {
        "read_only_member": lambda: partner_user(claim.partner, role=Membership.Role.MEMBER),
        "other_partner_admin": lambda: partner_user(PartnerFactory()),
        "reviewer": lambda: reviewer(),
    }[who]()
    files_before = stored_files(poe_folder)

    with pytest.raises(TransitionRefused):
        workflow.add_document(claim, by=user, upload=pdf_upload())

    assert claim.documents.count() == 1
    assert stored_files(poe_folder) == files_before


def test_a_document_is_removed_in_editing_with_its_file(
    poe_folder: Path, django_capture_on_commit_callbacks: Any
) -> None:
    claim = draft()
    manager = manager_of(claim)
    document = claim.documents.get()
    path = Path(document.file.path)
    assert path.is_file()

    with django_capture_on_commit_callbacks(execute=True):
        workflow.remove_document(claim, by=manager, document_id=document.pk)

    assert not claim.documents.exists()
    assert not path.exists()
    event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.REMOVE_DOCUMENT)
    assert event.diff == {"documents_removed": ["poe.pdf"]}
    assert event.actor == manager


@pytest.mark.parametrize("status", [S.SUBMITTED, S.PARTNER_ACTION_REQUIRED, S.UNDER_REVIEW, S.REJECTED])
def test_documents_cannot_be_removed_after_submit(status: str) -> None:
    claim = claim_in(status)
    document = claim.documents.get()

    with pytest.raises(TransitionRefused):
        workflow.remove_document(claim, by=manager_of(claim), document_id=document.pk)

    assert Path(PoeDocument.objects.get(pk=document.pk).file.path).is_file()
    assert not ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.REMOVE_DOCUMENT).exists()


def test_a_document_of_another_claim_cannot_be_removed_through_this_one() -> None:
    claim = draft()
    manager = manager_of(claim)
    other = draft(claim.partner, by=manager, customer_tenant_id=uuid.uuid4())
    foreign_document = other.documents.get()

    with pytest.raises(TransitionRefused):
        workflow.remove_document(claim, by=manager, document_id=foreign_document.pk)

    assert PoeDocument.objects.filter(pk=foreign_document.pk).exists()
    assert claim.documents.count() == 1


@pytest.mark.parametrize("who", ["read_only_member", "other_partner_admin"])
def test_only_managing_users_remove_documents(who: str) -> None:
    claim = draft()
    user = (
        partner_user(claim.partner, role=Membership.Role.MEMBER)
        if who == "read_only_member"
        else partner_user(PartnerFactory())
    )

    with pytest.raises(TransitionRefused):
        workflow.remove_document(claim, by=user, document_id=claim.documents.get().pk)

    assert claim.documents.count() == 1


# ---------------------------------------------------------------------------------------------
# Comments


@pytest.mark.parametrize("status", [S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.REJECTED])
def test_a_managing_user_comments_after_submit_and_the_reviewer_is_told(status: str) -> None:
    review_lead = reviewer(lead=True, email="lead@cpor.example")
    claim = claim_in(status)
    manager = manager_of(claim)

    # A partner cannot make its own comment internal.
    comment = workflow.add_comment(claim, by=manager, body="  The SOW is on page 2.  ", partner_visible=False)

    stored = Comment.objects.get(pk=comment.pk)
    assert stored.body == "The SOW is on page 2."
    assert stored.author == manager
    assert stored.author_kind == ClaimEvent.ActorKind.PARTNER
    assert stored.partner_visible is True
    event = ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.COMMENT).get()
    assert event.note == "The SOW is on page 2."
    assert event.partner_visible is True
    assert event.actor == manager
    expected = claim.assigned_reviewer.email if claim.assigned_reviewer else review_lead.email
    mail = OutboundEmail.objects.filter(kind="reviewer_comment").get()
    assert mail.recipients == [expected]


def test_a_partner_cannot_comment_on_a_draft() -> None:
    claim = draft()

    with pytest.raises(TransitionRefused):
        workflow.add_comment(claim, by=manager_of(claim), body="Hello?")

    assert not Comment.objects.filter(claim=claim).exists()
    assert not ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.COMMENT).exists()


def test_a_reviewer_cannot_comment_on_a_draft_not_yet_submitted() -> None:
    claim = draft()

    with pytest.raises(TransitionRefused):
        workflow.add_comment(claim, by=reviewer(), body="Looks incomplete.", partner_visible=True)

    assert not Comment.objects.filter(claim=claim).exists()
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize("detail", ["comment", "justification"])
def test_transition_text_with_nul_or_over_5000_characters_is_refused(detail: str) -> None:
    if detail == "comment":
        claim, action = claim_in(S.UNDER_REVIEW), "request_information"
        base: dict[str, Any] = {"reasons": ["missing_products"]}
        actor = claim.assigned_reviewer
    else:
        claim, action, base = claim_in(S.REJECTED), "dispute", {}
        actor = manager_of(claim)
    for text in ("bad\x00text", "x" * 5001):
        with pytest.raises(TransitionRefused):
            workflow.transition(claim, action, by=actor, **base, **{detail: text})
    claim.refresh_from_db()
    assert claim.status in (S.UNDER_REVIEW, S.REJECTED)
    assert not ClaimEvent.objects.filter(claim=claim, action=action).exists()


def test_a_reviewer_comment_visible_to_the_partner_is_mailed_to_the_partner() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    manager = manager_of(claim)
    rita = reviewer()

    workflow.add_comment(claim, by=rita, body="Please add the signed SOW.")

    comment = Comment.objects.get(claim=claim)
    assert comment.author_kind == ClaimEvent.ActorKind.REVIEWER
    assert comment.partner_visible is True
    event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.COMMENT)
    assert event.partner_visible is True
    assert event.actor_kind == ClaimEvent.ActorKind.REVIEWER
    recipients = set(addresses(OutboundEmail.objects.filter(kind="partner_comment")))
    assert manager.email in recipients
    assert claim.partner_contact_email in recipients


def test_an_internal_reviewer_note_stays_out_of_the_partners_view_and_mail() -> None:
    claim = claim_in(S.UNDER_REVIEW)

    workflow.add_comment(
        claim, by=reviewer(), body="Looks like a reseller claim; check with the lead.", partner_visible=False
    )

    comment = Comment.objects.get(claim=claim)
    assert comment.partner_visible is False
    event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.COMMENT)
    assert event.partner_visible is False
    assert not OutboundEmail.objects.filter(kind="partner_comment").exists()


@pytest.mark.parametrize("who", ["read_only_member", "other_partner_admin", "inactive_admin"])
def test_only_managing_users_of_the_partner_comment(who: str) -> None:
    claim = claim_in(S.SUBMITTED)
    user = {
        "read_only_member": lambda: partner_user(claim.partner, role=Membership.Role.MEMBER),
        "other_partner_admin": lambda: partner_user(PartnerFactory()),
        "inactive_admin": lambda: partner_user(claim.partner, is_active=False),
    }[who]()

    with pytest.raises(TransitionRefused):
        workflow.add_comment(claim, by=user, body="Let me in")

    assert not Comment.objects.filter(claim=claim).exists()
    assert not ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.COMMENT).exists()


@pytest.mark.parametrize("body", ["", "   \n\t ", None])
@pytest.mark.parametrize("author", ["partner", "reviewer"])
def test_an_empty_comment_is_a_validation_error(body: str | None, author: str) -> None:
    claim = claim_in(S.UNDER_REVIEW)
    by = manager_of(claim) if author == "partner" else reviewer()

    with pytest.raises(ValidationError) as invalid:
        workflow.add_comment(claim, by=by, body=body)  # type: ignore[arg-type]

    assert "body" in invalid.value.message_dict
    assert not Comment.objects.filter(claim=claim).exists()


def test_a_comment_longer_than_5000_characters_is_refused() -> None:
    claim = claim_in(S.SUBMITTED)

    with pytest.raises(ValidationError):
        workflow.add_comment(claim, by=manager_of(claim), body="x" * 5001)

    assert not Comment.objects.filter(claim=claim).exists()


# ---------------------------------------------------------------------------------------------
# Deleting a draft


def test_a_manager_deletes_a_draft_with_its_files(
    poe_folder: Path, django_capture_on_commit_callbacks: Any
) -> None:
    claim = draft()
    path = Path(claim.documents.get().file.path)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.delete_draft(claim, by=manager_of(claim))

    assert not Claim.objects.filter(pk=claim.pk).exists()
    assert not PoeDocument.objects.filter(claim_id=claim.pk).exists()
    assert not ClaimEvent.objects.filter(claim_id=claim.pk).exists()
    assert not path.exists()


@pytest.mark.parametrize("status", [S.SUBMITTED, S.UNDER_REVIEW, S.REJECTED])
def test_only_a_draft_can_be_deleted(status: str) -> None:
    claim = claim_in(status)

    with pytest.raises(TransitionRefused):
        workflow.delete_draft(claim, by=manager_of(claim))

    assert Claim.objects.get(pk=claim.pk).status == status
    assert Path(claim.documents.get().file.path).is_file()


@pytest.mark.parametrize("who", ["read_only_member", "other_partner_admin", "reviewer"])
def test_only_a_managing_user_deletes_a_draft(who: str) -> None:
    claim = draft()
    user = {
        "read_only_member": lambda: partner_user(claim.partner, role=Membership.Role.MEMBER),
        "other_partner_admin": lambda: partner_user(PartnerFactory()),
        "reviewer": lambda: reviewer(),
    }[who]()

    with pytest.raises(TransitionRefused):
        workflow.delete_draft(claim, by=user)

    assert Claim.objects.filter(pk=claim.pk).exists()
    assert claim.documents.count() == 1


# ---------------------------------------------------------------------------------------------
# Starting a new claim from a finished one


def _assert_is_copy_of(copy: Claim, source: Claim, by: Any) -> None:
    copy = Claim.objects.get(pk=copy.pk)
    assert copy.pk != source.pk
    assert copy.status == S.EDITING
    assert copy.copied_from_id == source.pk
    assert copy.partner_id == source.partner_id
    assert copy.created_by == by
    assert sorted(copy.products.values_list("code", flat=True)) == sorted(
        source.products.values_list("code", flat=True)
    )
    for name in [
        "mpn_id",
        "solution_area",
        "activity",
        "customer_name",
        "customer_domain",
        "customer_tenant_id",
    ]:
        assert getattr(copy, name) == getattr(source, name)
    assert copy.name.startswith(source.name)
    assert copy.rejection_reason == "" and copy.dispute_window_ends_at is None
    event = ClaimEvent.objects.get(claim=copy, action=ClaimEvent.Action.CREATE)
    assert f"#{source.pk}" in event.note
    # The old claim is left as it was.
    assert Claim.objects.get(pk=source.pk).status == S.REJECTED


def test_a_rejected_claim_cannot_be_copied_while_it_can_still_be_disputed() -> None:
    claim = claim_in(S.REJECTED, products=("d365-sales", "power-apps"))

    with pytest.raises(TransitionRefused):
        workflow.copy_claim(claim, by=manager_of(claim))

    with time_machine.travel(claim.dispute_window_ends_at - dt.timedelta(minutes=1), tick=False):
        with pytest.raises(TransitionRefused):
            workflow.copy_claim(claim, by=manager_of(claim))

    assert not Claim.objects.filter(copied_from=claim).exists()


def test_after_the_dispute_window_a_rejected_claim_starts_a_new_draft() -> None:
    claim = claim_in(S.REJECTED, products=("d365-sales", "power-apps"))
    manager = manager_of(claim)
    assert claim.dispute_window_ends_at <= timezone.now() + dt.timedelta(days=30)

    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        copy = workflow.copy_claim(claim, by=manager)

    _assert_is_copy_of(copy, claim, manager)
    # The new draft carries no PoE: the partner uploads current proof.
    assert not copy.documents.exists()


def test_a_withdrawn_claim_can_be_copied_at_once() -> None:
    claim = claim_in(S.SUBMITTED)
    manager = manager_of(claim)
    claim = workflow.transition(claim, "withdraw", by=manager, reason="wrong_mpn")

    copy = workflow.copy_claim(claim, by=manager)

    _assert_is_copy_of(copy, claim, manager)


def test_an_upheld_rejection_can_be_copied_at_once() -> None:
    claim = claim_in(S.DISPUTED)
    claim = workflow.transition(
        claim, "uphold_rejection", by=reviewer(lead=True), comment="The SOW is unsigned."
    )
    manager = manager_of(claim)

    copy = workflow.copy_claim(claim, by=manager)

    _assert_is_copy_of(copy, claim, manager)


@pytest.mark.parametrize("status", [S.EDITING, S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED, S.DISPUTED])
def test_only_a_rejected_claim_can_be_copied(status: str) -> None:
    claim = claim_in(status)

    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        with pytest.raises(TransitionRefused):
            workflow.copy_claim(claim, by=manager_of(claim))

    assert Claim.objects.filter(partner=claim.partner).count() == 1


@pytest.mark.parametrize("who", ["read_only_member", "other_partner_admin", "reviewer"])
def test_only_a_managing_user_copies_a_claim(who: str) -> None:
    claim = claim_in(S.SUBMITTED)
    claim = workflow.transition(claim, "withdraw", by=manager_of(claim), reason="no_longer_working")
    user = {
        "read_only_member": lambda: partner_user(claim.partner, role=Membership.Role.MEMBER),
        "other_partner_admin": lambda: partner_user(PartnerFactory()),
        "reviewer": lambda: reviewer(),
    }[who]()

    with pytest.raises(TransitionRefused):
        workflow.copy_claim(claim, by=user)

    assert not Claim.objects.filter(copied_from=claim).exists()
