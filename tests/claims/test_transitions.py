"""Every claim transition through the one path, `claims.workflow.transition`.

The expectations here are written by hand from docs/design.md ("Claim lifecycle", "Who is told what"),
not read back from `claims.models`: the tables below are the oracle the state machine is checked against.
Every refusal is checked to change nothing — claim row, history, outbox, comments, documents — and
to schedule nothing after commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import dateformat, timezone, translation

from claims.models import (
    Claim,
    ClaimEvent,
    Comment,
    Membership,
    Partner,
    PoeDocument,
    Product,
    Subscription,
    Tenant,
)
from claims.workflow import (
    CUSTOMER,
    SYSTEM,
    TRANSITIONS,
    TransitionRefused,
    add_comment,
    add_document,
    request_end_association,
    transition,
)
from cpor.business_days import add_business_days
from cpor.models import OutboundEmail
from cpor.tasks import deliver_email
from tests.factories import DETAILS, PartnerFactory, claim_in, draft, partner_user, pdf_upload, reviewer

S = Claim.Status
BASE = dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC)  # a Wednesday, no US holiday within two weeks
SECOND = dt.timedelta(seconds=1)
# When the subscription an association of `claim_at` names left active/grace (after it formed).
SUBSCRIPTION_INACTIVE_SINCE = BASE + dt.timedelta(days=8)
DEADLINE_FIELDS = (
    "review_start_due_at",
    "review_due_at",
    "partner_response_due_at",
    "consent_window_ends_at",
    "dispute_window_ends_at",
    "dispute_response_due_at",
)
# The reviewer SLAs: the review queue orders by a copy of whichever one the claim runs on.
SLA_FIELDS = frozenset({"review_start_due_at", "review_due_at", "dispute_response_due_at"})

# ---------------------------------------------------------------------------------------------
# The oracle, from docs/design.md

PARTNER_MANAGERS = frozenset({"incentives_admin", "global_admin", "billing_admin"})
REVIEWERS = frozenset({"reviewer", "lead", "second_reviewer"})
# A review lead decides a dispute, and separation of duties keeps the reviewer who rejected the
# claim out of it. Every claim here is reviewed and rejected by `reviewer` (not a lead).
DISPUTE_DECIDERS = frozenset({"lead"})
# An association ends at the customer's request only by a review lead's decision.
REVIEW_LEADS = frozenset({"lead"})
ACTORS = (
    "incentives_admin",
    "global_admin",
    "billing_admin",
    "member",
    "other_partner",
    "reviewer",
    "lead",
    "second_reviewer",
    "customer",
    "system",
    "anonymous",
)
LIVE_SUBMITTED = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.ASSOCIATED})

# action: (source states, actors allowed, target state)
ALLOWED: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    "submit": (frozenset({S.EDITING}), PARTNER_MANAGERS, S.SUBMITTED),
    "start_review": (frozenset({S.SUBMITTED}), REVIEWERS, S.UNDER_REVIEW),
    "request_information": (frozenset({S.UNDER_REVIEW}), REVIEWERS, S.PARTNER_ACTION_REQUIRED),
    "resubmit": (frozenset({S.PARTNER_ACTION_REQUIRED}), PARTNER_MANAGERS, S.UNDER_REVIEW),
    "approve": (frozenset({S.UNDER_REVIEW}), REVIEWERS, S.APPROVED),
    "reject": (frozenset({S.UNDER_REVIEW}), REVIEWERS, S.REJECTED),
    "expire": (frozenset({S.PARTNER_ACTION_REQUIRED}), frozenset({"system"}), S.REJECTED),
    "withdraw": (LIVE_SUBMITTED, PARTNER_MANAGERS, S.REJECTED),
    "deny_consent": (frozenset({S.APPROVED}), frozenset({"customer"}), S.REJECTED),
    "close_consent_window": (frozenset({S.APPROVED}), frozenset({"system"}), S.ASSOCIATED),
    # How a competing claim's approval ends this association ("superseded").
    "supersede": (LIVE_SUBMITTED, frozenset({"system"}), S.REJECTED),
    "dispute": (frozenset({S.REJECTED}), PARTNER_MANAGERS, S.DISPUTED),
    "reopen": (frozenset({S.DISPUTED}), DISPUTE_DECIDERS, S.UNDER_REVIEW),
    "uphold_rejection": (frozenset({S.DISPUTED}), DISPUTE_DECIDERS, S.REJECTED),
    "end_association": (frozenset({S.ASSOCIATED}), REVIEW_LEADS, S.REJECTED),
    # The beat job ends an association whose subscription has been inactive too long.
    "lapse": (frozenset({S.ASSOCIATED}), frozenset({"system"}), S.REJECTED),
}


def _business_days(now: dt.datetime) -> dt.datetime:
    return add_business_days(now, 5)


# action: (the deadline column the new state runs on, its value from the moment of the transition)
DEADLINE_SET_BY: dict[str, tuple[str, Callable[[dt.datetime], dt.datetime]] | None] = {
    "submit": ("review_start_due_at", _business_days),
    "start_review": ("review_due_at", _business_days),
    "request_information": ("partner_response_due_at", _business_days),
    "resubmit": ("review_due_at", _business_days),
    "approve": ("consent_window_ends_at", lambda now: now + dt.timedelta(days=7)),
    "reject": ("dispute_window_ends_at", lambda now: now + dt.timedelta(days=30)),
    "expire": ("dispute_window_ends_at", lambda now: now + dt.timedelta(days=30)),
    "supersede": ("dispute_window_ends_at", lambda now: now + dt.timedelta(days=30)),
    "withdraw": None,
    "deny_consent": None,
    "close_consent_window": None,
    "dispute": ("dispute_response_due_at", _business_days),
    "reopen": ("review_due_at", _business_days),
    "uphold_rejection": None,
    "end_association": ("dispute_window_ends_at", lambda now: now + dt.timedelta(days=30)),
    "lapse": ("dispute_window_ends_at", lambda now: now + dt.timedelta(days=30)),
}

# Who is told what. "partner" is the partner contact and every managing user (never a read-only
# member); "reviewer" the assigned reviewer; "customer" the customer contact.
TOLD: dict[str, set[tuple[str, str]]] = {
    "submit": {("claim_submitted", "contact")},
    "start_review": set(),
    "request_information": {("information_requested", "partner")},
    "resubmit": {("reviewer_resubmit", "reviewer")},
    "approve": {("claim_approved", "partner"), ("consent_notice", "customer")},
    "reject": {("claim_rejected", "partner")},
    "expire": {("claim_rejected", "partner")},
    "withdraw": set(),
    "deny_consent": {("consent_denied_partner", "partner"), ("consent_denied_customer", "customer")},
    "close_consent_window": {("sent_for_assessment", "partner")},
    "supersede": {("claim_rejected", "partner")},
    # Separation of duties: the dispute goes to those who may decide it, the review leads other than
    # the reviewer who rejected the claim.
    "dispute": {("reviewer_dispute", "deciders")},
    "reopen": {("dispute_reopened", "partner")},
    "uphold_rejection": {("claim_rejected", "partner")},
    # The partner: why and how to dispute; the customer who asked: the association has ended.
    "end_association": {("claim_rejected", "partner"), ("end_request_granted_customer", "customer")},
    # The partner: the subscription is no longer active, until when and how to dispute.
    "lapse": {("claim_rejected", "partner")},
}

EXPECTED_ACTOR_KIND = {
    **dict.fromkeys(PARTNER_MANAGERS, ClaimEvent.ActorKind.PARTNER),
    **dict.fromkeys(REVIEWERS, ClaimEvent.ActorKind.REVIEWER),
    "customer": ClaimEvent.ActorKind.CUSTOMER,
    "system": ClaimEvent.ActorKind.SYSTEM,
}

PARTNER_CONTACT = "paula@partner.example"
CUSTOMER_CONTACT = "nina@northwind.example"


def test_the_oracle_names_every_transition_of_the_state_machine() -> None:
    assert set(TRANSITIONS) == set(ALLOWED) == set(DEADLINE_SET_BY) == set(TOLD)
    for action, entry in DEADLINE_SET_BY.items():
        if entry is not None:
            assert Claim.DEADLINE_BY_STATUS[ALLOWED[action][2]] == entry[0], action


# ---------------------------------------------------------------------------------------------
# People, clock and helpers


@dataclass
class Cast:
    partner: Partner
    incentives_admin: Any
    global_admin: Any
    billing_admin: Any
    member: Any
    other_partner: Any
    reviewer: Any
    lead: Any
    second_reviewer: Any

    def actor(self, name: str) -> Any:
        if name == "customer":
            return CUSTOMER
        if name == "system":
            return SYSTEM
        if name == "anonymous":
            return AnonymousUser()
        return getattr(self, name)

    @property
    def manager(self) -> Any:
        return self.incentives_admin

    def partner_people(self) -> set[str]:
        return {
            PARTNER_CONTACT,
            self.incentives_admin.email,
            self.global_admin.email,
            self.billing_admin.email,
        }


@pytest.fixture
def clock(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(BASE, tick=False)
    return time_machine


@pytest.fixture
def cast(db: None, clock: time_machine.TimeMachineFixture) -> Cast:
    # password=None: an unusable password, so no slow hashing for people who never sign in here.
    partner = PartnerFactory()
    return Cast(
        partner=partner,
        incentives_admin=partner_user(partner, Membership.Role.INCENTIVES_ADMIN, password=None),
        global_admin=partner_user(partner, Membership.Role.GLOBAL_ADMIN, password=None),
        billing_admin=partner_user(partner, Membership.Role.BILLING_ADMIN, password=None),
        member=partner_user(partner, Membership.Role.MEMBER, password=None),
        other_partner=partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN, password=None),
        reviewer=reviewer(password=None),
        lead=reviewer(lead=True, password=None),
        second_reviewer=reviewer(password=None),
    )


def claim_at(status: str, cast: Cast, **overrides: Any) -> Claim:
    """A claim of the cast's partner in `status`, moved there through the workflow at the current time.

    An association here has a pending request of its customer contact to end it, and names a
    subscription the commerce feed reports suspended since SUBSCRIPTION_INACTIVE_SINCE, so that
    `end_association` and `lapse` are refused only for the state or the actor.
    """
    if status == S.ASSOCIATED:
        overrides.setdefault("subscription_id", uuid.uuid4())
        claim = claim_in(
            S.APPROVED, partner=cast.partner, by=cast.manager, review_by=cast.reviewer, **overrides
        )
        with time_machine.travel(claim.consent_window_ends_at, tick=False):
            claim = transition(claim, "close_consent_window", by=SYSTEM)
        assert claim.status == S.ASSOCIATED
        tenant = Tenant.objects.create(tenant_id=claim.customer_tenant_id, name=claim.customer_name)
        Subscription.objects.create(
            subscription_id=claim.subscription_id,
            tenant=tenant,
            product=Product.objects.get(code="d365-sales"),
            channel=Subscription.Channel.DIRECT,
            status=Subscription.Status.SUSPENDED,
            seats=50,
            start_date=dt.date(2024, 7, 1),
            inactive_since=SUBSCRIPTION_INACTIVE_SINCE,
        )
        request_end_association(
            claim, by=CUSTOMER, customer_email=CUSTOMER_CONTACT, language="en", reason="We work alone now."
        )
        return claim
    return claim_in(status, partner=cast.partner, by=cast.manager, review_by=cast.reviewer, **overrides)


def details_for(action: str) -> dict[str, Any]:
    """Details that satisfy the action's rules."""
    if action == "end_association":
        return {"comment": "The customer no longer works with this partner."}
    return dict(DETAILS.get(action, {}))


