"""A slow receiver costs one attempt and no more: the whole call has one deadline, and no
transaction or row lock is held while the receiver takes its time."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery, network
from claims.models import Membership
from tests.factories import PartnerFactory, partner_user


@pytest.fixture
def dribbler(settings: Any) -> Iterator[str]:
    """A receiver on 127.0.0.1 that answers 200 and then one header line every 0.3 s, for 10 s."""
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    for n in range(33):
                        if stop.wait(0.3):
                            break
                        conn.sendall(f"X-Slow-{n}: yes\r\n".encode())
                    conn.sendall(b"Content-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_a_dribbled_answer_is_cut_off_at_the_overall_deadline(dribbler: str) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        network.post(dribbler, b"{}", {"Content-Type": "application/json"}, timeout=1.0)
    assert time.monotonic() - started < 2.0


@pytest.mark.django_db
def test_a_dribbling_receiver_is_a_failed_attempt_within_the_timeout(dribbler: str, settings: Any) -> None:
    settings.CPOR_WEBHOOK_TIMEOUT = 1
    partner = PartnerFactory(name="Contoso")
    admin = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
    endpoint, _secret = webhooks.create_endpoint(
        partner=partner, by=admin, url=dribbler, event_types=["claim.submitted"]
    )
    row = _test_delivery(endpoint, admin)
    started = time.monotonic()
    assert delivery.deliver(row.pk) is False
    assert time.monotonic() - started < 2.0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert "1 s" in row.last_error
    assert row.next_attempt_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_nothing_is_locked_while_the_receiver_takes_its_time(settings: Any) -> None:
    """While the receiver sits on the request, another connection locks the delivery row and
    writes the endpoint (as the portal does): neither waits, on PostgreSQL or SQLite."""
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                with transaction.atomic():
                    list(WebhookDelivery.objects.select_for_update(nowait=True).values_list("pk", flat=True))
                    WebhookEndpoint.objects.update(description="written during the delivery")
                seen.append("written")
            except Exception as exc:  # the write the sender's lock refuses
                seen.append(f"{type(exc).__name__}: {exc}")
            finally:
                connection.close()
            time.sleep(0.3)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        partner = PartnerFactory(name="Contoso")
        admin = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        endpoint, _secret = webhooks.create_endpoint(
            partner=partner, by=admin, url=url, event_types=["claim.submitted"]
        )
        row = _test_delivery(endpoint, admin)
        assert delivery.deliver(row.pk) is True
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["written"]
    endpoint.refresh_from_db()
    assert endpoint.description == "written during the delivery"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("delivered", 1, None)


def _test_delivery(endpoint: WebhookEndpoint, by: Any) -> WebhookDelivery:
    event = webhooks.send_test_event(endpoint, by=by)
    return WebhookDelivery.objects.get(endpoint=endpoint, event=event)


@pytest.mark.django_db
def test_a_leased_attempt_is_not_sent_again_until_its_lease_runs_out(settings: Any) -> None:
    """A worker that claimed an attempt and died holds it for the lease; then the re-drive retries."""
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    settings.CPOR_WEBHOOK_TIMEOUT = 1
    partner = PartnerFactory(name="Contoso")
    admin = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
    endpoint, _secret = webhooks.create_endpoint(
        partner=partner, by=admin, url="http://127.0.0.1:9/hooks", event_types=["claim.submitted"]
    )
    row = _test_delivery(endpoint, admin)
    claimed = delivery._claim(row.pk)  # the worker dies after claiming
    assert claimed is not None
    assert delivery._claim(row.pk) is None
    with time_machine.travel(timezone.now() + delivery.lease_length() + dt.timedelta(seconds=1)):
        again = delivery._claim(row.pk)
    assert again is not None
    assert again[0].attempts == 2
