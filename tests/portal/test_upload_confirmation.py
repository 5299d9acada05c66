"""An upload is confirmed on the claim page, whether the form was sent by the browser or by the
uploader script (which reloads the page after its upload)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import draft, pdf_upload

pytestmark = pytest.mark.django_db


def test_a_successful_upload_says_so_with_and_without_javascript(
    manager: Any, manager_client: Client
) -> None:
    claim = draft(by=manager, document=False)
    url = reverse("claims:upload", args=[claim.pk])
    response = manager_client.post(url, {"upload-files": [pdf_upload("plain.pdf")]}, follow=True)
    assert "Uploaded: plain.pdf." in response.content.decode()
    # The script uploads, then reloads the page: the reload shows the message.
    response = manager_client.post(
        url, {"upload-files": [pdf_upload("script.pdf")]}, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert response.json() == {"uploaded": ["script.pdf"], "errors": []}
    html = manager_client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "Uploaded: script.pdf." in html
    assert claim.documents.count() == 2