def moment_for(action: str, claim: Claim) -> dt.datetime:
    """A moment at which the action's time condition holds (an hour after the claim was set up)."""
    if action == "expire" and claim.partner_response_due_at:
        return claim.partner_response_due_at
    if action == "close_consent_window" and claim.consent_window_ends_at:
        return claim.consent_window_ends_at
    if action == "lapse":  # longer than CPOR_LAPSE_DAYS (30) after the subscription went out
        return SUBSCRIPTION_INACTIVE_SINCE + dt.timedelta(days=30, seconds=1)
    return BASE + dt.timedelta(hours=1)


def observe(claim: Claim) -> dict[str, Any]:
    """Everything a transition could change."""
    return {
        "row": Claim.objects.filter(pk=claim.pk).values().get(),
        "products": sorted(Claim.objects.get(pk=claim.pk).products.values_list("pk", flat=True)),
        "events": list(ClaimEvent.objects.filter(claim_id=claim.pk).values_list("pk", flat=True)),
        "outbox": list(OutboundEmail.objects.values_list("pk", flat=True)),
        "comments": list(Comment.objects.filter(claim_id=claim.pk).values_list("pk", flat=True)),
        "documents": list(PoeDocument.objects.filter(claim_id=claim.pk).values_list("pk", flat=True)),
    }


