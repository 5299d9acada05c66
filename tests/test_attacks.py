"""Hostile input across the portal, the admin, the consent page and uploads: one catalogue of attacks.

Each attack is a small function that plays one attacker's move through HTTP and checks the answer it
should get. The harness around it asserts what every attack must leave behind: no response of 500 or
more, and no change in the business data (claims and their status, history, comments, documents,
consent requests, mail, users' passwords and sessions). Attacks are named; the names are the list in
the session note.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment, Membership, PoeDocument
from consent.models import ConsentRequest
from cpor import outbox
from cpor.models import OutboundEmail
from tests.factories import PartnerFactory, claim_in, partner_user, pdf_upload, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status
ATTACKS: dict[str, Callable[[Stage], list[HttpResponse]]] = {}


def attack(name: str) -> Callable:
    def register(function: Callable[[Stage], list[HttpResponse]]) -> Callable:
        assert name not in ATTACKS, name
        ATTACKS[name] = function
        return function

    return register


@dataclass
class Stage:
    """Contoso's claims in each state, the people around them, and Fabrikam's claim next door."""

    manager: Any
    member: Any
    outsider: Any
    rita: Any
    leo: Any
    ron: Any  # a reviewer who is not a lead
    claims: dict[str, Claim]
    theirs: Claim

    def client(self, user: Any = None, *, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf)
        if user is not None:
            client.force_login(user)
        return client


@pytest.fixture
def stage() -> Stage:
    contoso, fabrikam = PartnerFactory(name="Contoso"), PartnerFactory(name="Fabrikam")
    manager = partner_user(contoso, email="alice@contoso.example")
    member = partner_user(contoso, Membership.Role.MEMBER, email="bob@contoso.example")
    outsider = partner_user(fabrikam, email="carol@fabrikam.example")
    rita, leo = reviewer(email="rita@cpor.example"), reviewer(lead=True, email="leo@cpor.example")
    ron = reviewer(email="ron@cpor.example")
    claims = {
        status: claim_in(status, partner=contoso, by=manager, review_by=rita)
        for status in (S.EDITING, S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED, S.REJECTED, S.DISPUTED)
    }
    claims["declined"] = claim_in(S.APPROVED, partner=contoso, by=manager, review_by=rita)
    workflow.transition(claims["declined"], "deny_consent", by=workflow.CUSTOMER)
    theirs = claim_in(S.SUBMITTED, partner=fabrikam, by=outsider)
    mail.outbox.clear()
    return Stage(manager, member, outsider, rita, leo, ron, claims, theirs)


def business_data() -> tuple[Any, ...]:
    """Everything an attack must not change."""
    return (
        list(
            Claim.objects.order_by("pk").values_list("pk", "status", "updated_at", "name", "rejection_reason")
        ),
        list(ClaimEvent.objects.order_by("pk").values_list("pk", "action")),
        Comment.objects.count(),
        list(PoeDocument.objects.order_by("pk").values_list("pk", "claim_id")),
        list(ConsentRequest.objects.order_by("pk").values_list("pk", "token_hash", "used_at")),
        OutboundEmail.objects.count(),
        list(get_user_model().objects.order_by("pk").values_list("pk", "password", "is_active", "is_staff")),
        len(mail.outbox),
    )


def edit_data(claim: Claim, **overrides: Any) -> dict[str, Any]:
    """The edit form of a submitted claim, filled with the claim's own values."""
    contacts = Claim.EDITABLE_AFTER_SUBMIT - {"mpn", "products"}
    data: dict[str, Any] = {
        "mpn": claim.mpn_id,
        "products": list(claim.products.values_list("pk", flat=True)),
        **{name: getattr(claim, name) for name in contacts},
    }
    data.update(overrides)
    return data


def text(response: HttpResponse) -> str:
    return response.content.decode() if not getattr(response, "streaming", False) else ""


def detail(claim: Claim) -> str:
    return reverse("claims:detail", args=[claim.pk])


def url(name: str, claim: Claim, *more: Any) -> str:
    return reverse(name, args=[claim.pk, *more])


