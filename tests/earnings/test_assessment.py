"""The assessment at hand-off: when an association's opt-out window closes, earnings assesses it
under the version of its programme's terms in force for the association month — eligible, or not
with every reason that applies — records the named subscription's channel and seats, and writes
one history event the partner reads. A sweep does it for a batch in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from claims import workflow
from claims.history import history_entries
from claims.models import Claim, ClaimEvent, Product, Programme, Subscription, Tenant, TenantDomain
from consent.tasks import close_consent_windows
from earnings.assessment import hand_off_many
from earnings.models import AssessmentHandoff, Currency, Metric, ProgrammeRule
from tests.factories import PartnerFactory, claim_in, manager_of, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status
R = AssessmentHandoff.Reason

# Approved on Tuesday 10 March 2026; the window closes (8 days on) within March: association month March.
BASE = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
MARCH = dt.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def clock(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(BASE, tick=False)
    return time_machine


def rule(
    effective_from: dt.date,
    *,
    programme: str = Programme.OSU,
    workloads: Iterable[str] = ("d365-sales",),
    excluded_channels: Iterable[str] = (Subscription.Channel.CSP,),
    is_example: bool = False,
) -> ProgrammeRule:
    version = ProgrammeRule.objects.create(
        programme=programme,
        effective_from=effective_from,
        metric=Metric.ACTIVE_USER_GROWTH,
        rate=Decimal("12.5000"),
        currency=Currency.EUR,
        monthly_cap=Decimal("500.00"),
        eligible_months=6,
        excluded_channels=list(excluded_channels),
        is_example=is_example,
    )
    version.workloads.set(Product.objects.filter(code__in=list(workloads)))
    return version


def named_subscription(
    claim_tenant: uuid.UUID,
    *,
    channel: str = Subscription.Channel.DIRECT,
    status: str = Subscription.Status.ACTIVE,
    seats: int = 80,
) -> Subscription:
    tenant, _created = Tenant.objects.get_or_create(tenant_id=claim_tenant, defaults={"name": "Northwind"})
    return Subscription.objects.create(
        subscription_id=uuid.uuid4(),
        tenant=tenant,
        product=Product.objects.get(code="d365-sales"),
        channel=channel,
        status=status,
        seats=seats,
        start_date=dt.date(2025, 1, 1),
        inactive_since=None if status in Subscription.LIVE_STATUSES else BASE,
    )


def approved(**overrides: Any) -> Claim:
    return claim_in(S.APPROVED, **overrides)


def approved_naming(subscription_channel: str = Subscription.Channel.DIRECT, **overrides: Any) -> Claim:
    """An approved claim naming an active direct subscription (the submit checks pass); the feed
    may report it otherwise before the window closes (`report`)."""
    tenant_id = uuid.uuid4()
    subscription = named_subscription(tenant_id, seats=80)
    domain = f"{tenant_id.hex[:12]}.example"
    TenantDomain.objects.create(tenant=subscription.tenant, domain=domain)
    return approved(
        customer_tenant_id=tenant_id,
        customer_domain=domain,
        subscription_id=subscription.subscription_id,
        **overrides,
    )


def report(claim: Claim, **changes: Any) -> None:
    """The commerce feed now reports the claim's subscription with `changes`."""
    Subscription.objects.filter(subscription_id=claim.subscription_id).update(**changes)


def close_windows() -> int:
    with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
        return close_consent_windows()


def assessment_of(claim: Claim) -> AssessmentHandoff:
    return AssessmentHandoff.objects.get(claim=claim)


def test_an_association_within_the_programme_is_eligible_under_the_terms_in_force() -> None:
    terms = rule(dt.date(2026, 1, 1))
    claim = approved_naming()
    assert close_windows() == 1
    handoff = assessment_of(claim)
    assert handoff.association_month == MARCH
    assert (handoff.eligible, handoff.reasons, handoff.rule) == (True, [], terms)
    assert handoff.assessed_at == handoff.queued_at == BASE + dt.timedelta(days=8)
    assert (handoff.channel, handoff.baseline_seats) == (Subscription.Channel.DIRECT, 80)
    assert handoff.subscription_id == claim.subscription_id


