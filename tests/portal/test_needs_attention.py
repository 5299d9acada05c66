"""The dashboard opens with what needs the partner: requests to answer (with their deadline), dispute
windows closing within 7 days, drafts ready to submit — in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims import selectors, workflow
from claims.models import Claim
from tests.factories import claim_in, draft
from tests.portal.test_queries import queries_for

pytestmark = pytest.mark.django_db

S = Claim.Status


def needs_section(client: Client) -> str:
    response = client.get(reverse("claims:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    match = re.search(r'<section class="needs.*?</section>', html, re.S)
    assert match, "no 'What needs you now' section"
    return match.group(0)


def test_the_dashboard_leads_with_what_needs_the_partner(manager: Any, manager_client: Client) -> None:
    partner = manager.membership.partner
    waiting = claim_in(S.PARTNER_ACTION_REQUIRED, partner=partner, by=manager, name="Waiting on us")
    claim_in(
        S.UNDER_REVIEW, partner=partner, by=manager, name="With the reviewer", customer_tenant_id=uuid.uuid4()
    )
    ready = draft(by=manager, name="Ready draft", customer_tenant_id=uuid.uuid4())
    draft(by=manager, name="Draft without PoE", document=False, customer_tenant_id=uuid.uuid4())
    draft(
        by=manager, name="Draft without contact", customer_contact_email="", customer_tenant_id=uuid.uuid4()
    )
    closing = claim_in(
        S.REJECTED, partner=partner, by=manager, name="Closing soon", customer_tenant_id=uuid.uuid4()
    )
    later = claim_in(
        S.REJECTED, partner=partner, by=manager, name="Closing later", customer_tenant_id=uuid.uuid4()
    )
    assert closing.dispute_window_ends_at and later.dispute_window_ends_at

    now = needs_section(manager_client)
    assert "Waiting on us" in now and selectors.next_deadline(waiting).words in now
    assert "Closing soon" not in now  # thirty days left

    # 24 days after the rejections, both windows close within 7 days; move one on first.
    with time_machine.travel(later.dispute_window_ends_at - dt.timedelta(days=8)):
        manager_client.force_login(manager)
        html = needs_section(manager_client)
        assert "Closing soon" not in html  # eight days left: not yet
    with time_machine.travel(closing.dispute_window_ends_at - dt.timedelta(days=6)):
        manager_client.force_login(manager)
        html = needs_section(manager_client)
    assert html.index("What needs you now") < html.index("Waiting on us")
    assert f'href="{reverse("claims:detail", args=[waiting.pk])}#answer"' in html
    assert "Closing soon" in html and "Closing later" in html and "days left to dispute" in html
    assert f'href="{reverse("claims:detail", args=[ready.pk])}#submit"' in html
    for absent in ("With the reviewer", "Draft without PoE", "Draft without contact"):
        assert absent not in html


def test_only_what_the_model_says_is_submittable_is_ready(manager: Any) -> None:
    partner = manager.membership.partner
    first = draft(by=manager, name="First")
    twin = draft(by=manager, name="Twin", customer_tenant_id=uuid.uuid4())
    alone = draft(by=manager, name="Alone", customer_tenant_id=uuid.uuid4())
    workflow.transition(first, "submit", by=manager)
    # The workflow refuses to make a duplicate; data from before that rule may still hold one.
    Claim.objects.filter(pk=twin.pk).update(customer_tenant_id=first.customer_tenant_id)
    assert Claim.objects.get(pk=twin.pk).duplicates().exists()
    needs = selectors.needs_attention(partner.pk)
    ready = {item.pk for item in needs.ready_drafts}
    assert ready == {alone.pk}
    for claim in (twin, alone):
        assert (claim.pk in ready) == (Claim.objects.get(pk=claim.pk).submission_problems() == [])


def test_nothing_needed_is_said_plainly(manager: Any, manager_client: Client, member_client: Client) -> None:
    claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager)
    for client in (manager_client, member_client):
        assert "Nothing needs you now" in needs_section(client)


def test_another_partners_claims_never_show(manager: Any, outsider: Any, outsider_client: Client) -> None:
    claim_in(S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager, name="Ours")
    assert "Ours" not in needs_section(outsider_client)


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("claims:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_needs_section_runs_a_fixed_number_of_queries(manager: Any, manager_client: Client) -> None:
    partner = manager.membership.partner
    claim_in(S.PARTNER_ACTION_REQUIRED, partner=partner, by=manager)
    draft(by=manager, customer_tenant_id=uuid.uuid4())
    one = queries_for(manager_client, "/claims/")
    for n in range(12):
        claim_in(S.PARTNER_ACTION_REQUIRED, partner=partner, by=manager, customer_tenant_id=uuid.uuid4())
        draft(by=manager, name=f"Draft {n}", customer_tenant_id=uuid.uuid4())
    many = queries_for(manager_client, "/claims/")
    assert one == many
    needs = selectors.needs_attention(partner.pk, now=timezone.now())
    assert len(needs.answer) == selectors.NEEDS_LIMIT and len(needs.ready_drafts) == selectors.NEEDS_LIMIT