def admin_action(claim: Claim, action: str) -> str:
    return reverse("admin:claims_claim_transition", args=[claim.pk, action])


def pdf_with(body: bytes) -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog " + body + b" >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def upload(
    stage: Stage, claim: Claim, name: str, content: bytes, content_type: str = "application/pdf"
) -> Any:
    return stage.client(stage.manager).post(
        url("claims:upload", claim), {"upload-files": SimpleUploadedFile(name, content, content_type)}
    )


# ---------------------------------------------------------------------------------------------
# The partner portal: reaching what is not yours


@attack("portal: another partner's claim page is a 404")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.outsider).get(detail(stage.claims[S.SUBMITTED]))
    assert response.status_code == 404
    return [response]


@attack("portal: a comment posted on another partner's claim is a 404")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.outsider).post(
        url("claims:comment", stage.claims[S.SUBMITTED]), {"comment-body": "mine now"}
    )
    assert response.status_code == 404
    return [response]


@attack("portal: another partner's PoE download is a 404")
def _(stage: Stage) -> list[HttpResponse]:
    document = stage.claims[S.SUBMITTED].documents.first()
    response = stage.client(stage.outsider).get(
        url("claims:download", stage.claims[S.SUBMITTED], document.pk)
    )
    assert response.status_code == 404
    return [response]


@attack("portal: a document id of another claim under my claim's URL is a 404")
def _(stage: Stage) -> list[HttpResponse]:
    foreign = stage.theirs.documents.first()
    response = stage.client(stage.manager).get(url("claims:download", stage.claims[S.SUBMITTED], foreign.pk))
    assert response.status_code == 404
    return [response]


@attack("portal: a read-only member's forged withdraw is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.member).post(
        url("claims:withdraw", stage.claims[S.SUBMITTED]),
        {"withdraw-reason": "wrong_mpn", "withdraw-confirm": "on"},
    )
    assert response.status_code == 403
    return [response]


@attack("portal: an anonymous POST is sent to sign in")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client().post(url("claims:delete", stage.claims[S.EDITING]))
    assert response.status_code == 302 and "login" in response["Location"]
    return [response]


@attack("portal: a state-changing POST without the CSRF token is a 403")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager, csrf=True).post(
        url("claims:withdraw", stage.claims[S.SUBMITTED]),
        {"withdraw-reason": "wrong_mpn", "withdraw-confirm": "on"},
    )
    assert response.status_code == 403
    return [response]


@attack("portal: a GET on an action URL changes nothing")
def _(stage: Stage) -> list[HttpResponse]:
    client = stage.client(stage.manager)
    responses = [
        client.get(url(name, stage.claims[S.SUBMITTED])) for name in ("claims:withdraw", "claims:copy")
    ]
    responses.append(client.get(url("claims:delete", stage.claims[S.EDITING])))
    assert all(r.status_code == 405 for r in responses)
    return responses


@attack("portal: an unknown claim id is a 404, a huge one too")
def _(stage: Stage) -> list[HttpResponse]:
    client = stage.client(stage.manager)
    responses = [client.get(f"/claims/{n}/") for n in (999_999, 2**63)]
    assert all(r.status_code == 404 for r in responses)
    return responses


# ---------------------------------------------------------------------------------------------
# The partner portal: moves the rules forbid


@attack("portal: resubmitting a claim that waits on nobody is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        url("claims:resubmit", stage.claims[S.SUBMITTED]), {"resubmit-comment": "again"}
    )
    assert response.status_code in (400, 403, 409)
    return [response]


@attack("portal: a second dispute of the same rejection is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        url("claims:dispute", stage.claims[S.DISPUTED]), {"dispute-justification": "once more"}
    )
    assert response.status_code in (400, 403, 409)
    return [response]


@attack("portal: disputing the customer's decline is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        url("claims:dispute", stage.claims["declined"]), {"dispute-justification": "they did not mean it"}
    )
    assert response.status_code in (400, 403, 409)
    return [response]


