"""Admin hardening: its path from the environment, sign-in throttling, the environment banner, and
groups with exactly the permissions their pages need (partners never get in)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from django.urls import reverse

from claims.models import LEAD_GROUP, REVIEWER_GROUP, Claim, Membership
from tests.factories import UserFactory, claim_in, mail_to, partner_user, reviewer

from .admin_pages import client_for, is_admin_login_redirect, page, queue, sla_url

pytestmark = pytest.mark.django_db
S = Claim.Status
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LOCKED = "Too many failed sign-ins"


def sign_in(client: Client, email: str, password: str) -> tuple[bool, str]:
    response = client.post(reverse("admin:login"), {"username": email, "password": password, "next": queue()})
    return response.status_code == 302 and response["Location"] == queue(), response.content.decode()


def test_ten_failed_sign_ins_lock_the_account_for_that_address_for_15_minutes() -> None:
    rita = reviewer(email="rita@cpor.example", username="rita@cpor.example")
    with time_machine.travel(T0, tick=False) as clock:
        attacker = Client(REMOTE_ADDR="203.0.113.9")
        for attempt in range(1, 10):
            ok, html = sign_in(attacker, "rita@cpor.example", f"guess-{attempt}")
            assert not ok and LOCKED not in html, attempt
        ok, html = sign_in(attacker, "rita@cpor.example", "guess-10")
        assert not ok and LOCKED in html

        # Locked: even the right password is refused, with a clear message and no 500 …
        ok, html = sign_in(attacker, "rita@cpor.example", "pw-for-tests")
        assert not ok and LOCKED in html
        # … and so is the portal's sign-in page (one policy for both).
        response = attacker.post(
            "/accounts/login/", {"username": "rita@cpor.example", "password": "pw-for-tests"}
        )
        assert response.status_code == 429 and LOCKED in response.content.decode()
        # Another address, and the same account from another network, are not locked.
        assert sign_in(Client(REMOTE_ADDR="198.51.100.7"), "rita@cpor.example", "pw-for-tests")[0]
        other = reviewer(email="leo@cpor.example", username="leo@cpor.example")
        assert sign_in(attacker, other.email, "pw-for-tests")[0]

        clock.move_to(T0 + dt.timedelta(minutes=16))
        ok, _html = sign_in(Client(REMOTE_ADDR="203.0.113.9"), "rita@cpor.example", "pw-for-tests")
        assert ok
    assert rita.is_active


@pytest.mark.parametrize("role", [Membership.Role.GLOBAL_ADMIN, Membership.Role.MEMBER])
def test_a_partner_user_cannot_sign_in_to_the_admin(role: str) -> None:
    claim = claim_in(S.SUBMITTED)
    partner_user(claim.partner, role=role, email="paula@partner.example", username="paula@partner.example")
    client = Client()

    ok, html = sign_in(client, "paula@partner.example", "pw-for-tests")

    assert not ok and "staff account" in html
    assert is_admin_login_redirect(client.get(queue()))


@override_settings(CPOR_ENVIRONMENT="staging")
@pytest.mark.parametrize("path", ["login", "index", "queue"])
def test_every_admin_page_shows_the_environment(path: str) -> None:
    client = Client() if path == "login" else client_for(reviewer())
    url = {"login": reverse("admin:login"), "index": reverse("admin:index"), "queue": queue()}[path]

    html = client.get(url).content.decode()

    assert 'class="cpor-env cpor-env-staging" role="note">Environment: staging</p>' in html


@override_settings(ROOT_URLCONF="tests.reviews.moved_admin_urls")
def test_with_the_admin_elsewhere_every_reviewer_link_follows_it() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer(lead=True))

    pages = [client.get(url) for url in (queue(), page(claim), sla_url(), reverse("admin:index"))]
    form = client.post(reverse("admin:claims_claim_transition", args=[claim.pk, "start_review"]))

    assert queue() == "/back-office-7f3a/claims/claim/"
    assert all(response.status_code == 200 for response in pages)
    links = [
        link
        for response in pages
        for link in re.findall(r'(?:href|action|src)="(/[^"]*)"', response.content.decode())
    ]
    assert links and not [link for link in links if link.startswith("/admin/")]
    assert any(link.startswith("/back-office-7f3a/claims/claim/") for link in links)
    assert form["Location"] == page(claim)
    assert Client().get("/admin/").status_code == 404


def test_the_groups_have_exactly_the_permissions_their_pages_need() -> None:
    def codenames(name: str) -> set[str]:
        return {
            f"{app}.{codename}"
            for app, codename in Group.objects.get(name=name).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }

    reading = {
        "claims.view_claim",
        "claims.view_claimevent",
        "claims.view_partner",
        "claims.view_mpnid",
        "claims.view_product",
        "claims.view_tenant",
        "claims.view_tenantdomain",
        "cpor.view_outboundemail",
        "consent.view_consentrequest",
    }
    assert codenames(REVIEWER_GROUP) == reading
    assert codenames(LEAD_GROUP) == reading | {"reviews.view_sladigest"}


@pytest.mark.parametrize("lead", [False, True])
def test_reviewers_read_the_related_admin_pages_and_change_none(lead: bool) -> None:
    claim = claim_in(S.APPROVED)
    client = client_for(reviewer(lead=lead))
    readable = [
        reverse("admin:claims_partner_change", args=[claim.partner_id]),
        reverse("admin:claims_product_changelist"),
        reverse("admin:claims_tenant_changelist"),
        reverse("admin:claims_claimevent_changelist"),
        reverse("admin:cpor_outboundemail_changelist"),
        reverse("admin:consent_consentrequest_changelist"),
    ]
    refused = [
        reverse("admin:claims_membership_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:claims_partner_add"),
    ]

    assert [client.get(url).status_code for url in readable] == [200] * len(readable)
    assert [client.get(url).status_code for url in refused] == [403] * len(refused)
    approved = mail_to(claim.partner_contact_email, kind="claim_approved")
    assert len(approved.recipients) > 1  # the contact and the managing user, in one message
    assert ", ".join(approved.recipients) in client.get(readable[4]).content.decode()
    partner_page = client.get(readable[0]).content.decode()
    assert claim.mpn.number in partner_page and 'name="_save"' not in partner_page
    posted = client.post(readable[0], {"name": "Renamed", "language": "en"})
    assert posted.status_code == 403
    claim.partner.refresh_from_db()
    assert claim.partner.name != "Renamed"


def test_staff_flag_alone_opens_nothing() -> None:
    client = client_for(UserFactory(is_staff=True))
    assert client.get(queue()).status_code == 403
    assert client.get(sla_url()).status_code == 403
