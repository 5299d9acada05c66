"""Reviewers and partners are two sides: a staff account is never a partner user, even with a
membership, so it can neither act for a partner in the workflow nor open the partner's claim page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from claims import workflow
from claims.models import Membership, membership_of
from claims.workflow import TransitionRefused
from tests.factories import draft, reviewer
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_staff_account_is_never_a_partner_user() -> None:
    claim = draft()
    staff = reviewer()
    Membership.objects.create(user=staff, partner=claim.partner, role=Membership.Role.INCENTIVES_ADMIN)
    staff.refresh_from_db()
    assert membership_of(staff) is None
    with pytest.raises(TransitionRefused):
        workflow.transition(claim, "submit", by=staff)
    assert client_for(staff).get(reverse("claims:detail", args=[claim.pk])).status_code in (403, 404)
