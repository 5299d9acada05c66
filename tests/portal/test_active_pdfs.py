"""PDFs that run script or actions by themselves are refused, in an upload and with a resubmission,
whatever the spelling (hex escapes, compressed object streams); each refusal answers without a 500
and changes nothing (rows, statuses, events, mail). Ordinary names that merely look alike pass."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from claims.documents import pdf_active_content
from claims.models import Claim, ClaimEvent, PoeDocument
from cpor.models import OutboundEmail
from tests.factories import claim_in, draft

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
