"""No live consent link is readable by staff: it is minted when the notice is sent, only the mail holds it.

A reviewer who could copy a customer's link could deny consent for them and leave a rejection that
cannot be disputed; so after approval and delivery no row of any table, no admin page, no history
entry and no log line holds the token.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.apps import apps
from django.core import mail, serializers
from django.test import Client
from django.urls import reverse

from claims.models import Claim
from consent.models import ConsentRequest, hash_token
from consent.services import resend_notice
from cpor import outbox
from cpor.models import OutboundEmail
from tests.factories import claim_in, reviewer

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/consent/([A-Za-z0-9_\-]+)/)")


def delivered_link(notice: ConsentRequest) -> tuple[str, str]:
    """Deliver the notice's row; return (path, token) from the mail that was sent."""
    assert outbox.deliver(notice.email_id)
    sent = [m for m in mail.outbox if m.to == [notice.contact_email]]
    match = LINK.search(sent[-1].body)
    assert match is not None
    return match.group(1), match.group(2)


def every_row_as_text() -> str:
    return "\n".join(
        serializers.serialize("json", model._default_manager.all()) for model in apps.get_models()
    )


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_after_approval_and_delivery_no_row_page_or_log_holds_the_token(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    claim = claim_in(Claim.Status.APPROVED)
    notice = ConsentRequest.objects.get(claim=claim)
    row = OutboundEmail.objects.get(pk=notice.email_id)
    assert "consent_url" not in row.context and row.context["consent_request_id"] == notice.pk
    assert notice.token_hash is None  # nothing to find before the mail is sent

    path, token = delivered_link(notice)

    stored = every_row_as_text()
    assert token not in stored and path not in stored
    notice.refresh_from_db()
    assert notice.token_hash == hash_token(token)
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert "sent only to the customer" in row.body and token not in row.body
    for staff in (reviewer(), reviewer(lead=True)):
        client = client_for(staff)
        for url in (
            reverse("admin:cpor_outboundemail_changelist"),
            reverse("admin:cpor_outboundemail_change", args=[row.pk]),
            reverse("admin:consent_consentrequest_changelist"),
            reverse("admin:consent_consentrequest_change", args=[notice.pk]),
            reverse("admin:claims_claim_change", args=[claim.pk]),
        ):
            response = client.get(url)
            assert response.status_code in (200, 403), url
            assert token.encode() not in response.content, url
        assert client.get(reverse("admin:cpor_outboundemail_change", args=[row.pk])).status_code == 200

    customer = Client(enforce_csrf_checks=True)
    # Refused requests are logged with their path: the link's token is redacted from those lines.
    assert customer.post(path, {"reason": ""}).status_code == 403
    assert Client().put(path).status_code == 405
    assert "/consent/…" in caplog.text
    page = customer.get(path)
    assert page.status_code == 200 and b"Deny this association" in page.content
    customer.post(path, {"reason": "", "csrfmiddlewaretoken": page.cookies["csrftoken"].value})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED
    assert token not in every_row_as_text()
    assert token not in caplog.text


def test_a_resend_carries_a_fresh_link_and_the_old_one_stops_working(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    claim = claim_in(Claim.Status.APPROVED)
    old_path, old_token = delivered_link(ConsentRequest.objects.get(claim=claim))

    again = resend_notice(claim, by=reviewer())
    new_path, new_token = delivered_link(again)

    assert new_token != old_token
    assert Client().get(old_path).status_code == 404
    assert Client().post(old_path, {"reason": ""}).status_code == 404
    assert Client().get(new_path).status_code == 200
    assert token_free(old_token, new_token, log=caplog.text)
    Client().post(new_path, {"reason": ""})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED


def test_a_resend_to_another_contact_leaves_the_first_contacts_link_working() -> None:
    claim = claim_in(Claim.Status.APPROVED)
    first_path, _token = delivered_link(ConsentRequest.objects.get(claim=claim))
    delivered_link(resend_notice(claim, by=reviewer(), email="cio@northwind.example"))
    assert Client().get(first_path).status_code == 200


def test_each_attempt_mints_a_fresh_link_and_only_the_one_sent_works(settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    claim = claim_in(Claim.Status.APPROVED)
    notice = ConsentRequest.objects.get(claim=claim)
    settings.EMAIL_BACKEND = "tests.consent.test_no_readable_token.RefusingBackend"
    assert not outbox.deliver(notice.email_id)
    row = OutboundEmail.objects.get(pk=notice.email_id)
    assert row.status == OutboundEmail.Status.QUEUED and row.attempts == 1
    first_hash = ConsentRequest.objects.get(pk=notice.pk).token_hash
    assert first_hash  # minted for the attempt that failed; nobody ever saw it

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    path, token = delivered_link(notice)
    assert ConsentRequest.objects.get(pk=notice.pk).token_hash == hash_token(token) != first_hash
    assert Client().get(path).status_code == 200
    assert len([m for m in mail.outbox if m.to == [notice.contact_email]]) == 1
    assert token_free(token, log=caplog.text)


def token_free(*tokens: str, log: str) -> bool:
    stored = every_row_as_text()
    return not any(token in stored or token in log for token in tokens)


class RefusingBackend:
    """An SMTP server that is down."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def send_messages(self, messages: object) -> int:
        raise ConnectionRefusedError("SMTP is down")
