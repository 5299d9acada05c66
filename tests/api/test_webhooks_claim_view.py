"""A webhook event shows the claim as the partner's managers see it through the API, whoever created
the endpoint and whatever became of them: allowed_actions, editable_fields and may_add_documents agree.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.models import ApiKey, WebhookEvent
from claims import workflow
from claims.models import Claim, Membership
from tests.api.conftest import ApiClient
from tests.api.test_webhooks import subscribe
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db


def _demote(user: Any) -> None:
    Membership.objects.filter(user=user).update(role=Membership.Role.MEMBER)


def _delete(user: Any) -> None:
    user.delete()


def _deactivate(user: Any) -> None:
    type(user).objects.filter(pk=user.pk).update(is_active=False)


@pytest.mark.parametrize("fate", [_demote, _delete, _deactivate, None])
def test_the_event_shows_what_the_partners_managers_may_do(fate: Any) -> None:
    contoso = PartnerFactory(name="Contoso")
    alice = partner_user(contoso, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example")
    bob = partner_user(contoso, Membership.Role.GLOBAL_ADMIN, email="bob@contoso.example")
    _key, secret = ApiKey.issue(name="CRM", partner=contoso, created_by=bob, scope="write")
    subscribe(contoso, alice, "https://crm.contoso.example/hooks", ["claim.information_requested"])
    claim = claim_in(Claim.Status.UNDER_REVIEW, partner=contoso, by=bob)
    if fate is not None:
        fate(alice)  # the endpoint's creator leaves, or may no longer manage claims
    workflow.transition(
        claim, "request_information", by=reviewer(), reasons=["missing_products"], comment="Name Sales."
    )
    (event,) = WebhookEvent.objects.all()
    shown = event.payload["data"]["claim"]
    assert shown["allowed_actions"] == ["resubmit", "withdraw"]
    assert shown["editable_fields"] and shown["may_add_documents"] is True
    as_api = ApiClient(secret).get(f"/claims/{claim.pk}").json()
    for name in ("allowed_actions", "editable_fields", "may_add_documents"):
        assert shown[name] == as_api[name], name
