"""PoE upload (several at once, JavaScript or plain form), downloads only for the claim's partner,
pre-signed links on S3, removal from drafts, and the PoE template."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import Storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, PoeDocument
from tests.factories import claim_in, docx_upload, draft, pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def upload_url(claim: Claim) -> str:
    return reverse("claims:upload", args=[claim.pk])


def test_several_files_at_once_without_javascript(
    manager: Any, manager_client: Client, poe_folder: Path
) -> None:
    claim = draft(by=manager, document=False)
    response = manager_client.post(
        upload_url(claim), {"upload-files": [pdf_upload("a.pdf"), png_upload("b.png"), docx_upload("c.docx")]}
    )
    assert response.status_code == 302
    names = sorted(claim.documents.values_list("original_name", flat=True))
    assert names == ["a.pdf", "b.png", "c.docx"]
    assert ClaimEvent.objects.filter(claim=claim, action="upload").count() == 3
    stored = [p.name for p in poe_folder.rglob("*") if p.is_file()]
    assert len(stored) == 3 and not {"a.pdf", "b.png", "c.docx"} & set(stored)  # generated names
    html = manager_client.get(response["Location"]).content.decode()
    assert "Uploaded: a.pdf, b.png, c.docx." in html


def test_javascript_upload_answers_json(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager, document=False)
    response = manager_client.post(
        upload_url(claim),
        {"upload-files": [pdf_upload("a.pdf")]},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert response.status_code == 200
    assert response.json() == {"uploaded": ["a.pdf"], "errors": []}
    bad = SimpleUploadedFile("evil.pdf", b"MZ\x90\x00 not a pdf at all")
    response = manager_client.post(
        upload_url(claim), {"upload-files": [bad]}, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert response.status_code == 400
    assert "is not a PDF, DOCX, PNG or JPEG file" in response.json()["errors"][0]
    assert claim.documents.count() == 1


def test_the_type_is_checked_from_the_bytes_and_the_size_is_limited(
    manager: Any, manager_client: Client, settings: Any
) -> None:
    claim = draft(by=manager, document=False)
    fake = SimpleUploadedFile("report.pdf", b"<script>alert(1)</script>")
    response = manager_client.post(upload_url(claim), {"upload-files": [fake]})
    assert response.status_code == 400
    assert "report.pdf is not a PDF, DOCX, PNG or JPEG file" in response.content.decode()
    settings.CPOR_POE_MAX_BYTES = 100
    response = manager_client.post(upload_url(claim), {"upload-files": [pdf_upload("big.pdf", b"x" * 200)]})
    assert response.status_code == 400
    assert "big.pdf is larger than" in response.content.decode()
    assert not claim.documents.exists()


def test_a_mix_keeps_the_good_files_and_names_the_bad(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager, document=False)
    response = manager_client.post(
        upload_url(claim), {"upload-files": [pdf_upload("good.pdf"), SimpleUploadedFile("bad.pdf", b"nope")]}
    )
    assert response.status_code == 302
    assert list(claim.documents.values_list("original_name", flat=True)) == ["good.pdf"]
    assert "bad.pdf is not a PDF" in manager_client.get(response["Location"]).content.decode()


def test_no_uploads_once_the_claim_is_past_review(manager: Any, manager_client: Client) -> None:
    claim = claim_in(Claim.Status.APPROVED, partner=manager.membership.partner, by=manager)
    response = manager_client.post(upload_url(claim), {"upload-files": [pdf_upload()]})
    assert response.status_code == 409
    assert claim.documents.count() == 1


def test_download_streams_the_file_as_an_attachment(manager: Any, member_client: Client) -> None:
    claim = draft(by=manager)
    document = claim.documents.get()
    response = member_client.get(reverse("claims:download", args=[claim.pk, document.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and "poe.pdf" in response["Content-Disposition"]
    )
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert "no-store" in response["Cache-Control"]


class PresigningStorage(Storage):
    """Stands in for S3: `url` returns a short-lived signed link, as django-storages' S3Storage does."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def url(self, name: str, parameters: dict[str, str] | None = None, expire: int | None = None) -> str:
        self.asked.append({"name": name, "parameters": parameters, "expire": expire})
        return f"https://bucket.s3.example/{name}?X-Amz-Expires={expire}&X-Amz-Signature=abc"


def test_with_s3_the_download_redirects_to_a_short_presigned_link(
    manager: Any, manager_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim = draft(by=manager)
    document = claim.documents.get()
    storage = PresigningStorage()
    monkeypatch.setattr(PoeDocument._meta.get_field("file"), "storage", storage)
    response = manager_client.get(reverse("claims:download", args=[claim.pk, document.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("https://bucket.s3.example/poe/")
    (asked,) = storage.asked
    assert asked["expire"] == 60
    assert asked["parameters"]["ResponseContentDisposition"].startswith("attachment;")


def test_a_draft_document_can_be_removed(manager: Any, manager_client: Client, poe_folder: Path) -> None:
    claim = draft(by=manager)
    document = claim.documents.get()
    response = manager_client.post(reverse("claims:remove_document", args=[claim.pk, document.pk]))
    assert response.status_code == 302
    assert not claim.documents.exists()
    submitted = claim_in(Claim.Status.SUBMITTED, partner=manager.membership.partner, by=manager)
    kept = submitted.documents.get()
    response = manager_client.post(reverse("claims:remove_document", args=[submitted.pk, kept.pk]))
    assert response.status_code == 409
    assert submitted.documents.count() == 1


def test_the_poe_template_lists_what_a_poe_must_show(manager_client: Client) -> None:
    response = manager_client.get(reverse("claims:poe_template"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="cpor-poe-template-en.docx"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as package:
        assert "[Content_Types].xml" in package.namelist()
        text = package.read("word/document.xml").decode()
    for phrase in ("signature", "Dates", "every product", "tenant ID", "solution or service"):
        assert phrase in text
    from claims.documents import sniff_kind

    assert sniff_kind(io.BytesIO(response.content)) == "docx"  # a partner can upload it back


def test_the_poe_template_in_turkish(manager_client: Client) -> None:
    manager_client.cookies["django_language"] = "tr"
    response = manager_client.get(reverse("claims:poe_template"))
    with zipfile.ZipFile(io.BytesIO(response.content)) as package:
        text = package.read("word/document.xml").decode()
    assert "müşteri" in text.lower()
