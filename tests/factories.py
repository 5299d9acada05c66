"""factory-boy factories and helpers that move claims only through the real workflow."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterable
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import workflow
from claims.models import (
    LEAD_GROUP,
    REVIEWER_GROUP,
    Claim,
    Membership,
    MpnId,
    Partner,
    SolutionArea,
)
from cpor.models import OutboundEmail

User = get_user_model()


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")


class MpnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MpnId

    partner = factory.SubFactory(PartnerFactory)
    number = factory.Sequence(lambda n: f"{4000000 + n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()


def partner_user(partner: Partner, role: str = Membership.Role.INCENTIVES_ADMIN, **kwargs: Any) -> Any:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, partner=partner, role=role)
    return user


def reviewer(*, lead: bool = False, **kwargs: Any) -> Any:
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=LEAD_GROUP if lead else REVIEWER_GROUP))
    return user


def pdf_upload(name: str = "poe.pdf", body: bytes = b"signed statement of work") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.7\n" + body + b"\n%%EOF\n", content_type="application/pdf")


def png_upload(name: str = "poe.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")


def jpeg_upload(name: str = "poe.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\xff\xd8\xff\xe0" + b"\x00" * 64, content_type="image/jpeg")


def docx_upload(name: str = "poe.docx") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    return SimpleUploadedFile(name, buffer.getvalue())


def claim_fields(partner: Partner, **overrides: Any) -> dict[str, Any]:
    mpn = partner.mpn_ids.first() or MpnFactory(partner=partner)
    fields: dict[str, Any] = {
        "name": "Sales rollout",
        "mpn": mpn,
        "solution_area": SolutionArea.BUSINESS_APPLICATIONS,
        "activity": "usage",
        "customer_name": "Northwind Traders",
        "customer_domain": "northwind.example",
        "customer_tenant_id": uuid.uuid4(),
        "customer_contact_name": "Nina North",
        "customer_contact_title": "CIO",
        "customer_contact_email": "nina@northwind.example",
        "customer_contact_language": "en",
        "technical_contact_name": "Tom Tech",
        "technical_contact_email": "tom@northwind.example",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": "paula@partner.example",
        "work_description": "Deployed Dynamics 365 Sales for 200 sellers and trained the team.",
    }
    fields.update(overrides)
    return fields


def draft(
    partner: Partner | None = None,
    *,
    by: Any = None,
    products: tuple[str, ...] = ("d365-sales",),
    document: bool = True,
    **overrides: Any,
) -> Claim:
    """A complete draft created through the workflow, with one PDF unless `document=False`."""
    if partner is None:
        partner = by.membership.partner if by is not None else PartnerFactory()
    by = by or partner_user(partner)
    claim = workflow.create_claim(by=by, fields=claim_fields(partner, **overrides), products=list(products))
    if document:
        workflow.add_document(claim, by=by, upload=pdf_upload())
    return claim


def manager_of(claim: Claim) -> Any:
    membership = Membership.objects.filter(partner=claim.partner, role__in=Membership.MANAGING_ROLES).first()
    return membership.user if membership else partner_user(claim.partner)


# The shortest real path into each state, as (action, actor) steps.
PATHS: dict[str, list[tuple[str, str]]] = {
    Claim.Status.EDITING: [],
    Claim.Status.SUBMITTED: [("submit", "partner")],
    Claim.Status.UNDER_REVIEW: [("submit", "partner"), ("start_review", "reviewer")],
    Claim.Status.PARTNER_ACTION_REQUIRED: [
        ("submit", "partner"),
        ("start_review", "reviewer"),
        ("request_information", "reviewer"),
    ],
    Claim.Status.APPROVED: [("submit", "partner"), ("start_review", "reviewer"), ("approve", "reviewer")],
    Claim.Status.REJECTED: [("submit", "partner"), ("start_review", "reviewer"), ("reject", "reviewer")],
    Claim.Status.DISPUTED: [
        ("submit", "partner"),
        ("start_review", "reviewer"),
        ("reject", "reviewer"),
        ("dispute", "partner"),
    ],
}

DETAILS: dict[str, dict[str, Any]] = {
    "request_information": {"reasons": ["missing_products"], "comment": "Please name Sales in the PoE."},
    "reject": {"sub_reasons": ["poe_unavailable"], "comment": "The PoE could not be opened."},
    "dispute": {"justification": "The signed SOW was attached on page 2."},
    "withdraw": {"reason": "wrong_mpn"},
    "uphold_rejection": {"comment": "The SOW does not name the customer."},
    "resubmit": {"comment": "Uploaded the signed SOW."},
}


def claim_in(
    status: str, *, partner: Partner | None = None, by: Any = None, review_by: Any = None, **overrides: Any
) -> Claim:
    claim = draft(partner, by=by, **overrides)
    partner_actor = by or manager_of(claim)
    review_actor = review_by or reviewer()
    for action, who in PATHS[status]:
        actor = partner_actor if who == "partner" else review_actor
        claim = workflow.transition(claim, action, by=actor, **DETAILS.get(action, {}))
    assert claim.status == status
    return claim


def addresses(rows: Iterable[OutboundEmail]) -> list[str]:
    """Every address the outbox rows go to, sorted: one row may go to several people."""
    return sorted(address for row in rows for address in row.recipients)


def mail_to(address: str, **filters: Any) -> OutboundEmail:
    """The one outbox row (among `filters`) that goes to `address`, alone or with others."""
    (row,) = [row for row in OutboundEmail.objects.filter(**filters) if address in row.recipients]
    return row
