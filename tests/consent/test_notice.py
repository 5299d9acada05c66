"""The customer's consent link: GET and HEAD show, only a CSRF-protected POST denies."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from claims.models import Claim, ClaimEvent, RejectionReason
from consent.models import ConsentRequest, hash_token
from consent.tasks import close_consent_windows
from cpor import outbox
from earnings.models import AssessmentHandoff
from tests.factories import claim_in, reviewer

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/consent/[A-Za-z0-9_\-]+/)")


def approve_and_capture_link(django_capture_on_commit_callbacks, **overrides) -> tuple[Claim, str]:
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_in(Claim.Status.APPROVED, **overrides)
    notice = ConsentRequest.objects.get(claim=claim)
    assert outbox.deliver(notice.email_id) or notice.email.status == "sent"
    sent = [m for m in mail.outbox if m.to == [claim.customer_contact_email]]
    assert len(sent) == 1
    path = LINK.search(sent[0].body).group(1)
    return claim, path


def test_approve_sends_a_single_use_link_stored_only_as_a_hash(django_capture_on_commit_callbacks) -> None:
    claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    token = path.strip("/").split("/")[-1]
    notice = ConsentRequest.objects.get(claim=claim)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert notice.token_hash == hash_token(token)
    assert token not in notice.token_hash
    assert notice.expires_at == claim.consent_window_ends_at
    assert not ConsentRequest.objects.filter(token_hash=token).exists()
    body = mail.outbox[-1].body
    assert claim.partner.name in body and "Dynamics 365 Sales" in body


def test_get_and_head_change_nothing(django_capture_on_commit_callbacks) -> None:
    claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    events = ClaimEvent.objects.filter(claim=claim).count()
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    assert b"Deny this association" in page.content
    assert client.head(path).status_code == 200
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED
    assert ClaimEvent.objects.filter(claim=claim).count() == events


def test_post_denies_once_and_says_so_again(django_capture_on_commit_callbacks) -> None:
    claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    csrf = page.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, {"reason": "We never worked with them.", "csrfmiddlewaretoken": csrf})
    assert done.status_code == 200
    assert b"Your answer is recorded" in done.content
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED
    assert claim.rejection_reason == RejectionReason.CUSTOMER_DECLINE
    event = ClaimEvent.objects.get(claim=claim, action="deny_consent")
    assert event.actor_kind == "customer" and event.note == "We never worked with them."
    assert ConsentRequest.objects.get(claim=claim).used_at is not None
    again = client.post(path, {"reason": "", "csrfmiddlewaretoken": csrf})
    assert b"already recorded" in again.content
    assert ClaimEvent.objects.filter(claim=claim, action="deny_consent").count() == 1


def test_post_without_csrf_is_refused(django_capture_on_commit_callbacks) -> None:
    claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    response = Client(enforce_csrf_checks=True).post(path, {"reason": ""})
    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED


def test_after_the_window_nothing_changes(django_capture_on_commit_callbacks) -> None:
    claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1)):
        client = Client()
        page = client.get(path)
        assert b"consent period has ended" in page.content
        client.post(path, {"reason": "late"})
        claim.refresh_from_db()
        assert claim.status == Claim.Status.APPROVED
        assert close_consent_windows() == 1
        claim.refresh_from_db()
        assert claim.status == Claim.Status.ASSOCIATED
        assert b"consent period has ended" in Client().get(path).content


def test_one_second_before_the_window_closes_the_customer_can_still_deny(
    django_capture_on_commit_callbacks,
) -> None:
    claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    with time_machine.travel(claim.consent_window_ends_at - dt.timedelta(seconds=1), tick=False):
        assert close_consent_windows() == 0
        Client().post(path, {"reason": ""})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED


@pytest.mark.parametrize("token", ["nope", "A" * 43, "x" * 500])
def test_unknown_or_tampered_tokens_are_a_plain_404(token: str, django_capture_on_commit_callbacks) -> None:
    _claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    assert Client().get(f"/consent/{token}/").status_code == 404
    tampered = path[:-3] + ("a" if path[-3] != "a" else "b") + path[-2:]
    assert Client().get(tampered).status_code == 404
    assert Client().post(tampered, {"reason": ""}).status_code == 404


def test_requests_are_rate_limited_per_ip(settings, django_capture_on_commit_callbacks) -> None:
    settings.CPOR_CONSENT_RATE_LIMIT = 3
    from django.core.cache import cache

    cache.clear()
    _claim, path = approve_and_capture_link(django_capture_on_commit_callbacks)
    client = Client(REMOTE_ADDR="203.0.113.9")
    codes = [client.get("/consent/unknown/").status_code for _ in range(3)]
    assert codes == [404, 404, 404]
    assert client.get(path).status_code == 429
    assert Client(REMOTE_ADDR="203.0.113.10").get(path).status_code == 200


def test_closing_the_window_hands_off_for_assessment() -> None:
    usage = claim_in(Claim.Status.APPROVED)
    revenue = claim_in(Claim.Status.APPROVED, activity="revenue_association", products=("power-apps",))
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, seconds=1)):
        assert close_consent_windows() == 2
        assert close_consent_windows() == 0
    assert AssessmentHandoff.objects.get(claim=usage).programme == "osu"
    assert AssessmentHandoff.objects.get(claim=usage).payment_eligible
    influencer = AssessmentHandoff.objects.get(claim=revenue)
    assert influencer.programme == "business_influencer" and not influencer.payment_eligible


def test_reviewer_resends_to_an_alternate_contact(django_capture_on_commit_callbacks) -> None:
    from consent.services import resend_notice

    claim, _path = approve_and_capture_link(django_capture_on_commit_callbacks)
    rita = reviewer()
    with django_capture_on_commit_callbacks(execute=True):
        notice = resend_notice(claim, by=rita, name="Ayşe", email="ayse@northwind.example", language="tr")
    outbox.deliver(notice.email_id)
    assert mail.outbox[-1].to == ["ayse@northwind.example"]
    event = ClaimEvent.objects.filter(claim=claim, actor=rita, action="notification").get()
    assert "ayse@northwind.example" in event.note and not event.partner_visible
    assert ConsentRequest.objects.filter(claim=claim).count() == 2


def test_the_page_and_mail_speak_the_customers_language(django_capture_on_commit_callbacks) -> None:
    claim, path = approve_and_capture_link(django_capture_on_commit_callbacks, customer_contact_language="tr")
    assert "iş ortağınız" in mail.outbox[-1].subject
    page = Client().get(path)
    assert "Bu ilişkilendirmeyi reddet".encode() in page.content
    assert b'lang="tr"' in page.content
    english = Client().get(path + "?lang=en")
    assert b"Deny this association" in english.content
