"""Reads for the reviewer's claim page: everything beside the claim's own fields, one query each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from claims.contributions import claim_page_panels
from claims.history import HistoryEntry, history_entries
from claims.models import (
    Claim,
    ClaimEvent,
    Comment,
    Fact,
    PoeDocument,
    RejectionReason,
    is_lead,
    is_reviewer,
)
from claims.selectors import next_deadline
from claims.workflow import allowed_actions
from cpor.deadlines import Deadline
from reviews.checklist import checklist_of
from reviews.competing import competing_claims
from reviews.end_requests import EndRequests, end_requests_of
from reviews.forms import (
    ApproveForm,
    AssignForm,
    ChecklistForm,
    CommentForm,
    EndAssociationForm,
    RejectForm,
    ReopenForm,
    RequestInformationForm,
    TransitionForm,
    UpholdRejectionForm,
)
from reviews.models import ReviewChecklist
from reviews.sla import SlaState, due_soon_edge
from reviews.subscription_usage import NamedSubscription, UsageTrend, named_subscription, usage_trend

# What the buttons say: verbs, so no decision reads like the status tag it leads to.
REVIEWER_VERBS: dict[str, Any] = {
    "start_review": gettext_lazy("Start review"),
    "approve": gettext_lazy("Approve"),
    "request_information": gettext_lazy("Request information"),
    "reject": gettext_lazy("Reject"),
    "reopen": gettext_lazy("Accept dispute and reopen"),
    "uphold_rejection": gettext_lazy("Uphold rejection"),
    "end_association": gettext_lazy("End association"),
}
# A transition with a form opens a page first (its button ends in "…"); approving has no input but
# a confirmation page, as it mails the customer at once.
INPUT_FORMS: dict[str, type[TransitionForm]] = {
    "approve": ApproveForm,
    "request_information": RequestInformationForm,
    "reject": RejectForm,
    "reopen": ReopenForm,
    "uphold_rejection": UpholdRejectionForm,
    "end_association": EndAssociationForm,
}
PREVIEW_KINDS = frozenset({PoeDocument.Kind.PDF, PoeDocument.Kind.PNG, PoeDocument.Kind.JPEG})


def action_label(action: str) -> str:
    """What happened, as history says it ("Review started")."""
    return str(ClaimEvent.Action(action).label)


def verb_label(action: str) -> str:
    """What the reviewer does, as a button says it ("Start review")."""
    return str(REVIEWER_VERBS[action])


def reviewer_actions(claim: Claim, user: Any) -> list[str]:
    """The transitions `user` may make on `claim` now, as reviewer buttons, in the buttons' order
    (the transitions' own `Fact.REVIEWER_BUTTON`; the others belong to the partner, the customer or
    the system and never get a button here).

    A button needs the transition's conditions met as well: "End association" shows only while the
    customer's request waits (`end_requested`), not on every associated claim a lead opens.
    """
    allowed = set(allowed_actions(claim, user))
    return [
        action
        for action in Claim.actions_with(Fact.REVIEWER_BUTTON)
        if action in allowed and unmet_condition(claim, action) is None
    ]


def unmet_condition(claim: Claim, action: str) -> str | None:
    """The refusal of the first condition of `action` from the claim's state that `claim` does not
    meet (in the condition's own words), or None when all are met or none applies."""
    for found in claim.get_all_status_transitions():
        if found.name == action and found.source in (claim.status, "*"):
            for condition in found.conditions:
                if not condition(claim):
                    message = getattr(condition, "refusal", "")
                    return str(message(claim) if callable(message) else message)
    return None


def sla_state(claim: Claim, now: dt.datetime) -> str:
    if claim.sla_due_at is None:
        return ""
    if claim.sla_due_at <= now:
        return SlaState.BREACHED
    if claim.sla_due_at <= due_soon_edge(now):
        return SlaState.DUE_SOON
    return SlaState.ON_TIME


@dataclass
class Button:
    action: str
    label: str
    needs_input: bool


@dataclass
class Panel:
    """A section another app contributes (`claims.contributions`), ready for its template."""

    template: str
    context: Mapping[str, Any]
    action_url: str  # where its form posts; empty when it has no action


def contributed_panels(claim: Claim, user: Any) -> list[Panel]:
    return [
        Panel(
            template=panel.template,
            context=panel.read(claim, user),
            action_url=(
                reverse(f"admin:claims_claim_{panel.name}", args=[claim.pk]) if panel.act is not None else ""
            ),
        )
        for panel in claim_page_panels()
    ]


@dataclass
class ReviewPage:
    claim: Claim
    buttons: list[Button]
    decided_by_you: bool  # separation of duties: this reviewer rejected it, another decides the dispute
    ended_by_you: bool  # the same, for a lead who ended the association at the customer's request
    documents: list[PoeDocument]
    checklist: ReviewChecklist
    checklist_form: ChecklistForm
    competing: list[Claim]
    supersedes: list[Claim]  # the competitors approving this claim would end
    comments: list[Comment]
    comment_form: CommentForm
    end_requests: EndRequests  # the customer's requests to end the association, if any
    history: list[HistoryEntry]
    panels: list[Panel]  # what other apps show here, after the comments
    may_assign_self: bool
    assign_form: AssignForm | None
    sla_state: str
    sla_state_label: str
    deadline: Deadline | None  # the claim's current deadline in words, as partners read it
    preview_kinds: frozenset[str]
    subscription: NamedSubscription | None  # the subscription the claim names, as the registry holds it
    usage: UsageTrend  # the tenant's active users of the claimed workloads, month by month


def review_page(claim: Claim, user: Any, *, now: dt.datetime | None = None) -> ReviewPage:
    now = now or timezone.now()
    buttons = [
        Button(a, verb_label(a) + ("…" if a in INPUT_FORMS else ""), a in INPUT_FORMS)
        for a in reviewer_actions(claim, user)
    ]
    checklist = checklist_of(claim)
    competing = list(
        competing_claims(claim).select_related("partner").prefetch_related("products").order_by("pk")
    )
    assignable = claim.is_assignable and is_reviewer(user)
    lead = assignable and is_lead(user)
    state = sla_state(claim, now)
    decided_by_you = (
        claim.status == Claim.Status.DISPUTED
        and claim.rejected_by_id is not None
        and claim.rejected_by_id == getattr(user, "pk", None)
    )
    ended = claim.rejection_reason == RejectionReason.CUSTOMER_REQUEST
    return ReviewPage(
        claim=claim,
        buttons=buttons,
        decided_by_you=decided_by_you and not ended,
        ended_by_you=decided_by_you and ended,
        documents=list(claim.documents.select_related("uploaded_by").order_by("uploaded_at", "id")),
        checklist=checklist,
        checklist_form=ChecklistForm(initial={"passed": checklist.passed, "missing": checklist.missing}),
        competing=competing,
        supersedes=[c for c in competing if c.status in Claim.supersedable_statuses()],
        comments=list(claim.comments.select_related("author").order_by("created_at", "id")),
        comment_form=CommentForm(),
        end_requests=end_requests_of(claim, user),
        history=history_entries(
            claim.events.select_related("actor", "email").order_by("created_at", "id"), reviewer_view=True
        ),
        panels=contributed_panels(claim, user),
        may_assign_self=assignable and claim.assigned_reviewer_id != getattr(user, "pk", None),
        assign_form=AssignForm(initial={"reviewer": claim.assigned_reviewer_id}) if lead else None,
        sla_state=state,
        sla_state_label=str(SlaState(state).label) if state else "",
        deadline=next_deadline(claim, now),
        preview_kinds=PREVIEW_KINDS,
        subscription=named_subscription(claim),
        usage=usage_trend(claim, now=now),
    )
