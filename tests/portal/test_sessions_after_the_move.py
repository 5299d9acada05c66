"""A person signed in before sign-in moved from claims to accounts stays signed in after the deploy:
the accounts migration renames the backend their session names (Django signs out a session whose
backend is no longer configured)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from tests.factories import PartnerFactory, partner_user

moved = importlib.import_module("accounts.migrations.0001_sessions_name_the_moved_backend")

pytestmark = pytest.mark.django_db


def session_of(user: Any, backend: str) -> str:
    """A stored session signed in as `user` through `backend`, as Django's login() writes one."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = backend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def dashboard_with(session_key: str) -> Any:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client.get(reverse("claims:dashboard"))


def test_a_session_signed_in_through_the_old_backend_is_signed_in_again_after_the_migration() -> None:
    user = partner_user(PartnerFactory())
    key = session_of(user, moved.OLD)
    # Before the migration Django does not know the backend the session names: signed out.
    assert dashboard_with(key).status_code == 302
    moved.forwards(apps, None)
    assert SessionStore(session_key=key)[BACKEND_SESSION_KEY] == moved.NEW
    assert dashboard_with(key).status_code == 200


def test_other_sessions_are_left_as_they_are_and_the_migration_reverses() -> None:
    user = partner_user(PartnerFactory())
    other = session_of(user, "django.contrib.auth.backends.ModelBackend")
    old = session_of(user, moved.OLD)
    moved.forwards(apps, None)
    assert SessionStore(session_key=other)[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
    moved.backwards(apps, None)
    assert SessionStore(session_key=old)[BACKEND_SESSION_KEY] == moved.OLD
