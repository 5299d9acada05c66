"""Sign in with email, sign out, locked failures (the policy: test_sign_in_policy.py), password reset
by email, and the language."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpor import outbox
from cpor.models import OutboundEmail

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _private_counters(settings: Any) -> Any:
    """Rate-limit counters in this process only (a shared Redis may be flushed by another test run),
    under a stopped clock (a fixed-window counter resets when a window boundary passes)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "auth"}
    }
    cache.clear()
    with time_machine.travel(timezone.now(), tick=False):
        yield


def sign_in(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def test_sign_in_with_email_and_out(manager: Any, client: Client) -> None:
    response = sign_in(client, "ALICE@contoso.example", "pw-for-tests")
    assert response.status_code == 302
    dashboard = client.get("/").content.decode()
    assert "alice@contoso.example" in dashboard and "Customer associations" in dashboard
    assert client.get(reverse("logout")).status_code == 405  # signing out is a POST
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/claims/").status_code == 302


def test_a_wrong_password_is_a_form_error(manager: Any, client: Client) -> None:
    response = sign_in(client, "alice@contoso.example", "wrong")
    assert response.status_code == 200
    assert "The email address or the password is wrong." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_email_at_that_address(
    manager: Any, client: Client, settings: Any
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert "is wrong" in sign_in(client, "alice@contoso.example", "guess").content.decode()
    response = sign_in(client, "alice@contoso.example", "guess")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    # Locked: even the right password does not sign in now …
    response = sign_in(client, "alice@contoso.example", "pw-for-tests")
    assert response.status_code == 429 and "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # … but another email from the same address, or the same email from elsewhere, still can.
    other = sign_in(client, "bob@contoso.example", "guess")
    assert "is wrong" in other.content.decode()
    assert (
        sign_in(Client(), "alice@contoso.example", "pw-for-tests", REMOTE_ADDR="10.0.0.9").status_code == 302
    )


def test_hostile_sign_in_input_is_a_form_error(manager: Any, client: Client) -> None:
    for email, password in [
        ("<script>alert(1)</script>", "x"),
        ("a" * 10_000 + "@example.com", "x"),
        ("alice@contoso.example\x00", "x"),
        ("alice@contoso.example", "\x00" * 10),
        ("alice@contoso.example", "p" * 10_000),
    ]:
        response = sign_in(client, email, password)
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.content.decode()
        assert "_auth_user_id" not in client.session


def deliver_queued_mail() -> int:
    return sum(
        outbox.deliver(pk)
        for pk in OutboundEmail.objects.filter(status="queued").values_list("pk", flat=True)
    )


def test_password_reset_by_email(manager: Any, client: Client, settings: Any) -> None:
    settings.SITE_URL = "http://portal.example"
    response = client.post(reverse("claims:password_reset"), {"email": "alice@contoso.example"})
    assert response.status_code == 302 and response["Location"] == reverse("claims:password_reset_done")
    assert deliver_queued_mail() == 1
    (message,) = mail.outbox
    assert message.to == ["alice@contoso.example"] and message.subject == "Reset your CPOR password"
    link = re.search(r"http://portal\.example(/accounts/reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"},
    )
    assert done.status_code == 302 and done["Location"] == reverse("claims:password_reset_complete")
    assert sign_in(Client(), "alice@contoso.example", "a-brand-new-secret-42").status_code == 302
    # Unknown addresses get the same answer and no mail.
    mail.outbox.clear()
    response = client.post(reverse("claims:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and deliver_queued_mail() == 0 and not mail.outbox


def test_password_reset_email_in_turkish(manager: Any, client: Client) -> None:
    client.cookies["django_language"] = "tr"
    client.post(reverse("claims:password_reset"), {"email": "alice@contoso.example"})
    deliver_queued_mail()
    (message,) = mail.outbox
    assert message.subject == "CPOR parolanızı sıfırlayın"
    assert "Merhaba" in message.body


def test_password_reset_requests_are_limited(manager: Any, client: Client) -> None:
    from claims import views

    for _ in range(views.PASSWORD_RESETS_PER_IP):
        client.post(reverse("claims:password_reset"), {"email": "alice@contoso.example"})
    response = client.post(reverse("claims:password_reset"), {"email": "alice@contoso.example"})
    assert response.status_code == 200
    assert "Too many reset requests" in response.content.decode()
    assert OutboundEmail.objects.filter(kind="password_reset").count() == views.PASSWORD_RESETS_PER_IP


def test_the_language_switch_is_remembered(manager_client: Client) -> None:
    response = manager_client.post(reverse("claims:set_language"), {"language": "tr", "next": "/claims/?q=x"})
    assert response.status_code == 302 and response["Location"] == "/claims/?q=x"
    cookie = response.cookies["django_language"]
    assert cookie.value == "tr" and int(cookie["max-age"]) >= 300 * 24 * 3600
    html = manager_client.get("/claims/").content.decode()
    assert 'lang="tr"' in html and "Yeni talep" in html
    assert manager_client.get(reverse("claims:set_language")).status_code == 405
    evil = manager_client.post(
        reverse("claims:set_language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert evil["Location"] == "/" and "django_language" not in evil.cookies
