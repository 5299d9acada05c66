"""A NUL character in a query string is a 400 on every page, the review queue and the partner's
dashboard alike, before any filter reaches the database."""

from __future__ import annotations

import pytest

from tests.factories import draft, partner_user, reviewer
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["status=x%00", "product=x%00", "solution_area__exact=x%00", "q=%00"])
def test_a_nul_in_a_query_string_is_a_400_everywhere(query: str) -> None:
    lead = reviewer(lead=True)
    partner = partner_user(draft().partner)
    assert client_for(lead).get(f"/admin/claims/claim/?{query}").status_code == 400
    assert client_for(partner).get(f"/claims/?{query}").status_code == 400
