"""schemathesis runs every operation of /api/v1/openapi.json against the app (in process, through the
WSGI application) with a read-write key: no 500, and every answer matches the schema (status codes,
content types, headers, bodies), invalid input is refused and a call without the key is a 401.

The claim ids it generates land on real claims of the key's partner in several states (or on one that
does not exist), so the operations run their rules, not only their 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from api.models import ApiKey
from claims.models import Membership
from cpor.wsgi import application
from tests.factories import MpnFactory, PartnerFactory, claim_in, draft, partner_user

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

EXAMPLES = 60
# The read-write key of the running test (keys live in its database), applied by the auth provider so
# schemathesis knows the header is the caller's and still tries requests without it.
CURRENT_KEY: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class BearerKey:
    def get(self, case: Any, ctx: Any) -> str:
        return CURRENT_KEY.get("secret", "")

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """Requests through the WSGI app keep the test's database connection (and so its transaction),
    as Django's test client does: the app closes old connections at each request's end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(settings: Any, in_test_transaction: None) -> dict[str, Any]:
    """A partner with claims in several states, a read-write key, and limits the run cannot reach."""
    settings.CPOR_API_RATE_READ = 1_000_000
    settings.CPOR_API_RATE_WRITE = 1_000_000
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="4100001")
    admin = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
    _key, secret = ApiKey.issue(name="Fuzz", partner=partner, created_by=admin, scope="write")
    claims = [
        draft(by=admin, external_reference="CRM-1"),
        claim_in("submitted", by=admin),
        claim_in("partner_action_required", by=admin),
        claim_in("rejected", by=admin),
    ]
    CURRENT_KEY["secret"] = secret
    return {"claim_ids": [c.pk for c in claims]}


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_conforms_and_never_fails(case: Any, world: dict[str, Any]) -> None:
    claim_id = (case.path_parameters or {}).get("claim_id")
    if isinstance(claim_id, int):
        ids = world["claim_ids"]
        # Mostly a real claim of the key's partner; now and then the generated id (almost always none).
        slot = claim_id % (len(ids) + 1)
        if slot < len(ids):
            case.path_parameters["claim_id"] = ids[slot]
    response = case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])
    # The key is the caller's: a request that carries it is never refused as unauthenticated.
    if (case.headers or {}).get("Authorization") == f"Bearer {CURRENT_KEY['secret']}":
        assert response.status_code != 401, response.text


def test_the_fuzzing_key_reaches_the_data_and_every_operation_is_fuzzed(world: dict[str, Any]) -> None:
    """The run above means something only if its calls get past the key and cover every operation."""
    case = schema["/api/v1/claims"]["GET"].Case(
        query={"limit": 10}, headers={"Authorization": f"Bearer {CURRENT_KEY['secret']}"}
    )
    response = case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])
    assert response.status_code == 200
    assert sorted(item["id"] for item in response.json()["items"]) == sorted(world["claim_ids"])
    fuzzed = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert ("POST", "/api/v1/claims/{claim_id}/actions/{action}") in fuzzed
    assert ("PATCH", "/api/v1/claims/{claim_id}") in fuzzed
    assert len(fuzzed) == sum(len(item) for item in schema.raw_schema["paths"].values())
