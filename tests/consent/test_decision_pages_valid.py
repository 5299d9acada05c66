"""The pages of the customer's decisions are valid HTML in both languages, refusals included: the
portal's decline and end-request forms as posted with errors, and the consent link's page open,
refused and answered."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, Product
from consent.models import ConsentRequest
from consent.tasks import close_consent_windows
from cpor import outbox
from tests.conftest import IN_CI
from tests.consent.portal_helpers import association, signed_in, tenant
from tests.factories import reviewer
from tests.test_html_valid import _checker_problem, nu_errors

pytestmark = pytest.mark.django_db
NINA = "nina@northwind.example"
TWO = ("d365-sales", "power-bi")


def mailed_link(claim: Claim) -> str:
    notice = ConsentRequest.objects.get(claim=claim)
    mail.outbox.clear()
    assert outbox.deliver(notice.email_id)
    (sent,) = mail.outbox
    return re.search(r"https?://[^/\s]+(/consent/[A-Za-z0-9_\-]+/)", sent.body).group(1)


def test_the_decision_pages_are_valid_html(tmp_path: Path) -> None:
    problem = _checker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI checks every page with the Nu HTML checker, but {problem}")
        pytest.skip(problem)
    northwind = tenant()
    reviewer(lead=True)
    with time_machine.travel(timezone.now() - dt.timedelta(days=8)):
        associated = association(northwind, products=("d365-finance",), name="Finance rollout")
    close_consent_windows()
    power_bi = Product.objects.get(code="power-bi")
    files: list[Path] = []
    for language in ("en", "tr"):
        open_claim = association(northwind, products=TWO, customer_contact_language=language)
        # Other workloads: a second approval of the same ones would supersede the first claim.
        answered = association(
            northwind, products=("d365-commerce", "d365-guides"), customer_contact_language=language
        )
        commerce = Product.objects.get(code="d365-commerce")
        customer = signed_in(NINA)
        customer.cookies["django_language"] = language
        decline = reverse("consent:customer_decline", args=[open_claim.pk])
        end = reverse("consent:customer_request_end", args=[associated.pk])
        link, answered_link = mailed_link(open_claim), mailed_link(answered)
        pages = {
            "association-two-workloads": customer.get(
                reverse("consent:customer_association", args=[open_claim.pk])
            ),
            "decline-errors": customer.post(
                decline, {"scope": "all", "products": [power_bi.pk], "reason": "x"}
            ),
            "decline-stale": customer.post(decline, {"scope": "all", "seen_status": "associated"}),
            "end-form": customer.get(reverse("consent:customer_association", args=[associated.pk])),
            "end-errors": customer.post(end, {"reason": ""}),
            "link-open": Client().get(link),
            "link-errors": Client().post(link, {"scope": "chosen"}),
            "link-answered": Client().post(answered_link, {"scope": "chosen", "products": [commerce.pk]}),
        }
        customer.post(end, {"reason": "We stopped working with them."})
        pages["end-pending"] = customer.get(reverse("consent:customer_association", args=[associated.pk]))
        for name, response in pages.items():
            assert response.status_code < 500, name
            file = tmp_path / f"{language}-{name}.html"
            file.write_bytes(response.content)
            files.append(file)
        associated.end_requests.all().delete()
    errors = nu_errors(files)
    listing = "\n".join(
        f"{Path(m.get('url', '?')).name}:{m.get('lastLine', '?')}: {m['message']}" for m in errors
    )
    assert not errors, listing
