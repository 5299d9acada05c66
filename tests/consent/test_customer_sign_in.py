"""Customers sign in with a single-use link mailed to an address at a verified tenant domain.

Known and unknown addresses get the same page; scanners' GET and HEAD change nothing; a link
works once, for 15 minutes from when its mail was sent; only its hash is stored; a tampered
session is refused with a clear page.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail, serializers
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.customer_session import SESSION_KEY
from consent.models import CustomerSignInLink, hash_token
from consent.tasks import send_requested_sign_in_links
from cpor import outbox
from cpor.models import OutboundEmail
from tests.consent.portal_helpers import ask_for_link, delivered_link, signed_in, tenant
from tests.factories import reviewer

pytestmark = pytest.mark.django_db

HOME = "/customer/"
NOON = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)  # a Wednesday


def body_without_csrf(response) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


def every_row_as_text() -> str:
    return "\n".join(
        serializers.serialize("json", model._default_manager.all()) for model in apps.get_models()
    )


def test_the_sign_in_page_asks_for_a_work_email() -> None:
    response = Client().get(HOME)
    assert response.status_code == 200
    assert b'type="email"' in response.content and b"Email me a sign-in link" in response.content
    assert reverse("consent:customer_home") == HOME


def test_a_verified_domain_gets_a_link_and_an_unknown_one_the_same_page_and_no_mail() -> None:
    tenant("Northwind Traders", "northwind.example")

    known = ask_for_link(Client(), "  Nina@NorthWind.example ")
    unknown = ask_for_link(Client(), "nina@southwind.example")

    assert known.status_code == unknown.status_code == 200
    assert body_without_csrf(known).replace(b"nina@northwind.example", b"X") == body_without_csrf(
        unknown
    ).replace(b"nina@southwind.example", b"X")
    assert b"If nina@northwind.example is an address at an organization registered" in known.content
    (row,) = OutboundEmail.objects.filter(kind="customer_sign_in")
    assert row.recipients == ["nina@northwind.example"]
    link = CustomerSignInLink.objects.get(email="nina@northwind.example")
    assert link.email_message_id == row.pk and link.tenant is not None
    assert link.token_hash is None  # minted when the mail is sent, not before
    # The unknown domain's request was written and checked the same way, and never mailed.
    stranger = CustomerSignInLink.objects.get(email="nina@southwind.example")
    assert stranger.tenant is None and stranger.email_message is None and stranger.checked_at is not None


def test_a_subdomain_or_a_parent_domain_of_a_verified_one_gets_nothing() -> None:
    tenant("Northwind Traders", "northwind.example")
    for address in ("a@eu.northwind.example", "a@example", "a@northwind.example.evil"):
        assert ask_for_link(Client(), address).status_code == 200
    assert not OutboundEmail.objects.exists()


def test_the_mail_holds_the_link_and_the_database_only_its_hash(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    tenant("Northwind Traders", "northwind.example")
    ask_for_link(Client(), "nina@northwind.example")

    path, token = delivered_link("nina@northwind.example")

    sent = mail.outbox[-1]
    assert "Northwind Traders" in sent.subject and "15 minutes" in sent.body
    link = CustomerSignInLink.objects.get()
    assert link.token_hash == hash_token(token)
    stored = every_row_as_text()
    assert token not in stored and path not in stored
    row = OutboundEmail.objects.get(kind="customer_sign_in")
    assert "sent only to the customer" in row.body
    assert token not in caplog.text
    # Staff see the link row and the outbox row, never a token.
    staff = Client()
    staff.force_login(reviewer(lead=True, is_superuser=True))
    for url in (
        reverse("admin:consent_customersigninlink_changelist"),
        reverse("admin:consent_customersigninlink_change", args=[link.pk]),
        reverse("admin:cpor_outboundemail_change", args=[row.pk]),
    ):
        page = staff.get(url)
        assert page.status_code == 200, url
        assert token.encode() not in page.content and link.token_hash.encode() not in page.content


def test_get_and_head_on_the_link_change_nothing_and_post_signs_in_once() -> None:
    tenant("Northwind Traders", "northwind.example")
    ask_for_link(Client(), "nina@northwind.example")
    path, _token = delivered_link("nina@northwind.example")

    scanner = Client()
    assert scanner.head(path).status_code == 200
    page = scanner.get(path)
    assert page.status_code == 200 and b">Sign in</button>" in page.content
    assert page["Referrer-Policy"] == "same-origin"
    assert CustomerSignInLink.objects.get().used_at is None
    assert SESSION_KEY not in scanner.session

    customer = Client(enforce_csrf_checks=True)
    form = customer.get(path)
    assert customer.post(path).status_code == 403  # no CSRF token: refused, link still unused
    assert CustomerSignInLink.objects.get().used_at is None
    signed = customer.post(path, {"csrfmiddlewaretoken": form.cookies["csrftoken"].value})
    assert signed.status_code == 302 and signed["Location"] == HOME
    assert CustomerSignInLink.objects.get().used_at is not None
    home = customer.get(HOME)
    assert b"Partner associations of Northwind Traders" in home.content

    again = Client().post(path)
    assert again.status_code == 410 and b"already used" in again.content
    assert b"Ask for a new link" in again.content


def test_a_link_works_for_15_minutes_from_when_its_mail_was_sent() -> None:
    tenant("Northwind Traders", "northwind.example")
    with time_machine.travel(NOON, tick=False):
        ask_for_link(Client(), "nina@northwind.example")
    # The mail leaves an hour later (an SMTP outage): the 15 minutes start then.
    with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
        path, _token = delivered_link("nina@northwind.example")
    with time_machine.travel(NOON + dt.timedelta(hours=1, minutes=15), tick=False):
        late = Client().post(path)
        assert late.status_code == 410 and b"has expired" in late.content
    with time_machine.travel(NOON + dt.timedelta(hours=1, minutes=14, seconds=59), tick=False):
        assert Client().post(path).status_code == 302
    assert CustomerSignInLink.objects.get().used_at == NOON + dt.timedelta(hours=1, minutes=14, seconds=59)


@pytest.mark.parametrize("token", ["x" * 43, "x", "ä" * 10, "a" * 5000, "%00"])
def test_an_unknown_or_junk_token_gets_a_clear_page(token: str) -> None:
    tenant("Northwind Traders", "northwind.example")
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/customer/sign-in/{token}/")
        assert response.status_code in (400, 404), (method, token)
        if response.status_code == 404:
            assert b"does not work" in response.content and b"Ask for a new link" in response.content


def test_a_new_link_retires_the_unused_ones_before_it() -> None:
    tenant("Northwind Traders", "northwind.example")
    ask_for_link(Client(), "nina@northwind.example")
    first_path, _ = delivered_link("nina@northwind.example")
    ask_for_link(Client(), "nina@northwind.example")
    second_path, _ = delivered_link("nina@northwind.example")

    assert Client().post(first_path).status_code == 404
    assert Client().post(second_path).status_code == 302


def test_a_retired_links_late_mail_does_not_revive_it() -> None:
    tenant("Northwind Traders", "northwind.example")
    ask_for_link(Client(), "nina@northwind.example")
    first = OutboundEmail.objects.get(kind="customer_sign_in")
    ask_for_link(Client(), "nina@northwind.example")
    assert outbox.deliver(first.pk)  # the first mail goes out only now
    old_path = re_link(mail.outbox[-1].body)
    assert Client().post(old_path).status_code == 404
    _path, _token = delivered_link("nina@northwind.example")


def re_link(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/customer/sign-in/[A-Za-z0-9_\-]+/)", body)
    assert match is not None
    return match.group(1)


def test_a_malformed_address_gets_a_form_error_and_no_mail() -> None:
    for junk in ("not-an-address", "a@", "@b.example", "x" * 300 + "@northwind.example", "a\u202e@b.example"):
        response = ask_for_link(Client(), junk)
        assert response.status_code == 200
        assert b"field-error" in response.content and b"Check your email" not in response.content
    assert ask_for_link(Client(), "").status_code == 200
    assert not OutboundEmail.objects.exists()


def test_asking_is_limited_per_address_from_one_ip_with_the_same_page(settings) -> None:
    settings.CPOR_CUSTOMER_SIGN_IN_PER_ADDRESS = 2
    tenant("Northwind Traders", "northwind.example")
    pages = [ask_for_link(Client(REMOTE_ADDR="192.0.2.1"), "nina@northwind.example") for _ in range(4)]

    assert {p.status_code for p in pages} == {200}
    assert len({body_without_csrf(p) for p in pages}) == 1
    assert OutboundEmail.objects.filter(kind="customer_sign_in").count() == 2


def test_a_stranger_asking_for_an_address_does_not_lock_its_owner_out(settings) -> None:
    # The per-address limit counts per client IP: a stranger's requests use up only their own.
    settings.CPOR_CUSTOMER_SIGN_IN_PER_ADDRESS = 2
    tenant("Northwind Traders", "northwind.example")
    for _ in range(5):
        ask_for_link(Client(REMOTE_ADDR="203.0.113.66"), "ceo@northwind.example")
    assert OutboundEmail.objects.filter(kind="customer_sign_in").count() == 2

    owner = Client(REMOTE_ADDR="198.51.100.20")
    ask_for_link(owner, "ceo@northwind.example")
    path, _token = delivered_link("ceo@northwind.example")
    assert owner.post(path).status_code == 302


def test_the_mail_to_one_tenant_is_capped_per_hour(settings) -> None:
    # Plus-addresses from many IPs cannot flood a tenant: past the cap, nothing more is mailed.
    settings.CPOR_CUSTOMER_SIGN_IN_PER_TENANT = 3
    tenant("Northwind Traders", "northwind.example")
    tenant("Contoso", "contoso.example")
    with time_machine.travel(NOON, tick=False) as clock:
        pages = [
            ask_for_link(Client(REMOTE_ADDR=f"192.0.2.{i}"), f"nina+{i}@northwind.example") for i in range(5)
        ]
        bodies = {body_without_csrf(p).replace(f"nina+{i}@".encode(), b"X") for i, p in enumerate(pages)}
        assert len(bodies) == 1
        assert (
            OutboundEmail.objects.filter(kind="customer_sign_in", to__endswith="northwind.example").count()
            == 3
        )
        ask_for_link(Client(), "ann@contoso.example")  # another tenant is not held back
        assert OutboundEmail.objects.filter(kind="customer_sign_in", to="ann@contoso.example").count() == 1
        clock.move_to(NOON + dt.timedelta(minutes=61))
        ask_for_link(Client(), "nina@northwind.example")
        assert OutboundEmail.objects.filter(kind="customer_sign_in", to="nina@northwind.example").count() == 1


def test_asking_is_limited_per_ip_with_the_same_page(settings) -> None:
    settings.CPOR_CUSTOMER_SIGN_IN_RATE_LIMIT = 3
    tenant("Northwind Traders", "northwind.example")
    client = Client(REMOTE_ADDR="192.0.2.7")
    pages = [ask_for_link(client, f"user{i}@northwind.example") for i in range(5)]
    assert {p.status_code for p in pages} == {200}
    assert OutboundEmail.objects.filter(kind="customer_sign_in").count() == 3
    # Another address from another network is not held back by that one.
    ask_for_link(Client(REMOTE_ADDR="198.51.100.1"), "other@northwind.example")
    assert OutboundEmail.objects.filter(kind="customer_sign_in").count() == 4


def test_opening_links_is_limited_per_ip(settings) -> None:
    settings.CPOR_CUSTOMER_LINK_RATE_LIMIT = 3
    client = Client(REMOTE_ADDR="192.0.2.9")
    codes = [client.get(f"/customer/sign-in/guess{i}/").status_code for i in range(5)]
    assert codes == [404, 404, 404, 429, 429]


def test_a_tampered_scope_in_the_session_is_refused_with_a_clear_page() -> None:
    other = tenant("Contoso", "contoso.example")
    tenant("Northwind Traders", "northwind.example")
    client = signed_in("nina@northwind.example")
    session = SessionStore(session_key=client.cookies["sessionid"].value)
    session[SESSION_KEY] = {**session[SESSION_KEY], "tenant": other.pk}
    session.save()

    response = client.get(HOME)
    assert response.status_code == 403 and b"Your sign-in has ended" in response.content
    assert b"Sign in again" in response.content
    assert client.get(HOME).status_code == 200  # the scope is forgotten: the sign-in form again
    assert b"Email me a sign-in link" in client.get(HOME).content


def test_a_made_up_session_cookie_is_nobody() -> None:
    client = Client()
    client.cookies["sessionid"] = "x" * 32
    response = client.get(reverse("consent:customer_association", args=[1]))
    assert response.status_code == 403 and b"Email me a sign-in link" in response.content


def test_the_sign_in_ends_after_an_idle_hour_and_after_eight_hours() -> None:
    tenant("Northwind Traders", "northwind.example")
    with time_machine.travel(NOON, tick=False) as clock:
        client = signed_in("nina@northwind.example")
        for _ in range(7):  # active every 55 minutes: the idle clock restarts, the absolute one not
            clock.shift(dt.timedelta(minutes=55))
            assert client.get(HOME).status_code == 200
        clock.shift(dt.timedelta(minutes=70))  # 8h55 after signing in
        ended = client.get(HOME)
        assert ended.status_code == 403 and b"Your sign-in has ended" in ended.content

    with time_machine.travel(NOON, tick=False) as clock:
        client = signed_in("nina@northwind.example")
        clock.shift(dt.timedelta(minutes=61))
        assert client.get(HOME).status_code == 403


def test_the_sign_in_ends_when_the_domain_is_no_longer_verified() -> None:
    registered = tenant("Northwind Traders", "northwind.example")
    client = signed_in("nina@northwind.example")
    registered.domains.all().delete()
    response = client.get(HOME)
    assert response.status_code == 403 and b"no longer at an organization" in response.content


def test_signing_out_ends_the_customer_session() -> None:
    tenant("Northwind Traders", "northwind.example")
    client = signed_in("nina@northwind.example")
    assert client.get(reverse("consent:customer_sign_out")).status_code == 405
    response = client.post(reverse("consent:customer_sign_out"))
    assert response.status_code == 302
    page = client.get(HOME)
    assert page.status_code == 200 and b"Email me a sign-in link" in page.content


def test_a_scope_stored_for_the_future_is_refused() -> None:
    tenant("Northwind Traders", "northwind.example")
    client = signed_in("nina@northwind.example")
    session = SessionStore(session_key=client.cookies["sessionid"].value)
    session[SESSION_KEY] = {**session[SESSION_KEY], "signed_in_at": timezone.now().timestamp() + 3600}
    session.save()
    assert client.get(HOME).status_code == 403


def test_no_log_line_holds_a_link_even_when_a_partner_is_signed_out_by_it(caplog) -> None:
    from tests.factories import PartnerFactory, partner_user

    caplog.set_level(logging.DEBUG)
    tenant("Northwind Traders", "northwind.example")
    ask_for_link(Client(), "nina@northwind.example")
    path, token = delivered_link("nina@northwind.example")

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(path).status_code == 403  # refused CSRF: Django logs the path
    assert Client().put(path).status_code == 405
    browser = Client()
    browser.force_login(partner_user(PartnerFactory()))
    assert browser.post(path).status_code == 302  # signs the partner out: django-axes logs the path
    assert "/customer/sign-in/…" in caplog.text
    assert token not in caplog.text


def test_with_redis_down_the_customer_still_signs_in_and_reads(django_capture_on_commit_callbacks) -> None:
    from tests.cpor.test_redis_outage import redis_down, redrive

    tenant("Northwind Traders", "northwind.example")
    client = Client()
    with redis_down():
        with django_capture_on_commit_callbacks(execute=True):  # the hand-over to the dead broker
            asked = ask_for_link(client, "nina@northwind.example", checked=False)
        assert asked.status_code == 200 and b"Check your email" in asked.content
        assert not OutboundEmail.objects.exists()
        # The beat jobs check the request the broker could not take, then send its mail.
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=1, seconds=1)):
            assert send_requested_sign_in_links() == 1
            assert redrive() == 1
        path = re_link(mail.outbox[-1].body)
        assert client.get(path).status_code == 200
        assert client.post(path).status_code == 302
        assert client.get(HOME).status_code == 200


def test_signing_in_changes_the_session_key_and_the_csrf_token() -> None:
    from tests.factories import PartnerFactory, partner_user

    tenant("Northwind Traders", "northwind.example")
    client = Client()
    client.force_login(partner_user(PartnerFactory()))  # a session exists before
    ask_for_link(client, "nina@northwind.example")
    path, _token = delivered_link("nina@northwind.example")
    client.get(path)
    before = (client.cookies["sessionid"].value, client.cookies["csrftoken"].value)
    assert client.post(path).status_code == 302
    after = (client.cookies["sessionid"].value, client.cookies["csrftoken"].value)
    assert after[0] != before[0] and after[1] != before[1]


def test_the_link_is_mailed_in_the_language_the_page_was_in() -> None:
    tenant("Northwind Traders", "northwind.example")
    turkish = Client(HTTP_ACCEPT_LANGUAGE="tr")
    page = ask_for_link(turkish, "nina@northwind.example")
    assert "E-postanızı denetleyin" in page.content.decode()
    _path, _token = delivered_link("nina@northwind.example")
    sent = mail.outbox[-1]
    assert sent.subject == "Northwind Traders iş ortağı ilişkilendirmeleri için oturum açma bağlantınız"
    assert "15 dakika" in sent.body
    assert CustomerSignInLink.objects.get().language == "tr"
