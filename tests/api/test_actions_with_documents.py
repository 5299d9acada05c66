"""Dispute and resubmit through the API with PoE attached (multipart, field `file`, repeatable), as the
portal allows: the files are stored with the action or not at all; other actions refuse files."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.models import ClaimEvent, PoeDocument
from tests.api.conftest import ApiClient
from tests.api.test_partner_api import assert_problem, fingerprint
from tests.factories import claim_in, pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def multipart(api: ApiClient, path: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"/api/v1{path}", data, headers=api._headers(headers))


def test_a_dispute_with_justification_and_two_files(api: ApiClient, admin: Any) -> None:
    rejected = claim_in("rejected", by=admin)
    before = rejected.documents.count()
    response = multipart(
        api,
        f"/claims/{rejected.pk}/actions/dispute",
        {
            "justification": "The signed SOW names the customer.",
            "file": [pdf_upload("sow.pdf"), png_upload()],
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "disputed"
    assert response.json()["dispute_justification"] == "The signed SOW names the customer."
    names = set(PoeDocument.objects.filter(claim=rejected).values_list("original_name", flat=True))
    assert {"sow.pdf", "poe.png"} <= names and len(names) == before + 2
    event = ClaimEvent.objects.get(claim=rejected, action="dispute")
    assert sorted(event.diff["documents_added"]) == ["poe.png", "sow.pdf"]
    assert event.diff["via"] == {"channel": "api", "key": "CRM sync"}


def test_a_dispute_with_files_alone_is_enough(api: ApiClient, admin: Any) -> None:
    rejected = claim_in("rejected", by=admin)
    response = multipart(api, f"/claims/{rejected.pk}/actions/dispute", {"file": pdf_upload("new.pdf")})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "disputed"


def test_a_bad_file_refuses_the_whole_dispute(api: ApiClient, admin: Any) -> None:
    rejected = claim_in("rejected", by=admin)
    before = fingerprint()
    fake = SimpleUploadedFile("sow.pdf", b"MZ not a pdf", content_type="application/pdf")
    response = multipart(
        api,
        f"/claims/{rejected.pk}/actions/dispute",
        {"justification": "See the SOW.", "file": [pdf_upload(), fake]},
    )
    assert_problem(response, 409, "transition_refused")
    rejected.refresh_from_db()
    assert rejected.status == "rejected" and fingerprint() == before


def test_resubmit_with_a_file_answers_the_reviewer(api: ApiClient, admin: Any) -> None:
    claim = claim_in("partner_action_required", by=admin)
    response = multipart(api, f"/claims/{claim.pk}/actions/resubmit", {"file": pdf_upload("answer.pdf")})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "under_review"
    assert claim.documents.filter(original_name="answer.pdf").exists()


def test_files_with_another_action_or_unknown_fields_are_refused(api: ApiClient, admin: Any) -> None:
    claim = claim_in("submitted", by=admin)
    before = fingerprint()
    response = multipart(
        api, f"/claims/{claim.pk}/actions/withdraw", {"reason": "wrong_mpn", "file": pdf_upload()}
    )
    assert assert_problem(response, 422, "validation_error")["errors"] == {
        "file": ["Documents can be sent with resubmit and dispute only."]
    }
    response = multipart(
        api, f"/claims/{claim.pk}/actions/withdraw", {"reason": "wrong_mpn", "colour": "red"}
    )
    assert "colour" in assert_problem(response, 422, "validation_error")["errors"]
    bad_json = api.client.post(
        f"/api/v1/claims/{claim.pk}/actions/withdraw",
        "{not json",
        content_type="application/json",
        headers=api._headers(None),
    )
    assert_problem(bad_json, 422, "validation_error")
    wrong_type = api.post(f"/claims/{claim.pk}/actions/withdraw", {"reason": 7})
    assert "reason" in assert_problem(wrong_type, 422, "validation_error")["errors"]
    claim.refresh_from_db()
    assert claim.status == "submitted" and fingerprint() == before


def test_a_retried_dispute_upload_with_the_same_key_is_replayed(api: ApiClient, admin: Any) -> None:
    rejected = claim_in("rejected", by=admin)
    path = f"/claims/{rejected.pk}/actions/dispute"
    first = multipart(
        api,
        path,
        {"justification": "See the SOW.", "file": pdf_upload("sow.pdf")},
        {"Idempotency-Key": "d-1"},
    )
    assert first.status_code == 200
    count = rejected.documents.count()
    again = multipart(
        api,
        path,
        {"justification": "See the SOW.", "file": pdf_upload("sow.pdf")},
        {"Idempotency-Key": "d-1"},
    )
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and rejected.documents.count() == count


def test_the_schema_offers_json_and_multipart_for_actions(api: ApiClient) -> None:
    schema = api.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/claims/{claim_id}/actions/{action}"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json", "multipart/form-data"}
    assert body["content"]["multipart/form-data"]["schema"]["properties"]["file"]["type"] == "array"


def test_an_action_on_a_claim_that_moved_on_is_refused_with_the_status_it_has_now(
    api: ApiClient, admin: Any
) -> None:
    submitted = claim_in("submitted", by=admin)
    # The CRM's copy still shows the draft it filed: withdrawing from that copy is refused.
    stale = api.post(
        f"/claims/{submitted.pk}/actions/withdraw", {"reason": "wrong_mpn", "expected_status": "editing"}
    )
    body = assert_problem(stale, 409, "transition_refused")
    assert "Someone changed this claim while you were looking at it: it is now Submitted." == body["detail"]
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
    # With the status the claim has, the same action goes through; multipart carries it too.
    current = multipart(
        api,
        f"/claims/{submitted.pk}/actions/withdraw",
        {"reason": "wrong_mpn", "expected_status": "submitted"},
    )
    assert current.status_code == 200 and current.json()["status"] == "rejected"


def test_an_unknown_expected_status_is_a_validation_problem(api: ApiClient, admin: Any) -> None:
    submitted = claim_in("submitted", by=admin)
    response = api.post(
        f"/claims/{submitted.pk}/actions/withdraw", {"reason": "wrong_mpn", "expected_status": "gone"}
    )
    body = assert_problem(response, 422, "validation_error")
    assert "expected_status" in body["errors"]
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
