"""A CRM's round trip over real HTTP against `live_server`: a key from the management command,
a draft, a PDF upload, submit, and the history that says "via API"."""

from __future__ import annotations

import io
import json
import urllib.request
import uuid
from typing import Any

import pytest
from django.core.management import call_command

from claims.models import Claim, Membership
from tests.factories import MpnFactory, PartnerFactory, mail_to, partner_user

pytestmark = pytest.mark.django_db(transaction=True)


def call(
    url: str, key: str, method: str = "GET", body: Any = None, content_type: str = ""
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", content_type or "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our live server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode())
    body.write(b"Content-Type: application/pdf\r\n\r\n" + content + f"\r\n--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def draft_body(**fields: Any) -> dict[str, Any]:
    """A complete draft on MPN ID 4100001, as a CRM would send it (with `fields` on top)."""
    return {
        "name": "Sales rollout",
        "mpn": "4100001",
        "solution_area": "business_applications",
        "activity": "usage",
        "customer_name": "Northwind",
        "customer_domain": "northwind.example",
        "customer_tenant_id": str(uuid.uuid4()),
        "products": ["d365-sales"],
        "customer_contact_name": "Nina",
        "customer_contact_title": "CIO",
        "customer_contact_email": "nina@northwind.example",
        "technical_contact_name": "Tom",
        "technical_contact_email": "tom@northwind.example",
        "partner_contact_name": "Paula",
        "partner_contact_email": "paula@contoso.example",
        "work_description": "Rolled out Sales.",
        **fields,
    }


def test_crm_round_trip(live_server: Any, capsys: Any) -> None:
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="4100001")
    user = partner_user(partner, Membership.Role.INCENTIVES_ADMIN, email="ines@contoso.example")
    call_command("create_api_key", "--user", user.email, "--scope", "write", "--name", "Dynamics CRM")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    base = f"{live_server.url}/api/v1"

    status, claim = call(
        f"{base}/claims",
        key,
        "POST",
        draft_body(),
    )
    assert status == 201, claim
    body, content_type = multipart("sow.pdf", b"%PDF-1.7\nsigned statement of work\n%%EOF\n")
    status, document = call(f"{base}/claims/{claim['id']}/documents", key, "POST", body, content_type)
    assert status == 201 and document["kind"] == "pdf"
    status, submitted = call(f"{base}/claims/{claim['id']}/actions/submit", key, "POST", {})
    assert status == 200 and submitted["status"] == "submitted"
    status, events = call(f"{base}/claims/{claim['id']}/events", key)
    assert [e["action"] for e in events if e["via_api_key"] == "Dynamics CRM"] == [
        "create",
        "upload",
        "submit",
    ]
    assert Claim.objects.get(pk=claim["id"]).status == "submitted"
    assert mail_to("paula@contoso.example", kind="claim_submitted")
