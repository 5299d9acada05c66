"""Bodies the API cannot read, or will not store, are problem details (422), never Django's HTML 400
nor a refused transition: a malformed multipart body, a NUL in a form field or JSON text."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiClient
from tests.api.test_partner_api import assert_problem, fingerprint
from tests.factories import claim_in

pytestmark = pytest.mark.django_db

BROKEN = b'--xyz\r\nContent-Disposition: form-data; name="comment"\r\n\r\nhello'  # never closed


def raw_post(api: ApiClient, path: str, body: bytes, content_type: str, headers: dict[str, str]) -> Any:
    return api.client.post(f"/api/v1{path}", body, content_type=content_type, headers=api._headers(headers))


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "broken-1"}])
@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\x7f"],
)
def test_a_malformed_multipart_body_is_a_validation_problem(
    api: ApiClient, admin: Any, headers: dict[str, str], content_type: str
) -> None:
    claim = claim_in("partner_action_required", by=admin)
    before = fingerprint()
    for path in (f"/claims/{claim.pk}/actions/resubmit", f"/claims/{claim.pk}/documents", "/webhooks"):
        response = raw_post(api, path, BROKEN, content_type, headers)
        assert_problem(response, 422, "validation_error")
    assert fingerprint() == before


@pytest.mark.parametrize("as_form", [True, False])
def test_a_nul_in_an_action_text_is_a_validation_problem(api: ApiClient, admin: Any, as_form: bool) -> None:
    claim = claim_in("partner_action_required", by=admin)
    before = fingerprint()
    path = f"/api/v1/claims/{claim.pk}/actions/resubmit"
    if as_form:
        response = api.client.post(path, {"comment": "see\x00 the PoE"}, headers=api._headers(None))
    else:
        response = api.post(f"/claims/{claim.pk}/actions/resubmit", {"comment": "see\x00 the PoE"})
    problem = assert_problem(response, 422, "validation_error")
    assert list(problem["errors"]) == ["comment"]
    claim.refresh_from_db()
    assert claim.status == "partner_action_required" and fingerprint() == before


@pytest.mark.parametrize("field", ["mpn", "name", "customer_name", "products"])
def test_a_nul_in_a_claim_field_is_a_validation_problem(api: ApiClient, admin: Any, field: str) -> None:
    from tests.api.test_partner_api import new_claim_body

    before = fingerprint()
    value: Any = ["D365_SALES\x00"] if field == "products" else "4100001\x00"
    problem = assert_problem(api.post("/claims", new_claim_body(**{field: value})), 422, "validation_error")
    assert list(problem["errors"]) == [field]
    assert fingerprint() == before
    claim = claim_in("editing", by=admin)
    before = fingerprint()
    problem = assert_problem(api.patch(f"/claims/{claim.pk}", {field: value}), 422, "validation_error")
    assert list(problem["errors"]) == [field]
    assert fingerprint() == before


def test_a_nul_in_the_query_string_is_a_validation_problem_naming_the_parameter(api: ApiClient) -> None:
    response = api.client.get("/api/v1/claims?status=sub%00mitted&limit=5", headers=api._headers(None))
    body = assert_problem(response, 422, "validation_error")
    assert list(body["errors"]) == ["status"]
    # Elsewhere on the site the same request is a plain 400.
    assert api.client.get("/?q=a%00b").status_code == 400
