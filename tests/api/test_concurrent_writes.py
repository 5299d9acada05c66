"""Retries and races over real HTTP against `live_server` on PostgreSQL (each request its own thread
and connection, real commits):

- the same create with the same Idempotency-Key sent 10 times, 5 of them at once, makes one claim;
  every answer is that claim's 201 body, or a 409 "still being processed" (with Retry-After) for one
  that overlapped the first, whose retry afterwards gets the 201;
- five creates at once giving one external_reference: one claim has it, the others get the field error.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from api.models import ApiKey, IdempotentRequest
from claims.models import Claim, ClaimEvent, Membership
from tests.api.test_partner_api import new_claim_body
from tests.factories import MpnFactory, PartnerFactory, partner_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CONCURRENT = 5


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def post(url: str, secret: str, body: dict[str, Any], idempotency_key: str | None = None) -> Answer:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Authorization", f"Bearer {secret}")
    request.add_header("Content-Type", "application/json")
    if idempotency_key:
        request.add_header("Idempotency-Key", idempotency_key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our live server)
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def at_once(count: int, send: Any) -> list[Answer]:
    """Run `send(i)` in `count` threads released together; every thread's answer."""
    barrier = threading.Barrier(count, timeout=30)
    answers: list[Answer | None] = [None] * count
    crashes: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            answers[i] = send(i)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            crashes.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert crashes == []
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


@pytest.fixture
def crm(live_server: Any) -> dict[str, Any]:
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="4100001")
    admin = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
    _key, secret = ApiKey.issue(name="CRM sync", partner=partner, created_by=admin, scope="write")
    return {"url": f"{live_server.url}/api/v1/claims", "secret": secret}


def test_the_same_create_ten_times_five_at_once_makes_one_claim(crm: dict[str, Any]) -> None:
    body = new_claim_body(external_reference="CRM-1001")
    key = f"create-{uuid.uuid4()}"

    racing = at_once(CONCURRENT, lambda _i: post(crm["url"], crm["secret"], body, key))
    assert {a.status for a in racing} <= {201, 409}, [(a.status, a.body) for a in racing]
    originals = [a for a in racing if a.status == 201 and "Idempotent-Replayed" not in a.headers]
    assert len(originals) == 1
    created = originals[0].json()
    for answer in racing:
        if answer.status == 201:
            assert answer.json() == created
        else:
            problem = answer.json()
            assert problem["code"] == "conflict" and answer.headers["Retry-After"] == "1"
            assert answer.headers["Content-Type"] == "application/problem+json"

    # The five later retries (and any retry of a 409) all get the first 201, replayed.
    for _ in range(10 - CONCURRENT):
        again = post(crm["url"], crm["secret"], body, key)
        assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == created

    assert Claim.objects.count() == 1
    claim = Claim.objects.get()
    assert claim.pk == created["id"] and claim.external_reference == "CRM-1001"
    assert ClaimEvent.objects.filter(claim=claim, action="create").count() == 1
    assert IdempotentRequest.objects.filter(key=key).count() == 1


def test_five_creates_at_once_with_one_reference_leave_it_on_one_claim(crm: dict[str, Any]) -> None:
    bodies = [new_claim_body(name=f"Rollout {i}", external_reference="CRM-2002") for i in range(CONCURRENT)]

    answers = at_once(CONCURRENT, lambda i: post(crm["url"], crm["secret"], bodies[i]))
    assert sorted(a.status for a in answers) == [201] + [422] * (CONCURRENT - 1), [a.body for a in answers]
    (winner,) = [a.json() for a in answers if a.status == 201]
    for answer in answers:
        if answer.status == 422:
            problem = answer.json()
            assert problem["code"] == "validation_error"
            assert problem["errors"]["external_reference"] == [
                f"Your claim “{winner['name']}” (#{winner['id']}) already has this reference."
            ]
    assert list(Claim.objects.values_list("external_reference", flat=True)) == ["CRM-2002"]
