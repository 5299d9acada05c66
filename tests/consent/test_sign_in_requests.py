"""Asking for a sign-in link: the same work for any address, the newest link only, rows cleaned up,
and tokens kept out of every log line."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from consent import signin
from consent.models import CustomerSignInLink
from consent.tasks import purge_sign_in_links, send_sign_in_link
from cpor import outbox
from cpor.models import OutboundEmail
from tests.consent.portal_helpers import ask_for_link, csrf_token, delivered_link, tenant

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)  # a Wednesday
LINK = re.compile(r"https?://[^/\s]+(/customer/sign-in/[A-Za-z0-9_\-]+/)")


def shape(sql: str) -> str:
    """The query without its values: two requests that differ only in the address look alike."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    return re.sub(r"\b\d+(\.\d+)?\b", "?", sql)


def test_a_known_and_an_unknown_domain_cost_the_request_the_same_queries_and_one_task(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    tenant("Northwind Traders", "northwind.example")
    handed: list[int] = []
    # The broker is the boundary: record what is handed to it (the task itself runs elsewhere).
    monkeypatch.setattr(send_sign_in_link, "delay", lambda link_id: handed.append(link_id))
    client = Client()
    csrf = csrf_token(client, "/customer/")

    def ask(email: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post("/customer/", {"email": email, "csrfmiddlewaretoken": csrf})
        assert response.status_code == 200 and b"Check your email" in response.content
        return [shape(q["sql"]) for q in queries.captured_queries]

    ask("warm@northwind.example")
    known = ask("nina@northwind.example")
    unknown = ask("nina@southwind.example")

    assert known == unknown
    assert any("INSERT" in q and "consent_customersigninlink" in q for q in known)
    assert not any("claims_tenantdomain" in q or "cpor_outboundemail" in q for q in known)
    assert len(handed) == 3
    assert not OutboundEmail.objects.exists()  # only the task decides and writes the mail
    assert signin.send_link(handed[1]) is True
    assert signin.send_link(handed[2]) is False
    assert signin.send_link(handed[1]) is False  # a second delivery of the task does nothing
    assert list(OutboundEmail.objects.values_list("to", flat=True)) == ["nina@northwind.example"]


def test_a_late_mail_does_not_keep_an_older_link_alive() -> None:
    tenant("Northwind Traders", "northwind.example")
    with time_machine.travel(NOON, tick=False) as clock:
        ask_for_link(Client(), "nina@northwind.example")
        first = OutboundEmail.objects.get(kind="customer_sign_in")  # its mail is stuck (SMTP outage)
        clock.move_to(NOON + dt.timedelta(minutes=20))  # past the first row's provisional expiry
        ask_for_link(Client(), "nina@northwind.example")
        assert outbox.deliver(first.pk)  # the first mail goes out only now, after the second request
        old_path = LINK.search(mail.outbox[-1].body).group(1)
        new_path, _token = delivered_link("nina@northwind.example")

        assert Client().post(old_path).status_code == 404
        assert Client().post(new_path).status_code == 302


def test_requests_checked_out_of_order_mail_only_the_newest() -> None:
    tenant("Northwind Traders", "northwind.example")
    ask_for_link(Client(REMOTE_ADDR="192.0.2.1"), "nina@northwind.example", checked=False)
    ask_for_link(Client(REMOTE_ADDR="192.0.2.2"), "nina@northwind.example", checked=False)
    older, newer = CustomerSignInLink.objects.order_by("pk")

    assert signin.send_link(newer.pk) is True
    assert signin.send_link(older.pk) is False  # its task ran late (a re-drive): it retires
    (row,) = OutboundEmail.objects.filter(kind="customer_sign_in")
    assert row.context[signin.LINK_ID_KEY] == newer.pk
    path, _token = delivered_link("nina@northwind.example")
    assert Client().post(path).status_code == 302


def test_the_daily_job_deletes_old_and_unknown_domain_rows_in_batches(settings) -> None:
    settings.CPOR_CUSTOMER_LINK_RETENTION_DAYS = 7
    northwind = tenant("Northwind Traders", "northwind.example")
    now = dt.datetime.now(tz=dt.UTC)

    def row(email: str, expired_days_ago: float, **fields: Any) -> CustomerSignInLink:
        expires = now - dt.timedelta(days=expired_days_ago)
        return CustomerSignInLink.objects.create(
            email=email, created_at=expires - dt.timedelta(minutes=15), expires_at=expires, **fields
        )

    old = [row(f"old{i}@northwind.example", 8, tenant=northwind, checked_at=now) for i in range(3)]
    kept = row("recent@northwind.example", 6, tenant=northwind, checked_at=now)
    live = row("live@northwind.example", -0.01, tenant=northwind, checked_at=now)
    stranger = row("nina@southwind.example", -0.01, checked_at=now)  # checked, unknown: never mailed
    waiting = row("ann@southwind.example", -0.01)  # not yet checked: the re-drive still needs it

    assert signin.purge_links(batch_size=2) == 4
    assert purge_sign_in_links() == 0  # run again: nothing left to do
    remaining = set(CustomerSignInLink.objects.values_list("pk", flat=True))
    assert remaining == {kept.pk, live.pk, waiting.pk}
    assert not remaining & {r.pk for r in [*old, stranger]}


@pytest.mark.parametrize(
    ("logger_name", "path"),
    [
        ("django.request", "/customer/sign-in/Xq3-secret_Token/"),
        ("django.security.csrf", "/consent/Xq3-secret_Token/"),
        ("axes.handlers.database", "/customer/sign-in/Xq3-secret_Token/"),
    ],
)
def test_django_log_lines_hide_the_token_of_every_secret_path(caplog, logger_name: str, path: str) -> None:
    with caplog.at_level(logging.INFO, logger=logger_name):
        logging.getLogger(logger_name).warning("Forbidden (CSRF token missing.): %s", path)
    assert "Xq3-secret_Token" not in caplog.text
    assert path.replace("Xq3-secret_Token", "…") in caplog.text


def test_the_link_page_language_switch_does_not_carry_the_token(client: Client) -> None:
    tenant("Northwind Traders", "northwind.example")
    ask_for_link(Client(), "nina@northwind.example")
    path, token = delivered_link("nina@northwind.example")
    response = Client().get(path)
    assert response.status_code == 200
    assert response.context["language_next"] == "/customer/"
