"""Two workers at once (the after-commit tasks and the beat re-drive in two processes) never send
the same attempt twice: each delivery row is locked while it is sent."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from api import webhooks
from api.models import WebhookDelivery
from api.webhooks import delivery
from claims import workflow
from claims.models import Membership
from tests.factories import PartnerFactory, draft, partner_user
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_overlapping_workers_send_each_event_once(receiver: Receiver) -> None:  # noqa: F811
    receiver.delay = 0.2
    partner = PartnerFactory(name="Contoso")
    admin = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
    webhooks.create_endpoint(partner=partner, by=admin, url=receiver.url, event_types=["claim.submitted"])
    for _ in range(6):
        workflow.transition(draft(partner, by=admin), "submit", by=admin)
    ids = list(WebhookDelivery.objects.order_by("id").values_list("pk", flat=True))
    crashes: list[BaseException] = []
    barrier = threading.Barrier(3)

    def worker(job: Any) -> None:
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:
            crashes.append(exc)
        finally:
            connection.close()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        threads = [
            threading.Thread(target=worker, args=(delivery.redeliver_pending,)),
            threading.Thread(target=worker, args=(delivery.redeliver_pending,)),
            threading.Thread(target=worker, args=(lambda: [delivery.deliver(pk) for pk in reversed(ids)],)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not crashes
    assert not any(thread.is_alive() for thread in threads)
    sent = [headers["webhook-id"] for headers, _body in receiver.accepted()]
    assert len(sent) == len(set(sent)) == 6
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