@attack("portal: a dispute after the 30-day window is refused")
def _(stage: Stage) -> list[HttpResponse]:
    rejected = stage.claims[S.REJECTED]
    with time_machine.travel(rejected.dispute_window_ends_at + dt.timedelta(seconds=1)):
        response = stage.client(stage.manager).post(
            url("claims:dispute", rejected), {"dispute-justification": "late"}
        )
    assert response.status_code in (400, 403, 409)
    return [response]


@attack("portal: editing an approved claim is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        url("claims:edit", stage.claims[S.APPROVED]), {"customer_contact_name": "Mallory"}
    )
    assert response.status_code in (400, 403, 409, 302)
    assert Claim.objects.get(pk=stage.claims[S.APPROVED].pk).customer_contact_name != "Mallory"
    return [response]


@attack("portal: forged status and partner fields in an edit are ignored")
def _(stage: Stage) -> list[HttpResponse]:
    claim = stage.claims[S.SUBMITTED]
    response = stage.client(stage.manager).post(
        url("claims:edit", claim),
        {"status": "approved", "partner": stage.theirs.partner_id, "customer_contact_email": "not an email"},
    )
    assert response.status_code == 400
    return [response]


@attack("portal: deleting a submitted claim is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(url("claims:delete", stage.claims[S.SUBMITTED]))
    assert response.status_code in (400, 403, 409)
    return [response]


@attack("portal: removing PoE from a claim under review is refused")
def _(stage: Stage) -> list[HttpResponse]:
    claim = stage.claims[S.UNDER_REVIEW]
    document = claim.documents.first()
    response = stage.client(stage.manager).post(
        reverse("claims:remove_document", args=[claim.pk, document.pk])
    )
    assert response.status_code in (400, 403, 404, 409)
    return [response]


@attack("portal: a partner posting to the admin's approve button is sent to the admin sign-in")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        admin_action(stage.claims[S.UNDER_REVIEW], "approve"), {"seen_status": S.UNDER_REVIEW}
    )
    assert response.status_code == 302 and "login" in response["Location"]
    return [response]


# ---------------------------------------------------------------------------------------------
# The partner portal: text


@attack("portal: a line break in the claim name is a field error")
def _(stage: Stage) -> list[HttpResponse]:
    from tests.portal.test_new_claim import form_data

    mpn = stage.manager.membership.partner.mpn_ids.first()
    response = stage.client(stage.manager).post(
        reverse("claims:new"), form_data(mpn, name="Sales\r\nBcc: everyone@example.com")
    )
    assert response.status_code == 400
    return [response]


@attack("portal: a control character in a contact name is a field error")
def _(stage: Stage) -> list[HttpResponse]:
    claim = stage.claims[S.SUBMITTED]
    response = stage.client(stage.manager).post(
        url("claims:edit", claim), edit_data(claim, customer_contact_name="Nina\x1b[31mNorth")
    )
    assert response.status_code == 400
    return [response]


@attack("portal: a NUL byte in a comment is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        url("claims:comment", stage.claims[S.SUBMITTED]), {"comment-body": "abc\x00def"}
    )
    assert response.status_code == 400
    return [response]


@attack("portal: a 10 KB comment is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        url("claims:comment", stage.claims[S.SUBMITTED]), {"comment-body": "x" * 10_240}
    )
    assert response.status_code == 400
    return [response]


@attack("portal: a NUL byte in the query string is a 400")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).get("/claims/?q=a%00b")
    assert response.status_code == 400
    return [response]


@attack("portal: junk dashboard filters answer a page, not an error")
def _(stage: Stage) -> list[HttpResponse]:
    client = stage.client(stage.manager)
    queries = [
        "status=<script>&page=-1",
        "sort=pk;DROP TABLE claims_claim",
        "page=99999999999999999999",
        "submitted_from=2026-13-45&submitted_to=yesterday",
        "product=../../etc/passwd&activity=%27%20OR%201%3D1",
    ]
    responses = [client.get("/claims/?" + q) for q in queries]
    responses.append(client.get(reverse("claims:export") + "?" + queries[0]))
    assert all(r.status_code in (200, 400) for r in responses)
    assert all("<script>&" not in text(r) for r in responses)
    return responses


