"""`cpor.bulk`: many rows in one statement, ids back in the order of the rows, values stored as given.

These run on whichever database the suite uses; under CI that is PostgreSQL, where the rows travel
as arrays (constants once) or through COPY (JSON that differs per row).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.models import Claim, ClaimEvent
from cpor.bulk import insert_new_rows, insert_rows
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import claim_in

pytestmark = pytest.mark.django_db

S = "submitted"


def event_row(claim_id: int, note: str, *, at: dt.datetime, diff: dict | None = None) -> dict[str, object]:
    return {
        "claim_id": claim_id,
        "created_at": at,
        "actor_kind": ClaimEvent.ActorKind.SYSTEM,
        "actor_id": None,
        "action": ClaimEvent.Action.NOTIFICATION,
        "from_status": "",
        "to_status": "",
        "diff": {"status": ["a", "b"]} if diff is None else diff,
        "note": note,
        "partner_visible": True,
        "email_id": None,
    }


def test_rows_that_share_most_columns_come_back_in_order_with_their_values() -> None:
    claims = [claim_in(S), claim_in(S), claim_in(S)]
    at = timezone.now().replace(microsecond=0)
    rows = [event_row(claim.pk, f"note {i}", at=at) for i, claim in enumerate(claims)] * 2

    with CaptureQueriesContext(connection) as queries:
        ids = insert_rows(ClaimEvent, rows)

    assert len(ids) == len(rows) == len(set(ids))
    stored = ClaimEvent.objects.in_bulk(ids)
    for pk, row in zip(ids, rows, strict=True):
        event = stored[pk]
        assert (event.claim_id, event.note, event.created_at, event.diff) == (
            row["claim_id"],
            row["note"],
            at,
            {"status": ["a", "b"]},
        )
    if connection.vendor == "postgresql":
        assert len(queries) == 1, "one INSERT … SELECT FROM unnest, ids from RETURNING"


def test_rows_whose_json_differs_keep_each_value_and_their_order() -> None:
    now = timezone.now()
    contexts = [
        {"claim_id": n, "deadline": {"$datetime": "2026-11-24T10:00:00+00:00"}, "codes": ["x"] * n}
        for n in range(5)
    ]
    rows = [
        {
            "kind": "claim_rejected",
            "to": f"p{n}@partner.example\nq{n}@partner.example",
            "language": "tr" if n % 2 else "en",
            "context": context,
            "subject": "",
            "body": "",
            "status": OutboundEmail.Status.QUEUED,
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
            "sent_at": None,
        }
        for n, context in enumerate(contexts)
    ]

    ids = insert_rows(OutboundEmail, rows)

    stored = OutboundEmail.objects.in_bulk(ids)
    assert [(stored[pk].context, stored[pk].language, stored[pk].recipients) for pk in ids] == [
        (row["context"], row["language"], row["to"].splitlines()) for row in rows
    ]


def test_a_single_row_of_constants_is_inserted() -> None:
    claim = claim_in(S)
    (pk,) = insert_rows(ClaimEvent, [event_row(claim.pk, "alone", at=timezone.now(), diff={})])
    assert ClaimEvent.objects.get(pk=pk).note == "alone"


def test_nothing_to_insert_runs_no_query() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(ClaimEvent, []) == []
        assert insert_new_rows(AssessmentHandoff, []) == 0
    assert len(queries) == 0


def test_new_rows_skip_what_a_unique_constraint_already_holds() -> None:
    first, second, third = claim_in(S), claim_in(S), claim_in(S)
    now = timezone.now()

    def row(claim_id: int, programme: str) -> dict[str, object]:
        claim = Claim.objects.get(pk=claim_id)
        return {
            "claim_id": claim_id,
            "partner_id": claim.partner_id,
            "programme": programme,
            "payment_eligible": True,
            "queued_at": now,
            "channel": "",
            "reasons": [],
        }

    assert insert_new_rows(AssessmentHandoff, [row(first.pk, "osu")]) == 1
    inserted = insert_new_rows(
        AssessmentHandoff, [row(first.pk, "osa"), row(second.pk, "osa"), row(third.pk, "osu")]
    )

    assert inserted == 2
    assert dict(AssessmentHandoff.objects.values_list("claim_id", "programme")) == {
        first.pk: "osu",  # kept: not overwritten
        second.pk: "osa",
        third.pk: "osu",
    }
