"""The dashboard caches its unfiltered counts per status under the partner's claims version:
every change that moves a count (create, delete, transition, a beat sweep) makes it stale."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims import selectors, workflow
from claims.models import Claim, Partner
from claims.tasks import expire_partner_action_claims
from tests.factories import claim_in, draft

pytestmark = pytest.mark.django_db
S = Claim.Status


def counts(partner: Partner) -> dict[str, int]:
    version = Partner.objects.get(pk=partner.pk).claims_version
    board = selectors.dashboard(partner.pk, selectors.DashboardFilters(), version=version)
    return {c.status: c.count for c in board.counts if c.count}


def queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/claims/").status_code == 200
    return len(captured)


def test_a_repeat_reading_takes_the_counts_from_the_cache(manager: Any, partner: Partner) -> None:
    claim = draft(by=manager)
    draft(by=manager, customer_tenant_id="6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f")

    def reading() -> int:
        version = Partner.objects.get(pk=partner.pk).claims_version
        with CaptureQueriesContext(connection) as captured:
            selectors.status_counts(partner.pk, selectors.DashboardFilters(), version=version)
        return len(captured)

    assert reading() == 1
    assert reading() == 0
    workflow.transition(claim, "submit", by=manager)
    assert reading() == 1  # computed again, once
    assert reading() == 0


def test_every_change_of_a_count_is_seen_at_once(manager: Any, partner: Partner) -> None:
    claim = draft(by=manager)
    assert counts(partner) == {S.EDITING: 1}
    second = draft(by=manager, customer_tenant_id="6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f")
    assert counts(partner) == {S.EDITING: 2}
    workflow.transition(claim, "submit", by=manager)
    assert counts(partner) == {S.EDITING: 1, S.SUBMITTED: 1}
    workflow.delete_draft(second, by=manager)
    assert counts(partner) == {S.SUBMITTED: 1}


def test_a_beat_sweep_makes_the_counts_stale_too(manager: Any, partner: Partner) -> None:
    claim_in(S.PARTNER_ACTION_REQUIRED, by=manager)
    assert counts(partner) == {S.PARTNER_ACTION_REQUIRED: 1}
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        assert expire_partner_action_claims() == 1
    assert counts(partner) == {S.REJECTED: 1}


def test_filtered_counts_are_never_cached(manager: Any, partner: Partner) -> None:
    draft(by=manager)
    version = Partner.objects.get(pk=partner.pk).claims_version
    narrowed = selectors.DashboardFilters(activity="presales")
    with CaptureQueriesContext(connection) as captured:
        selectors.status_counts(partner.pk, narrowed, version=version)
        selectors.status_counts(partner.pk, narrowed, version=version)
    assert len(captured) == 2
