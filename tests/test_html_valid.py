"""Every page people use is valid HTML by the W3C Nu checker (vnu.jar, from the npm package vnu-jar).

The pages are rendered with the test client in English and Turkish, written to files, and checked
in one run of the checker: one JVM start, because it is slow. `.ci/install-vnu` installs the pinned
jar into .ci/vnu (git-ignored); without the jar or java the test is skipped outside CI and fails
under CI.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from claims import workflow
from claims.models import Claim, MonthlyUsage, Product, Subscription, Tenant, TenantDomain
from consent.tasks import close_consent_windows
from cpor import outbox
from cpor.models import OutboundEmail
from tests.conftest import IN_CI
from tests.factories import PATHS, PartnerFactory, claim_in, draft, partner_user, reviewer

ROOT = Path(__file__).resolve().parent.parent
VNU_JAR = Path(os.environ.get("CPOR_VNU_JAR", ROOT / ".ci/vnu/node_modules/vnu-jar/build/dist/vnu.jar"))
JAVA = shutil.which("java")
LANGUAGES = ("en", "tr")


def _checker_problem() -> str | None:
    if JAVA is None:
        return "java is not installed (apt-get install -y default-jre-headless)"
    if not VNU_JAR.exists():
        return f"the Nu HTML checker is not installed at {VNU_JAR} (run .ci/install-vnu)"
    return None


def client_for(user: Any, language: str) -> Client:
    client = Client()
    client.cookies["django_language"] = language
    if user is not None:
        client.force_login(user)
    return client


def admin_url(name: str, *args: Any) -> str:
    return reverse(f"admin:claims_claim_{name}", args=args)


def pages() -> list[tuple[str, str, Any, dict[str, str] | None]]:
    """(file name, URL, who looks, POST data or None) for the pages partners, customers and reviewers meet."""
    partner = PartnerFactory(name="Contoso Ltd.")
    alice = partner_user(partner, first_name="Alice")
    rita = reviewer(first_name="Rita")
    leo = reviewer(lead=True, first_name="Leo")
    claims = {status: claim_in(status, partner=partner, by=alice, review_by=rita) for status in PATHS}
    claims["draft_without_poe"] = draft(partner, by=alice, document=False, name="Draft without PoE")
    # The associated claim names a subscription and its tenant has usage: the claim page's panel.
    tenant = Tenant.objects.create(tenant_id=uuid.uuid4(), name="Northwind Traders")
    TenantDomain.objects.create(tenant=tenant, domain="northwind.example")
    named = Subscription.objects.create(
        subscription_id=uuid.uuid4(),
        tenant=tenant,
        product=Product.objects.get(code="d365-sales"),
        channel="ea",
        status="active",
        seats=75,
        start_date=dt.date(2025, 3, 1),
    )
    month = timezone.localdate().replace(day=1)
    for users in range(18, 0, -1):
        MonthlyUsage.objects.create(
            tenant=tenant, product=named.product, month=month, active_users=users * 10
        )
        month = (month - dt.timedelta(days=1)).replace(day=1)
    claims["associated"] = claim_in(
        Claim.Status.APPROVED,
        partner=partner,
        by=alice,
        review_by=rita,
        customer_tenant_id=tenant.tenant_id,
        subscription_id=named.subscription_id,
    )
    with time_machine.travel(claims["associated"].consent_window_ends_at + dt.timedelta(seconds=1)):
        close_consent_windows()
    claims["dispute_upheld"] = workflow.transition(
        claim_in(Claim.Status.DISPUTED, partner=partner, by=alice, review_by=rita),
        "uphold_rejection",
        by=leo,
        comment="The SOW does not name the customer.",
    )
    claims["dispute_reopened"] = workflow.transition(
        claim_in(Claim.Status.DISPUTED, partner=partner, by=alice, review_by=rita), "reopen", by=leo
    )
    for claim in claims.values():
        claim.refresh_from_db()
    assert claims["associated"].status == Claim.Status.ASSOCIATED

    notice = OutboundEmail.objects.filter(kind="consent_notice").order_by("pk").last()
    assert notice is not None and outbox.deliver(notice.pk)
    # The link is minted when the notice is sent: only the mail holds it.
    consent_path = re.search(r"https?://[^/\s]+/(consent/\S+/)", mail.outbox[-1].body).group(1)
    reset_path = reverse(
        "claims:password_reset_confirm",
        args=[urlsafe_base64_encode(force_bytes(alice.pk)), default_token_generator.make_token(alice)],
    )
    under_review, disputed = claims[Claim.Status.UNDER_REVIEW], claims[Claim.Status.DISPUTED]
    hook, disabled_hook = (
        webhooks.create_endpoint(
            partner=partner, by=alice, url=url, event_types=types, description="CRM production"
        )[0]
        for url, types in (
            ("https://crm.contoso.example/hooks/cpor", [code for code, _label in webhooks.EVENT_TYPES]),
            ("https://old-crm.contoso.example/cpor", ["claim.approved", "claim.rejected"]),
        )
    )
    webhooks.send_test_event(hook, by=alice)
    failed = webhooks.send_test_event(disabled_hook, by=alice)
    # As delivery leaves a failed attempt and a disabled endpoint (the pages show both states).
    WebhookDelivery.objects.filter(event=failed).update(
        attempts=1, last_status_code=503, last_error="HTTP 503", last_attempt_at=failed.occurred_at
    )
    WebhookEndpoint.objects.filter(pk=disabled_hook.pk).update(
        is_active=False, disabled_at=failed.occurred_at, consecutive_failures=20
    )

    found: list[tuple[str, str, Any, dict[str, str] | None]] = [
        ("sign-in", reverse("login"), None, None),
        ("password-reset", reverse("claims:password_reset"), None, None),
        ("password-reset-sent", reverse("claims:password_reset_done"), None, None),
        ("password-reset-confirm", reset_path, None, None),
        ("password-reset-complete", reverse("claims:password_reset_complete"), None, None),
        ("consent", "/" + consent_path, None, None),
        ("admin-sign-in", reverse("admin:login"), None, None),
        ("dashboard", reverse("claims:dashboard"), alice, None),
        ("insight", reverse("claims:insight") + "?sort=-growth_pct", alice, None),
        ("insight-customer", reverse("claims:insight_customer", args=[claims["associated"].pk]), alice, None),
        ("new-claim-area", reverse("claims:new"), alice, None),
        (
            "new-claim-business-applications",
            reverse("claims:new") + "?solution_area=business_applications",
            alice,
            None,
        ),
        ("new-claim-microsoft-365", reverse("claims:new") + "?solution_area=microsoft_365", alice, None),
        ("edit-claim", reverse("claims:edit", args=[claims[Claim.Status.EDITING].pk]), alice, None),
        ("admin-index", reverse("admin:index"), rita, None),
        ("admin-queue", admin_url("changelist"), rita, None),
        ("admin-queue-search", admin_url("changelist") + "?q=northwind", rita, None),
        ("admin-sla-overview", admin_url("sla"), leo, None),
        ("webhooks", reverse("webhooks"), alice, None),
        ("webhook-new", reverse("webhook_new"), alice, None),
        ("webhook-deliveries", reverse("webhook_deliveries", args=[hook.pk]), alice, None),
        ("webhook-deliveries-disabled", reverse("webhook_deliveries", args=[disabled_hook.pk]), alice, None),
        ("webhook-delete", reverse("webhook_delete", args=[hook.pk]), alice, None),
    ]
    for name, claim in claims.items():
        found.append((f"claim-{name}", reverse("claims:detail", args=[claim.pk]), alice, None))
        if claim.status != Claim.Status.EDITING:
            found.append((f"admin-claim-{name}", admin_url("change", claim.pk), leo, None))
    found += [
        (f"admin-{action}-form", admin_url("transition", under_review.pk, action), rita, None)
        for action in ("approve", "request_information", "reject")
    ]
    found += [
        (f"admin-{action}-form", admin_url("transition", disputed.pk, action), leo, None)
        for action in ("reopen", "uphold_rejection")
    ]
    # Forms sent back with errors: the error summary and the field errors are markup too.
    found += [
        (
            "sign-in-with-errors",
            reverse("login"),
            None,
            {"username": "nobody@example.com", "password": "wrong"},
        ),
        ("password-reset-with-errors", reverse("claims:password_reset"), None, {"email": "not-an-address"}),
        (
            "new-claim-with-errors",
            reverse("claims:new"),
            alice,
            {"solution_area": "business_applications", "customer_tenant_id": "not-a-guid"},
        ),
        (
            "edit-claim-with-errors",
            reverse("claims:edit", args=[claims[Claim.Status.EDITING].pk]),
            alice,
            {"name": "", "customer_tenant_id": "not-a-guid"},
        ),
        (
            "webhook-new-with-errors",
            reverse("webhook_new"),
            alice,
            {"url": "http://crm.contoso.example/", "description": "CRM\nsync"},
        ),
    ]
    return found


def nu_errors(files: list[Path]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [JAVA, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # The report goes to stderr; the exit status is 1 when there are errors.
    try:
        report = json.loads(result.stderr)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"the Nu checker did not answer in JSON: {result.stderr[:2000]}") from exc
    return [m for m in report["messages"] if m.get("type") in ("error", "non-document-error")]


@pytest.mark.django_db
def test_every_page_is_valid_html(tmp_path: Path) -> None:
    problem = _checker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI checks every page with the Nu HTML checker, but {problem}")
        pytest.skip(problem)

    files: list[Path] = []
    every_page = pages()
    for language in LANGUAGES:
        for name, url, who, data in every_page:
            client = client_for(who, language)
            response = client.get(url, follow=True) if data is None else client.post(url, data, follow=True)
            # A form sent back with errors may say so in its status (400); every other page is a 200.
            expected = (200,) if data is None else (200, 400)
            assert response.status_code in expected, (
                f"{language} {name}: {url} answered {response.status_code}"
            )
            assert response["Content-Type"].startswith("text/html"), f"{language} {name}: {url}"
            path = tmp_path / f"{language}-{name}.html"
            path.write_bytes(response.content)
            files.append(path)
            if data is not None:
                assert b'class="error-summary"' in response.content, (
                    f"{language} {name}: the form came back without errors"
                )

    errors = nu_errors(files)
    listing = "\n".join(
        f"{Path(m.get('url', '?')).name}:{m.get('lastLine', '?')}: {m['message']}"
        f"  [{m.get('extract', '').strip()}]"
        for m in errors
    )
    assert not errors, f"{len(errors)} HTML errors in {len({m.get('url') for m in errors})} pages:\n{listing}"