def test_the_one_path_assesses_too() -> None:
    terms = rule(dt.date(2026, 1, 1))
    claim = approved()
    with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
        workflow.transition(claim, "close_consent_window", by=workflow.SYSTEM)
    handoff = assessment_of(claim)
    assert (handoff.eligible, handoff.rule, handoff.channel, handoff.baseline_seats) == (
        True,
        terms,
        "",
        None,
    )


def test_a_revenue_association_earns_credit_not_payment() -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved(activity="revenue_association")
    close_windows()
    handoff = assessment_of(claim)
    assert (handoff.programme, handoff.eligible, handoff.reasons) == (
        Programme.BUSINESS_INFLUENCER,
        False,
        [R.REVENUE_ASSOCIATION],
    )
    assert handoff.payment_eligible is False


def test_without_terms_in_force_an_association_is_not_eligible() -> None:
    rule(dt.date(2026, 1, 1), programme=Programme.OSA)  # another programme's terms do not count
    claim = approved()
    close_windows()
    handoff = assessment_of(claim)
    assert (handoff.eligible, handoff.reasons, handoff.rule) == (False, [R.NO_PROGRAMME_RULE], None)


def test_the_version_in_force_is_the_one_of_the_association_month_not_a_later_one() -> None:
    january = rule(dt.date(2026, 1, 1))
    # From April the programme no longer pays for Sales: it does not apply to a March association.
    rule(dt.date(2026, 4, 1), workloads=("power-bi",))
    rule(dt.date(2025, 6, 1), workloads=("power-bi",))  # an older version is superseded by January's
    claim = approved()
    close_windows()
    handoff = assessment_of(claim)
    assert (handoff.eligible, handoff.rule) == (True, january)


def test_a_version_from_a_later_month_alone_leaves_the_association_without_terms() -> None:
    rule(dt.date(2026, 4, 1))
    claim = approved()
    close_windows()
    assert assessment_of(claim).reasons == [R.NO_PROGRAMME_RULE]


def test_workloads_outside_the_programme_make_it_ineligible() -> None:
    terms = rule(dt.date(2026, 1, 1), workloads=("power-bi",))
    claim = approved(products=("d365-sales", "d365-field-service"))
    close_windows()
    handoff = assessment_of(claim)
    assert (handoff.eligible, handoff.reasons, handoff.rule) == (False, [R.WORKLOAD_OUTSIDE_PROGRAMME], terms)


def test_one_claimed_workload_within_the_programme_is_enough() -> None:
    rule(dt.date(2026, 1, 1), workloads=("power-bi",))
    claim = approved(products=("d365-sales", "power-bi"))
    close_windows()
    assert assessment_of(claim).eligible is True


def test_a_workload_the_customer_declined_does_not_count() -> None:
    rule(dt.date(2026, 1, 1), workloads=("power-bi",))
    claim = approved(products=("d365-sales", "power-bi"))
    workflow.decline_workloads(
        claim,
        [Product.objects.get(code="power-bi")],
        by=workflow.CUSTOMER,
        customer_email="nina@northwind.example",
        reason="We run Power BI ourselves.",
    )
    close_windows()
    assert assessment_of(claim).reasons == [R.WORKLOAD_OUTSIDE_PROGRAMME]


def test_a_csp_subscription_is_excluded_and_its_channel_recorded() -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved_naming()
    report(claim, channel=Subscription.Channel.CSP, seats=95)
    close_windows()
    handoff = assessment_of(claim)
    assert (handoff.eligible, handoff.reasons) == (False, [R.CSP_SUBSCRIPTION])
    assert (handoff.channel, handoff.baseline_seats) == (Subscription.Channel.CSP, 95)


