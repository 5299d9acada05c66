"""Rate limits per API key: reads and writes counted apart, 429 `rate_limited` with Retry-After (the
seconds until the minute turns), nothing written past the limit, other keys unaffected, and no limit
(but no failure either) when the cache cannot count."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from django.test import override_settings

from api.models import ApiKey
from claims.models import Comment
from tests.api.conftest import ApiClient
from tests.api.test_partner_api import assert_problem
from tests.cpor.test_redis_outage import closed_port, redis_cache
from tests.factories import claim_in

pytestmark = pytest.mark.django_db

# 15 seconds into a minute: the window turns in 45.
AT = dt.datetime(2026, 3, 4, 10, 0, 15, tzinfo=dt.UTC)


@pytest.fixture
def small_limits(settings: Any) -> None:
    settings.CPOR_API_RATE_READ = 3
    settings.CPOR_API_RATE_WRITE = 2
    if settings.REDIS_URL:
        # Other test runs share this Redis and some clear its cache database (cache.clear()) in the
        # middle of ours: count in a database and under a prefix of our own.
        location = urlunsplit(urlsplit(settings.REDIS_URL)._replace(path="/5"))
        settings.CACHES = {
            "default": {
                **redis_cache(location)["default"],
                "KEY_PREFIX": f"cpor-rate-test-{uuid.uuid4().hex}",
            }
        }


def test_reads_past_the_limit_get_429_with_retry_after_until_the_minute_turns(
    small_limits: None, api: ApiClient, read_api: ApiClient
) -> None:
    with time_machine.travel(AT, tick=False) as clock:
        for _ in range(3):
            assert api.get("/products").status_code == 200
        refused = api.get("/claims")
        body = assert_problem(refused, 429, "rate_limited")
        assert refused["Retry-After"] == "45"
        assert "retry in 45 seconds" in body["detail"]
        # Another key of the same partner counts on its own.
        assert read_api.get("/products").status_code == 200

        clock.move_to(AT + dt.timedelta(seconds=40))
        assert api.get("/products")["Retry-After"] == "5"
        clock.move_to(AT + dt.timedelta(seconds=45))
        assert api.get("/products").status_code == 200


def test_writes_have_their_own_smaller_limit_and_a_refused_write_changes_nothing(
    small_limits: None, api: ApiClient, admin: Any
) -> None:
    claim = claim_in("submitted", by=admin)
    with time_machine.travel(AT, tick=False):
        for n in range(2):
            assert api.post(f"/claims/{claim.pk}/comments", {"body": f"Note {n}"}).status_code == 201
        before = Comment.objects.count()
        refused = api.post(f"/claims/{claim.pk}/comments", {"body": "One too many"})
        assert_problem(refused, 429, "rate_limited")
        assert refused["Retry-After"] == "45"
        assert Comment.objects.count() == before
        # Reads are still within their own limit.
        assert api.get(f"/claims/{claim.pk}/comments").status_code == 200


def test_the_429_is_in_the_schema(api: ApiClient) -> None:
    schema = api.get("/openapi.json").json()
    assert "429" in schema["paths"]["/api/v1/claims"]["get"]["responses"]
    assert "Retry-After" in schema["info"]["description"]


def test_without_the_cache_the_limit_is_not_applied_and_nothing_fails(
    small_limits: None, write_key: tuple[ApiKey, str]
) -> None:
    with override_settings(CACHES=redis_cache(f"redis://127.0.0.1:{closed_port()}/0")):
        api = ApiClient(write_key[1])
        for _ in range(5):
            assert api.get("/products").status_code == 200
