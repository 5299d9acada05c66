"""The reviewer's admin pages by URL, the people who try them, and a fingerprint of everything stored."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Comment, Membership, PoeDocument
from consent.models import ConsentRequest
from cpor.models import OutboundEmail
from reviews.models import ReviewChecklist, SlaDigest
from tests.factories import UserFactory, partner_user, reviewer

PEOPLE = ("reviewer", "lead", "partner_admin", "partner_member", "anonymous")


def queue() -> str:
    return reverse("admin:claims_claim_changelist")


def page(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def button(claim: Claim, action: str) -> str:
    return reverse("admin:claims_claim_transition", args=[claim.pk, action])


def comment_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_comment", args=[claim.pk])


def checklist_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_checklist", args=[claim.pk])


def assign_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_assign", args=[claim.pk])


def consent_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_consent_notice", args=[claim.pk])


def document_url(document: PoeDocument) -> str:
    return reverse("admin:claims_claim_document", args=[document.claim_id, document.pk])


def sla_url() -> str:
    return reverse("admin:claims_claim_sla")


def person(who: str, claim: Claim | None = None) -> Any:
    """A user of the given kind (None for anonymous); partner users belong to `claim`'s partner."""
    if who == "reviewer":
        return reviewer()
    if who == "lead":
        return reviewer(lead=True)
    if who == "staff_without_group":
        return UserFactory(is_staff=True)
    if who == "superuser":
        return UserFactory(is_staff=True, is_superuser=True)
    if who in ("partner_admin", "partner_member"):
        assert claim is not None
        role = Membership.Role.GLOBAL_ADMIN if who == "partner_admin" else Membership.Role.MEMBER
        return partner_user(claim.partner, role=role)
    assert who == "anonymous"
    return None


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def messages_of(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def is_admin_login_redirect(response: HttpResponse) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def stored() -> dict[str, list[Any]]:
    """Everything a reviewer's click could change, as plain values."""
    return {
        "claims": list(
            Claim.objects.order_by("pk").values_list(
                "pk", "status", "assigned_reviewer_id", "sla_breached_at", "rejection_reason", "updated_at"
            )
        ),
        "events": list(ClaimEvent.objects.order_by("pk").values_list("pk", "action")),
        "comments": list(Comment.objects.order_by("pk").values_list("pk", "body")),
        "mail": list(OutboundEmail.objects.order_by("pk").values_list("pk", "kind", "status")),
        "checklists": list(ReviewChecklist.objects.order_by("pk").values_list("claim_id", "passed")),
        "consent": list(ConsentRequest.objects.order_by("pk").values_list("pk", "contact_email")),
        "digests": list(SlaDigest.objects.order_by("pk").values_list("day", "breached_count")),
    }