def test_another_excluded_channel_reads_as_such() -> None:
    rule(dt.date(2026, 1, 1), excluded_channels=(Subscription.Channel.EA,))
    claim = approved_naming()
    report(claim, channel=Subscription.Channel.EA)
    close_windows()
    assert assessment_of(claim).reasons == [R.CHANNEL_EXCLUDED]


def test_a_channel_the_version_does_not_exclude_is_eligible() -> None:
    rule(dt.date(2026, 1, 1), excluded_channels=())
    claim = approved_naming()
    report(claim, channel=Subscription.Channel.CSP)
    close_windows()
    assert assessment_of(claim).eligible is True


@pytest.mark.parametrize("status", [Subscription.Status.SUSPENDED, Subscription.Status.DELETED])
def test_a_subscription_no_longer_live_makes_it_ineligible(status: str) -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved_naming()
    report(claim, status=status, inactive_since=BASE)
    close_windows()
    assert assessment_of(claim).reasons == [R.SUBSCRIPTION_NOT_ACTIVE]


def test_a_subscription_in_grace_is_still_live() -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved_naming()
    report(claim, status=Subscription.Status.GRACE)
    close_windows()
    assert assessment_of(claim).eligible is True


def test_a_subscription_on_another_tenant_is_not_the_associations() -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved_naming()
    report(claim, tenant=Tenant.objects.create(tenant_id=uuid.uuid4(), name="Elsewhere"))
    close_windows()
    handoff = assessment_of(claim)
    assert (handoff.eligible, handoff.channel, handoff.baseline_seats) == (True, "", None)


def test_every_reason_that_applies_is_given() -> None:
    rule(dt.date(2026, 1, 1), workloads=("power-bi",))
    claim = approved_naming()
    report(claim, channel=Subscription.Channel.CSP, status=Subscription.Status.SUSPENDED, inactive_since=BASE)
    close_windows()
    assert assessment_of(claim).reasons == [
        R.WORKLOAD_OUTSIDE_PROGRAMME,
        R.CSP_SUBSCRIPTION,
        R.SUBSCRIPTION_NOT_ACTIVE,
    ]


def test_history_records_the_assessment_for_the_partner_in_words() -> None:
    rule(dt.date(2026, 1, 1), workloads=("power-bi",), is_example=True)
    claim = approved_naming()
    report(claim, channel=Subscription.Channel.CSP)
    close_windows()
    event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.ASSESSED)
    assert (event.actor_kind, event.actor, event.partner_visible) == (ClaimEvent.ActorKind.SYSTEM, None, True)
    assert event.created_at == assessment_of(claim).assessed_at
    assert event.diff == {
        "programme": Programme.OSU,
        "eligible": False,
        "assessment_reasons": [R.WORKLOAD_OUTSIDE_PROGRAMME, R.CSP_SUBSCRIPTION],
        "terms_from": "2026-01",
        "example_terms": True,
    }
    assert event.note == (
        "Assessed for OSU (usage): not eligible. "
        "None of the claimed workloads is eligible under the programme. "
        "The subscription is bought through CSP, which the programme excludes."
    )
    # Right after the window-closing event, in the partner's history on the claim page.
    actions = list(ClaimEvent.objects.filter(claim=claim).values_list("action", flat=True))
    assert actions.index("assessed") == actions.index("close_consent_window") + 1
    client_of = partner_user(claim.partner)
    client = Client()
    client.force_login(client_of)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "Assessed for incentives" in page
    assert "OSU (usage): not eligible." in page
    assert "None of the claimed workloads is eligible under the programme." in page
    assert "The subscription is bought through CSP, which the programme excludes." in page
    assert "These are example terms, not any real programme&#x27;s rates." in page
    assert "assessment_reasons" not in page and "csp_subscription" not in page


