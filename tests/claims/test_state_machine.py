"""The claim lifecycle under random actions, random actors and a moving clock.

A hypothesis `RuleBasedStateMachine` drives one claim through `claims.workflow` with every transition
name, by every kind of actor, with valid and invalid details, while the clock jumps forward by
minutes to weeks or lands exactly on a deadline. A small model written from docs/design.md predicts
whether each attempt is allowed and what it sets; the invariants check the database against it:
status moves only along the design's edges, every move has exactly one transition event and the
events chain, each deadline column is set exactly in its state, and a refused attempt changes
nothing.

Isolation: the whole run is one test transaction (rolled back at the end); each example builds its
own partners, people and claim, so examples never see each other's rows on SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.test import TestCase as DjangoTestCase
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from claims.models import (
    Claim,
    ClaimEvent,
    Comment,
    Membership,
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
    decline_end_request,
    request_end_association,
    transition,
)
from cpor.business_days import add_business_days
from cpor.models import OutboundEmail
from tests.factories import PartnerFactory, draft, partner_user, pdf_upload, reviewer

S = Claim.Status
START = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)  # a Monday
DEADLINE_FIELDS = (
    "review_start_due_at",
    "review_due_at",
    "partner_response_due_at",
    "consent_window_ends_at",
    "dispute_window_ends_at",
    "dispute_response_due_at",
)
MAX_DOCUMENTS = 20
ACTION_TAKES = dt.timedelta(milliseconds=1)

# ---------------------------------------------------------------------------------------------
# The model, written by hand from docs/design.md's "Claim lifecycle" (not read back from claims.models)

LIVE_SUBMITTED = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.ASSOCIATED})
EDGES: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({S.EDITING}), S.SUBMITTED),
    "start_review": (frozenset({S.SUBMITTED}), S.UNDER_REVIEW),
    "request_information": (frozenset({S.UNDER_REVIEW}), S.PARTNER_ACTION_REQUIRED),
    "resubmit": (frozenset({S.PARTNER_ACTION_REQUIRED}), S.UNDER_REVIEW),
    "approve": (frozenset({S.UNDER_REVIEW}), S.APPROVED),
    "reject": (frozenset({S.UNDER_REVIEW}), S.REJECTED),
    "expire": (frozenset({S.PARTNER_ACTION_REQUIRED}), S.REJECTED),
    "withdraw": (LIVE_SUBMITTED, S.REJECTED),
    "deny_consent": (frozenset({S.APPROVED}), S.REJECTED),
    "close_consent_window": (frozenset({S.APPROVED}), S.ASSOCIATED),
    "supersede": (LIVE_SUBMITTED, S.REJECTED),
    "dispute": (frozenset({S.REJECTED}), S.DISPUTED),
    "reopen": (frozenset({S.DISPUTED}), S.UNDER_REVIEW),
    "uphold_rejection": (frozenset({S.DISPUTED}), S.REJECTED),
    "end_association": (frozenset({S.ASSOCIATED}), S.REJECTED),
    "lapse": (frozenset({S.ASSOCIATED}), S.REJECTED),
}
PARTNER, REVIEWER = "partner", "reviewer"
# Who may act, by kind; the named people of each kind below.
WHO_MAY: dict[str, str] = {
    "submit": PARTNER,
    "start_review": REVIEWER,
    "request_information": REVIEWER,
    "resubmit": PARTNER,
    "approve": REVIEWER,
    "reject": REVIEWER,
    "expire": "system",
    "withdraw": PARTNER,
    "deny_consent": "customer",
    "close_consent_window": "system",
    "supersede": "system",
    "dispute": PARTNER,
    "reopen": REVIEWER,
    "uphold_rejection": REVIEWER,
    "end_association": REVIEWER,
    "lapse": "system",
}
ACTORS = (
    "manager",
    "member",
    "other_partner",
    "reviewer",
    "second_reviewer",
    "customer",
    "system",
    "anonymous",
)
KIND_OF = {
    "manager": PARTNER,
    "reviewer": REVIEWER,
    "second_reviewer": REVIEWER,
    "customer": "customer",
    "system": "system",
}
PEOPLE_OF_KIND = {
    PARTNER: ["manager"],
    REVIEWER: ["reviewer", "second_reviewer"],
    "customer": ["customer"],
    "system": ["system"],
}
# A review lead decides a dispute, and never the reviewer who rejected the claim (separation of duties).
DISPUTE_DECISIONS = frozenset({"reopen", "uphold_rejection"})
# Ending an association at the customer's request is a review lead's decision too, on a pending request.
LEAD_DECISIONS = frozenset({*DISPUTE_DECISIONS, "end_association"})
LEADS = frozenset({"second_reviewer"})  # the people below who are review leads
SLA_FIELDS = frozenset({"review_start_due_at", "review_due_at", "dispute_response_due_at"})
REJECTION_BY = {
    "reject": "insufficient_poe",
    "expire": "no_partner_response",
    "withdraw": "partner_request",
    "deny_consent": "customer_decline",
    "supersede": "superseded",
    "end_association": "customer_request",
    "lapse": "subscription_inactive",
}
# An association lapses once its subscription has been out of active/grace longer than this.
LAPSE_AFTER = dt.timedelta(days=30)
NOT_DISPUTABLE = {"partner_request", "customer_decline"}
INFO_CODES = [
    "missing_all_poe",
    "missing_customer_acknowledgment",
    "missing_or_old_dates",
    "missing_partner_solution",
    "missing_products",
]
SUB_CODES = ["missing_customer_consent", "missing_products", "no_partner_response", "poe_unavailable"]
WITHDRAW_CODES = ["wrong_mpn", "wrong_activity", "no_longer_working"]
# The shortest route into each state, so that every example may start anywhere in the lifecycle.
ROUTES: dict[str, list[str]] = {
    S.EDITING: [],
    S.SUBMITTED: ["submit"],
    S.UNDER_REVIEW: ["submit", "start_review"],
    S.PARTNER_ACTION_REQUIRED: ["submit", "start_review", "request_information"],
    S.APPROVED: ["submit", "start_review", "approve"],
    S.ASSOCIATED: ["submit", "start_review", "approve", "close_consent_window"],
    S.REJECTED: ["submit", "start_review", "reject"],
    S.DISPUTED: ["submit", "start_review", "reject", "dispute"],
}
ROUTE_DETAILS: dict[str, dict[str, Any]] = {
    "request_information": {"reasons": ["missing_products"], "comment": "Name the products in the SOW."},
    "reject": {"sub_reasons": ["poe_unavailable"], "comment": "The PoE could not be opened."},
    "dispute": {"justification": "The signed SOW is on page 2."},
}
WAITS = [
    dt.timedelta(minutes=1),
    dt.timedelta(hours=1),
    dt.timedelta(days=1),
    dt.timedelta(days=3),
    dt.timedelta(days=8),
    dt.timedelta(days=31),
]
TEXTS = st.sampled_from(["", "   ", "Signed SOW attached; see page 2."])


def _deadline_after(action: str, now: dt.datetime) -> tuple[str, dt.datetime] | None:
    return {
        "submit": ("review_start_due_at", add_business_days(now, 5)),
        "start_review": ("review_due_at", add_business_days(now, 5)),
        "request_information": ("partner_response_due_at", add_business_days(now, 5)),
        "resubmit": ("review_due_at", add_business_days(now, 5)),
        "approve": ("consent_window_ends_at", now + dt.timedelta(days=7)),
        "reject": ("dispute_window_ends_at", now + dt.timedelta(days=30)),
        "expire": ("dispute_window_ends_at", now + dt.timedelta(days=30)),
        "supersede": ("dispute_window_ends_at", now + dt.timedelta(days=30)),
        "end_association": ("dispute_window_ends_at", now + dt.timedelta(days=30)),
        "lapse": ("dispute_window_ends_at", now + dt.timedelta(days=30)),
        "dispute": ("dispute_response_due_at", add_business_days(now, 5)),
        "reopen": ("review_due_at", add_business_days(now, 5)),
    }.get(action)


def _text(value: Any) -> bool:
    return bool((value or "").strip())


def _codes_ok(values: list[str], valid: list[str]) -> bool:
    return bool(values) and all(v in valid for v in values)


def details_strategy(action: str, *, sensible: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Details for `action`: always valid when `sensible`, anything plausible otherwise."""
    text = st.just("Signed SOW attached; see page 2.") if sensible else TEXTS

    def codes(valid: list[str]) -> st.SearchStrategy[list[str]]:
        if sensible:
            return st.lists(st.sampled_from(valid), min_size=1, max_size=2)
        return st.lists(st.sampled_from([*valid, "bogus"]), max_size=3)

    documents = st.builds(lambda n: [pdf_upload(f"poe-{i}.pdf") for i in range(n)], st.integers(0, 1))
    if action == "request_information":
        return st.fixed_dictionaries({"reasons": codes(INFO_CODES), "comment": text})
    if action == "reject":
        return st.fixed_dictionaries({"sub_reasons": codes(SUB_CODES), "comment": text})
    if action == "withdraw":
        reason = st.sampled_from(WITHDRAW_CODES if sensible else [*WITHDRAW_CODES, "bogus"])
        return st.fixed_dictionaries({"reason": reason}, optional={"comment": TEXTS})
    if action in ("uphold_rejection", "end_association"):
        return st.fixed_dictionaries({"comment": text})
    if action == "resubmit" and sensible:
        return st.fixed_dictionaries({"comment": text}, optional={"documents": documents})
    if action == "resubmit":
        return st.fixed_dictionaries({}, optional={"comment": text, "documents": documents})
    if action == "dispute" and sensible:
        return st.fixed_dictionaries({"justification": text}, optional={"documents": documents})
    if action == "dispute":
        return st.fixed_dictionaries({}, optional={"justification": text, "documents": documents})
    if action in ("approve", "reopen", "deny_consent", "supersede"):
        return st.fixed_dictionaries({}, optional={"comment": TEXTS})
    return st.just({})


class ClaimLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.now = START
        partner = PartnerFactory()
        manager = partner_user(partner, Membership.Role.INCENTIVES_ADMIN, password=None)
        self.people: dict[str, Any] = {
            "manager": manager,
            "member": partner_user(partner, Membership.Role.MEMBER, password=None),
            "other_partner": partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN, password=None),
            "reviewer": reviewer(password=None),
            "second_reviewer": reviewer(lead=True, password=None),
            "customer": CUSTOMER,
            "system": SYSTEM,
            "anonymous": AnonymousUser(),
        }
        self.claim = draft(partner, by=manager, subscription_id=uuid.uuid4())
        # The model of the claim.
        self.status: str = S.EDITING
        self.deadlines: dict[str, dt.datetime | None] = dict.fromkeys(DEADLINE_FIELDS)
        self.rejection_reason = ""
        self.information_requested_at: dt.datetime | None = None
        self.last_partner_answer_at: dt.datetime = START  # the draft's PoE document
        self.documents = 1
        self.moves = 0
        self.assigned_reviewer: Any = None
        self.rejected_by: Any = None
        self.end_requested = False  # the customer's request to end the association is pending
        # Since when the commerce feed reports the claim's subscription out of active/grace (None:
        # live, or not reported at all).
        self.subscription_inactive_since: dt.datetime | None = None

    def teardown(self) -> None:
        self.traveller.stop()

    # -- the model's prediction ----------------------------------------------------------------

    def allowed(self, action: str, who: str, details: dict[str, Any]) -> bool:
        sources, _target = EDGES[action]
        if self.status not in sources or WHO_MAY[action] != KIND_OF.get(who):
            return False
        if action in DISPUTE_DECISIONS and (who not in LEADS or self.people[who] == self.rejected_by):
            return False
        if action == "end_association":
            return who in LEADS and self.end_requested and _text(details.get("comment"))
        now = self.now
        new_documents = len(details.get("documents", []))
        if new_documents and self.documents + new_documents > MAX_DOCUMENTS:
            return False
        if action == "resubmit":
            answered = self.last_partner_answer_at
            if _text(details.get("comment")) or new_documents:
                answered = now
            return self.information_requested_at is not None and answered > self.information_requested_at
        if action == "request_information":
            return _codes_ok(details["reasons"], INFO_CODES) and _text(details["comment"])
        if action == "reject":
            return _codes_ok(details["sub_reasons"], SUB_CODES) and _text(details["comment"])
        if action == "withdraw":
            return details["reason"] in WITHDRAW_CODES
        if action == "uphold_rejection":
            return _text(details["comment"])
        if action == "expire":
            return now >= self.deadlines["partner_response_due_at"]
        if action == "deny_consent":
            return now < self.deadlines["consent_window_ends_at"]
        if action == "close_consent_window":
            return now >= self.deadlines["consent_window_ends_at"]
        if action == "lapse":
            since = self.subscription_inactive_since
            return since is not None and since < now - LAPSE_AFTER
        if action == "dispute":
            window = self.deadlines["dispute_window_ends_at"]
            return (
                self.rejection_reason not in NOT_DISPUTABLE
                and window is not None
                and now < window
                and (_text(details.get("justification")) or bool(new_documents))
            )
        return True

    def apply(self, action: str, who: str, details: dict[str, Any]) -> None:
        previous_status = self.status
        self.status = EDGES[action][1]
        self.deadlines = dict.fromkeys(DEADLINE_FIELDS)
        deadline = _deadline_after(action, self.now)
        if deadline:
            self.deadlines[deadline[0]] = deadline[1]
        if action in REJECTION_BY:
            self.rejection_reason = REJECTION_BY[action]
            self.rejected_by = self.people[who] if action in ("reject", "end_association") else None
        if previous_status == S.ASSOCIATED:
            # Every way out of an association settles the customer's request to end it.
            self.end_requested = False
        if action == "reopen":
            self.rejection_reason = ""
        if action == "request_information":
            self.information_requested_at = self.now
        if action in ("start_review", "reopen"):
            self.assigned_reviewer = self.people[who]
        if who == "manager" and (_text(details.get("comment")) or details.get("documents")):
            self.last_partner_answer_at = self.now
        self.documents += len(details.get("documents", []))
        self.moves += 1

    def tick(self) -> None:
        """People do not act in the same instant (the clock is frozen between jumps otherwise)."""
        self.now += ACTION_TAKES
        self.clock.move_to(self.now, tick=False)

    # -- the database --------------------------------------------------------------------------

    def observe(self) -> dict[str, Any]:
        pk = self.claim.pk
        return {
            "row": Claim.objects.filter(pk=pk).values().get(),
            "events": ClaimEvent.objects.filter(claim_id=pk).count(),
            "outbox": OutboundEmail.objects.count(),
            "comments": Comment.objects.filter(claim_id=pk).count(),
            "documents": PoeDocument.objects.filter(claim_id=pk).count(),
        }

    def attempt(self, action: str, who: str, details: dict[str, Any]) -> None:
        self.tick()
        expected = self.allowed(action, who, details)
        before = self.observe()
        previous = self.status
        with DjangoTestCase.captureOnCommitCallbacks() as callbacks:
            try:
                moved = transition(self.claim.pk, action, by=self.people[who], **details)
            except TransitionRefused as refusal:
                refused: TransitionRefused | None = refusal
            else:
                refused = None
        if refused is not None:
            event(f"refused {action}")
            assert not expected, f"{action} by {who} in {previous} was refused: {refused}"
            assert self.observe() == before, "a refused action changed something"
            assert callbacks == []
            return
        event(f"{action}: {previous} -> {moved.status}")
        assert expected, f"{action} by {who} in {previous} with {details} was allowed"
        assert moved.status == EDGES[action][1] and previous in EDGES[action][0]
        transition_events = ClaimEvent.objects.filter(claim=self.claim, action=action).order_by("-pk")
        newest = transition_events.first()
        assert (newest.from_status, newest.to_status, newest.created_at) == (previous, moved.status, self.now)
        assert newest.diff["status"] == [previous, moved.status]
        after = self.observe()
        notifications = ClaimEvent.objects.filter(claim=self.claim, action=ClaimEvent.Action.NOTIFICATION)
        new_notifications = notifications.filter(pk__gt=newest.pk).count()
        # A registered step may record its own outcome too (earnings: the assessment at hand-off).
        assessed = ClaimEvent.objects.filter(claim=self.claim, action=ClaimEvent.Action.ASSESSED)
        new_step_events = assessed.filter(pk__gt=newest.pk).count()
        assert new_step_events == (action == "close_consent_window")
        assert after["events"] - before["events"] == 1 + new_notifications + new_step_events
        assert after["outbox"] - before["outbox"] == new_notifications
        self.apply(action, who, details)

    # -- rules ---------------------------------------------------------------------------------

    @initialize(status=st.sampled_from(list(ROUTES)))
    def start_in(self, status: str) -> None:
        for action in ROUTES[status]:
            if action == "close_consent_window":
                self.now = self.deadlines["consent_window_ends_at"]
                self.clock.move_to(self.now, tick=False)
            self.attempt(action, PEOPLE_OF_KIND[WHO_MAY[action]][0], dict(ROUTE_DETAILS.get(action, {})))
        assert self.status == status

    @rule(action=st.sampled_from(TRANSITIONS), who=st.sampled_from(ACTORS), data=st.data())
    def anyone_tries_anything(self, action: str, who: str, data: st.DataObject) -> None:
        self.attempt(action, who, data.draw(details_strategy(action, sensible=False)))

    @rule(data=st.data(), steps=st.integers(min_value=1, max_value=4))
    def the_right_actors_work_on_the_claim(self, data: st.DataObject, steps: int) -> None:
        """A few actions of the current state by the actor the design names, with waits between."""
        for _ in range(steps):
            wait = data.draw(st.sampled_from([None, *WAITS]))
            if wait is not None:
                self.time_passes(wait)
            action = data.draw(
                st.sampled_from(sorted(a for a, (src, _t) in EDGES.items() if self.status in src))
            )
            who = data.draw(st.sampled_from(PEOPLE_OF_KIND[WHO_MAY[action]]))
            self.attempt(action, who, data.draw(details_strategy(action, sensible=True)))

    @rule(delta=st.sampled_from(WAITS))
    def time_passes(self, delta: dt.timedelta) -> None:
        self.clock.shift(delta)
        self.now += delta

    @rule(offset=st.sampled_from([-1, 0, 1]))
    def the_clock_reaches_the_current_deadline(self, offset: int) -> None:
        field = Claim.DEADLINE_BY_STATUS.get(self.status)
        deadline = self.deadlines.get(field) if field else None
        if deadline is None or deadline + dt.timedelta(seconds=offset) <= self.now:
            return
        self.now = deadline + dt.timedelta(seconds=offset)
        self.clock.move_to(self.now, tick=False)

    @rule(offset=st.sampled_from([-1, 0, 1]))
    def the_clock_reaches_the_lapse_threshold(self, offset: int) -> None:
        since = self.subscription_inactive_since
        threshold = since + LAPSE_AFTER + dt.timedelta(seconds=offset) if since else None
        if threshold is None or threshold <= self.now:
            return
        self.now = threshold
        self.clock.move_to(self.now, tick=False)

    @rule(who=st.sampled_from(["manager", "member", "other_partner"]))
    def a_partner_user_uploads_poe(self, who: str) -> None:
        self.tick()
        expected = (
            who == "manager"
            and self.status in (S.EDITING, S.SUBMITTED, S.PARTNER_ACTION_REQUIRED)
            and self.documents < MAX_DOCUMENTS
        )
        before = self.observe()
        try:
            add_document(self.claim.pk, by=self.people[who], upload=pdf_upload("answer.pdf"))
        except (TransitionRefused, ValidationError):
            assert not expected
            assert self.observe() == before
            return
        assert expected
        self.documents += 1
        self.last_partner_answer_at = self.now

    @rule()
    def the_customer_asks_to_end_the_association(self) -> None:
        self.tick()
        expected = self.status == S.ASSOCIATED and not self.end_requested
        before = self.observe()
        try:
            request_end_association(
                self.claim.pk,
                by=CUSTOMER,
                customer_email="ines@northwind.example",
                language="en",
                reason="In-house.",
            )
        except TransitionRefused:
            assert not expected
            assert self.observe() == before
            return
        assert expected
        self.end_requested = True

    @rule(live=st.booleans())
    def the_commerce_feed_reports_the_subscription(self, live: bool) -> None:
        """The feed says the claim's subscription is active or suspended, as an import records it:
        `inactive_since` set when it goes out, kept while it stays out, cleared when it returns.
        (Only once the claim is submitted: what a submission checks of it is not this model's.)"""
        if self.status == S.EDITING:
            return
        self.tick()
        tenant, _created = Tenant.objects.get_or_create(
            tenant_id=self.claim.customer_tenant_id, defaults={"name": self.claim.customer_name}
        )
        if not live and self.subscription_inactive_since is None:
            self.subscription_inactive_since = self.now
        elif live:
            self.subscription_inactive_since = None
        Subscription.objects.update_or_create(
            subscription_id=self.claim.subscription_id,
            defaults={
                "tenant": tenant,
                "product": Product.objects.get(code="d365-sales"),
                "channel": Subscription.Channel.DIRECT,
                "status": Subscription.Status.ACTIVE if live else Subscription.Status.SUSPENDED,
                "seats": 10,
                "start_date": dt.date(2024, 1, 1),
                "inactive_since": self.subscription_inactive_since,
            },
        )

    @rule(who=st.sampled_from(["reviewer", "second_reviewer"]))
    def a_reviewer_declines_the_request_to_end(self, who: str) -> None:
        self.tick()
        expected = who in LEADS and self.end_requested
        before = self.observe()
        try:
            decline_end_request(self.claim.pk, by=self.people[who], reason="The contract runs until June.")
        except TransitionRefused:
            assert not expected
            assert self.observe() == before
            return
        assert expected
        self.end_requested = False

    @rule(who=st.sampled_from(["manager", "member", "reviewer", "second_reviewer"]))
    def someone_comments(self, who: str) -> None:
        self.tick()
        expected = KIND_OF.get(who) in (REVIEWER, PARTNER) and self.status != S.EDITING
        before = self.observe()
        try:
            add_comment(self.claim.pk, by=self.people[who], body="About the PoE: see page 2.")
        except TransitionRefused:
            assert not expected
            assert self.observe() == before
            return
        assert expected
        if who == "manager":
            self.last_partner_answer_at = self.now

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def the_clock_is_where_the_model_put_it(self) -> None:
        assert timezone.now() == self.now

    @invariant()
    def status_and_reasons_match_the_model(self) -> None:
        claim = Claim.objects.get(pk=self.claim.pk)
        assert claim.status == self.status
        assert claim.rejection_reason == self.rejection_reason
        assert bool(claim.rejection_reason) == (claim.status in (S.REJECTED, S.DISPUTED))
        assert claim.assigned_reviewer == self.assigned_reviewer
        assert claim.information_requested_at == self.information_requested_at
        pending = claim.end_requests.filter(outcome="pending").exists()
        assert pending == self.end_requested
        if claim.status in (S.REJECTED, S.DISPUTED):
            assert claim.rejected_by == self.rejected_by

    @invariant()
    def each_deadline_is_set_exactly_in_its_state(self) -> None:
        claim = Claim.objects.get(pk=self.claim.pk)
        own = Claim.DEADLINE_BY_STATUS.get(claim.status)
        for field in DEADLINE_FIELDS:
            value = getattr(claim, field)
            if field != own:
                assert value is None, f"{field} is set while the claim is {claim.status}"
            elif claim.status != S.REJECTED:
                assert value is not None, f"{field} is missing while the claim is {claim.status}"
        if claim.status == S.REJECTED and claim.rejection_reason in NOT_DISPUTABLE:
            assert claim.dispute_window_ends_at is None
        assert {field: getattr(claim, field) for field in DEADLINE_FIELDS} == self.deadlines
        # The review queue's copy of the reviewer SLA the claim runs on now, never flagged here.
        sla_field = own if own in SLA_FIELDS else None
        assert claim.sla_due_at == (getattr(claim, sla_field) if sla_field else None)
        assert claim.sla_breached_at is None
        # The reminder of an open information request lives and dies with that request.
        if claim.status == S.PARTNER_ACTION_REQUIRED:
            assert claim.partner_reminder_at == add_business_days(self.information_requested_at, 3)
        else:
            assert claim.partner_reminder_at is None

    @invariant()
    def every_move_has_exactly_one_transition_event_and_they_chain(self) -> None:
        events = list(
            ClaimEvent.objects.filter(claim=self.claim, action__in=TRANSITIONS)
            .order_by("pk")
            .values_list("action", "from_status", "to_status")
        )
        assert len(events) == self.moves
        status = S.EDITING
        for action, from_status, to_status in events:
            assert from_status == status
            assert from_status in EDGES[action][0] and to_status == EDGES[action][1]
            status = to_status
        assert status == self.status


TestClaimLifecycle = ClaimLifecycle.TestCase
TestClaimLifecycle.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # No "explain" phase: on a failure it replays every step many times over (minutes, not seconds).
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
TestClaimLifecycle.pytestmark = [pytest.mark.django_db]
