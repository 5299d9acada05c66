"""The demo data (`manage.py seed_demo`) keeps to the rules: each demo tenant has one verified domain
and the demo claims use it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from claims.models import Claim, Tenant, TenantDomain

pytestmark = pytest.mark.django_db


def test_demo_tenants_have_one_domain_and_claims_use_it() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    for tenant in Tenant.objects.all():
        domains = list(TenantDomain.objects.filter(tenant=tenant).values_list("domain", flat=True))
        assert len(domains) == 1, (tenant, domains)
        used = set(
            Claim.objects.filter(customer_tenant_id=tenant.tenant_id).values_list(
                "customer_domain", flat=True
            )
        )
        assert used <= set(domains), (tenant, used)
