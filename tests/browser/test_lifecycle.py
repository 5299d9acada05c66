"""The whole claim lifecycle through the browser, across roles, in English and in Turkish.

alice (Incentives admin of Contoso) creates a claim, uploads PoE and submits; rita (PoE reviewer)
starts the review in the admin and asks for information; alice answers and resubmits; rita
approves; the customer opens the link from the mailed consent notice (opening changes nothing) and
denies. Then rita rejects a second claim in the admin, alice disputes the rejection, rita is not
offered the decision and leo (review lead) decides it: he upholds the rejection in English and
reopens the review in Turkish, so both outcomes are walked.

Elements are found by what does not change with the wording or the language: form actions, field
names. After every step the database says what happened (status, events, mail in the outbox), and
a screenshot lands in test-artifacts/lifecycle-<language>/NN-step.png.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from claims.demo_pdf import one_page_pdf
from claims.models import LEAD_GROUP, REVIEWER_GROUP, Claim, ClaimEvent, Comment, Membership, Product
from consent.models import ConsentRequest
from cpor import outbox
from cpor.models import OutboundEmail
from tests.factories import MpnFactory, PartnerFactory, claim_in, partner_user, reviewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"  # what tests.factories.UserFactory sets
S = Claim.Status


@pytest.fixture(autouse=True)
def catalogue() -> None:
    """A transactional test before this one emptied the tables: reload what the data migrations hold."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    importlib.import_module("claims.migrations.0002_product_catalogue").load(apps, None)
    for name in (REVIEWER_GROUP, LEAD_GROUP):
        Group.objects.get_or_create(name=name)


class Walk:
    """One language's walk: a browser context per person, numbered screenshots, the live server's URLs."""

    def __init__(self, browser: Any, base: str, language: str, folder: Path) -> None:
        self.browser, self.base, self.language, self.folder = browser, base, language, folder
        self.contexts: list[Any] = []
        self.step = 0

    def person(self) -> Any:
        """A page in a browser of its own (own cookies, own session), in the walk's language."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "django_language", "value": self.language, "url": self.base}])
        self.contexts.append(context)
        return context.new_page()

    def shot(self, page: Any, name: str) -> None:
        self.step += 1
        page.screenshot(path=str(self.folder / f"{self.step:02d}-{name}.png"), full_page=True)

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    def go(self, page: Any, path: str) -> None:
        response = page.goto(self.base + path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        assert page.locator("html").get_attribute("lang") == self.language

    def send(self, page: Any, action: str) -> None:
        """Press the submit button of the form posting to `action` and wait for the page it leads to."""
        form = page.locator(f'form[action="{action}"]')
        assert form.count() == 1, f"expected one form posting to {action}, found {form.count()}"
        with page.expect_navigation():
            form.locator("[type=submit]").click()

    def sign_in(self, email: str) -> Any:
        page = self.person()
        self.go(page, reverse("login"))
        page.locator("input[name=username]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form[method=post] [type=submit]").click()
        assert "/accounts/login/" not in page.url, f"{email} could not sign in"
        return page

    def sign_in_to_admin(self, email: str) -> Any:
        page = self.person()
        self.go(page, reverse("admin:login"))
        page.locator("input[name=username]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("#login-form [type=submit]").click()
        assert page.url == self.base + reverse("admin:index"), f"{email} could not sign in to the admin"
        return page


@pytest.fixture
def walk(request: pytest.FixtureRequest, browser: Any, live_server: Any, artifacts: Path) -> Iterator[Walk]:
    language = request.param
    folder = artifacts / f"lifecycle-{language}"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    walk = Walk(browser, live_server.url, language, folder)
    yield walk
    walk.close()


def actions(claim: Claim) -> list[str]:
    return list(ClaimEvent.objects.filter(claim=claim).order_by("pk").values_list("action", flat=True))


# Events that record something beside the lifecycle (mail sent, files, comments, assignment).
ASIDE = {"notification", "upload", "comment", "assign", "checklist", "edit", "remove_document"}


def steps(claim: Claim) -> list[str]:
    """The claim's lifecycle so far, as the events of its transitions."""
    return [action for action in actions(claim) if action not in ASIDE]


