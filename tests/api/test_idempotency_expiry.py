"""Idempotency keys are kept 24 hours: within them a retry replays, after them the same key is a new
request; a daily beat job forgets the old rows in batches and is safe to run twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from api.idempotency import purge_expired
from api.models import IdempotentRequest
from api.tasks import purge_idempotency_keys
from claims.models import Comment
from cpor.celery import app
from tests.api.conftest import ApiClient
from tests.api.test_partner_api import new_claim_body
from tests.factories import claim_in

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)


def test_a_retry_within_24_hours_replays_and_after_them_is_a_new_request(api: ApiClient, admin: Any) -> None:
    claim = claim_in("submitted", by=admin)
    path = f"/claims/{claim.pk}/comments"
    with time_machine.travel(T0, tick=False) as clock:
        first = api.post(path, {"body": "Signed SOW attached."}, headers={"Idempotency-Key": "crm-1"})
        assert first.status_code == 201

        clock.move_to(T0 + dt.timedelta(hours=23, minutes=59))
        replay = api.post(path, {"body": "Signed SOW attached."}, headers={"Idempotency-Key": "crm-1"})
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
        assert replay.json() == first.json()
        assert Comment.objects.filter(claim=claim).count() == 1

        clock.move_to(T0 + dt.timedelta(hours=24, minutes=1))
        later = api.post(path, {"body": "Signed SOW attached."}, headers={"Idempotency-Key": "crm-1"})
        assert later.status_code == 201 and "Idempotent-Replayed" not in later
        assert later.json()["id"] != first.json()["id"]
        assert Comment.objects.filter(claim=claim).count() == 2
        # Within 24 hours of that request, another body with the key is refused; after them it is new.
        other = api.post(path, {"body": "Another note."}, headers={"Idempotency-Key": "crm-1"})
        assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
        clock.move_to(T0 + dt.timedelta(hours=48, minutes=2))
        other = api.post(path, {"body": "Another note."}, headers={"Idempotency-Key": "crm-1"})
        assert other.status_code == 201 and other.json()["body"] == "Another note."
        assert Comment.objects.filter(claim=claim).count() == 3


def test_the_daily_job_forgets_keys_older_than_24_hours_in_batches_and_twice_is_harmless(
    api: ApiClient,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        for n in range(5):
            response = api.post(
                "/claims", new_claim_body(name=f"Old {n}"), headers={"Idempotency-Key": f"old-{n}"}
            )
            assert response.status_code == 201
        clock.move_to(T0 + dt.timedelta(hours=12))
        recent_body = new_claim_body(name="Recent")
        recent = api.post("/claims", recent_body, headers={"Idempotency-Key": "recent"})
        assert recent.status_code == 201
        assert IdempotentRequest.objects.count() == 6

        clock.move_to(T0 + dt.timedelta(hours=23, minutes=59))
        assert purge_idempotency_keys() == 0
        assert IdempotentRequest.objects.count() == 6

        clock.move_to(T0 + dt.timedelta(hours=24, minutes=1))
        assert purge_expired(batch_size=2) == 5
        assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["recent"]
        assert purge_idempotency_keys() == 0
        # The purged key is a new request now; the kept one still replays.
        again = api.post("/claims", new_claim_body(name="Old 0"), headers={"Idempotency-Key": "old-0"})
        assert again.status_code == 201 and "Idempotent-Replayed" not in again
        kept = api.post("/claims", recent_body, headers={"Idempotency-Key": "recent"})
        assert kept["Idempotent-Replayed"] == "true" and kept.json() == recent.json()


def test_the_purge_is_on_the_beat_schedule_daily() -> None:
    entry = app.conf.beat_schedule["purge-idempotency-keys"]
    assert entry["task"] == purge_idempotency_keys.name == "api.tasks.purge_idempotency_keys"
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {30}
