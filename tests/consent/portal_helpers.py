"""Helpers for the customer portal's tests: tenants, and customers signed in the real way.

`signed_in(email)` asks for a link on the page, delivers the outbox row, reads the link from the
mail as sent and presses "Sign in", exactly as a customer would; nothing is forced into the session.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django.core import mail
from django.test import Client
from django.urls import reverse

from claims.models import Claim, Tenant, TenantDomain
from consent import signin
from cpor import outbox
from cpor.models import OutboundEmail
from tests.factories import claim_in

SIGN_IN_LINK = re.compile(r"https?://[^/\s]+(/customer/sign-in/([A-Za-z0-9_\-]+)/)")


def tenant(name: str = "Northwind Traders", domain: str = "northwind.example", *more: str) -> Tenant:
    registered = Tenant.objects.create(tenant_id=uuid.uuid4(), name=name)
    for each in (domain, *more):
        TenantDomain.objects.create(tenant=registered, domain=each)
    return registered


def association(of: Tenant, status: str = Claim.Status.APPROVED, **kwargs: Any) -> Claim:
    """A claim on the tenant, moved through the real workflow into `status`."""
    domain = of.domains.order_by("pk").first()
    kwargs.setdefault("customer_name", of.name)
    kwargs.setdefault("customer_contact_email", f"it@{domain.domain}")
    return claim_in(status, customer_tenant_id=of.tenant_id, customer_domain=domain.domain, **kwargs)


def csrf_token(client: Client, path: str) -> str:
    """The CSRF token a form on `path` would send (works with `enforce_csrf_checks` clients too)."""
    if "csrftoken" not in client.cookies:
        client.get(path)
    return client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""


def ask_for_link(client: Client, email: str, *, checked: bool = True) -> Any:
    """Post the sign-in form; with `checked`, then run the domain check as the task would."""
    home = reverse("consent:customer_home")
    response = client.post(home, {"email": email, "csrfmiddlewaretoken": csrf_token(client, home)})
    if checked:
        signin.send_requested_links(waited=dt.timedelta(0))
    return response


def delivered_link(email: str) -> tuple[str, str]:
    """Send the newest sign-in mail to `email`; return (path, token) from the mail as sent."""
    row = OutboundEmail.objects.filter(kind="customer_sign_in", to=email).order_by("-pk").first()
    assert row is not None, f"no sign-in mail to {email}"
    assert outbox.deliver(row.pk)
    sent = [m for m in mail.outbox if m.to == [email]]
    match = SIGN_IN_LINK.search(sent[-1].body)
    assert match is not None, sent[-1].body
    return match.group(1), match.group(2)


def signed_in(email: str, client: Client | None = None) -> Client:
    client = client or Client()
    ask_for_link(client, email)
    path, _token = delivered_link(email)
    response = client.post(path, {"csrfmiddlewaretoken": csrf_token(client, path)})
    assert response.status_code == 302, response.content[:500]
    return client
