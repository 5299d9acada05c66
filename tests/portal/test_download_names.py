"""A PoE download is named after the type detected from its bytes, so a file uploaded as
"invoice.html" downloads as "invoice.pdf"; the partner still sees the name they uploaded."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from claims.models import Claim
from tests.factories import draft, jpeg_upload, pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def upload(client: Client, claim: Claim, file: SimpleUploadedFile) -> Any:
    return client.post(reverse("claims:upload", args=[claim.pk]), {"upload-files": [file]})


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
