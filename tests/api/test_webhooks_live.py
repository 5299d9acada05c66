"""A CRM's round trip over real HTTP with webhooks: it registers an endpoint, creates, uploads and
submits through the API; a reviewer asks for information; the receiver verifies the signed events;
the CRM comments and resubmits; the events arrive in the order they occurred."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from standardwebhooks import Webhook

from api import tasks
from api.models import WebhookDelivery
from claims import workflow
from claims.models import Claim, Membership
from tests.api.test_live_round_trip import call, draft_body, multipart
from tests.factories import MpnFactory, PartnerFactory, partner_user, reviewer
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def run_delivery_tasks() -> None:
    """What the worker does with the tasks published after each commit, in publishing order."""
    for pk in WebhookDelivery.objects.filter(status="pending").order_by("id").values_list("pk", flat=True):
        tasks.deliver_webhook(pk)


def test_crm_round_trip_with_webhooks(live_server: Any, capsys: Any, receiver: Receiver) -> None:  # noqa: F811
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="4100001")
    user = partner_user(partner, Membership.Role.INCENTIVES_ADMIN, email="ines@contoso.example")
    call_command("create_api_key", "--user", user.email, "--scope", "write", "--name", "Dynamics CRM")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    base = f"{live_server.url}/api/v1"

    status, hook = call(
        f"{base}/webhooks",
        key,
        "POST",
        {
            "url": receiver.url,
            "event_types": [
                "claim.submitted",
                "claim.review_started",
                "claim.information_requested",
                "claim.resubmitted",
            ],
        },
    )
    assert status == 201, hook
    secret = hook["secret"]
    status, claim = call(
        f"{base}/claims",
        key,
        "POST",
        draft_body(external_reference="CRM-OPP-0042"),
    )
    assert status == 201, claim
    # The CRM finds its record again by its own reference.
    status, found = call(f"{base}/claims?external_reference=CRM-OPP-0042", key)
    assert status == 200 and [item["id"] for item in found["items"]] == [claim["id"]]
    body, content_type = multipart("sow.pdf", b"%PDF-1.7\nsigned statement of work\n%%EOF\n")
    status, _document = call(f"{base}/claims/{claim['id']}/documents", key, "POST", body, content_type)
    assert status == 201
    status, _submitted = call(f"{base}/claims/{claim['id']}/actions/submit", key, "POST", {})
    assert status == 200

    rita = reviewer()
    workflow.transition(claim["id"], "start_review", by=rita)
    workflow.transition(
        claim["id"],
        "request_information",
        by=rita,
        reasons=["missing_products"],
        comment="Which page names Dynamics 365 Sales?",
    )
    run_delivery_tasks()
    headers, raw = receiver.accepted()[-1]
    event = Webhook(secret).verify(raw, headers)
    assert event["type"] == "claim.information_requested"
    assert headers["webhook-id"] == event["id"]
    assert event["data"]["claim"]["id"] == claim["id"]
    assert event["data"]["claim"]["external_reference"] == "CRM-OPP-0042"
    assert event["data"]["claim"]["status"] == "partner_action_required"
    assert event["data"]["claim"]["information_request_reasons"] == ["missing_products"]
    assert event["data"]["claim"]["deadline"]["field"] == "partner_response_due_at"
    assert event["data"]["claim"]["allowed_actions"] == ["resubmit", "withdraw"]
    assert event["data"]["comment"] == "Which page names Dynamics 365 Sales?"

    status, _comment = call(
        f"{base}/claims/{claim['id']}/comments", key, "POST", {"body": "Page 2 of the SOW names Sales."}
    )
    assert status == 201
    status, resubmitted = call(
        f"{base}/claims/{claim['id']}/actions/resubmit", key, "POST", {"comment": "See page 2."}
    )
    assert status == 200 and resubmitted["status"] == "under_review"
    # This time the task is lost: the beat re-drive sends it once its first minute has passed.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        tasks.redeliver_pending_webhooks()

    received = [json.loads(raw) for _headers, raw in receiver.accepted()]
    assert [e["type"] for e in received] == [
        "claim.submitted",
        "claim.review_started",
        "claim.information_requested",
        "claim.resubmitted",
    ]
    moments = [e["occurred_at"] for e in received]
    assert moments == sorted(moments)
    assert len({e["id"] for e in received}) == 4
    for headers, raw in receiver.accepted():
        assert Webhook(secret).verify(raw, headers)
    assert Claim.objects.get(pk=claim["id"]).status == "under_review"
