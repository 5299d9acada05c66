"""The rules a claim's content must meet: duplicates, tenants and domains, solution areas, submitting.

See docs/design.md, "What a claim holds", "Duplicates" and the `submit` row of "Claim lifecycle".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from claims import workflow
from claims.models import Claim, ClaimEvent, Membership, Tenant, TenantDomain
from claims.workflow import TransitionRefused
from cpor.models import OutboundEmail
from tests.factories import (
    PartnerFactory,
    claim_fields,
    claim_in,
    draft,
    manager_of,
    partner_user,
    pdf_upload,
    reviewer,
)

pytestmark = pytest.mark.django_db

S = Claim.Status
TENANT = uuid.UUID("6f1c9d4e-2a8b-4c3d-9e7f-0a1b2c3d4e5f")


def create(by: Any, products: tuple[str, ...] = ("d365-sales",), **overrides: Any) -> Claim:
    return workflow.create_claim(
        by=by, fields=claim_fields(by.membership.partner, **overrides), products=list(products)
    )


def error_text(error: ValidationError, field: str) -> str:
    return " ".join(error.message_dict.get(field, []))


# ---------------------------------------------------------------------------------------------
# Duplicates: one live claim per partner, tenant, product and activity


@pytest.mark.parametrize("first_status", [S.EDITING, S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED, S.DISPUTED])
def test_a_partner_cannot_hold_two_live_claims_on_the_same_tenant_product_and_activity(
    first_status: str,
) -> None:
    first = claim_in(first_status, customer_tenant_id=TENANT)
    manager = manager_of(first)

    with pytest.raises(ValidationError) as invalid:
        create(manager, customer_tenant_id=TENANT, name="Second try")

    message = error_text(invalid.value, "products")
    assert f"#{first.pk}" in message
    assert first.name in message
    assert list(Claim.objects.filter(customer_tenant_id=TENANT)) == [first]
    assert not ClaimEvent.objects.exclude(claim=first).exists()


def test_one_shared_product_is_enough_to_be_a_duplicate() -> None:
    first = draft(customer_tenant_id=TENANT, products=("d365-sales",))

    with pytest.raises(ValidationError) as invalid:
        create(manager_of(first), customer_tenant_id=TENANT, products=("power-apps", "d365-sales"))

    assert f"#{first.pk}" in error_text(invalid.value, "products")
    assert Claim.objects.count() == 1


def test_the_tenant_id_is_compared_as_a_guid_not_as_text() -> None:
    first = draft(customer_tenant_id=TENANT)

    with pytest.raises(ValidationError):
        create(manager_of(first), customer_tenant_id=str(TENANT).upper())

    assert Claim.objects.count() == 1


def test_once_the_first_claim_is_rejected_the_partner_may_claim_again() -> None:
    first = claim_in(S.REJECTED, customer_tenant_id=TENANT)

    second = create(manager_of(first), customer_tenant_id=TENANT, name="Second try")

    assert second.status == S.EDITING
    assert Claim.objects.filter(customer_tenant_id=TENANT).count() == 2


@pytest.mark.parametrize(
    "difference",
    [
        {"activity": "presales"},
        {"activity": "revenue_association"},
        {"products": ("d365-finance",)},
        {"customer_tenant_id": uuid.uuid4()},
    ],
    ids=["presales", "revenue_association", "another product", "another tenant"],
)
def test_another_activity_product_or_tenant_is_not_a_duplicate(difference: dict[str, Any]) -> None:
    first = draft(customer_tenant_id=TENANT, activity="usage", products=("d365-sales",))
    overrides = {"customer_tenant_id": TENANT, **difference}

    second = create(manager_of(first), **overrides)

    assert Claim.objects.filter(partner=first.partner).count() == 2
    assert second.status == S.EDITING


def test_another_partner_may_claim_the_same_tenant_and_product() -> None:
    first = claim_in(S.SUBMITTED, customer_tenant_id=TENANT)
    rival = partner_user(PartnerFactory())

    second = create(rival, customer_tenant_id=TENANT)

    assert second.partner != first.partner
    assert sorted(Claim.objects.filter(customer_tenant_id=TENANT).values_list("pk", flat=True)) == sorted(
        [first.pk, second.pk]
    )


@pytest.mark.parametrize(
    ("second_claim", "changes"),
    [
        ({"activity": "usage", "products": ("d365-finance",)}, {"products": ["d365-sales"]}),
        ({"activity": "presales", "products": ("d365-sales",)}, {"activity": "usage"}),
    ],
    ids=["products", "activity"],
)
def test_an_edit_cannot_turn_a_draft_into_a_duplicate(
    second_claim: dict[str, Any], changes: dict[str, Any]
) -> None:
    first = draft(customer_tenant_id=TENANT, activity="usage", products=("d365-sales",))
    manager = manager_of(first)
    second = draft(first.partner, by=manager, customer_tenant_id=TENANT, **second_claim)

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(second, by=manager, changes=changes)

    assert f"#{first.pk}" in error_text(invalid.value, "products")
    stored = Claim.objects.get(pk=second.pk)
    assert stored.activity == second_claim["activity"]
    assert list(stored.products.values_list("code", flat=True)) == list(second_claim["products"])
    assert not ClaimEvent.objects.filter(claim=second, action=ClaimEvent.Action.EDIT).exists()


def test_after_submit_products_cannot_be_edited_into_a_duplicate() -> None:
    first = claim_in(S.SUBMITTED, customer_tenant_id=TENANT, products=("d365-sales",))
    manager = manager_of(first)
    second = claim_in(S.SUBMITTED, by=manager, customer_tenant_id=TENANT, products=("d365-finance",))

    with pytest.raises(ValidationError):
        workflow.edit_claim(second, by=manager, changes={"products": ["d365-finance", "d365-sales"]})

    assert list(Claim.objects.get(pk=second.pk).products.values_list("code", flat=True)) == ["d365-finance"]


def test_a_copy_may_not_duplicate_a_live_claim() -> None:
    rejected = claim_in(S.SUBMITTED, customer_tenant_id=TENANT)
    manager = manager_of(rejected)
    rejected = workflow.transition(rejected, "withdraw", by=manager, reason="wrong_activity")
    first_copy = workflow.copy_claim(rejected, by=manager)

    with pytest.raises(ValidationError) as invalid:
        workflow.copy_claim(rejected, by=manager)

    assert f"#{first_copy.pk}" in error_text(invalid.value, "products")
    assert list(Claim.objects.filter(copied_from=rejected)) == [first_copy]


def test_a_rejection_cannot_be_disputed_once_a_new_live_claim_covers_the_same_ground() -> None:
    rejected = claim_in(S.REJECTED, customer_tenant_id=TENANT)
    manager = manager_of(rejected)
    replacement = create(manager, customer_tenant_id=TENANT, name="Replacement")

    with pytest.raises(TransitionRefused) as refused:
        workflow.transition(rejected, "dispute", by=manager, justification="The SOW is signed.")

    assert f"#{replacement.pk}" in str(refused.value)
    assert Claim.objects.get(pk=rejected.pk).status == S.REJECTED


# ---------------------------------------------------------------------------------------------
# Customer tenant and domain


@pytest.fixture
def contoso_tenant() -> Tenant:
    tenant = Tenant.objects.create(tenant_id=TENANT, name="Contoso")
    TenantDomain.objects.create(tenant=tenant, domain="contoso.com")
    TenantDomain.objects.create(tenant=tenant, domain="Contoso.onmicrosoft.com")
    return tenant


@pytest.mark.parametrize("domain", ["contoso.com", "CONTOSO.com", " contoso.onmicrosoft.com "])
def test_a_known_tenant_accepts_its_own_domains(contoso_tenant: Tenant, domain: str) -> None:
    claim = create(partner_user(PartnerFactory()), customer_tenant_id=TENANT, customer_domain=domain)

    assert Claim.objects.get(pk=claim.pk).customer_domain == domain.strip().lower()


@pytest.mark.parametrize("domain", ["fabrikam.com", "contoso.com.evil.example", "sub.contoso.com"])
def test_a_known_tenant_refuses_a_domain_it_does_not_hold(contoso_tenant: Tenant, domain: str) -> None:
    user = partner_user(PartnerFactory())

    with pytest.raises(ValidationError) as invalid:
        create(user, customer_tenant_id=TENANT, customer_domain=domain)

    assert domain in error_text(invalid.value, "customer_domain")
    assert not Claim.objects.exists()


def test_an_edit_to_a_foreign_domain_of_a_known_tenant_is_refused(contoso_tenant: Tenant) -> None:
    claim = draft(customer_tenant_id=TENANT, customer_domain="contoso.com")

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"customer_domain": "fabrikam.com"})

    assert "customer_domain" in invalid.value.message_dict
    assert Claim.objects.get(pk=claim.pk).customer_domain == "contoso.com"


def test_moving_a_claim_to_a_known_tenant_checks_the_domain_it_already_has(contoso_tenant: Tenant) -> None:
    claim = draft(customer_domain="fabrikam.com")
    old_tenant = claim.customer_tenant_id

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"customer_tenant_id": TENANT})

    assert "customer_domain" in invalid.value.message_dict
    assert Claim.objects.get(pk=claim.pk).customer_tenant_id == old_tenant


@pytest.mark.parametrize("domain", ["fabrikam.com", "northwind.example", "a.b.c.example.org"])
def test_an_unknown_tenant_accepts_any_valid_domain(contoso_tenant: Tenant, domain: str) -> None:
    claim = create(partner_user(PartnerFactory()), customer_tenant_id=uuid.uuid4(), customer_domain=domain)

    assert Claim.objects.get(pk=claim.pk).customer_domain == domain


@pytest.mark.parametrize(
    "domain", ["not a domain", "localhost", "-bad.example", "under_score.example", "a..b"]
)
def test_a_malformed_domain_is_refused_even_for_an_unknown_tenant(domain: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        create(partner_user(PartnerFactory()), customer_domain=domain)

    assert "customer_domain" in invalid.value.message_dict
    assert not Claim.objects.exists()


# ---------------------------------------------------------------------------------------------
# Solution area: activities, products, subscription


@pytest.mark.parametrize("activity", ["presales", "revenue_association"])
def test_microsoft_365_has_no_presales_or_revenue_association(activity: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        create(
            partner_user(PartnerFactory()),
            products=("m365-teams",),
            solution_area="microsoft_365",
            activity=activity,
        )

    assert "activity" in invalid.value.message_dict
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    ("area", "activity", "product"),
    [
        ("microsoft_365", "usage", "m365-teams"),
        ("business_applications", "presales", "d365-sales"),
        ("business_applications", "usage", "power-bi"),
        ("business_applications", "revenue_association", "d365-finance"),
    ],
)
def test_each_solution_area_takes_its_own_activities(area: str, activity: str, product: str) -> None:
    claim = create(partner_user(PartnerFactory()), products=(product,), solution_area=area, activity=activity)

    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.solution_area, stored.activity) == (area, activity)
    assert list(stored.products.values_list("code", flat=True)) == [product]


def test_a_subscription_id_is_refused_on_microsoft_365() -> None:
    with pytest.raises(ValidationError) as invalid:
        create(
            partner_user(PartnerFactory()),
            products=("m365-teams",),
            solution_area="microsoft_365",
            subscription_id=uuid.uuid4(),
        )

    assert "subscription_id" in invalid.value.message_dict
    assert not Claim.objects.exists()


def test_a_subscription_id_is_kept_on_business_applications() -> None:
    subscription = uuid.uuid4()

    claim = create(partner_user(PartnerFactory()), subscription_id=str(subscription))

    assert Claim.objects.get(pk=claim.pk).subscription_id == subscription


def test_switching_a_draft_to_microsoft_365_needs_its_workloads_and_activity() -> None:
    claim = draft(activity="presales")

    with pytest.raises(ValidationError) as invalid:
        workflow.edit_claim(claim, by=manager_of(claim), changes={"solution_area": "microsoft_365"})

    assert {"activity", "products"} <= set(invalid.value.message_dict)
    assert Claim.objects.get(pk=claim.pk).solution_area == "business_applications"


# ---------------------------------------------------------------------------------------------
# What submitting needs


def assert_not_submitted(claim: Claim) -> None:
    stored = Claim.objects.get(pk=claim.pk)
    assert stored.status == S.EDITING
    assert stored.submitted_at is None and stored.review_start_due_at is None
    assert not ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.SUBMIT).exists()
    assert not OutboundEmail.objects.filter(kind="claim_submitted").exists()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"products": ()}, "Choose at least one product"),
        ({"document": False}, "Upload at least one proof-of-execution document"),
        ({"customer_contact_email": ""}, "customer contact"),
        ({"customer_contact_name": ""}, "customer contact"),
        ({"partner_contact_name": "", "partner_contact_email": ""}, "partner contact"),
        ({"work_description": "   \n "}, "Describe the work"),
        ({"technical_contact_name": "", "technical_contact_email": ""}, "technical contact"),
        ({"technical_contact_email": ""}, "technical contact"),
    ],
    ids=[
        "no product",
        "no document",
        "no customer email",
        "no customer name",
        "no partner contact",
        "no description",
        "d365 without technical contact",
        "d365 technical contact without email",
    ],
)
def test_submit_is_refused_with_the_problem_named(overrides: dict[str, Any], expected: str) -> None:
    claim = draft(**overrides)

    with pytest.raises(TransitionRefused) as refused:
        workflow.transition(claim, "submit", by=manager_of(claim))

    assert expected in str(refused.value)
    assert_not_submitted(claim)


def test_submit_lists_every_problem_at_once() -> None:
    claim = draft(products=(), document=False, work_description="", partner_contact_email="")

    with pytest.raises(TransitionRefused) as refused:
        workflow.transition(claim, "submit", by=manager_of(claim))

    message = str(refused.value)
    for expected in ["product", "proof-of-execution document", "partner contact", "Describe the work"]:
        assert expected in message
    assert_not_submitted(claim)


@pytest.mark.parametrize("products", [("power-apps",), ("power-bi", "dataverse")])
def test_power_platform_needs_no_technical_contact(products: tuple[str, ...]) -> None:
    claim = draft(products=products, technical_contact_name="", technical_contact_email="")

    claim = workflow.transition(claim, "submit", by=manager_of(claim))

    stored = Claim.objects.get(pk=claim.pk)
    assert stored.status == S.SUBMITTED
    assert stored.review_start_due_at is not None


def test_microsoft_365_needs_no_technical_contact() -> None:
    claim = draft(
        products=("m365-teams",),
        solution_area="microsoft_365",
        technical_contact_name="",
        technical_contact_email="",
    )

    workflow.transition(claim, "submit", by=manager_of(claim))

    assert Claim.objects.get(pk=claim.pk).status == S.SUBMITTED


def test_a_mixed_claim_with_a_dynamics_product_needs_the_technical_contact() -> None:
    claim = draft(products=("power-apps", "d365-field-service"), technical_contact_name="")

    with pytest.raises(TransitionRefused, match="technical contact"):
        workflow.transition(claim, "submit", by=manager_of(claim))

    assert_not_submitted(claim)


def test_a_complete_draft_submits_once_the_problem_is_fixed() -> None:
    claim = draft(document=False)
    manager = manager_of(claim)
    with pytest.raises(TransitionRefused):
        workflow.transition(claim, "submit", by=manager)

    workflow.add_document(claim, by=manager, upload=pdf_upload())
    claim = workflow.transition(claim, "submit", by=manager)

    assert Claim.objects.get(pk=claim.pk).status == S.SUBMITTED
    assert ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.SUBMIT).count() == 1


@pytest.mark.parametrize("who", ["read_only_member", "reviewer"])
def test_only_a_managing_user_submits(who: str) -> None:
    claim = draft()
    user = (
        partner_user(claim.partner, role=Membership.Role.MEMBER) if who == "read_only_member" else reviewer()
    )

    with pytest.raises(TransitionRefused):
        workflow.transition(claim, "submit", by=user)

    assert_not_submitted(claim)


def test_a_rejected_claim_past_its_dispute_window_stays_rejected_and_frees_the_tenant() -> None:
    first = claim_in(S.REJECTED, customer_tenant_id=TENANT)
    manager = manager_of(first)

    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        with pytest.raises(TransitionRefused):
            workflow.transition(first, "dispute", by=manager, justification="Late, but signed.")
        second = create(manager, customer_tenant_id=TENANT, name="Fresh claim")

    assert Claim.objects.get(pk=first.pk).status == S.REJECTED
    assert second.status == S.EDITING
