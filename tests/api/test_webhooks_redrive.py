"""The re-drive pages through due deliveries by position, not by a growing list of those tried."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from api import webhooks
from api.models import WebhookDelivery
from api.webhooks import delivery
from claims.models import Membership
from tests.factories import PartnerFactory, partner_user
from tests.webhook_receiver import Receiver


@pytest.mark.django_db
def test_each_page_of_the_redrive_asks_with_the_same_few_parameters(receiver: Receiver) -> None:  # noqa: F811
    partner = PartnerFactory(name="Contoso")
    admin = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
    endpoint, _secret = webhooks.create_endpoint(
        partner=partner, by=admin, url=receiver.url, event_types=["claim.submitted"]
    )
    for _ in range(9):
        webhooks.send_test_event(endpoint, by=admin)
    page_params: list[int] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "webhookdelivery" in sql and "ORDER BY" in sql and "LIMIT 2" in sql:  # a page
            page_params.append(len(params or ()))
        return execute(sql, params, many, context)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)), connection.execute_wrapper(count):
        assert delivery.redeliver_pending(batch_size=2) == 9
    assert len(page_params) == 6  # five pages of up to two, then the empty one
    # Past the first page every query has the same parameters however many were tried before
    # (a list of those grew past SQLite's limit of 32,766 variables at a large backlog).
    assert len(set(page_params[1:])) == 1
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
