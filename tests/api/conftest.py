from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from api.models import ApiKey
from claims.models import Membership
from tests.factories import MpnFactory, PartnerFactory, partner_user
from tests.webhook_receiver import receiver  # noqa: F401 (a fixture for the tests here)


class ApiClient:
    """Django's test client speaking to /api/v1/ with a bearer key (or none)."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client()
        self.secret = secret

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.secret is not None:
            out["Authorization"] = f"Bearer {self.secret}"
        return out

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            body if body is not None else {},
            content_type="application/json",
            headers=self._headers(headers),
        )

    def patch(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.patch(
            f"/api/v1{path}", body, content_type="application/json", headers=self._headers(headers)
        )

    def upload(self, path: str, upload: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(f"/api/v1{path}", {"file": upload}, headers=self._headers(headers))


@pytest.fixture
def partner(db: Any) -> Any:
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="4100001")
    return partner


@pytest.fixture
def admin(partner: Any) -> Any:
    return partner_user(partner, Membership.Role.INCENTIVES_ADMIN, email="ines@contoso.example")


@pytest.fixture
def write_key(admin: Any) -> tuple[ApiKey, str]:
    return ApiKey.issue(name="CRM sync", partner=admin.membership.partner, created_by=admin, scope="write")


@pytest.fixture
def api(write_key: tuple[ApiKey, str]) -> ApiClient:
    return ApiClient(write_key[1])


@pytest.fixture
def read_api(admin: Any) -> ApiClient:
    _key, secret = ApiKey.issue(
        name="Reports", partner=admin.membership.partner, created_by=admin, scope="read"
    )
    return ApiClient(secret)


@pytest.fixture
def outsider_api(db: Any) -> ApiClient:
    other = PartnerFactory(name="Fabrikam")
    MpnFactory(partner=other)
    user = partner_user(other, Membership.Role.GLOBAL_ADMIN)
    _key, secret = ApiKey.issue(name="Fabrikam CRM", partner=other, created_by=user, scope="write")
    return ApiClient(secret)