def test_history_words_an_eligible_assessment() -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved()
    close_windows()
    (entry,) = history_entries(ClaimEvent.objects.filter(claim=claim, action="assessed"))
    assert (entry.action, entry.note, entry.changes) == (
        "Assessed for incentives",
        "OSU (usage): eligible.\nTerms in force from 2026-01.",
        [],
    )
    with translation.override("tr"):
        (entry,) = history_entries(ClaimEvent.objects.filter(claim=claim, action="assessed"))
    assert (entry.action, entry.note) == (
        "Teşvikler için değerlendirildi",
        "OSU (kullanım): uygun.\n2026-01 itibarıyla geçerli koşullar.",
    )


def test_a_hand_off_run_again_keeps_its_assessment_and_writes_no_second_event() -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved()
    close_windows()
    first = assessment_of(claim)
    claim.refresh_from_db()
    later = BASE + dt.timedelta(days=40)
    rule(dt.date(2026, 4, 1), workloads=("power-bi",))
    hand_off_many(
        [
            workflow.StepContext(
                claim=claim, action="close_consent_window", by=workflow.SYSTEM, now=later, event_id=0
            )
        ]
    )
    again = assessment_of(claim)
    assert (again.eligible, again.rule_id, again.assessed_at) == (
        first.eligible,
        first.rule_id,
        first.assessed_at,
    )
    assert ClaimEvent.objects.filter(claim=claim, action="assessed").count() == 1


def _sweep(count: int) -> tuple[int, list[tuple[bool, list[str]]]]:
    """Close `count` windows of claims naming subscriptions, every other one CSP: (queries, results)."""
    partner = PartnerFactory()
    manager, rita = partner_user(partner), reviewer()
    claims = []
    for index in range(count):
        claim = approved_naming(partner=partner, by=manager, review_by=rita)
        if index % 2:
            report(claim, channel=Subscription.Channel.CSP)
        claims.append(claim)
    with CaptureQueriesContext(connection) as queries:
        assert close_windows() == count
    results = [(assessment_of(c).eligible, assessment_of(c).reasons) for c in claims]
    return len(queries.captured_queries), results


def test_a_sweep_assesses_one_claim_or_five_in_the_same_number_of_queries() -> None:
    rule(dt.date(2026, 1, 1))
    rule(dt.date(2026, 1, 1), programme=Programme.OSA)
    one, results_one = _sweep(1)
    assert results_one == [(True, [])]
    AssessmentHandoff.objects.all().delete()
    Claim.objects.filter(status=S.ASSOCIATED).delete()
    five, results_five = _sweep(5)
    assert results_five == [(True, []), (False, [R.CSP_SUBSCRIPTION])] * 2 + [(True, [])]
    assert five == one
    assert ClaimEvent.objects.filter(action="assessed").count() == 5


def test_the_partners_claims_manager_sees_the_event_and_an_outsider_does_not() -> None:
    rule(dt.date(2026, 1, 1))
    claim = approved()
    close_windows()
    outsider = Client()
    outsider.force_login(partner_user(PartnerFactory()))
    assert outsider.get(reverse("claims:detail", args=[claim.pk])).status_code == 404
    insider = Client()
    insider.force_login(manager_of(claim))
    assert "OSU (usage): eligible." in insider.get(reverse("claims:detail", args=[claim.pk])).content.decode()


def test_the_association_month_is_the_local_month_of_the_hand_off(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Istanbul"  # UTC+3: 22:30 UTC on 31 March is 01:30 on 1 April there
    rule(dt.date(2026, 1, 1))
    april = rule(dt.date(2026, 4, 1), workloads=("power-bi",))
    claim = approved()
    with time_machine.travel(dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC), tick=False):
        assert close_consent_windows() == 1
    handoff = assessment_of(claim)
    assert handoff.association_month == dt.date(2026, 4, 1)
    assert (handoff.rule, handoff.reasons) == (april, [R.WORKLOAD_OUTSIDE_PROGRAMME])
