"""Partner Center's subscription checks: where the registry covers the claimed tenant, a Business
Applications claim may name only a subscription on that tenant, of a Business Applications product,
not bought through CSP, and active. The same words on every path: the workflow, the portal's forms
and the Partner API, at every save of a draft and at submit. See docs/design.md, "Subscription checks".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from api.models import ApiKey
from claims import workflow
from claims.models import Claim, ClaimEvent, Product, Subscription, Tenant, TenantDomain
from claims.selectors import needs_attention
from claims.workflow import TransitionRefused
from tests.api.conftest import ApiClient
from tests.factories import PartnerFactory, claim_fields, claim_in, draft, manager_of, partner_user
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

S = Claim.Status
TENANT = uuid.UUID("1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d")
OTHER_TENANT = uuid.UUID("9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f")
SUB = uuid.UUID("aaaaaaaa-1111-4222-8333-444444444444")


def tenant(tenant_id: uuid.UUID = TENANT, domain: str = "northwind.example") -> Tenant:
    row, _ = Tenant.objects.get_or_create(tenant_id=tenant_id, defaults={"name": domain})
    TenantDomain.objects.get_or_create(domain=domain, defaults={"tenant": row})
    return row


def subscription(
    subscription_id: uuid.UUID = SUB,
    *,
    on: uuid.UUID = TENANT,
    product: str = "d365-sales",
    channel: str = "direct",
    status: str = "active",
) -> Subscription:
    live = status in Subscription.LIVE_STATUSES
    return Subscription.objects.create(
        subscription_id=subscription_id,
        tenant=tenant(on, "northwind.example" if on == TENANT else "elsewhere.example"),
        product=Product.objects.get(code=product),
        channel=channel,
        status=status,
        seats=25,
        start_date=dt.date(2025, 1, 1),
        inactive_since=None if live else timezone.now(),
    )


# Each refusal: the registry as it stands, and the words that name the subscription.
REFUSALS: dict[str, tuple[Callable[[], Any], str]] = {
    "unknown on a covered tenant": (
        lambda: subscription(uuid.uuid4()),
        f"Subscription {SUB} does not exist on tenant {TENANT}.",
    ),
    "on another tenant": (
        lambda: (tenant(), subscription(on=OTHER_TENANT)),
        f"Subscription {SUB} belongs to another tenant, not to {TENANT}.",
    ),
    "not Business Applications": (
        lambda: subscription(product="m365-teams"),
        f"Subscription {SUB} is for Microsoft Teams, not a Business Applications product",
    ),
    "bought through CSP": (
        lambda: subscription(channel="csp"),
        f"Subscription {SUB} was bought through a Cloud Solution Provider (CSP)",
    ),
    "in grace": (
        lambda: subscription(status="grace"),
        f"Subscription {SUB} is not active (its status is “Grace period”)",
    ),
    "suspended": (
        lambda: subscription(status="suspended"),
        f"Subscription {SUB} is not active (its status is “Suspended”)",
    ),
    "deleted": (
        lambda: subscription(status="deleted"),
        f"Subscription {SUB} is not active (its status is “Deleted”)",
    ),
}
CASES = pytest.mark.parametrize("case", list(REFUSALS))


def fields_for(partner: Any, **overrides: Any) -> dict[str, Any]:
    return claim_fields(partner, customer_tenant_id=TENANT, subscription_id=SUB, **overrides)


# ---------------------------------------------------------------------------------------------
# The workflow: create, edit, submit


@CASES
def test_creating_a_draft_refuses_the_subscription_and_saves_nothing(case: str) -> None:
    arrange, message = REFUSALS[case]
    arrange()
    manager = partner_user(PartnerFactory())
    with pytest.raises(ValidationError) as refused:
        workflow.create_claim(
            by=manager, fields=fields_for(manager.membership.partner), products=["d365-sales"]
        )
    assert message in " ".join(refused.value.message_dict["subscription_id"])
    assert not Claim.objects.exists() and not ClaimEvent.objects.exists()


@CASES
def test_editing_a_draft_to_name_the_subscription_is_refused(case: str) -> None:
    arrange, message = REFUSALS[case]
    arrange()
    claim = draft(customer_tenant_id=TENANT)
    with pytest.raises(ValidationError) as refused:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"subscription_id": SUB})
    assert message in " ".join(refused.value.message_dict["subscription_id"])
    claim.refresh_from_db()
    assert claim.subscription_id is None
    assert not ClaimEvent.objects.filter(claim=claim, action="edit").exists()


# How the registry may change between saving a draft and submitting it.
AFTER_SAVING: dict[str, tuple[dict[str, Any], str]] = {
    "moved to another tenant": ({"tenant": OTHER_TENANT}, "belongs to another tenant"),
    "not Business Applications": ({"product": "m365-teams"}, "not a Business Applications product"),
    "bought through CSP": ({"channel": "csp"}, "Cloud Solution Provider"),
    "in grace": ({"status": "grace"}, "its status is “Grace period”"),
    "suspended": ({"status": "suspended"}, "its status is “Suspended”"),
}


@pytest.mark.parametrize("case", list(AFTER_SAVING))
def test_submit_refuses_a_subscription_the_registry_changed_since_the_draft_was_saved(case: str) -> None:
    subscription()
    claim = draft(customer_tenant_id=TENANT, subscription_id=SUB)
    change, words = AFTER_SAVING[case]
    row = Subscription.objects.get(subscription_id=SUB)
    if "tenant" in change:
        row.tenant = tenant(change["tenant"], "elsewhere.example")
    if "product" in change:
        row.product = Product.objects.get(code=change["product"])
    row.channel = change.get("channel", row.channel)
    if "status" in change:
        row.status = change["status"]
        row.inactive_since = None if row.status == "grace" else timezone.now()
    row.save()

    with pytest.raises(TransitionRefused) as refused:
        workflow.transition(claim, "submit", by=manager_of(claim))
    assert str(SUB) in str(refused.value) and words in str(refused.value)
    claim.refresh_from_db()
    assert claim.status == S.EDITING and claim.submitted_at is None


def test_submit_refuses_a_subscription_gone_from_a_covered_tenants_registry() -> None:
    subscription()
    claim = draft(customer_tenant_id=TENANT, subscription_id=SUB)
    Subscription.objects.filter(subscription_id=SUB).delete()
    subscription(uuid.uuid4())  # the tenant stays covered
    with pytest.raises(TransitionRefused, match=f"Subscription {SUB} does not exist on tenant {TENANT}"):
        workflow.transition(claim, "submit", by=manager_of(claim))
    claim.refresh_from_db()
    assert claim.status == S.EDITING


def test_an_active_direct_or_ea_subscription_on_the_tenant_passes_every_check() -> None:
    subscription()
    subscription(uuid.UUID("bbbbbbbb-1111-4222-8333-444444444444"), product="power-apps", channel="ea")
    claim = claim_in(S.SUBMITTED, customer_tenant_id=TENANT, subscription_id=SUB)
    assert claim.subscription_id == SUB and claim.subscription_problems() == []


def test_where_the_registry_does_not_cover_the_tenant_an_unknown_subscription_is_not_judged() -> None:
    subscription(uuid.uuid4(), on=OTHER_TENANT)  # the registry knows another tenant only
    tenant()  # and knows the claimed tenant's domain, but none of its subscriptions
    claim = claim_in(S.SUBMITTED, customer_tenant_id=TENANT, subscription_id=SUB)
    assert claim.status == S.SUBMITTED and claim.subscription_id == SUB


def test_with_no_subscription_named_the_registry_is_not_asked() -> None:
    subscription(uuid.uuid4())
    claim = draft(customer_tenant_id=TENANT)
    with CaptureQueriesContext(connection) as queries:
        assert claim.subscription_problems() == []
    assert len(queries) == 0


def test_after_submission_a_lapsed_subscription_does_not_block_other_edits() -> None:
    """From submission on the subscription ID is frozen; the lapse job answers for its status, so an
    edit of a contact is not refused for a subscription the partner can no longer change."""
    subscription()
    claim = claim_in(S.SUBMITTED, customer_tenant_id=TENANT, subscription_id=SUB)
    Subscription.objects.filter(subscription_id=SUB).update(status="suspended", inactive_since=timezone.now())
    edited = workflow.edit_claim(claim, by=manager_of(claim), changes={"partner_contact_name": "Pat Partner"})
    assert edited.partner_contact_name == "Pat Partner"
    with pytest.raises(TransitionRefused):
        workflow.edit_claim(claim, by=manager_of(claim), changes={"subscription_id": uuid.uuid4()})


def test_each_refusal_speaks_turkish() -> None:
    subscription(channel="csp", status="grace", product="m365-teams")
    manager = partner_user(PartnerFactory())
    with translation.override("tr"), pytest.raises(ValidationError) as refused:
        workflow.create_claim(
            by=manager, fields=fields_for(manager.membership.partner), products=["d365-sales"]
        )
    messages = refused.value.message_dict["subscription_id"]
    assert len(messages) == 3 and all(str(SUB) in m for m in messages)
    assert "bir İş Uygulamaları ürünü (Dynamics 365 veya Power Platform) değil" in messages[0]
    assert "CSP" in messages[1] and "talep edilemez" in messages[1]
    assert "etkin değil" in messages[2] and "Ek süre" in messages[2]
    Subscription.objects.all().delete()
    subscription(on=OTHER_TENANT)
    tenant()
    with translation.override("tr"), pytest.raises(ValidationError) as refused:
        workflow.create_claim(
            by=manager, fields=fields_for(manager.membership.partner), products=["d365-sales"]
        )
    assert refused.value.message_dict["subscription_id"] == [
        f"{SUB} aboneliği başka bir kiracıya ait, {TENANT} kiracısına değil."
    ]


def test_needs_attention_asks_the_registry_once_for_all_drafts() -> None:
    """The dashboard's "ready to submit" list judges each draft's subscription without a query per draft."""
    partner = PartnerFactory()
    manager = partner_user(partner)
    subscription()
    draft(partner, by=manager, customer_tenant_id=TENANT, subscription_id=SUB)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            needs_attention(partner.pk)
        return len(queries)

    one = count()
    for n, code in enumerate(("power-apps", "power-bi", "power-automate")):
        sub = uuid.UUID(f"cccccccc-1111-4222-8333-44444444444{n}")
        subscription(sub, product=code)
        draft(
            partner,
            by=manager,
            products=(code,),
            customer_tenant_id=TENANT,
            subscription_id=sub,
            name=f"Draft {n}",
        )
    draft(partner, by=manager, customer_tenant_id=uuid.uuid4(), subscription_id=uuid.uuid4(), name="Unknown")
    assert count() == one + 1  # the covered-tenant question, asked once for the unknown subscription
    ready = needs_attention(partner.pk).ready_drafts
    assert len(ready) == 5
    Subscription.objects.filter(subscription_id=SUB).update(channel="csp")
    assert {d.name for d in needs_attention(partner.pk).ready_drafts} == {
        "Draft 0",
        "Draft 1",
        "Draft 2",
        "Unknown",
    }


# ---------------------------------------------------------------------------------------------
# The portal's forms and the Partner API say the same


def portal_data(claim: Claim, **overrides: Any) -> dict[str, Any]:
    data = {
        "solution_area": claim.solution_area,
        "name": claim.name,
        "mpn": claim.mpn_id,
        "activity": claim.activity,
        "products": [p.pk for p in claim.products.all()],
        "customer_name": claim.customer_name,
        "customer_domain": claim.customer_domain,
        "customer_tenant_id": str(claim.customer_tenant_id),
        "subscription_id": "",
        "customer_contact_name": claim.customer_contact_name,
        "customer_contact_email": claim.customer_contact_email,
        "customer_contact_language": "en",
        "technical_contact_name": claim.technical_contact_name,
        "technical_contact_email": claim.technical_contact_email,
        "partner_contact_name": claim.partner_contact_name,
        "partner_contact_email": claim.partner_contact_email,
        "work_description": claim.work_description,
    }
    data.update(overrides)
    return data


@CASES
def test_the_portal_edit_form_shows_the_refusal_next_to_the_field(case: str) -> None:
    arrange, message = REFUSALS[case]
    arrange()
    claim = draft(customer_tenant_id=TENANT)
    response = client_for(manager_of(claim)).post(
        reverse("claims:edit", args=[claim.pk]), portal_data(claim, subscription_id=str(SUB))
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message.replace("“", "&quot;").replace("”", "&quot;") in html or message in html
    assert 'id="id_subscription_id"' in html
    claim.refresh_from_db()
    assert claim.subscription_id is None


def test_the_portal_new_claim_form_refuses_a_csp_subscription_in_turkish() -> None:
    subscription(channel="csp")
    claim = draft(customer_tenant_id=TENANT)  # a model for the form's fields
    client = client_for(manager_of(claim))
    data = portal_data(claim, subscription_id=str(SUB), name="Another", activity="presales")
    client.cookies["django_language"] = "tr"
    response = client.post("/claims/new/", data)
    assert response.status_code == 400
    assert f"{SUB} aboneliği bir Bulut Çözüm Sağlayıcısı (CSP)" in response.content.decode()
    assert Claim.objects.count() == 1


def test_the_portal_submit_button_shows_the_refusal_and_leaves_the_draft() -> None:
    subscription()
    claim = draft(customer_tenant_id=TENANT, subscription_id=SUB)
    Subscription.objects.filter(subscription_id=SUB).update(channel="csp")
    client = client_for(manager_of(claim))
    response = client.post(reverse("claims:submit", args=[claim.pk]), {"seen_status": "editing"}, follow=True)
    assert (
        f"Subscription {SUB} was bought through a Cloud Solution Provider (CSP)" in response.content.decode()
    )
    claim.refresh_from_db()
    assert claim.status == S.EDITING


@pytest.fixture
def api_admin() -> Any:
    return partner_user(PartnerFactory(name="Contoso"))


@pytest.fixture
def api(api_admin: Any) -> ApiClient:
    _key, secret = ApiKey.issue(
        name="CRM", partner=api_admin.membership.partner, created_by=api_admin, scope="write"
    )
    return ApiClient(secret)


def api_body(claim_mpn: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Sales rollout",
        "mpn": claim_mpn,
        "solution_area": "business_applications",
        "activity": "usage",
        "customer_name": "Northwind Traders",
        "customer_domain": "northwind.example",
        "customer_tenant_id": str(TENANT),
        "subscription_id": str(SUB),
        "products": ["d365-sales"],
        **overrides,
    }


@CASES
def test_the_api_refuses_on_create_and_on_patch(case: str, api: ApiClient, api_admin: Any) -> None:
    arrange, message = REFUSALS[case]
    arrange()
    partner = api_admin.membership.partner
    mpn = claim_fields(partner)["mpn"].number
    created = api.post("/claims", api_body(mpn))
    assert created.status_code == 422 and created.json()["code"] == "validation_error"
    assert message in str(created.json())
    assert not Claim.objects.exists()

    claim = draft(partner, by=api_admin, customer_tenant_id=TENANT)
    patched = api.patch(f"/claims/{claim.pk}", {"subscription_id": str(SUB)})
    assert patched.status_code == 422 and message in str(patched.json())
    claim.refresh_from_db()
    assert claim.subscription_id is None


def test_the_api_submit_action_refuses_a_subscription_suspended_since_saving(
    api: ApiClient, api_admin: Any
) -> None:
    subscription()
    claim = draft(api_admin.membership.partner, by=api_admin, customer_tenant_id=TENANT, subscription_id=SUB)
    Subscription.objects.filter(subscription_id=SUB).update(status="suspended", inactive_since=timezone.now())
    refused = api.post(f"/claims/{claim.pk}/actions/submit")
    assert refused.status_code in (409, 422)
    assert f"Subscription {SUB} is not active" in str(refused.json())
    claim.refresh_from_db()
    assert claim.status == S.EDITING