def assert_refused(
    capture: Any, claim: Claim, action: str, *, by: Any, match: str | None = None, **details: Any
) -> TransitionRefused:
    before = observe(claim)
    with capture() as callbacks, pytest.raises(TransitionRefused, match=match) as caught:
        transition(claim, action, by=by, **details)
    assert observe(claim) == before
    assert callbacks == [], "a refused action must schedule nothing after commit"
    return caught.value


@dataclass
class Outcome:
    claim: Claim
    event: ClaimEvent
    emails: list[OutboundEmail]
    notification_events: list[ClaimEvent]


def perform(capture: Any, claim: Claim, action: str, *, by: Any, **details: Any) -> Outcome:
    """Run the transition, commit, and let the worker deliver what the outbox queued."""
    events_before = set(ClaimEvent.objects.filter(claim=claim).values_list("pk", flat=True))
    last_email = OutboundEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    mail.outbox.clear()
    with capture(execute=True) as callbacks:
        returned = transition(claim, action, by=by, **details)
    emails = list(OutboundEmail.objects.filter(pk__gt=last_email).order_by("pk"))
    # Queued rows are handed to the broker only after commit.
    assert callbacks or not emails
    assert all(email.status == OutboundEmail.Status.QUEUED for email in emails)
    assert mail.outbox == [], "nothing is sent inside the transaction"
    for email in emails:
        assert deliver_email(email.pk) is True
        email.refresh_from_db()
    new_events = list(ClaimEvent.objects.filter(claim=claim).exclude(pk__in=events_before).order_by("pk"))
    transition_events = [e for e in new_events if e.action == action]
    assert len(transition_events) == 1, [e.action for e in new_events]
    notification_events = [e for e in new_events if e.action == ClaimEvent.Action.NOTIFICATION]
    # A registered step may record its own outcome (earnings: the assessment at hand-off).
    step_events = [e for e in new_events if e.action == ClaimEvent.Action.ASSESSED]
    assert len(step_events) == (action == "close_consent_window"), [e.action for e in new_events]
    assert len(new_events) == 1 + len(notification_events) + len(step_events), [e.action for e in new_events]
    claim = Claim.objects.get(pk=claim.pk)
    assert returned.pk == claim.pk and returned.status == claim.status
    return Outcome(claim, transition_events[0], emails, notification_events)


def told(outcome: Outcome) -> set[tuple[str, str]]:
    return {(email.kind, address) for email in outcome.emails for address in email.recipients}


# Any other way out of an association settles the pending request `claim_at` gives it: the customer
# who asked is told it is no longer needed.
SETTLED_TOLD = {("end_request_settled_customer", "customer")}


def expected_told(action: str, cast: Cast, claim: Claim, source: str = "") -> set[tuple[str, str]]:
    told_kinds = TOLD[action] | (
        SETTLED_TOLD if source == S.ASSOCIATED and action != "end_association" else set()
    )
    addresses = {
        "contact": {PARTNER_CONTACT},
        "partner": cast.partner_people(),
        "reviewer": {claim.assigned_reviewer.email} if claim.assigned_reviewer else set(),
        "customer": {CUSTOMER_CONTACT},
        "deciders": {cast.lead.email} - ({claim.rejected_by.email} if claim.rejected_by else set()),
    }
    return {(kind, to) for kind, who in told_kinds for to in addresses[who]}


def local_date(value: dt.datetime) -> str:
    with translation.override("en"):
        return dateformat.format(timezone.localtime(value), "j F Y, H:i T")


# ---------------------------------------------------------------------------------------------
# Every allowed transition: status, deadlines, history, outbox and mail

ALLOWED_CASES = [
    pytest.param(action, source, actor, id=f"{action}-{source}-{actor}")
    for action, (sources, actors, _target) in ALLOWED.items()
    for source in sorted(sources)
    for actor in sorted(actors)
    if actor not in {"global_admin", "billing_admin"}  # the managing roles are all in the matrix below
]


