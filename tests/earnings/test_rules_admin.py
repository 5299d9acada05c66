"""Programme rules in the admin, for the staff group "Incentive finance": versions listed with their
terms, added with the first of a month, never changed once the ledger or an assessment uses them
(a new version from a later month instead, prefilled from the old one), and the assessments shown
read-only. Reviewers, leads and partner users change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from claims.models import Claim, Membership, Product, Programme, Subscription
from earnings.models import (
    FINANCE_GROUP,
    AssessmentHandoff,
    Currency,
    EarningsLine,
    Metric,
    ProgrammeRule,
    Statement,
)
from tests.factories import PartnerFactory, UserFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 5, 14, 10, 0, tzinfo=dt.UTC)
ADD = "admin:earnings_programmerule_add"


@pytest.fixture(autouse=True)
def clock(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(TODAY, tick=False)


def finance_user() -> Any:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=FINANCE_GROUP))
    return user


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rule(effective_from: dt.date = dt.date(2026, 1, 1), **overrides: Any) -> ProgrammeRule:
    fields: dict[str, Any] = {
        "programme": Programme.OSU,
        "effective_from": effective_from,
        "metric": Metric.ACTIVE_USER_GROWTH,
        "rate": Decimal("12.5000"),
        "currency": Currency.EUR,
        "monthly_cap": Decimal("400.00"),
        "minimum_units": 5,
        "eligible_months": 6,
        "excluded_channels": [Subscription.Channel.CSP],
        **overrides,
    }
    version = ProgrammeRule.objects.create(**fields)
    version.workloads.set(Product.objects.filter(code__in=["d365-sales", "power-bi"]))
    return version


def form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "programme": Programme.OSU,
        "effective_from": "2026-07-01",
        "metric": Metric.ACTIVE_USER_GROWTH,
        "rate": "15",
        "currency": Currency.EUR,
        "monthly_cap": "500.00",
        "minimum_units": "5",
        "eligible_months": "9",
        "workloads": [Product.objects.get(code="d365-sales").pk],
        "excluded_channels": [Subscription.Channel.CSP],
        "_save": "Save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def used_by_an_assessment(version: ProgrammeRule) -> AssessmentHandoff:
    claim = claim_in(Claim.Status.APPROVED)
    return AssessmentHandoff.objects.create(
        claim=claim,
        partner=claim.partner,
        programme=version.programme,
        payment_eligible=True,
        eligible=True,
        rule=version,
        assessed_at=TODAY,
    )


def ledger_line(version: ProgrammeRule, month: dt.date) -> EarningsLine:
    handoff = used_by_an_assessment(version)
    statement = Statement.objects.create(partner=handoff.partner, month=month)
    return EarningsLine.objects.create(
        partner=handoff.partner,
        assessment=handoff,
        programme=version.programme,
        month=month,
        rule=version,
        metric=version.metric,
        units=10,
        rate=version.rate,
        amount=Decimal("125.00"),
        currency=version.currency,
        statement=statement,
    )


def rules_fingerprint() -> list[tuple[Any, ...]]:
    return [
        (*row, tuple(sorted(ProgrammeRule.objects.get(pk=row[0]).workloads.values_list("code", flat=True))))
        for row in ProgrammeRule.objects.order_by("pk").values_list(
            "pk", "programme", "effective_from", "rate", "monthly_cap", "excluded_channels", "is_example"
        )
    ]


def test_finance_adds_a_version_with_its_workloads_and_excluded_channels() -> None:
    user = finance_user()
    response = signed_in(user).post(reverse(ADD), form())
    assert response.status_code == 302, response.content.decode()[:2000]
    version = ProgrammeRule.objects.get()
    assert (version.effective_from, version.rate, version.monthly_cap, version.eligible_months) == (
        dt.date(2026, 7, 1),
        Decimal("15"),
        Decimal("500.00"),
        9,
    )
    assert version.excluded_channels == [Subscription.Channel.CSP]
    assert list(version.workloads.values_list("code", flat=True)) == ["d365-sales"]
    assert version.created_by == user


def test_the_form_offers_workloads_and_channels_as_choices() -> None:
    page = signed_in(finance_user()).get(reverse(ADD)).content.decode()
    assert 'name="workloads"' in page
    for channel in Subscription.Channel:
        assert f'value="{channel.value}"' in page
    assert 'type="checkbox" name="excluded_channels"' in page


def test_a_version_starts_on_the_first_of_a_month() -> None:
    response = signed_in(finance_user()).post(reverse(ADD), form(effective_from="2026-07-15"))
    assert response.status_code == 200
    assert (
        "A version starts on the first day of a month: 2026-07-01, for example." in response.content.decode()
    )
    assert not ProgrammeRule.objects.exists()


def test_two_versions_of_a_programme_cannot_start_in_the_same_month() -> None:
    rule(dt.date(2026, 7, 1))
    before = rules_fingerprint()
    response = signed_in(finance_user()).post(reverse(ADD), form())
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert rules_fingerprint() == before


def test_an_unknown_channel_is_refused() -> None:
    response = signed_in(finance_user()).post(reverse(ADD), form(excluded_channels=["reseller"]))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ProgrammeRule.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rate": "10000.0001"}, "A rate is at most 10000 per unit."),
        ({"monthly_cap": "10000000.01"}, "A monthly cap is at most 10000000."),
        ({"monthly_cap": ""}, "Give a monthly cap: this metric pays per user or seat"),
        ({"monthly_cap": "", "metric": Metric.NEW_SEATS}, "Give a monthly cap"),
    ],
)
def test_terms_the_ledger_cannot_hold_are_refused(overrides: dict[str, str], message: str) -> None:
    response = signed_in(finance_user()).post(reverse(ADD), form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ProgrammeRule.objects.exists()


def test_a_one_time_fee_needs_no_cap() -> None:
    response = signed_in(finance_user()).post(
        reverse(ADD), form(metric=Metric.ONE_TIME_FEE, monthly_cap="", rate="250")
    )
    assert response.status_code == 302
    assert ProgrammeRule.objects.get().monthly_cap is None


def test_finance_changes_a_version_nothing_uses_yet() -> None:
    version = rule(dt.date(2026, 7, 1))
    url = reverse("admin:earnings_programmerule_change", args=[version.pk])
    response = signed_in(finance_user()).post(url, form(rate="13.25", excluded_channels=[]))
    assert response.status_code == 302
    version.refresh_from_db()
    assert (version.rate, version.excluded_channels) == (Decimal("13.25"), [])


def test_a_version_in_use_is_read_only_and_says_why() -> None:
    version = rule()
    used_by_an_assessment(version)
    client = signed_in(finance_user())
    url = reverse("admin:earnings_programmerule_change", args=[version.pk])
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "This version is read-only: the ledger or an assessment already uses it." in text
    assert 'name="rate"' not in text  # no input: the terms show as text
    assert "Cloud Solution Provider" in text and "[&quot;csp&quot;]" not in text
    new_version = reverse(ADD) + f"?from={version.pk}"
    assert new_version.replace("&", "&amp;") in text
    before = rules_fingerprint()
    assert client.post(url, form(rate="99")).status_code == 403
    assert rules_fingerprint() == before
    delete = reverse("admin:earnings_programmerule_delete", args=[version.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert rules_fingerprint() == before


def test_a_new_version_starts_prefilled_from_the_one_in_use() -> None:
    version = rule(is_example=True)
    used_by_an_assessment(version)
    page = signed_in(finance_user()).get(reverse(ADD) + f"?from={version.pk}").content.decode()
    assert 'name="rate" value="12.5000"' in page
    assert 'name="monthly_cap" value="400.00"' in page
    assert 'name="eligible_months" value="6"' in page
    assert 'value="2026-06-01"' in page  # next month, the ledger holding nothing later
    assert 'name="excluded_channels" value="csp" id="id_excluded_channels_2" checked>' in page
    assert '<option value="osu" selected>' in page
    assert f'<option value="{Product.objects.get(code="power-bi").pk}" selected>' in page


def test_a_new_version_must_start_after_the_months_the_ledger_holds() -> None:
    version = rule()
    ledger_line(version, dt.date(2026, 4, 1))
    client = signed_in(finance_user())
    before = rules_fingerprint()
    response = client.post(reverse(ADD), form(effective_from="2026-04-01"))
    assert response.status_code == 200
    assert (
        "The ledger already holds earnings of this programme up to 2026-04. Past earnings are never "
        "recomputed, so a version starts from 2026-05-01 at the earliest."
    ) in response.content.decode()
    assert rules_fingerprint() == before
    assert client.post(reverse(ADD), form(effective_from="2026-05-01")).status_code == 302
    assert ProgrammeRule.objects.filter(effective_from=dt.date(2026, 5, 1)).exists()


def test_another_programmes_ledger_does_not_hold_a_version_back() -> None:
    ledger_line(rule(), dt.date(2026, 4, 1))
    response = signed_in(finance_user()).post(
        reverse(ADD), form(programme=Programme.OSA, metric=Metric.ONE_TIME_FEE, effective_from="2026-02-01")
    )
    assert response.status_code == 302


def test_an_unused_version_cannot_move_into_months_the_ledger_holds() -> None:
    ledger_line(rule(), dt.date(2026, 4, 1))
    later = rule(dt.date(2026, 8, 1))
    url = reverse("admin:earnings_programmerule_change", args=[later.pk])
    before = rules_fingerprint()
    response = signed_in(finance_user()).post(url, form(effective_from="2026-03-01"))
    assert response.status_code == 200
    assert "at the earliest" in response.content.decode()
    assert rules_fingerprint() == before


def test_the_list_shows_the_terms_and_which_are_examples() -> None:
    rule(is_example=True)
    rule(dt.date(2026, 1, 1), programme=Programme.OSA, metric=Metric.ONE_TIME_FEE, monthly_cap=None)
    page = signed_in(finance_user()).get(reverse("admin:earnings_programmerule_changelist")).content.decode()
    for text in (
        "OSU (usage)",
        "2026-01",
        "Active-user growth over the baseline month",
        "12.5 EUR",
        "400.00 EUR",
        "no cap",
        "Cloud Solution Provider",
        "Example terms",
        "In use",
    ):
        assert text in page, text


def test_the_assessments_are_shown_read_only_with_reasons_in_words() -> None:
    version = rule()
    handoff = used_by_an_assessment(version)
    AssessmentHandoff.objects.filter(pk=handoff.pk).update(
        eligible=False,
        reasons=[AssessmentHandoff.Reason.CSP_SUBSCRIPTION],
        channel=Subscription.Channel.CSP,
    )
    client = signed_in(finance_user())
    listing = client.get(reverse("admin:earnings_assessmenthandoff_changelist")).content.decode()
    assert "The subscription is bought through CSP, which the programme excludes." in listing
    url = reverse("admin:earnings_assessmenthandoff_change", args=[handoff.pk])
    page = client.get(url).content.decode()
    assert "The subscription is bought through CSP, which the programme excludes." in page
    assert "OSU (usage) from 2026-01" in page
    assert client.post(url, {"eligible": "on"}).status_code == 403
    handoff.refresh_from_db()
    assert handoff.eligible is False


def _outsiders() -> dict[str, Any]:
    partner = PartnerFactory()
    return {
        "reviewer": reviewer(),
        "lead": reviewer(lead=True),
        "partner global admin": partner_user(partner, Membership.Role.GLOBAL_ADMIN),
        "partner billing admin": partner_user(partner, Membership.Role.BILLING_ADMIN),
    }


@pytest.mark.parametrize(
    "who", ["reviewer", "lead", "partner global admin", "partner billing admin", "anonymous"]
)
def test_only_finance_adds_or_changes_rules(who: str) -> None:
    version = rule(dt.date(2026, 7, 1))
    client = Client() if who == "anonymous" else signed_in(_outsiders()[who])
    before = rules_fingerprint()
    change = reverse("admin:earnings_programmerule_change", args=[version.pk])
    delete = reverse("admin:earnings_programmerule_delete", args=[version.pk])
    for response in (
        client.get(reverse(ADD)),
        client.post(reverse(ADD), form(effective_from="2026-09-01")),
        client.post(change, form(rate="99")),
        client.post(delete, {"post": "yes"}),
    ):
        assert response.status_code == 403 or (
            response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
        ), (who, response.status_code)
    assert rules_fingerprint() == before
