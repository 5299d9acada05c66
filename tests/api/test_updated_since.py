"""`updated_since` with any offset ISO 8601 allows (up to ±23:59) and at the ends of the calendar
filters the list; it is never a database error (PostgreSQL takes offsets up to 15:59 only)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiClient
from tests.factories import draft

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("since", "found"),
    [
        ("2000-06-10T15:38:19+19:07", True),
        ("2000-06-10T15:38:19-23:59", True),
        ("0001-01-01T00:00:00+05:00", True),  # before year 1 in UTC
        ("0457-06-10T15:38:19.063+19:07", True),
        ("9999-12-31T23:59:59-05:00", False),  # after 9999 in UTC
        ("9999-12-31T20:00:00+19:07", False),
    ],
)
def test_any_offset_filters_and_never_fails(api: ApiClient, admin: Any, since: str, found: bool) -> None:
    claim = draft(admin.membership.partner, by=admin)
    response = api.get("/claims", updated_since=since)
    assert response.status_code == 200, response.content
    assert [c["id"] for c in response.json()["items"]] == ([claim.pk] if found else [])
