"""The benchmark's bare views (bench/bare_views.py) are served only under the benchmark's settings."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import Resolver404, resolve

from tests.factories import reviewer

BARE = ("/bench/bare/dashboard/", "/bench/bare/claim/1/", "/bench/bare/consent/abc/", "/bench/bare/queue/")


@pytest.mark.parametrize("path", BARE)
def test_the_site_has_no_bare_view(path: str) -> None:
    with pytest.raises(Resolver404):
        resolve(path)  # the production URL configuration, cpor.urls


@pytest.mark.django_db
@pytest.mark.parametrize("path", BARE)
def test_a_request_for_one_finds_nothing(path: str) -> None:
    client = Client()
    client.force_login(reviewer())
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", BARE)
def test_the_benchmark_settings_serve_them_beside_the_site(path: str) -> None:
    with override_settings(ROOT_URLCONF="bench.bare_views"):
        assert resolve(path).func.__module__ == "bench.bare_views"
        assert resolve("/claims/").url_name == "dashboard"
