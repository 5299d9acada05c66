"""Password-reset mail goes through the outbox: an SMTP outage delays it, loses nothing, and no row holds
the link (it is minted when the mail is sent)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import time_machine
from django.core import mail, serializers
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpor import outbox
from cpor.models import OutboundEmail

pytestmark = pytest.mark.django_db

RESET_LINK = re.compile(r"http://portal\.example(/accounts/reset/[^/\s]+/([^/\s]+)/)")


class RefusingBackend:
    """An SMTP server that is down."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def send_messages(self, messages: object) -> int:
        raise ConnectionRefusedError("SMTP is down")


@pytest.fixture(autouse=True)
def _private_counters(settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "reset"}
    }
    settings.SITE_URL = "http://portal.example"
    cache.clear()


def due_mail() -> int:
    return outbox.redeliver_pending()


def test_smtp_down_the_request_answers_the_mail_waits_and_is_sent_once(
    manager: Any, client: Client, settings: Any, django_capture_on_commit_callbacks, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    settings.EMAIL_BACKEND = "tests.portal.test_password_reset_outbox.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("claims:password_reset"), {"email": "alice@contoso.example"})
    assert response.status_code == 302 and response["Location"] == reverse("claims:password_reset_done")
    (row,) = OutboundEmail.objects.filter(kind="password_reset")
    assert row.status == OutboundEmail.Status.QUEUED and row.to == "alice@contoso.example"
    later = timezone.now() + outbox.FIRST_REDRIVE_DELAY * 2
    with time_machine.travel(later):
        assert due_mail() == 0  # still down
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.QUEUED, 1)
    assert "SMTP is down" in row.last_error
    assert not mail.outbox

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(later + outbox.retry_delay(1) * 2):
        assert due_mail() == 1
        assert due_mail() == 0
    assert outbox.deliver(row.pk) is False
    (message,) = mail.outbox
    assert message.to == ["alice@contoso.example"] and message.subject == "Reset your CPOR password"
    path, token = RESET_LINK.search(message.body).groups()

    # Nobody reading the outbox, or the logs, sees a usable link.
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert "sent only to the account's owner" in row.body
    stored = serializers.serialize("json", OutboundEmail.objects.all())
    assert token not in stored and path not in stored
    assert token not in caplog.text

    form_page = client.get(path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"},
    )
    assert done["Location"] == reverse("claims:password_reset_complete")
    signed_in = Client().post(
        reverse("login"), {"username": "alice@contoso.example", "password": "a-brand-new-secret-42"}
    )
    assert signed_in.status_code == 302
