"""The portal's API keys page: Global and Incentives admins only; a key is shown once and stored hashed."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from api.models import ApiKey, key_hash
from claims.models import Membership
from tests.api.conftest import ApiClient
from tests.factories import PartnerFactory, partner_user

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user, backend="accounts.auth.EmailBackend")
    return client


@pytest.mark.parametrize("role", [Membership.Role.GLOBAL_ADMIN, Membership.Role.INCENTIVES_ADMIN])
def test_an_admin_creates_lists_and_revokes_a_key(partner: Any, role: str) -> None:
    user = partner_user(partner, role)
    client = signed_in(user)
    page = client.get("/api-keys/")
    assert page.status_code == 200 and b"Create a key" in page.content
    created = client.post("/api-keys/new/", {"name": "CRM sync", "scope": "write"})
    assert created.status_code == 200 and created["Cache-Control"].startswith("max-age=0")
    key = ApiKey.objects.get()
    secret = created.context["secret"]
    assert secret.encode() in created.content and key.hashed_key == key_hash(secret)
    assert (key.partner, key.created_by, key.scope) == (partner, user, "write")
    listed = client.get("/api-keys/").content
    assert b"CRM sync" in listed and key.prefix.encode() in listed and secret.encode() not in listed
    assert ApiClient(secret).get("/mpns").status_code == 200

    assert b"Every call with it will be refused" in client.get(f"/api-keys/{key.pk}/revoke/").content
    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert ApiClient(secret).get("/mpns").status_code == 401


def test_the_page_is_in_turkish(partner: Any) -> None:
    client = signed_in(partner_user(partner, Membership.Role.GLOBAL_ADMIN))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "tr"
    page = client.get("/api-keys/")
    assert page.status_code == 200 and b'lang="tr"' in page.content


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.BILLING_ADMIN])
def test_other_members_get_403_and_change_nothing(partner: Any, role: str) -> None:
    admin = partner_user(partner, Membership.Role.GLOBAL_ADMIN)
    key, _secret = ApiKey.issue(name="CRM", partner=partner, created_by=admin, scope="read")
    client = signed_in(partner_user(partner, role))
    assert client.get("/api-keys/").status_code == 403
    assert client.post("/api-keys/new/", {"name": "Mine", "scope": "write"}).status_code == 403
    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 403
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_another_partners_admin_gets_404_on_a_key_and_anonymous_is_sent_to_sign_in(partner: Any) -> None:
    admin = partner_user(partner, Membership.Role.GLOBAL_ADMIN)
    key, _secret = ApiKey.issue(name="Contoso pipeline", partner=partner, created_by=admin, scope="read")
    outsider = signed_in(partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN))
    assert outsider.post(f"/api-keys/{key.pk}/revoke/").status_code == 404
    assert b"Contoso pipeline" not in outsider.get("/api-keys/").content
    assert Client().get("/api-keys/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is None


def test_invalid_form_shows_errors(partner: Any) -> None:
    client = signed_in(partner_user(partner, Membership.Role.GLOBAL_ADMIN))
    response = client.post("/api-keys/new/", {"name": "", "scope": "admin"})
    assert response.status_code == 400 and ApiKey.objects.count() == 0
