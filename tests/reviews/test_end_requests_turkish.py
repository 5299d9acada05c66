"""The pages of the customers' requests to end an association read in Turkish for a Turkish reviewer."""

from __future__ import annotations

import pytest

from tests.reviews.test_admin_turkish import untranslated

from .admin_pages import client_for
from .test_end_requests import clock, pages_of_end_requests  # noqa: F401 (clock: the pinned-clock fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "queue",
        "queue, filtered",
        "claim page, lead",
        "claim page, reviewer",
        "claim page, asked again",
        "end association form",
        "claim page, disputed, the lead who ended it",
        "claim page, disputed, another lead",
        "SLA overview",
    ],
)
def test_the_pages_are_in_turkish(name: str) -> None:
    who, url = pages_of_end_requests()[name]
    assert untranslated(client_for(who), url) == []
