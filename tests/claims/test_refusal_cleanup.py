"""A refused action changes nothing: not the database, and not the PoE folder either."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import workflow
from claims.models import Claim, PoeDocument
from claims.workflow import TransitionRefused
from tests.factories import claim_in, manager_of, pdf_upload

pytestmark = pytest.mark.django_db


def files_in(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def test_a_refused_dispute_leaves_no_file_behind(poe_folder: Path) -> None:
    claim = claim_in(Claim.Status.SUBMITTED)
    manager = manager_of(claim)
    claim = workflow.transition(claim, "withdraw", by=manager, reason="wrong_mpn")
    before = files_in(poe_folder)
    with pytest.raises(TransitionRefused):
        workflow.transition(claim, "dispute", by=manager, documents=[pdf_upload("new-poe.pdf")])
    assert files_in(poe_folder) == before
    assert PoeDocument.objects.filter(claim=claim).count() == 1


def test_a_file_that_is_not_poe_refuses_the_action_with_its_reason(poe_folder: Path) -> None:
    claim = claim_in(Claim.Status.REJECTED)
    before = files_in(poe_folder)
    html = SimpleUploadedFile("poe.pdf", b"<html><script>alert(1)</script></html>")
    with pytest.raises(TransitionRefused, match="not a PDF, DOCX, PNG or JPEG"):
        workflow.transition(claim, "dispute", by=manager_of(claim), documents=[pdf_upload(), html])
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED
    assert files_in(poe_folder) == before


def test_missing_details_are_a_refusal_not_a_crash() -> None:
    claim = claim_in(Claim.Status.UNDER_REVIEW)
    with pytest.raises(TransitionRefused, match="at least one reason"):
        workflow.transition(claim, "request_information", by=claim.assigned_reviewer)
    with pytest.raises(TransitionRefused, match="at least one rejection reason"):
        workflow.transition(claim, "reject", by=claim.assigned_reviewer)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.UNDER_REVIEW
