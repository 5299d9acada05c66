"""The claim answers every question a surface asks: what may be done to it outside the state
machine, the facts its transitions carry, the duplicate rule, the programme, the subscription-ID
rule and who is a reviewer or a lead.

The expectations are written by hand from the design, not read back from `claims.models`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.actors import CUSTOMER, SYSTEM
from claims.models import (
    Claim,
    ClaimEvent,
    Fact,
    InsufficientPoeSubReason,
    NotDisputable,
    Product,
    Programme,
    RejectionReason,
    SolutionArea,
    Subscription,
    Tenant,
    WithdrawReason,
    group_names,
    is_lead,
    is_reviewer,
    subscription_lapsed,
)
from claims.workflow import TRANSITIONS, transition
from tests.factories import PartnerFactory, claim_fields, claim_in, draft, partner_user, reviewer

S = Claim.Status
NOW = dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC)
OPEN = NOW + dt.timedelta(days=3)  # a dispute window still open
SHUT = NOW - dt.timedelta(seconds=1)  # a dispute window just closed
PARTNER = ClaimEvent.ActorKind.PARTNER
REVIEWER = ClaimEvent.ActorKind.REVIEWER


def in_memory(status: str, **fields: Any) -> Claim:
    """An unsaved claim in `status`: the rules read the claim, never the database."""
    return Claim(status=status, **fields)


@pytest.fixture(autouse=True)
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# ---------------------------------------------------------------------------------------------
# Facts on the transitions


def test_the_actions_that_take_documents_are_the_answer_to_a_request_and_a_dispute() -> None:
    assert set(Claim.actions_with(Fact.TAKES_DOCUMENTS)) == {"resubmit", "dispute"}


def test_the_reviewer_buttons_come_in_the_order_the_reviewer_works() -> None:
    assert Claim.actions_with(Fact.REVIEWER_BUTTON) == (
        "start_review",
        "approve",
        "request_information",
        "reject",
        "reopen",
        "uphold_rejection",
        "end_association",
    )


def test_a_claim_can_be_superseded_while_a_partner_holds_it_and_not_once_disputed() -> None:
    assert Claim.supersedable_statuses() == (
        S.SUBMITTED,
        S.UNDER_REVIEW,
        S.PARTNER_ACTION_REQUIRED,
        S.APPROVED,
        S.ASSOCIATED,
    )


def test_only_an_association_lapses_and_no_button_offers_it() -> None:
    assert Claim.sources_of("lapse") == (S.ASSOCIATED,)
    assert Claim.transition_facts()["lapse"] == {}


@pytest.mark.django_db
def test_the_lapse_condition_and_the_lapse_filter_agree_claim_by_claim() -> None:
    """`subscription_lapsed` on one claim (asked of the database or read from the annotation a
    sweep loads) and `Claim.lapse_due_q` on a list give the same answer."""
    long_ago = NOW - dt.timedelta(days=30, seconds=1)
    just_now = NOW - dt.timedelta(days=30)
    # name: (the claim names a subscription, the feed has it on the claim's own tenant (True),
    # another's (False) or not at all (None), inactive since)
    named: dict[str, tuple[bool, bool | None, dt.datetime | None]] = {
        "lapsed": (True, True, long_ago),
        "not yet": (True, True, just_now),
        "live": (True, True, None),
        "another tenant's": (True, False, long_ago),
        "unknown": (True, None, None),
        "none": (False, None, None),
    }
    manager = partner_user(PartnerFactory())
    rita = reviewer()
    claims = {}
    for name, (names_one, _on, _since) in named.items():
        # Each on a tenant of its own: claims on one tenant and product compete, and one wins.
        claim = claim_in(
            S.APPROVED, by=manager, review_by=rita, subscription_id=uuid.uuid4() if names_one else None
        )
        with time_machine.travel(claim.consent_window_ends_at, tick=False):
            claims[name] = transition(claim, "close_consent_window", by=SYSTEM)
    # The commerce feed, once the associations stand.
    for name, (_names_one, own, since) in named.items():
        if own is None:
            continue
        claim = claims[name]
        Subscription.objects.create(
            subscription_id=claim.subscription_id,
            tenant=Tenant.objects.create(
                tenant_id=claim.customer_tenant_id if own else uuid.uuid4(), name=claim.customer_name
            ),
            product=Product.objects.get(code="d365-sales"),
            channel=Subscription.Channel.DIRECT,
            status=Subscription.Status.DELETED if since else Subscription.Status.ACTIVE,
            seats=5,
            start_date=dt.date(2024, 1, 1),
            inactive_since=since,
        )

    found = set(Claim.objects.filter(Claim.lapse_due_q(NOW)).values_list("pk", flat=True))
    assert found == {claims["lapsed"].pk}
    annotated = Claim.objects.annotate(
        **{Claim.INACTIVE_SINCE_ANNOTATION: Claim.subscription_inactive_since_expression()}
    )
    for name, claim in claims.items():
        fresh = Claim.objects.get(pk=claim.pk)
        loaded = annotated.get(pk=claim.pk)
        assert subscription_lapsed(fresh) is subscription_lapsed(loaded) is (name == "lapsed"), name
        with CaptureQueriesContext(connection) as queries:
            subscription_lapsed(loaded)
        assert len(queries) == 0, "the annotation a sweep loads is read, not asked again"


def test_every_transition_has_its_facts_listed_and_the_sources_of_one_read_back() -> None:
    assert tuple(Claim.transition_facts()) == TRANSITIONS
    assert Claim.transition_facts()["submit"] == {}
    assert Claim.sources_of("reopen") == (S.DISPUTED,)
    assert Claim.sources_of("withdraw") == Claim.supersedable_statuses()


# ---------------------------------------------------------------------------------------------
# What a surface may offer: copy, delete, remove a document, comment, assign


# status: (may copy once past disputing, may delete, may remove documents, partner and reviewer
# may comment, assignable)
OFFERS: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    S.EDITING: (False, True, True, False, False),
    S.SUBMITTED: (False, False, False, True, True),
    S.UNDER_REVIEW: (False, False, False, True, True),
    S.PARTNER_ACTION_REQUIRED: (False, False, False, True, True),
    S.APPROVED: (False, False, False, True, True),
    S.ASSOCIATED: (False, False, False, True, False),
    S.REJECTED: (True, False, False, True, False),
    S.DISPUTED: (False, False, False, True, True),
}


@pytest.mark.parametrize("status", list(OFFERS))
def test_what_may_be_done_to_a_claim_in_each_state(status: str) -> None:
    copy, delete, remove, comment, assign = OFFERS[status]
    claim = in_memory(status, dispute_window_ends_at=SHUT)
    assert claim.may_copy is copy
    assert claim.may_delete is delete
    assert claim.may_remove_documents is remove
    assert claim.may_comment(PARTNER) is comment
    assert claim.may_partner_comment is comment
    assert claim.may_comment(REVIEWER) is comment
    assert claim.is_assignable is assign
    # A refusal has words exactly when the answer is no.
    assert bool(claim.copy_refusal()) is not copy
    assert bool(claim.delete_refusal()) is not delete
    assert bool(claim.document_removal_refusal()) is not remove
    assert bool(claim.comment_refusal(PARTNER)) is not comment
    assert bool(claim.assignment_refusal()) is not assign


@pytest.mark.parametrize("status", list(OFFERS))
def test_a_claim_may_be_edited_exactly_while_the_partner_holds_it_unreviewed(status: str) -> None:
    editable = status in (S.EDITING, S.SUBMITTED, S.PARTNER_ACTION_REQUIRED)
    refusal = in_memory(status).edit_refusal()
    assert (refusal == "") is editable
    if not editable:
        assert refusal == f"A claim that is {S(status).label} cannot be edited."


@pytest.mark.django_db
def test_reviewers_see_every_claim_but_the_partners_drafts() -> None:
    partner = PartnerFactory()
    user = partner_user(partner)
    kept_draft = draft(partner, by=user)
    submitted = claim_in(S.SUBMITTED, partner=partner)
    assert list(Claim.for_reviewers()) == [submitted]
    assert list(Claim.for_reviewers(Claim.objects.filter(pk=kept_draft.pk))) == []
    assert not kept_draft.in_review_queue and submitted.in_review_queue
    # The admin's status filter offers the same states, in the order the statuses are declared.
    assert [str(s) for s in Claim.REVIEWER_STATUSES] == [
        "submitted",
        "under_review",
        "partner_action_required",
        "approved",
        "associated",
        "rejected",
        "disputed",
    ]


def test_the_sub_reasons_of_a_withdrawal_and_of_a_rejection_come_from_their_own_lists() -> None:
    assert Claim.sub_reason_choices(RejectionReason.PARTNER_REQUEST) is WithdrawReason
    for reason in set(RejectionReason) - {RejectionReason.PARTNER_REQUEST}:
        assert Claim.sub_reason_choices(reason) is InsufficientPoeSubReason


def test_a_rejection_still_open_to_dispute_cannot_be_copied_yet() -> None:
    claim = in_memory(
        S.REJECTED, rejection_reason=RejectionReason.INSUFFICIENT_POE, dispute_window_ends_at=OPEN
    )
    assert not claim.may_copy
    assert "once it can no longer be disputed" in claim.copy_refusal()


@pytest.mark.parametrize("reason", [RejectionReason.PARTNER_REQUEST, RejectionReason.CUSTOMER_DECLINE])
def test_a_rejection_that_was_never_disputable_can_be_copied_at_once(reason: str) -> None:
    assert in_memory(S.REJECTED, rejection_reason=reason, dispute_window_ends_at=None).may_copy


@pytest.mark.parametrize("kind", [ClaimEvent.ActorKind.CUSTOMER, ClaimEvent.ActorKind.SYSTEM])
def test_the_customer_and_the_system_never_comment(kind: str) -> None:
    claim = in_memory(S.UNDER_REVIEW)
    assert not claim.may_comment(kind)
    assert claim.comment_refusal(kind) == "You are not allowed to comment on this claim."


def test_a_draft_refuses_partner_and_reviewer_comments_in_their_own_words() -> None:
    claim = in_memory(S.EDITING)
    assert claim.comment_refusal(PARTNER) == "Comments open once the claim is submitted."
    assert claim.comment_refusal(REVIEWER) == "A draft is not in review yet; comment once it is submitted."


def test_a_partner_comment_is_always_shown_to_the_partner_and_a_reviewer_chooses() -> None:
    assert Claim.comment_partner_visible(PARTNER, asked=False) is True
    assert Claim.comment_partner_visible(REVIEWER, asked=False) is False
    assert Claim.comment_partner_visible(REVIEWER, asked=True) is True


def test_an_unassignable_claim_says_its_state() -> None:
    assert in_memory(S.ASSOCIATED).assignment_refusal() == (
        "A claim that is Approved · sent for incentive assessment has no reviewer to assign."
    )


# ---------------------------------------------------------------------------------------------
# Disputable, and why not


@pytest.mark.parametrize(
    ("status", "reason", "window", "because"),
    [
        (S.REJECTED, RejectionReason.INSUFFICIENT_POE, OPEN, None),
        (S.REJECTED, RejectionReason.NO_PARTNER_RESPONSE, OPEN, None),
        (S.REJECTED, RejectionReason.SUPERSEDED, OPEN, None),
        (S.REJECTED, RejectionReason.SUBSCRIPTION_INACTIVE, OPEN, None),
        (S.REJECTED, RejectionReason.SUBSCRIPTION_INACTIVE, SHUT, NotDisputable.WINDOW_CLOSED),
        (S.REJECTED, RejectionReason.INSUFFICIENT_POE, SHUT, NotDisputable.WINDOW_CLOSED),
        (S.REJECTED, RejectionReason.INSUFFICIENT_POE, None, NotDisputable.WINDOW_CLOSED),
        (S.REJECTED, RejectionReason.PARTNER_REQUEST, OPEN, NotDisputable.REJECTED_ON_REQUEST),
        (S.REJECTED, RejectionReason.CUSTOMER_DECLINE, None, NotDisputable.REJECTED_ON_REQUEST),
        (S.DISPUTED, RejectionReason.INSUFFICIENT_POE, None, NotDisputable.NOT_REJECTED),
        (S.UNDER_REVIEW, "", None, NotDisputable.NOT_REJECTED),
    ],
)
def test_whether_a_claim_is_disputable_and_why_not(
    status: str, reason: str, window: dt.datetime | None, because: NotDisputable | None
) -> None:
    claim = in_memory(status, rejection_reason=reason, dispute_window_ends_at=window)
    assert claim.not_disputable_because == because
    assert claim.is_disputable is (because is None)


def test_the_reasons_read_as_the_refusals_the_partner_sees() -> None:
    assert str(NotDisputable.REJECTED_ON_REQUEST.label) == (
        "A rejection at the partner's request or the customer's decline cannot be disputed."
    )
    assert str(NotDisputable.WINDOW_CLOSED.label) == (
        "This rejection can no longer be disputed; submit a new claim with updated PoE instead."
    )


@pytest.mark.django_db
def test_the_disputable_filter_finds_exactly_the_disputable_claims() -> None:
    partner = PartnerFactory()
    manager = partner_user(partner)
    rejected = claim_in(S.REJECTED, partner=partner, by=manager)
    withdrawn = claim_in(S.SUBMITTED, partner=partner, by=manager)
    withdrawn = transition(withdrawn, "withdraw", by=manager, reason="wrong_mpn")
    live = claim_in(S.UNDER_REVIEW, partner=partner, by=manager)
    claims = Claim.objects.filter(pk__in=[rejected.pk, withdrawn.pk, live.pk])
    assert set(claims.filter(Claim.disputable_q(NOW))) == {c for c in claims if c.is_disputable} == {rejected}
    later = rejected.dispute_window_ends_at
    assert not claims.filter(Claim.disputable_q(later)).exists()


# ---------------------------------------------------------------------------------------------
# The duplicate rule: one query, one message


@pytest.mark.django_db
def test_the_duplicate_query_finds_live_claims_on_the_same_tenant_activity_and_a_product() -> None:
    partner = PartnerFactory()
    manager = partner_user(partner)
    tenant = uuid.uuid4()
    first = draft(partner, by=manager, customer_tenant_id=tenant, products=("d365-sales",))
    draft(partner, by=manager, customer_tenant_id=tenant, activity="presales", products=("d365-sales",))
    draft(partner, by=manager, customer_tenant_id=uuid.uuid4(), products=("d365-sales",))
    found = Claim.duplicates_of(
        partner_id=partner.pk,
        tenant_id=tenant,
        activity="usage",
        products=first.products.all(),
        excluding=None,
    )
    assert list(found) == [first]
    assert not Claim.duplicates_of(
        partner_id=partner.pk,
        tenant_id=tenant,
        activity="usage",
        products=first.products.all(),
        excluding=first.pk,
    ).exists()


@pytest.mark.django_db
def test_a_claim_and_the_flag_on_a_list_agree_on_duplicates() -> None:
    partner = PartnerFactory()
    manager = partner_user(partner)
    rejected = claim_in(S.REJECTED, partner=partner, by=manager)
    twin = claim_in(S.EDITING, partner=partner, by=manager, customer_tenant_id=rejected.customer_tenant_id)
    alone = draft(partner, by=manager)
    flagged = {
        c.pk: c.has_duplicate for c in Claim.with_duplicate_flag(Claim.objects.filter(partner=partner))
    }
    # A rejected claim is not live: a draft on the same customer does not duplicate it, but the
    # rejected claim (were it live again) would duplicate the draft.
    assert flagged == {rejected.pk: True, twin.pk: False, alone.pk: False}
    assert {c.pk: c.duplicates().exists() for c in Claim.objects.filter(partner=partner)} == flagged


@pytest.mark.django_db
def test_the_duplicate_message_names_each_claim() -> None:
    partner = PartnerFactory()
    one = draft(partner, name="North rollout")
    assert Claim.duplicate_message([one]) == (
        "Another live claim of yours already covers this customer, activity and product: "
        f"“North rollout” (#{one.pk})."
    )


# ---------------------------------------------------------------------------------------------
# The programme and the subscription ID


@pytest.mark.parametrize(
    ("activity", "programme"),
    [
        ("presales", Programme.OSA),
        ("usage", Programme.OSU),
        ("revenue_association", Programme.BUSINESS_INFLUENCER),
        ("", None),
    ],
)
def test_the_activity_decides_the_programme(activity: str, programme: Programme | None) -> None:
    assert in_memory(S.ASSOCIATED, activity=activity).programme == programme
    assert Claim.programme_of(activity) == programme


def test_only_the_business_influencer_programme_pays_no_incentives() -> None:
    assert [p for p in Programme if not p.pays_incentives] == [Programme.BUSINESS_INFLUENCER]


def test_only_business_applications_claims_take_a_subscription_id() -> None:
    assert Claim.area_takes_subscription_id(SolutionArea.BUSINESS_APPLICATIONS)
    assert not Claim.area_takes_subscription_id(SolutionArea.MICROSOFT_365)
    assert in_memory(S.EDITING, solution_area=SolutionArea.BUSINESS_APPLICATIONS).takes_subscription_id
    assert not in_memory(S.EDITING, solution_area=SolutionArea.MICROSOFT_365).takes_subscription_id


@pytest.mark.django_db
def test_a_subscription_id_on_a_microsoft_365_claim_is_refused_on_the_field() -> None:
    partner = PartnerFactory()
    fields = claim_fields(partner, solution_area=SolutionArea.MICROSOFT_365, subscription_id=uuid.uuid4())
    claim = Claim(partner=partner, **fields)
    with pytest.raises(ValidationError) as refused:
        claim.clean()
    assert refused.value.message_dict["subscription_id"] == [
        "A subscription ID applies to Business Applications claims only."
    ]


# ---------------------------------------------------------------------------------------------
# Group names, reviewers and leads


@pytest.mark.django_db
def test_group_names_asks_the_database_once_per_user_object() -> None:
    lead = reviewer(lead=True)
    with CaptureQueriesContext(connection) as queries:
        first = group_names(lead)
        assert group_names(lead) == first
        assert is_reviewer(lead) and is_lead(lead)
    assert len(queries) == 1
    assert Group.objects.filter(user=lead).count() == len(first)


@pytest.mark.django_db
def test_a_reviewer_is_not_a_lead_and_nobody_else_is_either() -> None:
    plain = reviewer()
    manager = partner_user(PartnerFactory())
    assert is_reviewer(plain) and not is_lead(plain)
    for someone in (manager, AnonymousUser(), CUSTOMER, SYSTEM):
        assert not is_reviewer(someone) and not is_lead(someone)
    assert group_names(AnonymousUser()) == group_names(CUSTOMER) == frozenset()
