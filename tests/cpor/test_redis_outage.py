"""A Redis outage degrades, never 500s: the cache (`cpor.cache.FailOpenRedisCache`) answers "not
cached" and rate limits let requests through, sign-in locks live in the database, and mail handed to
a dead broker stays queued in the outbox until the re-drive sends it, exactly once.

The outage is a closed port, so it runs anywhere; the `redis` test also watches a real Redis go
away and come back."""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, Membership
from consent.models import ConsentRequest
from cpor import outbox
from cpor.models import OutboundEmail
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/consent/[A-Za-z0-9_\-]+/)")
PASSWORD = "pw-for-tests"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


def redis_cache(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "cpor.cache.FailOpenRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"cpor-test-{id(url)}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point the Celery app (and its connection pools, made on first use) at another broker."""
    from cpor.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options, app._pool, app.amqp._producer_pool)
    app.conf.broker_url, app.conf.broker_transport_options = url, {}
    app._pool = app.amqp._producer_pool = None
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app.conf.broker_transport_options, app._pool, app.amqp._producer_pool = saved


@contextmanager
def redis_down() -> Iterator[None]:
    port = closed_port()
    with (
        override_settings(CACHES=redis_cache(f"redis://127.0.0.1:{port}/1")),
        broker_at(f"redis://127.0.0.1:{port}/0"),
    ):
        yield


@pytest.fixture
def people() -> dict[str, Any]:
    partner = PartnerFactory(name="Contoso")
    manager = partner_user(
        partner, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example", username="alice"
    )
    return {"manager": manager, "reviewer": reviewer(email="rita@cpor.example", username="rita")}


def consent_path(claim: Claim) -> str:
    notice = ConsentRequest.objects.get(claim=claim)
    assert outbox.deliver(notice.email_id)
    (message,) = [m for m in mail.outbox if m.to == [claim.customer_contact_email]]
    mail.outbox.clear()
    return LINK.search(message.body).group(1)


def redrive() -> int:
    """The beat job's run, once the rows' first re-drive delay has passed."""
    with time_machine.travel(timezone.now() + outbox.FIRST_REDRIVE_DELAY + dt.timedelta(seconds=1)):
        return outbox.redeliver_pending()


def visit_every_page(people: dict[str, Any], path: str, commit: Any) -> dict[str, int]:
    """Each page the outage used to break, as the people who use it; after-commit hooks run."""
    codes: dict[str, int] = {}
    manager = Client()
    with commit(execute=True):
        codes["portal sign-in"] = manager.post(
            "/accounts/login/", {"username": "alice@contoso.example", "password": PASSWORD}
        ).status_code
    codes["portal sign-in, wrong password"] = (
        Client().post("/accounts/login/", {"username": "alice@contoso.example", "password": "x"}).status_code
    )
    codes["admin sign-in"] = (
        Client()
        .post(reverse("admin:login"), {"username": "rita@cpor.example", "password": PASSWORD})
        .status_code
    )
    codes["dashboard"] = manager.get("/claims/").status_code
    codes["dashboard, a status"] = manager.get("/claims/?status=approved&sort=oldest").status_code
    csv = manager.get("/claims/export.csv")
    codes["csv"] = csv.status_code
    assert b"".join(csv.streaming_content).count(b"\n") >= 2  # the header and the claim
    customer = Client()
    codes["consent GET"] = customer.get(path).status_code
    with commit(execute=True):
        codes["consent POST"] = customer.post(path, {"reason": "We never worked with them."}).status_code
    with commit(execute=True):
        codes["password reset"] = (
            Client().post(reverse("claims:password_reset"), {"email": "alice@contoso.example"}).status_code
        )
    return codes


def test_with_redis_down_every_page_answers_and_the_mail_follows_once(
    people: dict[str, Any], django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_in(Claim.Status.APPROVED, by=people["manager"])
    path = consent_path(claim)
    redrive()  # the mail of the claim's way to approval, sent before the outage
    mail.outbox.clear()
    before = set(OutboundEmail.objects.values_list("pk", flat=True))

    started = time.monotonic()
    with redis_down():
        codes = visit_every_page(people, path, django_capture_on_commit_callbacks)
    assert time.monotonic() - started < 20  # no request hangs on the dead broker or cache

    assert codes == {
        "portal sign-in": 302,
        "portal sign-in, wrong password": 200,
        "admin sign-in": 302,
        "dashboard": 200,
        "dashboard, a status": 200,
        "csv": 200,
        "consent GET": 200,
        "consent POST": 200,
        "password reset": 302,
    }
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED  # the customer's denial was recorded
    assert "could not hand email" in caplog.text and "cache unavailable" in caplog.text
    queued = OutboundEmail.objects.exclude(pk__in=before)
    kinds = sorted(queued.values_list("kind", flat=True))
    assert "password_reset" in kinds and len(kinds) >= 3  # the reset, the partner's and the customer's
    assert set(queued.values_list("status", flat=True)) == {OutboundEmail.Status.QUEUED}
    assert not mail.outbox

    # Redis is back (the test's own broker and cache): the beat re-drive sends each message once.
    assert redrive() == len(kinds)
    assert redrive() == 0
    assert set(queued.values_list("status", "attempts")) == {(OutboundEmail.Status.SENT, 1)}
    assert len(mail.outbox) == len(kinds)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(row.recipients[0] for row in queued)


@pytest.mark.redis
def test_a_real_redis_going_away_and_coming_back(
    settings: Any, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    settings.CACHES = redis_cache(settings.REDIS_CACHE_URL)
    settings.CPOR_CONSENT_RATE_LIMIT = 2
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_in(Claim.Status.APPROVED, by=people["manager"])
    path = consent_path(claim)
    customer = Client(REMOTE_ADDR="198.51.100.9")
    assert [customer.get(path).status_code for _ in range(3)] == [200, 200, 429]  # Redis counts

    with redis_down():
        # The limit fails open: the counter cannot be read, so the page is shown.
        assert [customer.get(path).status_code for _ in range(3)] == [200, 200, 200]

    # Back on the real Redis: the limit holds again and the dashboard caches its counts.
    assert customer.get(path).status_code == 429
    manager = Client()
    manager.force_login(people["manager"])
    assert manager.get("/claims/").status_code == 200
    from claims.selectors import FILTER_PRODUCTS_CACHE

    assert cache.get(FILTER_PRODUCTS_CACHE)  # written to Redis again
