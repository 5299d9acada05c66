"""The dashboard's filter-form cache is keyed on the cleaned filters, so invented URLs cannot grow it:
junk parameters, free text, dates and invalid values render uncached or share a key."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bounded"}
    }
    cache.clear()


def keys() -> set[str]:
    return set(cache._cache)  # LocMemCache's own store


def junk_query(n: int) -> str:
    return [
        f"junk{n}=x",
        f"q=customer-{n}",
        f"status=bogus-{n}",
        f"page=x{n}",
        f"sort=zz{n}",
        f"submitted_from=2026-01-01&utm={n}",
        f"status=approved&ref={n}",
        f"product=nope-{n}",
        f"q=%20{'%20' * (n % 50)}&n={n}",
        f"activity=usage&solution_area=bogus{n}",
    ][n % 10]


def test_two_thousand_invented_urls_add_a_handful_of_keys(manager_client: Client) -> None:
    assert manager_client.get("/claims/").status_code == 200
    warm = keys()

    for n in range(2000):
        assert manager_client.get(f"/claims/?{junk_query(n)}").status_code == 200

    added = keys() - warm
    assert len(added) <= 3, sorted(added)  # ?status=approved's form, at most a key or two more


def test_the_cached_form_always_shows_what_was_asked(manager_client: Client) -> None:
    def form_html(query: str) -> str:
        html = manager_client.get(f"/claims/?{query}").content.decode()
        return html[html.index('<section aria-labelledby="filter-heading"') :].split("</section>")[0]

    approved = form_html("status=approved&junk=1")
    assert '<option value="approved" selected>' in approved and "Clear filters" in approved
    assert form_html("status=approved") == approved
    plain = form_html("")
    assert '<option value="approved" selected>' not in plain and "Clear filters" not in plain
    invalid = form_html("status=bogus")
    assert "Select a valid choice" in invalid
    assert "Select a valid choice" not in form_html("")
    assert 'value="needle"' in form_html("q=needle") and 'value="needle"' not in form_html("")
