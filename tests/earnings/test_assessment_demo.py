"""The earnings demo added to `seed_demo` (through claims' demo-seeder registry), and the
re-assessment of associations assessed before their programme had terms, which it relies on."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from claims.contributions import demo_seeders
from claims.models import Claim, ClaimEvent, Membership, Partner, Programme
from consent.tasks import close_consent_windows
from earnings import demo
from earnings.assessment import assess_outstanding
from earnings.models import FINANCE_GROUP, AssessmentHandoff, EarningsLine, ProgrammeRule, Statement
from tests.earnings.test_assessment import rule
from tests.factories import claim_in

pytestmark = pytest.mark.django_db
R = AssessmentHandoff.Reason


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> tuple[object, ...]:
    return (
        get_user_model().objects.count(),
        Membership.objects.count(),
        sorted(ProgrammeRule.objects.values_list("programme", "effective_from", "rate", "is_example")),
        sorted(AssessmentHandoff.objects.values_list("claim_id", "eligible", "reasons", "rule_id")),
        ClaimEvent.objects.filter(action=ClaimEvent.Action.ASSESSED).count(),
    )


def test_earnings_registers_its_demo_seeders() -> None:
    assert demo.seed in demo_seeders()
    assert demo.seed_terms in demo_seeders(before_claims=True)


def test_the_demo_adds_finance_the_billing_people_and_example_terms_once() -> None:
    printed = seed()
    users = get_user_model().objects
    fiona = users.get(username="fiona@cpor.example")
    assert fiona.is_staff and fiona.check_password("demo-password")
    assert list(fiona.groups.values_list("name", flat=True)) == [FINANCE_GROUP]
    for email, role in (
        ("grace@contoso.example", Membership.Role.GLOBAL_ADMIN),
        ("bill@contoso.example", Membership.Role.BILLING_ADMIN),
    ):
        person = users.get(username=email)
        assert person.check_password("demo-password") and not person.is_staff
        assert (person.membership.partner.name, person.membership.role) == ("Contoso", role)
        assert email in printed
    assert "fiona@cpor.example" in printed
    terms = {rule.programme: rule for rule in ProgrammeRule.objects.all()}
    assert set(terms) == {Programme.OSU, Programme.OSA}
    assert all(rule.is_example for rule in terms.values())
    assert terms[Programme.OSU].metric == "active_user_growth"
    assert terms[Programme.OSA].metric == "one_time_fee"
    # The terms are there before the demo's claims move: its OSU association is assessed under them
    # once, at hand-off.
    intune = AssessmentHandoff.objects.get(claim__name="Northwind — Intune rollout")
    assert (intune.eligible, intune.reasons, intune.rule) == (True, [], terms[Programme.OSU])
    assert ClaimEvent.objects.filter(claim=intune.claim, action="assessed").count() == 1
    revenue = AssessmentHandoff.objects.get(claim__name="Wingtip — Customer Service rollout")
    assert (revenue.eligible, revenue.reasons) == (False, [R.REVENUE_ASSOCIATION])
    first = snapshot()
    seed()
    assert snapshot() == first


def test_the_demo_ledger_has_lines_and_a_statement_in_each_state() -> None:
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC), tick=False):
        seed()
        contoso = Partner.objects.get(name="Contoso")
        earning = AssessmentHandoff.objects.filter(partner=contoso, claim__name__endswith="(earning)")
        assert sorted(earning.values_list("programme", "eligible")) == [
            (Programme.OSA, True),
            (Programme.OSU, True),
        ]
        # Formed four months ago through the workflow, their whole history moved back with them.
        for handoff in earning:
            assert handoff.association_month == dt.date(2026, 7, 1)
            times = list(ClaimEvent.objects.filter(claim=handoff.claim).values_list("created_at", flat=True))
            assert max(times) < dt.datetime(2026, 7, 13, tzinfo=dt.UTC)
        lines = EarningsLine.objects.filter(partner=contoso)
        assert sorted(set(lines.values_list("month", flat=True))) == [
            dt.date(2026, 7, 1),
            dt.date(2026, 8, 1),
            dt.date(2026, 9, 1),
            dt.date(2026, 10, 1),
        ]
        osa = lines.get(programme=Programme.OSA)
        assert (osa.month, osa.units, osa.amount, osa.currency) == (
            dt.date(2026, 7, 1),
            1,
            Decimal("1500.00"),
            "USD",
        )
        statements = list(
            Statement.objects.filter(partner=contoso)
            .order_by("month")
            .values_list("month", "status", "payment_reference")
        )
        assert statements == [
            (dt.date(2026, 7, 1), Statement.Status.PAID, "DEMO-PAY-202607"),
            (dt.date(2026, 8, 1), Statement.Status.APPROVED, ""),
            (dt.date(2026, 9, 1), Statement.Status.DRAFT, ""),
            (dt.date(2026, 10, 1), Statement.Status.DRAFT, ""),
        ]
        before = (list(lines.values_list("pk", flat=True)), statements)
        seed()
        assert (
            list(lines.values_list("pk", flat=True)),
            list(
                Statement.objects.filter(partner=contoso)
                .order_by("month")
                .values_list("month", "status", "payment_reference")
            ),
        ) == before


def test_terms_published_late_apply_to_associations_assessed_without_any() -> None:
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False):
        claim = claim_in(Claim.Status.APPROVED)
        revenue = claim_in(Claim.Status.APPROVED, partner=claim.partner, activity="revenue_association")
        with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
            assert close_consent_windows() == 2
        assert AssessmentHandoff.objects.get(claim=claim).reasons == [R.NO_PROGRAMME_RULE]
        terms = rule(dt.date(2026, 2, 1))
        later = timezone.now() + dt.timedelta(days=20)
        version = Partner.objects.get(pk=claim.partner_id).claims_version
        assert assess_outstanding(partner_ids=[claim.partner_id], now=later) == 1
        # The claim page, cached under the partner's claims version, shows the new event at once.
        assert Partner.objects.get(pk=claim.partner_id).claims_version > version
        handoff = AssessmentHandoff.objects.get(claim=claim)
        assert (handoff.eligible, handoff.reasons, handoff.rule, handoff.assessed_at) == (
            True,
            [],
            terms,
            later,
        )
        notes = list(ClaimEvent.objects.filter(claim=claim, action="assessed").values_list("note", flat=True))
        assert notes == [
            "Assessed for OSU (usage): not eligible. "
            "The programme has no terms in force for the association month.",
            "Assessed for OSU (usage): eligible.",
        ]
        assert AssessmentHandoff.objects.get(claim=revenue).reasons == [R.REVENUE_ASSOCIATION]
        assert assess_outstanding(partner_ids=[claim.partner_id], now=later) == 0
        assert ClaimEvent.objects.filter(claim=claim, action="assessed").count() == 2


def test_associations_queued_before_assessments_existed_are_assessed() -> None:
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False):
        claim = claim_in(Claim.Status.APPROVED)
        with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
            assert close_consent_windows() == 1
        # As the rows moved from consent/ were: queued, never assessed.
        AssessmentHandoff.objects.filter(claim=claim).update(eligible=None, reasons=[], assessed_at=None)
        terms = rule(dt.date(2026, 1, 1))
        now = timezone.now()
        assert assess_outstanding(partner_ids=[claim.partner_id], now=now) == 1
        handoff = AssessmentHandoff.objects.get(claim=claim)
        assert (handoff.eligible, handoff.rule, handoff.assessed_at) == (True, terms, now)
        assert assess_outstanding(partner_ids=[claim.partner_id], now=now) == 0


def test_an_ended_association_is_not_assessed_again() -> None:
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False):
        claim = claim_in(Claim.Status.APPROVED)
        with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
            close_consent_windows()
        AssessmentHandoff.objects.filter(claim=claim).update(ended_at=timezone.now())
        rule(dt.date(2026, 1, 1))
        assert assess_outstanding(partner_ids=[claim.partner_id], now=timezone.now()) == 0
        assert AssessmentHandoff.objects.get(claim=claim).reasons == [R.NO_PROGRAMME_RULE]


def test_the_command_assesses_outstanding_associations_once_and_a_termless_one_records_once() -> None:
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False):
        moved = claim_in(Claim.Status.APPROVED)
        termless = claim_in(Claim.Status.APPROVED, activity="presales")
        with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
            assert close_consent_windows() == 2
        # As the rows moved from consent/ were: queued, never assessed.
        AssessmentHandoff.objects.filter(claim=moved).update(eligible=None, reasons=[], assessed_at=None)
        rule(dt.date(2026, 1, 1))  # OSU terms only: the pre-sales (OSA) association still has none
        out = io.StringIO()
        call_command("assess_outstanding", stdout=out)
        assert "Assessed 1 association." in out.getvalue()
        assert AssessmentHandoff.objects.get(claim=moved).eligible is True
        assert AssessmentHandoff.objects.get(claim=termless).reasons == [R.NO_PROGRAMME_RULE]
        events = ClaimEvent.objects.filter(action="assessed")
        before = sorted(events.values_list("claim_id", flat=True))
        # The hand-off's event for each, and the command's for the one it assessed.
        assert before == sorted([moved.pk, moved.pk, termless.pk])
        out = io.StringIO()
        call_command("assess_outstanding", stdout=out)
        assert "Assessed 0 associations." in out.getvalue()
        assert sorted(events.values_list("claim_id", flat=True)) == before
