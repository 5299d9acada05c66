"""What every change to a claim leaves behind, in the transaction that makes it.

History is the append-only `ClaimEvent` table: one row per transition, edit, comment, upload and
notification, naming who acted (partner, reviewer, customer or the system, and the user). A change
also bumps its partner's claims version, which is what tells the cached claim counts they are stale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import F

from claims.actors import CUSTOMER, Actor
from claims.models import Claim, ClaimEvent, Partner, is_reviewer

# The states in which an association stands: approved (the customer's opt-out window) and associated.
ASSOCIATION_STATUSES: tuple[str, ...] = (Claim.Status.APPROVED, Claim.Status.ASSOCIATED)


def _decision_actions() -> tuple[str, ...]:
    transitions = {t.name for t in Claim._meta.get_field("status").get_all_transitions(Claim)}
    return tuple(
        sorted(name for name in transitions if set(Claim.sources_of(name)) & set(ASSOCIATION_STATUSES))
    )


# The transitions that decide about a standing association (the customer declines it, the window
# closes, it is withdrawn, superseded, ended, lapses …), read from the state machine so a new one is
# included as it lands. Their events, when they leave a standing association, record its workloads.
DECISION_ACTIONS: tuple[str, ...] = _decision_actions()


def records_workloads(from_status: str) -> bool:
    """Whether a transition from `from_status` records the workloads the association held.

    A customer's receipt is built from its event alone: the products a decision concerned are in
    the event (`diff["products"] == [before, after]`, codes, as `workloads_declined` writes them),
    not read from the claim, whose products a dispute may reopen to the partner's edits.
    """
    return from_status in ASSOCIATION_STATUSES


def actor_kind(by: Any) -> str:
    if isinstance(by, Actor):
        return ClaimEvent.ActorKind.CUSTOMER if by is CUSTOMER else ClaimEvent.ActorKind.SYSTEM
    if is_reviewer(by):
        return ClaimEvent.ActorKind.REVIEWER
    return ClaimEvent.ActorKind.PARTNER


def _user_or_none(by: Any) -> Any:
    return None if isinstance(by, Actor) or not getattr(by, "is_authenticated", False) else by


def field_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`[before, after]` of each value that changed between two `Claim.snapshot()`s."""
    return {key: [before.get(key), after.get(key)] for key in after if before.get(key) != after.get(key)}


def record_event(
    claim: Claim,
    *,
    by: Any,
    action: str,
    now: dt.datetime,
    from_status: str = "",
    to_status: str = "",
    diff: Mapping[str, Any] | None = None,
    note: str = "",
    partner_visible: bool = True,
    email_id: int | None = None,
    via: Mapping[str, str] | None = None,
) -> ClaimEvent:
    """Append one event. `via` names the channel a person acted through when it is not the portal
    (the Partner API passes `{"channel": "api", "key": <the key's name>}`); history shows it."""
    diff = dict(diff or {})
    if via:
        diff["via"] = dict(via)
    return ClaimEvent.objects.create(
        claim=claim,
        created_at=now,
        actor_kind=actor_kind(by),
        actor=_user_or_none(by),
        action=action,
        from_status=from_status,
        to_status=to_status,
        diff=diff,
        note=note,
        partner_visible=partner_visible,
        email_id=email_id,
    )


def claims_changed(partner_ids: Iterable[int]) -> None:
    """Bump the partners' claims version (in the caller's transaction, as its last write): their
    cached counts, dashboard and claim pages (`claims.views`) are stale. Every change those pages
    show calls this: transitions, sweeps, new, edited and deleted drafts, documents, partner-visible
    comments, customers' end requests and their refusal, assessments made after the hand-off."""
    Partner.objects.filter(pk__in=set(partner_ids)).update(claims_version=F("claims_version") + 1)