@attack("portal: a spreadsheet formula in a claim name is exported as text")
def _(stage: Stage) -> list[HttpResponse]:
    Claim.objects.filter(pk=stage.claims[S.SUBMITTED].pk).update(
        name='=HYPERLINK("https://evil.example","x")'
    )
    before = business_data()
    response = stage.client(stage.manager).get(reverse("claims:export"))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body
    assert business_data() == before
    return [response]


@attack("portal: the language switch does not redirect off-site")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).post(
        reverse("claims:set_language"), {"language": "tr", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and "evil.example" not in response["Location"]
    return [response]


@attack("portal: sign-in does not redirect off-site after success")
def _(stage: Stage) -> list[HttpResponse]:
    stage.manager.set_password("right-password-123")
    stage.manager.save()
    before_sessions = Session.objects.count()
    response = stage.client().post(
        reverse("login") + "?next=//evil.example/",
        {"username": stage.manager.email, "password": "right-password-123", "next": "//evil.example/"},
    )
    assert response.status_code == 302 and "evil.example" not in response["Location"]
    assert Session.objects.count() == before_sessions + 1  # signed in, and sent home instead
    return [response]


# ---------------------------------------------------------------------------------------------
# Uploads


@attack("upload: an HTML page named .pdf is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = upload(
        stage, stage.claims[S.EDITING], "invoice.pdf", b"<html><script>alert(1)</script></html>"
    )
    assert response.status_code == 400
    return [response]


@attack("upload: a Windows program named .png is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = upload(
        stage, stage.claims[S.EDITING], "diagram.png", b"MZ\x90\x00" + b"\x00" * 200, "image/png"
    )
    assert response.status_code == 400
    return [response]


@attack("upload: an empty file is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = upload(stage, stage.claims[S.EDITING], "empty.pdf", b"")
    assert response.status_code == 400
    return [response]


@attack("upload: a PDF with JavaScript is refused")
def _(stage: Stage) -> list[HttpResponse]:
    body = pdf_with(b"/Names << /JavaScript << /Names [(x) << /S /JavaScript /JS (app.alert(1)) >>] >> >>")
    response = upload(stage, stage.claims[S.EDITING], "sow.pdf", body)
    assert response.status_code == 400
    return [response]


@attack("upload: a PDF with a hex-escaped OpenAction is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = upload(stage, stage.claims[S.EDITING], "sow.pdf", pdf_with(b"/Open#41ction 2 0 R"))
    assert response.status_code == 400
    return [response]


@attack("upload: a PDF hiding a Launch action in a compressed stream is refused")
def _(stage: Stage) -> list[HttpResponse]:
    hidden = zlib.compress(b"<< /S /Launch /F (cmd.exe) >>")
    body = (
        b"%PDF-1.7\n2 0 obj\n<< /Length "
        + str(len(hidden)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + hidden
        + b"\nendstream\nendobj\n%%EOF\n"
    )
    response = upload(stage, stage.claims[S.EDITING], "sow.pdf", body)
    assert response.status_code == 400
    return [response]


@attack("upload: a file over the size limit is refused")
def _(stage: Stage) -> list[HttpResponse]:
    from django.conf import settings

    original = settings.CPOR_POE_MAX_BYTES
    settings.CPOR_POE_MAX_BYTES = 1024
    try:
        response = upload(stage, stage.claims[S.EDITING], "big.pdf", pdf_with(b"/Pad (" + b"x" * 4096 + b")"))
    finally:
        settings.CPOR_POE_MAX_BYTES = original
    assert response.status_code == 400
    return [response]


@attack("upload: more files than a claim may hold are refused, all of them")
def _(stage: Stage) -> list[HttpResponse]:
    from django.conf import settings

    original = settings.CPOR_POE_MAX_FILES
    settings.CPOR_POE_MAX_FILES = 2
    try:
        files = [pdf_upload(f"part-{n}.pdf") for n in range(3)]
        response = stage.client(stage.manager).post(
            url("claims:upload", stage.claims[S.EDITING]), {"upload-files": files}
        )
    finally:
        settings.CPOR_POE_MAX_FILES = original
    assert response.status_code == 400
    return [response]


@attack("upload: PoE added to an approved claim is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = upload(stage, stage.claims[S.APPROVED], "late.pdf", pdf_with(b""))
    assert response.status_code in (400, 403, 409)
    return [response]


@attack("upload: a download of a PDF named .html is served as .pdf, as an attachment")
def _(stage: Stage) -> list[HttpResponse]:
    claim = stage.claims[S.EDITING]
    workflow.add_document(claim, by=stage.manager, upload=SimpleUploadedFile("invoice.html", pdf_with(b"")))
    before = business_data()
    document = claim.documents.order_by("-pk").first()
    response = stage.client(stage.manager).get(url("claims:download", claim, document.pk))
    disposition = response["Content-Disposition"]
    assert 'invoice.pdf"' in disposition and "html" not in disposition
    assert response["Content-Type"] == "application/pdf"
    assert business_data() == before
    return [response]


# ---------------------------------------------------------------------------------------------
# The reviewer admin


@attack("admin: a partner user cannot open the admin")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.manager).get(reverse("admin:claims_claim_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]
    return [response]


@attack("admin: a stale approve (the page showed another status) is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.rita).post(
        admin_action(stage.claims[S.UNDER_REVIEW], "approve"), {"seen_status": S.SUBMITTED}
    )
    assert response.status_code in (302, 400, 409)
    return [response]


@attack("admin: a reviewer who is not a lead cannot reopen a dispute")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.ron).post(
        admin_action(stage.claims[S.DISPUTED], "reopen"), {"seen_status": S.DISPUTED, "comment": "Yes."}
    )
    assert response.status_code in (302, 400, 403, 409)
    return [response]


@attack("admin: a lead cannot uphold the rejection they made themselves")
def _(stage: Stage) -> list[HttpResponse]:
    claim = claim_in(
        S.DISPUTED, partner=stage.manager.membership.partner, by=stage.manager, review_by=stage.leo
    )
    before = business_data()
    response = stage.client(stage.leo).post(
        admin_action(claim, "uphold_rejection"), {"seen_status": S.DISPUTED, "comment": "Still no."}
    )
    assert response.status_code in (302, 400, 403, 409)
    assert business_data() == before
    return [response]


@attack("admin: an information request with an unknown reason code is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.rita).post(
        admin_action(stage.claims[S.UNDER_REVIEW], "request_information"),
        {"seen_status": S.UNDER_REVIEW, "reasons": ["drop_table"], "comment": "More."},
    )
    assert response.status_code in (200, 302, 400)
    return [response]


@attack("admin: a rejection without a sub-reason is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.rita).post(
        admin_action(stage.claims[S.UNDER_REVIEW], "reject"),
        {"seen_status": S.UNDER_REVIEW, "comment": "No."},
    )
    assert response.status_code in (200, 302, 400)
    return [response]


@attack("admin: assigning a claim to a partner user is refused")
def _(stage: Stage) -> list[HttpResponse]:
    response = stage.client(stage.leo).post(
        reverse("admin:claims_claim_assign", args=[stage.claims[S.UNDER_REVIEW].pk]),
        {"reviewer": stage.manager.pk},
    )
    assert response.status_code in (302, 400)
    return [response]


@attack("admin: an action name that is no reviewer's is a 404")
def _(stage: Stage) -> list[HttpResponse]:
    client = stage.client(stage.rita)
    responses = [
        client.post(admin_action(stage.claims[S.APPROVED], action), {"seen_status": S.APPROVED})
        for action in ("deny_consent", "close_consent_window", "withdraw", "__init__")
    ]
    assert all(r.status_code in (302, 400, 403, 404) for r in responses)
    return responses


@attack("admin: the outbound mail a reviewer can read holds no usable consent link")
def _(stage: Stage) -> list[HttpResponse]:
    notice = ConsentRequest.objects.filter(claim=stage.claims[S.APPROVED]).first()
    outbox.deliver(notice.email_id)
    before = business_data()
    client = stage.client(stage.rita)
    pages = [client.get(reverse("admin:cpor_outboundemail_change", args=[notice.email_id]))]
    pages.append(client.get(reverse("admin:cpor_outboundemail_changelist")))
    paths = {match for page in pages for match in re.findall(r"/consent/([A-Za-z0-9_\-]{20,})/", text(page))}
    consent_pages = [stage.client().get(f"/consent/{token}/") for token in paths]
    assert all(page.status_code in (200, 302, 403) for page in pages)
    assert all(page.status_code == 404 for page in consent_pages)
    assert business_data() == before
    return pages + consent_pages


# ---------------------------------------------------------------------------------------------
# The consent page


def mailed_link(claim: Claim) -> str:
    notice = ConsentRequest.objects.filter(claim=claim).order_by("-pk").first()
    outbox.deliver(notice.email_id)
    match = re.search(r"(/consent/[A-Za-z0-9_\-]+/)", mail.outbox[-1].body)
    assert match is not None
    return match.group(1)


@attack("consent: a mail scanner's GET and HEAD change nothing")
def _(stage: Stage) -> list[HttpResponse]:
    link = mailed_link(stage.claims[S.APPROVED])
    before = business_data()
    client = stage.client()
    responses = [client.get(link), client.head(link), client.get(link + "?deny=1")]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert business_data() == before
    return responses


@attack("consent: an unknown or malformed token is a 404")
def _(stage: Stage) -> list[HttpResponse]:
    client = stage.client()
    responses = [
        client.post(f"/consent/{token}/") for token in ("A" * 43, "x", "%2e%2e%2fadmin", "' OR 1=1 --")
    ]
    assert all(r.status_code in (400, 404) for r in responses)
    return responses


@attack("consent: a denial without the CSRF token is a 403")
def _(stage: Stage) -> list[HttpResponse]:
    link = mailed_link(stage.claims[S.APPROVED])
    before = business_data()
    response = stage.client(csrf=True).post(link)
    assert response.status_code == 403
    assert business_data() == before
    return [response]


@attack("consent: a denial after the window closed is refused")
def _(stage: Stage) -> list[HttpResponse]:
    claim = stage.claims[S.APPROVED]
    link = mailed_link(claim)
    before = business_data()
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1)):
        response = stage.client().post(link)
    assert response.status_code < 500 and Claim.objects.get(pk=claim.pk).status == S.APPROVED
    assert business_data() == before
    return [response]


@attack("consent: a second denial records nothing more")
def _(stage: Stage) -> list[HttpResponse]:
    claim = stage.claims[S.APPROVED]
    link = mailed_link(claim)
    first = stage.client().post(link)
    assert Claim.objects.get(pk=claim.pk).status == S.REJECTED
    before = business_data()
    again = stage.client().post(link)
    assert again.status_code < 500
    assert business_data() == before
    return [first, again]


# ---------------------------------------------------------------------------------------------
# Sign-in and password reset


@attack("auth: a password reset for an unknown address sends nothing and says the same")
def _(stage: Stage) -> list[HttpResponse]:
    client = stage.client()
    known = client.post(reverse("claims:password_reset"), {"email": "nobody@nowhere.example"})
    assert known.status_code == 302
    return [known]


@attack("auth: a wrong password signs nobody in")
def _(stage: Stage) -> list[HttpResponse]:
    sessions = Session.objects.count()
    response = stage.client().post(reverse("login"), {"username": stage.manager.email, "password": "guess"})
    assert response.status_code in (200, 403, 429) and Session.objects.count() == sessions
    return [response]


def lock_out(stage: Stage, email: str, **extra: Any) -> list[HttpResponse]:
    """Ten wrong passwords for `email` from one client: the sign-in policy's limit."""
    client = stage.client()
    return [
        client.post(reverse("login"), {"username": email, "password": f"guess-{n}"}, **extra)
        for n in range(10)
    ]


def cache_entries() -> int:
    """How many entries the cache holds: the local-memory cache's dict, or Redis' key count."""
    from django.core.cache import cache

    store = cache._cache
    return len(store) if isinstance(store, dict) else store.get_client(None).dbsize()


def signed_in_sessions() -> int:
    return sum("_auth_user_id" in session.get_decoded() for session in Session.objects.all())


@attack("auth: a locked account cannot sign in with a look-alike address, at either page")
def _(stage: Stage) -> list[HttpResponse]:
    stage.member.set_password("the-right-one-1")
    stage.member.save()
    before = business_data()
    tries = lock_out(stage, "bob@contoso.example")
    # The long s (ſ) and upper case fold to the same address; the admin shares the lock.
    tries.append(
        stage.client().post(
            reverse("login"), {"username": "BOB@CONTOſO.EXAMPLE", "password": "the-right-one-1"}
        )
    )
    tries.append(
        stage.client().post(
            reverse("admin:login"), {"username": "bob@contoso.example", "password": "the-right-one-1"}
        )
    )
    assert tries[-2].status_code == 429 and tries[-1].status_code == 429
    assert signed_in_sessions() == 0
    assert business_data() == before
    return tries


@attack("auth: a forged X-Forwarded-For neither dodges the lock nor locks out someone else")
def _(stage: Stage) -> list[HttpResponse]:
    tries = []
    for n in range(10):  # a new forged address each time, from one real client
        tries += [
            stage.client().post(
                reverse("login"),
                {"username": "alice@contoso.example", "password": "guess"},
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
            )
        ]
    assert tries[-1].status_code == 429
    stage.manager.set_password("alice-right-pw-1")
    stage.manager.save()
    before = business_data()
    other_ip = stage.client().post(
        reverse("login"),
        {"username": "alice@contoso.example", "password": "alice-right-pw-1"},
        REMOTE_ADDR="192.0.2.77",
    )
    assert other_ip.status_code == 302  # the real owner elsewhere is not locked out
    assert business_data() == before
    return [*tries, other_ip]


@attack("cache: 300 invented dashboard URLs add no cache entry each")
def _(stage: Stage) -> list[HttpResponse]:
    client = stage.client(stage.manager)
    client.get("/claims/")
    before = cache_entries()
    assert before > 0  # the dashboard caches: the counter sees its entries
    responses = [client.get(f"/claims/?q=x{n}&utm={n}&sort=name{n}&page={n}") for n in range(300)]
    assert cache_entries() - before < 20
    return responses


# ---------------------------------------------------------------------------------------------
# The harness


def test_the_catalogue_holds_at_least_forty_distinct_attacks() -> None:
    assert len(ATTACKS) >= 40


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack(name: str, stage: Stage) -> None:
    before = business_data()
    responses = ATTACKS[name](stage)
    assert responses, "an attack plays at least one request"
    for response in responses:
        assert response.status_code < 500, (name, response.status_code)
    if name not in CHANGES_ALLOWED:
        assert business_data() == before, name


# Attacks whose set-up itself adds rows (a mailed link, a stored document); each checks that the attack
# after its set-up changed nothing.
CHANGES_ALLOWED = {
    "consent: a mail scanner's GET and HEAD change nothing",
    "consent: a denial without the CSRF token is a 403",
    "consent: a denial after the window closed is refused",
    "consent: a second denial records nothing more",
    "upload: a download of a PDF named .html is served as .pdf, as an attachment",
    "admin: the outbound mail a reviewer can read holds no usable consent link",
    "admin: a lead cannot uphold the rejection they made themselves",
    "portal: a spreadsheet formula in a claim name is exported as text",
    "portal: sign-in does not redirect off-site after success",
    "auth: a locked account cannot sign in with a look-alike address, at either page",
    "auth: a forged X-Forwarded-For neither dodges the lock nor locks out someone else",
}