def mail_kinds(claim: Claim) -> list[str]:
    return list(
        OutboundEmail.objects.filter(claimevent__claim=claim).order_by("pk").values_list("kind", flat=True)
    )


def transition_url(claim: Claim, action: str) -> str:
    return reverse("admin:claims_claim_transition", args=[claim.pk, action])


def admin_page(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def portal_page(claim: Claim) -> str:
    return reverse("claims:detail", args=[claim.pk])


@pytest.mark.parametrize("walk", ["en", "tr"], indirect=True)
def test_the_whole_lifecycle_across_roles(walk: Walk, settings: Any, tmp_path: Path) -> None:
    settings.SITE_URL = walk.base  # the mailed links open on the live server
    contoso = PartnerFactory(name="Contoso", language=walk.language)
    MpnFactory(partner=contoso, number="1234567", location="Seattle, US")
    alice = partner_user(
        contoso,
        Membership.Role.INCENTIVES_ADMIN,
        email="alice@contoso.example",
        username="alice@contoso.example",
    )
    rita = reviewer(email="rita@cpor.example", username="rita@cpor.example")
    leo = reviewer(lead=True, email="leo@cpor.example", username="leo@cpor.example")
    poe = tmp_path / "signed-sow.pdf"
    poe.write_bytes(one_page_pdf(["Statement of work", "Signed by Nina North, Northwind Traders"]))

    # 1. alice creates a draft, uploads the PoE and submits.
    portal = walk.sign_in("alice@contoso.example")
    walk.go(portal, reverse("claims:new"))
    portal.locator("input[name=solution_area][value=business_applications]").check()
    with portal.expect_navigation():
        portal.locator(f'form[action="{reverse("claims:new")}"] [type=submit]').click()
    fields = {
        "name": "Northwind — Sales rollout",
        "customer_name": "Northwind Traders",
        "customer_domain": "northwind.example",
        "customer_tenant_id": str(uuid.uuid4()),
        "customer_contact_name": "Nina North",
        "customer_contact_email": "nina@northwind.example",
        "technical_contact_name": "Tom Tech",
        "technical_contact_email": "tom@northwind.example",
        "partner_contact_name": "Paula Partner",
        "work_description": "Deployed Dynamics 365 Sales for 200 sellers and trained the team.",
    }
    for name, value in fields.items():
        portal.locator(f"[name={name}]").fill(value)
    portal.locator("input[name=activity][value=usage]").check()
    portal.locator(f"input[name=products][value='{Product.objects.get(code='d365-sales').pk}']").check()
    portal.locator("select[name=customer_contact_language]").select_option(walk.language)
    walk.shot(portal, "new-claim-form")
    with portal.expect_navigation():
        portal.locator("main form[method=post] [type=submit]").click()
    claim = Claim.objects.get(partner=contoso)
    assert claim.status == S.EDITING
    assert actions(claim) == ["create"]
    assert portal.url == walk.base + portal_page(claim)
    walk.shot(portal, "draft")

    upload = reverse("claims:upload", args=[claim.pk])
    portal.locator(f'form[action="{upload}"] input[type=file]').set_input_files(str(poe))
    walk.send(portal, upload)  # the JavaScript uploader reloads the page when it is done
    assert claim.documents.get().original_name == "signed-sow.pdf"
    assert actions(claim)[-1] == "upload"

    submit = reverse("claims:submit", args=[claim.pk])
    for box in portal.locator(f'form[action="{submit}"] input[type=checkbox]').all():
        box.check()
    walk.shot(portal, "uploaded-ready-to-submit")
    walk.send(portal, submit)
    claim.refresh_from_db()
    assert claim.status == S.SUBMITTED
    assert steps(claim) == ["create", "submit"]
    assert mail_kinds(claim) == ["claim_submitted"]
    walk.shot(portal, "submitted")

    # 2. rita starts the review and asks for information.
    admin = walk.sign_in_to_admin("rita@cpor.example")
    walk.go(admin, reverse("admin:claims_claim_changelist"))
    assert admin.locator(f'a[href="{admin_page(claim)}"]').count() >= 1  # the claim is in the queue
    walk.shot(admin, "queue")
    walk.go(admin, admin_page(claim))
    walk.send(admin, transition_url(claim, "start_review"))
    claim.refresh_from_db()
    assert claim.status == S.UNDER_REVIEW
    assert claim.assigned_reviewer == rita
    assert steps(claim) == ["create", "submit", "start_review"]
    walk.shot(admin, "review-started")

    admin.locator(f'a[href="{transition_url(claim, "request_information")}"]').click()
    admin.wait_for_url(walk.base + transition_url(claim, "request_information"))
    for box in admin.locator("input[name=reasons]").all():
        box.uncheck()
    admin.locator("input[name=reasons][value=missing_products]").check()
    admin.locator("textarea[name=comment]").fill("Please show Dynamics 365 Sales in the PoE.")
    walk.shot(admin, "request-information-form")
    walk.send(admin, transition_url(claim, "request_information"))
    claim.refresh_from_db()
    assert claim.status == S.PARTNER_ACTION_REQUIRED
    assert claim.information_request_reasons == ["missing_products"]
    assert steps(claim) == ["create", "submit", "start_review", "request_information"]
    assert mail_kinds(claim)[-1] == "information_requested"
    walk.shot(admin, "information-requested")

    # 3. alice answers with a new PoE and resubmits.
    walk.go(portal, portal_page(claim))
    assert portal.get_by_text("Please show Dynamics 365 Sales in the PoE.").first.is_visible()
    resubmit = reverse("claims:resubmit", args=[claim.pk])
    portal.locator("textarea[name=resubmit-comment]").fill("The PoE now names Dynamics 365 Sales on page 1.")
    portal.locator("input[name=resubmit-files]").set_input_files(str(poe))
    walk.shot(portal, "answer-information-request")
    walk.send(portal, resubmit)
    claim.refresh_from_db()
    assert claim.status == S.UNDER_REVIEW
    assert steps(claim)[-2:] == ["request_information", "resubmit"]
    assert claim.documents.count() == 2
    assert Comment.objects.filter(claim=claim, body__contains="names Dynamics 365 Sales").exists()
    assert mail_kinds(claim)[-1] == "reviewer_resubmit"
    walk.shot(portal, "resubmitted")

    # 4. rita approves, after a confirmation page that says the customer is mailed now.
    walk.go(admin, admin_page(claim))
    admin.locator(f'a[href="{transition_url(claim, "approve")}"]').click()
    admin.wait_for_url(walk.base + transition_url(claim, "approve"))
    assert admin.get_by_text("nina@northwind.example").first.is_visible()
    claim.refresh_from_db()
    assert claim.status == S.UNDER_REVIEW  # the confirmation page changes nothing
    walk.shot(admin, "approve-confirmation")
    walk.send(admin, transition_url(claim, "approve"))
    claim.refresh_from_db()
    assert claim.status == S.APPROVED
    assert steps(claim)[-2:] == ["resubmit", "approve"]
    assert {"claim_approved", "consent_notice"} <= set(mail_kinds(claim))
    walk.shot(admin, "approved")

    # 5. The customer opens the mailed link (nothing changes) and denies.
    notice = ConsentRequest.objects.get(claim=claim)
    assert notice.language == walk.language
    mail.outbox.clear()
    assert outbox.deliver(notice.email_id)
    (message,) = [m for m in mail.outbox if m.to == ["nina@northwind.example"]]
    link = re.search(r"https?://\S+/consent/\S+/", message.body).group(0)
    assert link.startswith(walk.base + "/consent/")
    before = (claim.status, actions(claim), mail_kinds(claim))
    customer = walk.person()
    customer.goto(link)
    assert customer.locator("html").get_attribute("lang") == walk.language
    claim.refresh_from_db()
    assert (claim.status, actions(claim), mail_kinds(claim)) == before  # GET changed nothing
    walk.shot(customer, "consent-notice")
    customer.locator("textarea[name=reason], input[name=reason]").fill("We have not worked with Contoso.")
    with customer.expect_navigation():
        customer.locator("main form[method=post] [type=submit]").click()
    claim.refresh_from_db()
    assert claim.status == S.REJECTED
    assert claim.rejection_reason == "customer_decline"
    assert steps(claim)[-2:] == ["approve", "deny_consent"]
    assert {"consent_denied_partner", "consent_denied_customer"} <= set(mail_kinds(claim))
    walk.shot(customer, "consent-denied")
    walk.go(portal, portal_page(claim))
    walk.shot(portal, "partner-sees-customer-declined")

    # 6. rita rejects a second claim in the admin; alice disputes the rejection.
    second = claim_in(
        S.UNDER_REVIEW,
        partner=contoso,
        by=alice,
        review_by=rita,
        name="Tailspin — Sales pilot",
        customer_name="Tailspin Toys",
        customer_domain="tailspin.example",
        customer_contact_language=walk.language,
    )
    walk.go(admin, admin_page(second))
    admin.locator(f'a[href="{transition_url(second, "reject")}"]').click()
    admin.wait_for_url(walk.base + transition_url(second, "reject"))
    admin.locator("input[name=sub_reasons]").first.check()
    admin.locator("textarea[name=comment]").fill("The PoE does not name the customer.")
    walk.shot(admin, "reject-form")
    walk.send(admin, transition_url(second, "reject"))
    second.refresh_from_db()
    assert second.status == S.REJECTED
    assert second.rejected_by == rita
    assert steps(second) == ["create", "submit", "start_review", "reject"]
    assert mail_kinds(second)[-1] == "claim_rejected"
    walk.shot(admin, "rejected")

    walk.go(portal, portal_page(second))
    dispute = reverse("claims:dispute", args=[second.pk])
    portal.locator("textarea[name=dispute-justification]").fill("Page 2 of the SOW names Tailspin Toys.")
    walk.shot(portal, "dispute-form")
    walk.send(portal, dispute)
    second.refresh_from_db()
    assert second.status == S.DISPUTED
    assert steps(second)[-2:] == ["reject", "dispute"]
    assert mail_kinds(second)[-1] == "reviewer_dispute"
    walk.shot(portal, "disputed")

    # 7. rita rejected it, so she is not offered the decision; leo decides.
    walk.go(admin, admin_page(second))
    for action in ("reopen", "uphold_rejection"):
        assert admin.locator(f'[href="{transition_url(second, action)}"]').count() == 0
        assert admin.locator(f'form[action="{transition_url(second, action)}"]').count() == 0
    walk.shot(admin, "rejecting-reviewer-may-not-decide")

    lead = walk.sign_in_to_admin("leo@cpor.example")
    walk.go(lead, admin_page(second))
    decision = "uphold_rejection" if walk.language == "en" else "reopen"
    lead.locator(f'a[href="{transition_url(second, decision)}"]').click()
    lead.wait_for_url(walk.base + transition_url(second, decision))
    lead.locator("textarea[name=comment]").fill("Checked page 2 of the SOW.")
    walk.shot(lead, f"{decision.replace('_', '-')}-form")
    walk.send(lead, transition_url(second, decision))
    second.refresh_from_db()
    assert steps(second)[-2:] == ["dispute", decision]
    if decision == "uphold_rejection":
        assert second.status == S.REJECTED
        assert mail_kinds(second)[-1] == "claim_rejected"
    else:
        assert second.status == S.UNDER_REVIEW
        assert mail_kinds(second)[-1] == "dispute_reopened"
    assert ClaimEvent.objects.get(claim=second, action=decision).actor_id == leo.pk
    walk.shot(lead, "dispute-decided")
    walk.go(portal, portal_page(second))
    walk.shot(portal, "partner-sees-the-decision")
