"""The Partner API over HTTP: every endpoint with the right key, another partner's key, a read key on
writes, a revoked key and no key; outcomes asserted on rows, history and the outbox."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.core.management import call_command

from api.models import ApiKey, IdempotentRequest
from claims.models import Claim, ClaimEvent, Comment, PoeDocument
from cpor.models import OutboundEmail
from tests.api.conftest import ApiClient
from tests.factories import claim_in, draft, mail_to, pdf_upload, reviewer

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def new_claim_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Sales rollout",
        "mpn": "4100001",
        "solution_area": "business_applications",
        "activity": "usage",
        "customer_name": "Northwind Traders",
        "customer_domain": "northwind.example",
        "customer_tenant_id": str(uuid.uuid4()),
        "products": ["d365-sales"],
        "customer_contact_name": "Nina North",
        "customer_contact_title": "CIO",
        "customer_contact_email": "nina@northwind.example",
        "technical_contact_name": "Tom Tech",
        "technical_contact_email": "tom@northwind.example",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": "paula@contoso.example",
        "work_description": "Deployed Dynamics 365 Sales for 200 sellers.",
    }
    body.update(overrides)
    return body


def fingerprint() -> tuple[int, int, int, int]:
    return (
        Claim.objects.count(),
        ClaimEvent.objects.count(),
        Comment.objects.count(),
        PoeDocument.objects.count(),
    )


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] and body["title"] and body["detail"]
    return body


def test_create_upload_submit_and_read_history(api: ApiClient, admin: Any) -> None:
    created = api.post("/claims", new_claim_body())
    assert created.status_code == 201
    claim_id = created.json()["id"]
    claim = Claim.objects.get(pk=claim_id)
    assert claim.status == "editing" and claim.created_by == admin
    assert created.json()["allowed_actions"] == ["submit"]

    uploaded = api.upload(f"/claims/{claim_id}/documents", pdf_upload())
    assert uploaded.status_code == 201 and claim.documents.count() == 1
    assert [d["name"] for d in api.get(f"/claims/{claim_id}/documents").json()] == ["poe.pdf"]

    submitted = api.post(f"/claims/{claim_id}/actions/submit")
    assert submitted.status_code == 200
    body = submitted.json()
    assert body["status"] == "submitted" and body["deadline"]["field"] == "review_start_due_at"
    assert "business day" in body["deadline"]["words"]
    assert set(body["allowed_actions"]) == {"withdraw"}
    assert OutboundEmail.objects.filter(kind="claim_submitted").count() == 1

    events = api.get(f"/claims/{claim_id}/events").json()
    mine = [e for e in events if e["action"] in ("create", "upload", "submit")]
    assert [e["action"] for e in mine] == ["create", "upload", "submit"]
    assert all(e["via_api_key"] == "CRM sync" and "via API" in e["who"] for e in mine)
    stored = ClaimEvent.objects.get(claim=claim, action="submit")
    assert stored.actor == admin and stored.diff["via"] == {"channel": "api", "key": "CRM sync"}


def test_get_and_list_with_filters_and_cursor(api: ApiClient, admin: Any) -> None:
    claims = [draft(by=admin, name=f"Claim {n}", document=False) for n in range(5)]
    claim_in("submitted", by=admin)
    page = api.get("/claims", limit=2).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    seen = [c["id"] for c in page["items"]]
    while page["next_cursor"]:
        page = api.get("/claims", limit=2, cursor=page["next_cursor"]).json()
        seen += [c["id"] for c in page["items"]]
    assert len(seen) == 6 == len(set(seen))
    assert [c["id"] for c in api.get("/claims", status="submitted").json()["items"]] == [
        Claim.objects.get(status="submitted").pk
    ]
    assert api.get("/claims", q="Claim 3").json()["items"][0]["id"] == claims[3].pk
    assert api.get("/claims", product="d365-sales").json()["items"]
    assert api.get("/claims", updated_since="2999-01-01T00:00:00Z").json()["items"] == []
    assert_problem(api.get("/claims", status="nonsense"), 422, "validation_error")
    assert_problem(api.get("/claims", cursor="not-a-cursor"), 422, "validation_error")
    assert_problem(api.get("/claims", limit=1000), 422, "validation_error")
    one = api.get(f"/claims/{claims[0].pk}").json()
    assert one["name"] == "Claim 0" and one["products"] == ["d365-sales"]


def test_patch_only_what_the_state_allows(api: ApiClient, admin: Any) -> None:
    claim = claim_in("submitted", by=admin)
    ok = api.patch(f"/claims/{claim.pk}", {"partner_contact_name": "Pat Partner"})
    assert ok.status_code == 200 and ok.json()["partner_contact_name"] == "Pat Partner"
    edit = ClaimEvent.objects.get(claim=claim, action="edit")
    assert edit.diff["partner_contact_name"] == ["Paula Partner", "Pat Partner"] and edit.diff["via"]
    before = fingerprint()
    assert_problem(api.patch(f"/claims/{claim.pk}", {"customer_name": "Other"}), 409, "transition_refused")
    body = assert_problem(api.patch(f"/claims/{claim.pk}", {"mpn": "999"}), 422, "validation_error")
    assert "mpn" in body["errors"]
    assert fingerprint() == before
    assert Claim.objects.get(pk=claim.pk).customer_name == "Northwind Traders"


def test_actions_comments_and_refusals(api: ApiClient, admin: Any) -> None:
    claim = claim_in("partner_action_required", by=admin)
    assert_problem(api.post(f"/claims/{claim.pk}/actions/resubmit"), 409, "transition_refused")
    assert_problem(api.post(f"/claims/{claim.pk}/actions/approve"), 422, "validation_error")
    assert_problem(
        api.post(f"/claims/{claim.pk}/actions/resubmit", {"reason": "wrong_mpn"}), 422, "validation_error"
    )
    commented = api.post(f"/claims/{claim.pk}/comments", {"body": "Signed SOW attached."})
    assert commented.status_code == 201 and commented.json()["author"] == admin.email
    assert [c["body"] for c in api.get(f"/claims/{claim.pk}/comments").json()][-1] == "Signed SOW attached."
    assert api.post(f"/claims/{claim.pk}/actions/resubmit").json()["status"] == "under_review"
    withdrawn = api.post(f"/claims/{claim.pk}/actions/withdraw", {"reason": "no_longer_working"})
    assert (
        withdrawn.json()["status"] == "rejected" and withdrawn.json()["rejection_reason"] == "partner_request"
    )
    assert_problem(api.post(f"/claims/{claim.pk}/comments", {"body": " "}), 422, "validation_error")

    lead = reviewer(lead=True)
    rejected = claim_in("rejected", by=admin)
    disputed = api.post(f"/claims/{rejected.pk}/actions/dispute", {"justification": "See page 2."})
    assert disputed.json()["status"] == "disputed"
    assert mail_to(lead.email, created_at__gte=rejected.updated_at)


def test_upload_checks_like_the_portal(api: ApiClient, admin: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    claim = draft(by=admin, document=False)
    fake = SimpleUploadedFile("poe.pdf", b"MZ not a pdf at all", content_type="application/pdf")
    assert_problem(api.upload(f"/claims/{claim.pk}/documents", fake), 422, "validation_error")
    assert_problem(
        api.client.post(
            f"/api/v1/claims/{claim.pk}/documents", {}, headers={"Authorization": f"Bearer {api.secret}"}
        ),
        422,
        "validation_error",
    )
    assert claim.documents.count() == 0


def test_reference_data(api: ApiClient, outsider_api: ApiClient) -> None:
    products = api.get("/products").json()
    assert any(p["code"] == "d365-sales" and p["needs_technical_contact"] for p in products)
    assert api.get("/mpns").json() == [{"number": "4100001", "location": ""}]
    assert "4100001" not in json.dumps(outsider_api.get("/mpns").json())


ENDPOINTS = [
    ("get", "/claims/{id}", None),
    ("patch", "/claims/{id}", {"partner_contact_name": "X"}),
    ("get", "/claims/{id}/documents", None),
    ("upload", "/claims/{id}/documents", None),
    ("post", "/claims/{id}/actions/withdraw", {"reason": "wrong_mpn"}),
    ("upload", "/claims/{id}/actions/dispute", None),
    ("patch", "/claims/{id}", {"external_reference": "CRM-1"}),
    ("get", "/claims/{id}/comments", None),
    ("post", "/claims/{id}/comments", {"body": "Hello"}),
    ("get", "/claims/{id}/events", None),
]


def _call(client: ApiClient, method: str, path: str, body: Any) -> Any:
    if method == "get":
        return client.get(path)
    if method == "upload":
        return client.upload(path, pdf_upload())
    return getattr(client, method)(path, body)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_another_partners_key_gets_404_and_changes_nothing(
    method: str, path: str, body: Any, outsider_api: ApiClient, admin: Any
) -> None:
    claim = claim_in("submitted", by=admin)
    before = fingerprint()
    assert_problem(_call(outsider_api, method, path.format(id=claim.pk), body), 404, "not_found")
    assert fingerprint() == before
    assert outsider_api.get("/claims").json()["items"] == []


@pytest.mark.parametrize(("method", "path", "body"), [e for e in ENDPOINTS if e[0] != "get"])
def test_a_read_key_writes_nothing(
    method: str, path: str, body: Any, read_api: ApiClient, admin: Any
) -> None:
    claim = claim_in("submitted", by=admin)
    before = fingerprint()
    assert_problem(_call(read_api, method, path.format(id=claim.pk), body), 403, "forbidden")
    assert_problem(read_api.post("/claims", new_claim_body()), 403, "forbidden")
    assert fingerprint() == before
    assert read_api.get(f"/claims/{claim.pk}").json()["allowed_actions"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"), [*ENDPOINTS, ("get", "/products", None), ("get", "/mpns", None)]
)
def test_no_key_and_a_revoked_key_get_401(
    method: str, path: str, body: Any, write_key: tuple[ApiKey, str], admin: Any
) -> None:
    claim = claim_in("submitted", by=admin)
    key, secret = write_key
    ApiKey.objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    before = fingerprint()
    for client in (ApiClient(None), ApiClient(secret), ApiClient("cpor_unknown")):
        response = _call(client, method, path.format(id=claim.pk), body)
        assert_problem(response, 401, "unauthorized")
        assert response["WWW-Authenticate"] == "Bearer"
    assert fingerprint() == before


def test_a_key_stops_working_when_its_creator_no_longer_administers(api: ApiClient, admin: Any) -> None:
    admin.membership.role = "member"
    admin.membership.save()
    assert_problem(api.get("/claims"), 401, "unauthorized")


def test_last_used_is_recorded_at_most_once_a_minute(api: ApiClient, write_key: tuple[ApiKey, str]) -> None:
    import time_machine

    key, _secret = write_key
    with time_machine.travel("2026-03-04T10:00:00Z", tick=False):
        api.get("/mpns")
    key.refresh_from_db()
    first = key.last_used_at
    with time_machine.travel("2026-03-04T10:00:30Z", tick=False):
        api.get("/mpns")
    key.refresh_from_db()
    assert key.last_used_at == first
    with time_machine.travel("2026-03-04T10:02:00Z", tick=False):
        api.get("/mpns")
    key.refresh_from_db()
    assert key.last_used_at > first


def test_idempotency_replay_and_reuse(api: ApiClient) -> None:
    body = new_claim_body()
    first = api.post("/claims", body, headers={"Idempotency-Key": "create-1"})
    again = api.post("/claims", body, headers={"Idempotency-Key": "create-1"})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content and again["Idempotent-Replayed"] == "true"
    assert Claim.objects.count() == 1 and ClaimEvent.objects.filter(action="create").count() == 1
    other = api.post("/claims", {**body, "name": "Another"}, headers={"Idempotency-Key": "create-1"})
    assert_problem(other, 422, "idempotency_key_reused")
    assert Claim.objects.count() == 1
    # Refused requests are not kept: the same key may be retried once the cause is fixed.
    claim_id = first.json()["id"]
    refused = api.post(f"/claims/{claim_id}/actions/submit", headers={"Idempotency-Key": "submit-1"})
    assert_problem(refused, 409, "transition_refused")
    api.upload(f"/claims/{claim_id}/documents", pdf_upload(), headers={"Idempotency-Key": "doc-1"})
    api.upload(f"/claims/{claim_id}/documents", pdf_upload(), headers={"Idempotency-Key": "doc-1"})
    assert PoeDocument.objects.filter(claim_id=claim_id).count() == 1
    ok = api.post(f"/claims/{claim_id}/actions/submit", headers={"Idempotency-Key": "submit-1"})
    assert ok.status_code == 200 and ok.json()["status"] == "submitted"


def test_idempotency_in_progress_is_a_conflict(api: ApiClient, write_key: tuple[ApiKey, str]) -> None:
    from django.test import RequestFactory

    from api.idempotency import fingerprint as request_fingerprint

    body = new_claim_body()
    request = RequestFactory().post("/api/v1/claims", body, content_type="application/json")
    IdempotentRequest.objects.create(
        api_key=write_key[0], key="busy", fingerprint=request_fingerprint(request)
    )
    assert_problem(api.post("/claims", body, headers={"Idempotency-Key": "busy"}), 409, "conflict")
    assert Claim.objects.count() == 0


def test_openapi_lists_every_path_and_docs_use_local_assets(api: ApiClient) -> None:
    schema = json.loads(ApiClient(None).get("/openapi.json").content)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/v1/claims",
        "/api/v1/claims/{claim_id}",
        "/api/v1/claims/{claim_id}/documents",
        "/api/v1/claims/{claim_id}/actions/{action}",
        "/api/v1/claims/{claim_id}/comments",
        "/api/v1/claims/{claim_id}/events",
        "/api/v1/products",
        "/api/v1/mpns",
    } <= paths
    docs = ApiClient(None).get("/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_create_api_key_command_prints_the_key_last(admin: Any, capsys: Any) -> None:
    call_command("create_api_key", "--user", admin.email, "--scope", "write", "--name", "CLI")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiClient(secret).get("/mpns").status_code == 200
    key = ApiKey.objects.get(name="CLI")
    assert key.scope == "write" and secret not in key.hashed_key and key.created_by == admin


def test_what_the_schema_fuzzer_found_stays_mended(api: ApiClient, admin: Any) -> None:
    claim = draft(by=admin)
    before = fingerprint()
    # A body that is not a JSON object is refused, not read as "no fields" (a PATCH that changed nothing).
    for raw in (b"0", b"[]", b"null", b"{bad", b"\x00"):
        response = api.client.patch(
            f"/api/v1/claims/{claim.pk}", raw, content_type="application/json", headers=api._headers(None)
        )
        assert assert_problem(response, 422, "validation_error")["errors"] == {
            "__all__": [
                "The request body could not be read: send a JSON object (or multipart/form-data for files)."
            ]
        }
    assert fingerprint() == before
    # null clears an optional text field; on a required one it is a field error, never a 500.
    cleared = api.patch(f"/claims/{claim.pk}", {"customer_contact_title": None})
    assert cleared.status_code == 200 and cleared.json()["customer_contact_title"] == ""
    assert (
        "name"
        in assert_problem(api.patch(f"/claims/{claim.pk}", {"name": None}), 422, "validation_error")["errors"]
    )
    # updated_since is a date and time, not a number read as a Unix time.
    for value in ("0.5", "1700000000"):
        assert (
            "updated_since"
            in assert_problem(api.get("/claims", updated_since=value), 422, "validation_error")["errors"]
        )
    assert api.get("/claims", updated_since="2026-03-04T10:00:00Z").status_code == 200


def test_another_partners_key_cannot_file_on_our_mpn_or_reach_our_claims_through_filters(
    outsider_api: ApiClient, admin: Any
) -> None:
    ours = draft(by=admin, external_reference="CRM-1")
    before = fingerprint()
    refused = outsider_api.post("/claims", new_claim_body(mpn="4100001"))
    assert "mpn" in assert_problem(refused, 422, "validation_error")["errors"]
    assert fingerprint() == before
    for filters in ({"external_reference": "CRM-1"}, {"q": ours.customer_name}, {"status": "editing"}):
        assert outsider_api.get("/claims", **filters).json()["items"] == []
