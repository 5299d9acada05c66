"""A beat sweep moves a claim exactly as the one path would: same columns, same history, same mail."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db.models.signals import post_init
from django.utils import timezone

from claims import workflow
from claims.models import Claim, ClaimEvent
from claims.tasks import expire_partner_action_claims
from claims.workflow import SYSTEM
from consent.tasks import close_consent_windows
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db

DIFFERENT_PER_CLAIM = {"id", "customer_tenant_id", "created_at", "updated_at", "submitted_at"}


def columns(claim: Claim) -> dict[str, object]:
    claim.refresh_from_db()
    return {
        f.attname: getattr(claim, f.attname)
        for f in Claim._meta.concrete_fields
        if f.attname not in DIFFERENT_PER_CLAIM
    }


def history(claim: Claim) -> list[tuple[str, str, str, str, object]]:
    return list(
        ClaimEvent.objects.filter(claim=claim)
        .exclude(action__in=["create", "upload"])
        .order_by("id")
        .values_list("action", "actor_kind", "from_status", "to_status", "diff")
    )


def mail(claim: Claim) -> list[tuple[str, str, str]]:
    return sorted(OutboundEmail.objects.filter(claimevent__claim=claim).values_list("kind", "to", "language"))


@pytest.mark.parametrize(
    ("status", "action", "sweep"),
    [
        (Claim.Status.PARTNER_ACTION_REQUIRED, "expire", expire_partner_action_claims),
        (Claim.Status.APPROVED, "close_consent_window", close_consent_windows),
    ],
)
def test_the_sweep_and_the_one_path_leave_identical_claims(status, action, sweep) -> None:  # noqa: ANN001
    partner = PartnerFactory()
    manager, rita = partner_user(partner), reviewer()
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        by_hand = claim_in(status, partner=partner, by=manager, review_by=rita)
        swept = claim_in(status, partner=partner, by=manager, review_by=rita, activity="usage")
    with time_machine.travel(start + dt.timedelta(days=20), tick=False):
        workflow.transition(by_hand, action, by=SYSTEM)
        assert sweep() == 1
    assert columns(swept) == columns(by_hand)
    moves = [(h, h[0]) for h in history(swept)]
    assert [h for h, name in moves if name == action] == [h for h in history(by_hand) if h[0] == action]
    expected_diff: dict[str, object] = {"status": [status, columns(swept)["status"]]}
    if status == Claim.Status.APPROVED:
        # Leaving a standing association, the event keeps the workloads it concerned (the receipt's).
        codes = sorted(swept.products.values_list("code", flat=True))
        expected_diff["products"] = [codes, codes]
    assert [h for h, name in moves if name == action] == [
        (action, "system", status, columns(swept)["status"], expected_diff)
    ]
    assert [m[:2] for m in mail(swept)] == [(kind, to) for kind, to, _ in mail(by_hand)]
    if action == "close_consent_window":
        assert (
            AssessmentHandoff.objects.get(claim=swept).programme
            == AssessmentHandoff.objects.get(claim=by_hand).programme
        )


def test_a_sweep_builds_claims_through_model_init_while_init_signals_listen() -> None:
    """The sweep builds its partial claims without `Model.__init__` only while nobody listens to it."""
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        claim = claim_in(Claim.Status.APPROVED)
    seen: list[int | None] = []

    def receiver(sender: type[Claim], instance: Claim, **kwargs: object) -> None:
        seen.append(instance.__dict__.get("id"))

    post_init.connect(receiver, sender=Claim)
    try:
        with time_machine.travel(start + dt.timedelta(days=8), tick=False):
            assert close_consent_windows() == 1
    finally:
        post_init.disconnect(receiver, sender=Claim)

    assert claim.pk in seen
    claim.refresh_from_db()
    assert claim.status == Claim.Status.ASSOCIATED
