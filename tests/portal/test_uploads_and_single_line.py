"""Uploads and one-line text (issue 10, item 5): a download's name follows the detected type, PDFs
that run script or actions by themselves are refused, and names, titles and phones hold one line.
Each refusal answers without a 500 and changes nothing (rows, statuses, events, mail)."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from claims import workflow
from claims.documents import pdf_active_content
from claims.models import Claim, ClaimEvent, MpnId, PoeDocument
from cpor.models import OutboundEmail
from tests.factories import claim_in, draft, jpeg_upload, pdf_upload, png_upload
from tests.portal.test_new_claim import form_data

pytestmark = pytest.mark.django_db


def state() -> tuple[Any, ...]:
    return (
        list(Claim.objects.order_by("pk").values()),
        list(ClaimEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(PoeDocument.objects.order_by("pk").values_list("pk", flat=True)),
        list(OutboundEmail.objects.order_by("pk").values_list("pk", flat=True)),
    )


def upload(client: Client, claim: Claim, file: SimpleUploadedFile) -> Any:
    return client.post(reverse("claims:upload", args=[claim.pk]), {"upload-files": [file]})


# -- the download's name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uploaded", "file", "downloaded"),
    [
        ("invoice.html", pdf_upload, "invoice.pdf"),
        ("report.PDF", pdf_upload, "report.PDF"),
        ("scan.jpeg", jpeg_upload, "scan.jpeg"),
        ("scan.exe", jpeg_upload, "scan.jpg"),
        ("picture", png_upload, "picture.png"),
        ("chart.svg.html", png_upload, "chart.svg.png"),
    ],
)
def test_a_download_takes_the_extension_of_the_detected_type(
    uploaded: str, file: Any, downloaded: str, manager: Any, manager_client: Client
) -> None:
    claim = draft(by=manager, document=False)
    assert upload(manager_client, claim, file(uploaded)).status_code == 302
    document = claim.documents.get()
    assert document.original_name == uploaded  # the partner still sees what they uploaded
    response = manager_client.get(reverse("claims:download", args=[claim.pk, document.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{downloaded}"'


# -- PDFs with active content ----------------------------------------------------------------------

CATALOG = b"%%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R %s >>\nendobj\n%%%%EOF\n"
ACTIVE = {
    "open action": CATALOG % b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
    "javascript name tree": CATALOG % b"/Names << /JavaScript 3 0 R >>",
    "js only": CATALOG % b"/X << /JS (this.exportDataObject()) >>",
    "launch": CATALOG % b"/Y << /S /Launch /F (cmd.exe) >>",
    "additional actions": CATALOG % b"/AA << /O 4 0 R >>",
    "hex-escaped javascript": CATALOG % b"/X << /S /J#61vaScript /J#53 (1) >>",
    "hex-escaped open action": CATALOG % b"/#4Fpen#41ction 5 0 R",
    "inside a compressed object stream": (
        b"%PDF-1.7\n1 0 obj\n<< /Type /ObjStm /Filter /FlateDecode /Length 40 >>\nstream\n"
        + zlib.compress(b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (x) >> >>")
        + b"\nendstream\nendobj\n%%EOF\n"
    ),
}


@pytest.mark.parametrize("body", ACTIVE.values(), ids=ACTIVE.keys())
def test_a_pdf_that_acts_by_itself_is_refused_and_nothing_changes(
    body: bytes, manager: Any, manager_client: Client
) -> None:
    claim = draft(by=manager, document=False)
    before = state()
    response = upload(manager_client, claim, SimpleUploadedFile("statement.pdf", body))
    assert response.status_code == 400
    assert "statement.pdf contains JavaScript or actions that run by themselves" in response.content.decode()
    assert state() == before


def test_a_resubmission_with_an_active_pdf_is_refused_whole(manager: Any, manager_client: Client) -> None:
    claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager)
    before = state()
    response = manager_client.post(
        reverse("claims:resubmit", args=[claim.pk]),
        {
            "resubmit-comment": "Signed SOW attached.",
            "resubmit-files": [SimpleUploadedFile("sow.pdf", ACTIVE["launch"])],
        },
    )
    assert response.status_code < 500
    assert state() == before


def test_ordinary_pdf_names_are_not_mistaken_for_actions() -> None:
    plain = CATALOG % b"/AAPL 1 /JSON (x) /Launcher 2 /MyJavaScriptNotes 3 /Annots [] /A << /S /URI >>"
    upload = SimpleUploadedFile("plain.pdf", plain)
    assert pdf_active_content(upload.file) == set()
    assert pdf_active_content(SimpleUploadedFile("x.pdf", ACTIVE["hex-escaped javascript"]).file) == {
        "JavaScript",
        "JS",
    }


# -- one-line fields ---------------------------------------------------------------------------------

BREAKS = ["Northwind\r\nBcc: eve@evil.example", "Northwind\nTraders", "Nina\rNorth", "Tab\there", "x\u2028y"]
ONE_LINE = [
    "name",
    "customer_name",
    "customer_contact_name",
    "customer_contact_title",
    "partner_contact_name",
]


@pytest.mark.parametrize("value", BREAKS)
@pytest.mark.parametrize("field", ONE_LINE)
def test_new_claim_refuses_control_characters_in_one_line_fields(
    field: str, value: str, manager_client: Client, own_mpn: MpnId
) -> None:
    before = state()
    response = manager_client.post("/claims/new/", form_data(own_mpn, **{field: value}))
    assert response.status_code == 400
    assert "Write this on one line" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("field", ["customer_contact_name", "customer_contact_title", "partner_contact_name"])
def test_edits_refuse_a_line_break_in_forms_and_in_the_workflow(
    field: str, manager: Any, manager_client: Client
) -> None:
    claim = claim_in(Claim.Status.SUBMITTED, partner=manager.membership.partner, by=manager)
    before = state()
    data = {
        "mpn": claim.mpn_id,
        "products": [p.pk for p in claim.products.all()],
        "customer_contact_name": "Nina",
        "customer_contact_title": "CIO",
        "customer_contact_email": "nina@northwind.example",
        "customer_contact_language": "en",
        "technical_contact_name": "Tom",
        "technical_contact_email": "tom@northwind.example",
        "partner_contact_name": "Paula",
        "partner_contact_email": "paula@partner.example",
        field: "Nina\r\nX-Injected: yes",
    }
    response = manager_client.post(reverse("claims:edit", args=[claim.pk]), data)
    assert response.status_code == 400
    assert "Write this on one line" in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        workflow.edit_claim(claim, by=manager, changes={field: "Nina\nNorth"})
    assert field in refused.value.message_dict
    assert state() == before