@pytest.mark.parametrize(("action", "source", "actor"), ALLOWED_CASES)
def test_allowed_transition_moves_the_claim_records_it_and_tells_the_right_people(
    action: str, source: str, actor: str, cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(source, cast)
    now = moment_for(action, claim)
    clock.move_to(now, tick=False)
    by = cast.actor(actor)

    outcome = perform(django_capture_on_commit_callbacks, claim, action, by=by, **details_for(action))
    claim = outcome.claim

    target = ALLOWED[action][2]
    assert claim.status == target
    expected_deadlines = dict.fromkeys(DEADLINE_FIELDS)
    if DEADLINE_SET_BY[action] is not None:
        column, due = DEADLINE_SET_BY[action]
        expected_deadlines[column] = due(now)
    assert {name: getattr(claim, name) for name in DEADLINE_FIELDS} == expected_deadlines
    sla = DEADLINE_SET_BY[action]
    assert claim.sla_due_at == (sla[1](now) if sla and sla[0] in SLA_FIELDS else None)
    assert claim.sla_breached_at is None
    if action in ("reject", "end_association"):
        assert claim.rejected_by == by
    elif action in ("dispute", "uphold_rejection"):
        assert claim.rejected_by == cast.reviewer, "the rejection stands, and so does who made it"
    elif ALLOWED[action][2] == S.REJECTED:
        assert claim.rejected_by is None, "no reviewer made this rejection"

    event = outcome.event
    assert (event.from_status, event.to_status) == (source, target)
    assert event.diff["status"] == [source, target]
    assert event.actor_kind == EXPECTED_ACTOR_KIND[actor]
    assert event.actor == (None if actor in {"customer", "system"} else by)
    assert event.created_at == now

    assert told(outcome) == expected_told(action, cast, claim, source)
    assert sum(len(e.recipients) for e in outcome.emails) == len(told(outcome)), "nobody is told twice"
    # One message per kind and language, to everyone it concerns; one history event per message.
    assert len(outcome.emails) == len({(e.kind, e.language) for e in outcome.emails})
    assert sorted(e.email_id for e in outcome.notification_events) == sorted(e.pk for e in outcome.emails)
    assert sorted((m.to, m.subject) for m in mail.outbox) == sorted(
        (e.recipients, e.subject) for e in outcome.emails
    )
    never_told = {cast.member.email, cast.other_partner.email}
    assert not never_told & {address for m in mail.outbox for address in m.to}


# ---------------------------------------------------------------------------------------------
# What each transition does besides moving


def test_submit_tells_the_partner_contact_when_review_should_start(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = draft(cast.partner, by=cast.manager)
    outcome = perform(django_capture_on_commit_callbacks, claim, "submit", by=cast.manager)
    assert outcome.claim.submitted_at == BASE
    (message,) = mail.outbox
    assert message.to == [PARTNER_CONTACT]
    assert local_date(add_business_days(BASE, 5)) in message.body


@pytest.mark.parametrize("who", ["reviewer", "lead"])
def test_start_review_assigns_the_reviewer_who_starts(
    who: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.SUBMITTED, cast)
    outcome = perform(django_capture_on_commit_callbacks, claim, "start_review", by=cast.actor(who))
    assert outcome.claim.assigned_reviewer == cast.actor(who)


def test_request_information_stores_reasons_and_comment_and_tells_the_partner_the_deadline(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.UNDER_REVIEW, cast)
    outcome = perform(
        django_capture_on_commit_callbacks,
        claim,
        "request_information",
        by=cast.reviewer,
        reasons=["missing_products", "missing_or_old_dates"],
        comment="Name Dynamics 365 Sales in the SOW.",
    )
    claim = outcome.claim
    assert claim.information_request_reasons == ["missing_products", "missing_or_old_dates"]
    assert claim.information_requested_at == BASE
    (comment,) = Comment.objects.filter(claim=claim)
    assert (comment.author, comment.author_kind, comment.body) == (
        cast.reviewer,
        ClaimEvent.ActorKind.REVIEWER,
        "Name Dynamics 365 Sales in the SOW.",
    )
    assert comment.partner_visible
    assert outcome.event.note == "Name Dynamics 365 Sales in the SOW."
    assert {address for m in mail.outbox for address in m.to} == cast.partner_people()
    for message in mail.outbox:
        assert "Missing products" in message.body and "Missing or old dates" in message.body
        assert "Name Dynamics 365 Sales in the SOW." in message.body
        assert local_date(claim.partner_response_due_at) in message.body


def test_resubmit_with_a_comment_stores_it_and_tells_the_assigned_reviewer(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.shift(dt.timedelta(hours=3))
    outcome = perform(
        django_capture_on_commit_callbacks, claim, "resubmit", by=cast.manager, comment="Signed SOW uploaded."
    )
    partner_comments = Comment.objects.filter(claim=claim, author_kind=ClaimEvent.ActorKind.PARTNER)
    assert [(c.author, c.body) for c in partner_comments] == [(cast.manager, "Signed SOW uploaded.")]
    assert outcome.event.note == "Signed SOW uploaded."
    (message,) = mail.outbox
    assert message.to == [cast.reviewer.email]
    assert "Signed SOW uploaded." in message.body
    assert all(not e.partner_visible for e in outcome.notification_events)


def test_resubmit_with_new_documents_stores_them(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.shift(dt.timedelta(hours=3))
    outcome = perform(
        django_capture_on_commit_callbacks,
        claim,
        "resubmit",
        by=cast.manager,
        documents=[pdf_upload("signed-sow.pdf")],
    )
    assert outcome.claim.status == S.UNDER_REVIEW
    newest = PoeDocument.objects.filter(claim=claim).latest("uploaded_at")
    assert (newest.original_name, newest.uploaded_by, newest.uploaded_at) == (
        "signed-sow.pdf",
        cast.manager,
        BASE + dt.timedelta(hours=3),
    )
    assert outcome.event.diff["documents_added"] == ["signed-sow.pdf"]


def test_approve_clears_the_information_request_and_sends_the_customer_the_consent_notice(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast, customer_contact_language="tr")
    clock.shift(dt.timedelta(hours=1))
    claim = transition(claim, "resubmit", by=cast.manager, comment="Done.")
    outcome = perform(django_capture_on_commit_callbacks, claim, "approve", by=cast.reviewer)
    assert outcome.claim.information_request_reasons == []
    assert outcome.claim.consent_window_ends_at == BASE + dt.timedelta(hours=1, days=7)
    (notice,) = [e for e in outcome.emails if e.to == CUSTOMER_CONTACT]
    assert (notice.kind, notice.language) == ("consent_notice", "tr")
    for email in outcome.emails:
        if email.to != CUSTOMER_CONTACT:
            assert email.kind == "claim_approved" and email.language == "en"


def test_reject_records_the_reason_codes_and_tells_the_partner_until_when_to_dispute(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.UNDER_REVIEW, cast)
    outcome = perform(
        django_capture_on_commit_callbacks,
        claim,
        "reject",
        by=cast.reviewer,
        sub_reasons=["missing_customer_consent", "missing_products"],
        comment="No customer signature.",
    )
    claim = outcome.claim
    assert claim.rejection_reason == "insufficient_poe"
    assert claim.rejection_sub_reasons == ["missing_customer_consent", "missing_products"]
    assert claim.dispute_window_ends_at == BASE + dt.timedelta(days=30)
    assert Comment.objects.filter(claim=claim, body="No customer signature.").count() == 1
    assert {address for m in mail.outbox for address in m.to} == cast.partner_people()
    for message in mail.outbox:
        assert "Insufficient proof of execution" in message.body
        assert "Missing customer consent on PoE" in message.body
        assert "No customer signature." in message.body
        assert f"dispute this rejection until {local_date(claim.dispute_window_ends_at)}" in message.body


def test_expire_rejects_for_no_partner_response_as_the_system(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    due = claim.partner_response_due_at
    clock.move_to(due, tick=False)
    outcome = perform(django_capture_on_commit_callbacks, claim, "expire", by=SYSTEM)
    claim = outcome.claim
    assert (claim.rejection_reason, claim.rejection_sub_reasons) == ("no_partner_response", [])
    assert claim.dispute_window_ends_at == due + dt.timedelta(days=30)
    assert (outcome.event.actor_kind, outcome.event.actor) == (ClaimEvent.ActorKind.SYSTEM, None)
    for message in mail.outbox:
        assert "No partner response" in message.body
        assert local_date(claim.dispute_window_ends_at) in message.body


@pytest.mark.parametrize("source", sorted(LIVE_SUBMITTED))
def test_withdraw_rejects_at_the_partners_request_without_a_dispute_window(
    source: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(source, cast)
    outcome = perform(
        django_capture_on_commit_callbacks,
        claim,
        "withdraw",
        by=cast.global_admin,
        reason="no_longer_working",
        comment="The customer moved on.",
    )
    claim = outcome.claim
    assert (claim.rejection_reason, claim.rejection_sub_reasons) == ("partner_request", ["no_longer_working"])
    assert claim.dispute_window_ends_at is None
    # Only the customer whose pending request to end an association the withdrawal settled.
    assert told(outcome) == expected_told("withdraw", cast, claim, source)
    assert Comment.objects.filter(
        claim=claim, author=cast.global_admin, body="The customer moved on."
    ).exists()


def test_deny_consent_rejects_for_customer_decline_and_confirms_in_the_customers_language(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.APPROVED, cast, customer_contact_language="tr")
    clock.shift(dt.timedelta(days=3))
    outcome = perform(
        django_capture_on_commit_callbacks, claim, "deny_consent", by=CUSTOMER, comment="We never met them."
    )
    claim = outcome.claim
    assert (claim.rejection_reason, claim.dispute_window_ends_at) == ("customer_decline", None)
    assert (outcome.event.actor_kind, outcome.event.actor) == (ClaimEvent.ActorKind.CUSTOMER, None)
    assert outcome.event.note == "We never met them."
    assert not Comment.objects.filter(claim=claim, body="We never met them.").exists()
    languages = {(e.kind, e.to): e.language for e in outcome.emails}
    assert languages[("consent_denied_customer", CUSTOMER_CONTACT)] == "tr"


@pytest.mark.parametrize(
    ("activity", "language", "programme"),
    [
        ("usage", "en", "under OSU (usage)"),
        ("presales", "en", "under OSA (partner advisor, pre-sales)"),
        ("usage", "tr", "OSU (kullanım) kapsamında"),
    ],
)
def test_close_consent_window_sends_the_claim_for_assessment_under_its_programme(
    activity: str,
    language: str,
    programme: str,
    cast: Cast,
    clock: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    cast.partner.language = language
    cast.partner.save(update_fields=["language"])
    claim = claim_at(S.APPROVED, cast, activity=activity)
    clock.move_to(claim.consent_window_ends_at, tick=False)
    outcome = perform(django_capture_on_commit_callbacks, claim, "close_consent_window", by=SYSTEM)
    assert outcome.claim.status == S.ASSOCIATED
    assert mail.outbox
    for message in mail.outbox:
        assert programme in message.body


@pytest.mark.parametrize("source", sorted(LIVE_SUBMITTED))
def test_supersede_ends_the_association_with_reason_superseded_and_a_dispute_window(
    source: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(source, cast)
    outcome = perform(django_capture_on_commit_callbacks, claim, "supersede", by=SYSTEM)
    claim = outcome.claim
    assert claim.rejection_reason == "superseded"
    assert claim.dispute_window_ends_at == BASE + dt.timedelta(days=30)
    assert told(outcome) == expected_told("supersede", cast, claim, source)
    for message in mail.outbox:
        if CUSTOMER_CONTACT in message.to:  # the customer's settled request (its own test elsewhere)
            assert "another partner's claim for the same customer took its place" in message.body
        else:
            assert "Superseded by another partner" in message.body


def test_dispute_with_a_justification_tells_the_leads_who_may_decide_it(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.REJECTED, cast)
    clock.shift(dt.timedelta(days=2))
    outcome = perform(
        django_capture_on_commit_callbacks,
        claim,
        "dispute",
        by=cast.billing_admin,
        justification="  The SOW is signed on page 2.  ",
    )
    claim = outcome.claim
    assert claim.dispute_justification == "The SOW is signed on page 2."
    assert claim.rejection_reason == "insufficient_poe"
    assert claim.dispute_response_due_at == add_business_days(BASE + dt.timedelta(days=2), 5)
    assert outcome.event.note == "The SOW is signed on page 2."
    (message,) = mail.outbox
    assert claim.rejected_by == cast.reviewer
    assert message.to == [cast.lead.email]  # not the reviewer who rejected it
    assert "The SOW is signed on page 2." in message.body


def test_dispute_with_new_documents_only_is_allowed(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.REJECTED, cast)
    clock.shift(dt.timedelta(days=1))
    documents_before = PoeDocument.objects.filter(claim=claim).count()
    outcome = perform(
        django_capture_on_commit_callbacks,
        claim,
        "dispute",
        by=cast.manager,
        documents=[pdf_upload("countersigned.pdf")],
    )
    assert outcome.claim.status == S.DISPUTED
    assert PoeDocument.objects.filter(claim=claim).count() == documents_before + 1
    assert outcome.event.diff["documents_added"] == ["countersigned.pdf"]


def test_dispute_goes_to_the_review_leads_when_the_assigned_reviewer_left(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.REJECTED, cast)
    cast.reviewer.is_active = False
    cast.reviewer.save()
    outcome = perform(
        django_capture_on_commit_callbacks, claim, "dispute", by=cast.manager, **DETAILS["dispute"]
    )
    assert told(outcome) == {("reviewer_dispute", cast.lead.email)}


def test_reopen_clears_the_rejection_and_assigns_the_reopening_reviewer(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.DISPUTED, cast)
    outcome = perform(
        django_capture_on_commit_callbacks, claim, "reopen", by=cast.lead, comment="Fair point, reviewing."
    )
    claim = outcome.claim
    assert (claim.rejection_reason, claim.rejection_sub_reasons) == ("", [])
    assert claim.assigned_reviewer == cast.lead
    for message in mail.outbox:
        assert "Fair point, reviewing." in message.body
        assert local_date(claim.review_due_at) in message.body


def test_uphold_rejection_is_final(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    claim = claim_at(S.DISPUTED, cast)
    outcome = perform(
        django_capture_on_commit_callbacks,
        claim,
        "uphold_rejection",
        by=cast.lead,
        comment="Still unsigned.",
    )
    claim = outcome.claim
    assert (claim.status, claim.rejection_reason) == (S.REJECTED, "insufficient_poe")
    assert claim.dispute_window_ends_at is None
    for message in mail.outbox:
        assert "rejection stands" in message.body and "Still unsigned." in message.body


@pytest.mark.parametrize("action", ["reopen", "uphold_rejection"])
@pytest.mark.parametrize("rejecter", ["reviewer", "lead"])
def test_the_reviewer_who_rejected_does_not_decide_the_dispute(
    action: str, rejecter: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_in(S.DISPUTED, partner=cast.partner, by=cast.manager, review_by=cast.actor(rejecter))
    assert claim.rejected_by == cast.actor(rejecter)
    details = {"comment": "Decided."}
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        action,
        by=cast.actor(rejecter),
        match="not allowed",
        **details,
    )
    # Nor does a reviewer who is not a lead; another lead does.
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        action,
        by=cast.second_reviewer,
        match="not allowed",
        **details,
    )
    other = reviewer(lead=True, password=None) if rejecter == "lead" else cast.lead
    assert (
        perform(django_capture_on_commit_callbacks, claim, action, by=other, **details).claim.status
        == (ALLOWED[action][2])
    )


def test_a_review_lead_decides_the_dispute_of_an_expired_claim(cast: Cast, clock: Any) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.move_to(claim.partner_response_due_at, tick=False)
    claim = transition(claim, "expire", by=SYSTEM)
    assert claim.rejected_by is None
    claim = transition(claim, "dispute", by=cast.manager, **DETAILS["dispute"])
    with pytest.raises(TransitionRefused):
        transition(claim, "reopen", by=cast.reviewer)
    assert transition(claim, "reopen", by=cast.lead).status == S.UNDER_REVIEW


def test_every_managing_role_may_act_for_its_partner(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    for role in (cast.incentives_admin, cast.global_admin, cast.billing_admin):
        claim = draft(cast.partner, by=cast.manager)
        assert (
            perform(django_capture_on_commit_callbacks, claim, "submit", by=role).claim.status == S.SUBMITTED
        )


# ---------------------------------------------------------------------------------------------
# Refusals: the wrong state, the wrong actor


def test_transition_refused_is_permission_denied(cast: Cast) -> None:
    assert issubclass(TransitionRefused, PermissionDenied)
    claim = claim_at(S.EDITING, cast)
    with pytest.raises(PermissionDenied):
        transition(claim, "approve", by=cast.reviewer)


def test_an_unknown_action_is_refused(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    claim = claim_at(S.SUBMITTED, cast)
    for action in ("delete", "save", "", "SUBMIT"):
        assert_refused(
            django_capture_on_commit_callbacks, claim, action, by=cast.manager, match="Unknown action"
        )


def test_documents_come_only_with_resubmit_or_dispute(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.UNDER_REVIEW, cast)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        "approve",
        by=cast.reviewer,
        documents=[pdf_upload()],
        match="Documents cannot be added",
    )


WRONG_STATE_CASES = [
    pytest.param(action, status, id=f"{action}-in-{status}")
    for action, (sources, _actors, _target) in ALLOWED.items()
    for status in S.values
    if status not in sources
]


def permitted_actor(action: str) -> str:
    actors = ALLOWED[action][1]
    return "incentives_admin" if actors == PARTNER_MANAGERS else sorted(actors)[-1]


@pytest.mark.parametrize(("action", "status"), WRONG_STATE_CASES)
def test_an_action_in_the_wrong_state_is_refused_and_changes_nothing(
    action: str, status: str, cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(status, cast)
    clock.move_to(moment_for(action, claim), tick=False)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        action,
        by=cast.actor(permitted_actor(action)),
        match="not possible while the claim is",
        **details_for(action),
    )


PARTNER_ACTIONS = ["submit", "resubmit", "withdraw", "dispute"]
REVIEWER_ACTIONS = ["start_review", "approve", "reject", "request_information", "reopen", "uphold_rejection"]
CUSTOMER_ACTIONS = ["deny_consent"]
SYSTEM_ACTIONS = ["expire", "close_consent_window", "supersede", "lapse"]


def a_source(action: str) -> str:
    # For withdraw and supersede any live state will do; prefer the one most likely to matter.
    sources = ALLOWED[action][0]
    return S.APPROVED if S.APPROVED in sources else sorted(sources)[0]


WRONG_ACTOR_CASES = [
    *[(a, who) for a in PARTNER_ACTIONS for who in ("other_partner", "member", "reviewer", "lead")],
    *[
        (a, who)
        for a in REVIEWER_ACTIONS
        for who in ("incentives_admin", "global_admin", "member", "customer")
    ],
    ("reopen", "reviewer"),  # the reviewer who rejected the claim
    ("uphold_rejection", "reviewer"),
    *[(a, who) for a in CUSTOMER_ACTIONS for who in ("incentives_admin", "reviewer", "system")],
    *[(a, who) for a in SYSTEM_ACTIONS for who in ("incentives_admin", "reviewer", "lead", "customer")],
    *[(a, "anonymous") for a in TRANSITIONS],
    # Ending an association at the customer's request is a review lead's decision alone.
    *[
        ("end_association", who)
        for who in ("incentives_admin", "member", "reviewer", "second_reviewer", "customer", "system")
    ],
]


@pytest.mark.parametrize(
    ("action", "who"), [pytest.param(a, w, id=f"{a}-by-{w}") for a, w in WRONG_ACTOR_CASES]
)
def test_an_action_by_the_wrong_actor_is_refused_and_changes_nothing(
    action: str, who: str, cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(a_source(action), cast)
    # The time condition holds, so only the actor can be what refuses it.
    clock.move_to(moment_for(action, claim), tick=False)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        action,
        by=cast.actor(who),
        match="not allowed",
        **details_for(action),
    )


def test_an_inactive_managing_user_is_refused(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    claim = claim_at(S.EDITING, cast)
    cast.manager.is_active = False
    cast.manager.save()
    assert_refused(django_capture_on_commit_callbacks, claim, "submit", by=cast.manager, match="not allowed")


def test_a_staff_user_outside_the_reviewer_groups_is_no_reviewer(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.SUBMITTED, cast)
    staff = partner_user(PartnerFactory(), Membership.Role.MEMBER, password=None, is_staff=True)
    assert_refused(django_capture_on_commit_callbacks, claim, "start_review", by=staff, match="not allowed")


# ---------------------------------------------------------------------------------------------
# The actor × state matrix: every action, every actor, every state

STATES = [
    S.EDITING,
    S.SUBMITTED,
    S.UNDER_REVIEW,
    S.PARTNER_ACTION_REQUIRED,
    S.APPROVED,
    S.ASSOCIATED,
    S.REJECTED,
    S.DISPUTED,
]


def allowed_actions(status: str, actor: str) -> list[str]:
    return [a for a, (sources, actors, _t) in ALLOWED.items() if status in sources and actor in actors]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("status", STATES)
def test_actor_state_matrix(
    status: str, actor: str, cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(status, cast)
    by = cast.actor(actor)
    allowed = allowed_actions(status, actor)
    for action in TRANSITIONS:
        clock.move_to(moment_for(action, claim), tick=False)
        if action in allowed:
            with transaction.atomic():
                moved = transition(claim, action, by=by, **details_for(action))
                assert moved.status == ALLOWED[action][2]
                assert ClaimEvent.objects.filter(claim=claim, action=action, from_status=status).count() == 1
                transaction.set_rollback(True)  # try the next action on the same claim
            assert Claim.objects.get(pk=claim.pk).status == status
        else:
            gate = "not allowed" if status in ALLOWED[action][0] else "not possible while"
            assert_refused(
                django_capture_on_commit_callbacks, claim, action, by=by, match=gate, **details_for(action)
            )


# ---------------------------------------------------------------------------------------------
# Conditions: deadlines


def test_expire_waits_for_the_partner_response_deadline(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    due = claim.partner_response_due_at
    assert due == add_business_days(BASE, 5)
    clock.move_to(due - SECOND, tick=False)
    assert_refused(django_capture_on_commit_callbacks, claim, "expire", by=SYSTEM, match="still has time")
    clock.move_to(due, tick=False)
    assert transition(claim, "expire", by=SYSTEM).status == S.REJECTED


def test_expire_long_after_the_deadline(cast: Cast, clock: Any) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.move_to(claim.partner_response_due_at + dt.timedelta(days=20), tick=False)
    assert transition(claim, "expire", by=SYSTEM).status == S.REJECTED


def test_consent_window_closes_only_at_its_end_and_the_customer_may_deny_until_then(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    closing = claim_at(S.APPROVED, cast)
    denying = claim_at(S.APPROVED, cast)
    ends = closing.consent_window_ends_at
    assert ends == BASE + dt.timedelta(days=7) == denying.consent_window_ends_at

    clock.move_to(ends - SECOND, tick=False)
    assert_refused(
        django_capture_on_commit_callbacks, closing, "close_consent_window", by=SYSTEM, match="still open"
    )
    assert transition(denying, "deny_consent", by=CUSTOMER).status == S.REJECTED

    clock.move_to(ends, tick=False)
    assert transition(closing, "close_consent_window", by=SYSTEM).status == S.ASSOCIATED


def test_the_customer_cannot_deny_once_the_window_has_ended(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.APPROVED, cast)
    clock.move_to(claim.consent_window_ends_at, tick=False)
    assert_refused(django_capture_on_commit_callbacks, claim, "deny_consent", by=CUSTOMER, match="has ended")
    clock.shift(dt.timedelta(days=10))
    assert_refused(django_capture_on_commit_callbacks, claim, "deny_consent", by=CUSTOMER, match="has ended")


# ---------------------------------------------------------------------------------------------
# Conditions: disputes


def test_dispute_only_within_thirty_days(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    late = claim_at(S.REJECTED, cast)
    in_time = claim_at(S.REJECTED, cast)
    ends = late.dispute_window_ends_at
    assert ends == BASE + dt.timedelta(days=30)

    clock.move_to(ends - SECOND, tick=False)
    assert transition(in_time, "dispute", by=cast.manager, **DETAILS["dispute"]).status == S.DISPUTED
    clock.move_to(ends, tick=False)
    assert_refused(
        django_capture_on_commit_callbacks,
        late,
        "dispute",
        by=cast.manager,
        match="can no longer be disputed",
        **DETAILS["dispute"],
    )
    clock.shift(dt.timedelta(days=60))
    assert_refused(django_capture_on_commit_callbacks, late, "dispute", by=cast.manager, **DETAILS["dispute"])


def test_a_withdrawn_claim_cannot_be_disputed(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    claim = transition(claim_at(S.UNDER_REVIEW, cast), "withdraw", by=cast.manager, reason="wrong_activity")
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        "dispute",
        by=cast.manager,
        match="partner's request or the customer's decline",
        justification="Changed our mind.",
        documents=[pdf_upload()],
    )


def test_a_customer_declined_claim_cannot_be_disputed(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = transition(claim_at(S.APPROVED, cast), "deny_consent", by=CUSTOMER)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        "dispute",
        by=cast.manager,
        match="partner's request or the customer's decline",
        **DETAILS["dispute"],
    )


def test_no_second_dispute_after_the_rejection_is_upheld(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.DISPUTED, cast)
    clock.shift(dt.timedelta(days=1))
    claim = transition(claim, "uphold_rejection", by=cast.lead, comment="Final.")
    assert_refused(
        django_capture_on_commit_callbacks, claim, "dispute", by=cast.manager, **DETAILS["dispute"]
    )


def test_a_new_rejection_after_a_reopened_dispute_may_be_disputed_again(cast: Cast, clock: Any) -> None:
    claim = claim_at(S.DISPUTED, cast)
    clock.shift(dt.timedelta(days=1))
    claim = transition(claim, "reopen", by=cast.lead)
    claim = transition(claim, "reject", by=cast.second_reviewer, **DETAILS["reject"])
    assert claim.dispute_window_ends_at == BASE + dt.timedelta(days=31)
    clock.shift(dt.timedelta(days=29))
    assert transition(claim, "dispute", by=cast.manager, **DETAILS["dispute"]).status == S.DISPUTED


@pytest.mark.parametrize("justification", ["", "   \n\t"])
def test_a_dispute_needs_a_justification_or_documents(
    justification: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.REJECTED, cast)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        "dispute",
        by=cast.manager,
        match="business justification or upload",
        justification=justification,
    )


def test_a_dispute_is_refused_while_another_live_claim_covers_the_same_customer_and_product(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    rejected = claim_at(S.REJECTED, cast)
    draft(cast.partner, by=cast.manager, customer_tenant_id=rejected.customer_tenant_id)
    assert_refused(
        django_capture_on_commit_callbacks,
        rejected,
        "dispute",
        by=cast.manager,
        match="already covers this customer",
        **DETAILS["dispute"],
    )


# ---------------------------------------------------------------------------------------------
# Conditions: resubmit needs an answer given after the request


def test_resubmit_without_an_answer_is_refused(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)  # its PoE document predates the request
    clock.shift(dt.timedelta(hours=1))
    for comment in ("", "   "):
        assert_refused(
            django_capture_on_commit_callbacks,
            claim,
            "resubmit",
            by=cast.manager,
            match="Add a comment or a new PoE",
            comment=comment,
        )


def test_resubmit_after_a_new_upload_is_allowed(cast: Cast, clock: Any) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.shift(dt.timedelta(minutes=30))
    add_document(claim, by=cast.manager, upload=pdf_upload("dated-sow.pdf"))
    assert transition(claim, "resubmit", by=cast.manager).status == S.UNDER_REVIEW


def test_resubmit_after_a_partner_comment_is_allowed(cast: Cast, clock: Any) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.shift(dt.timedelta(minutes=30))
    add_comment(claim, by=cast.global_admin, body="See the signed SOW, page 2.")
    assert transition(claim, "resubmit", by=cast.manager).status == S.UNDER_REVIEW


def test_a_reviewer_comment_is_no_partner_answer(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.shift(dt.timedelta(minutes=30))
    add_comment(claim, by=cast.reviewer, body="Reminder: the SOW must be signed.")
    assert_refused(
        django_capture_on_commit_callbacks, claim, "resubmit", by=cast.manager, match="Add a comment"
    )


def test_an_answer_to_an_earlier_request_does_not_answer_the_next_one(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.PARTNER_ACTION_REQUIRED, cast)
    clock.shift(dt.timedelta(hours=1))
    claim = transition(claim, "resubmit", by=cast.manager, comment="First answer.")
    clock.shift(dt.timedelta(hours=1))
    claim = transition(claim, "request_information", by=cast.reviewer, **DETAILS["request_information"])
    clock.shift(dt.timedelta(hours=1))
    assert_refused(
        django_capture_on_commit_callbacks, claim, "resubmit", by=cast.manager, match="Add a comment"
    )


# ---------------------------------------------------------------------------------------------
# Conditions: reason codes and comments


def test_submit_refuses_an_incomplete_draft(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    claim = draft(cast.partner, by=cast.manager, document=False, work_description="")
    refusal = assert_refused(django_capture_on_commit_callbacks, claim, "submit", by=cast.manager)
    assert "Upload at least one proof-of-execution document." in str(refusal)
    assert "Describe the work you did for the customer." in str(refusal)


@pytest.mark.parametrize(
    ("reasons", "comment", "match"),
    [
        ([], "Please add the SOW.", "at least one reason"),
        (["bogus"], "Please add the SOW.", "Unknown reason code: bogus"),
        (["missing_products", "bogus"], "Please add the SOW.", "Unknown reason code: bogus"),
        (["poe_unavailable"], "Please add the SOW.", "Unknown reason code"),  # a rejection code
        (["missing_products"], "", "Write a comment"),
        (["missing_products"], "  \n ", "Write a comment"),
    ],
)
def test_request_information_needs_valid_reasons_and_a_comment(
    reasons: list[str], comment: str, match: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.UNDER_REVIEW, cast)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        "request_information",
        by=cast.reviewer,
        match=match,
        reasons=reasons,
        comment=comment,
    )


@pytest.mark.parametrize(
    ("sub_reasons", "comment", "match"),
    [
        ([], "Unreadable.", "at least one rejection reason"),
        (["bogus"], "Unreadable.", "Unknown reason code: bogus"),
        (["missing_all_poe"], "Unreadable.", "Unknown reason code"),  # an information-request code
        (["partner_request"], "Unreadable.", "Unknown reason code"),  # a top-level rejection reason
        (["poe_unavailable"], "", "Write a comment"),
    ],
)
def test_reject_needs_valid_sub_reasons_and_a_comment(
    sub_reasons: list[str], comment: str, match: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.UNDER_REVIEW, cast)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        "reject",
        by=cast.reviewer,
        match=match,
        sub_reasons=sub_reasons,
        comment=comment,
    )


@pytest.mark.parametrize("reason", ["bogus", "", "customer_decline"])
def test_withdraw_needs_a_known_reason(
    reason: str, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    claim = claim_at(S.SUBMITTED, cast)
    assert_refused(django_capture_on_commit_callbacks, claim, "withdraw", by=cast.manager, reason=reason)


def test_uphold_rejection_needs_a_comment(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    claim = claim_at(S.DISPUTED, cast)
    assert_refused(
        django_capture_on_commit_callbacks,
        claim,
        "uphold_rejection",
        by=cast.lead,
        match="why the rejection stands",
        comment=" ",
    )
