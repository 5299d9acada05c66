"""seed_demo's subscriptions and usage: 18 months per claimed workload of each demo tenant, one CSP
subscription and one suspended long enough to lapse (named by an associated claim), demo claims the
subscription checks accept, and a second run that changes nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command

from claims import workflow
from claims.management.commands.seed_demo import LAPSE_CLAIM, LAPSED, LAPSED_DAYS
from claims.models import Claim, MonthlyUsage, Subscription

pytestmark = pytest.mark.django_db
User = get_user_model()

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)  # a Sunday, two days before the month ends


def usage() -> list[tuple[object, ...]]:
    return list(
        MonthlyUsage.objects.order_by("pk").values_list(
            "pk", "tenant_id", "product_id", "month", "active_users"
        )
    )


def subscriptions() -> list[tuple[object, ...]]:
    return list(Subscription.objects.order_by("pk").values_list())


def test_seed_demo_twice_leaves_the_feeds_as_they_were() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
        first = (usage(), subscriptions())
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
    assert (usage(), subscriptions()) == first
    assert "0 new claims, 0 usage rows changed" in out.getvalue()


def test_eighteen_months_per_claimed_workload_up_to_this_month() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
    claimed = set(
        Claim.objects.exclude(products=None).values_list("customer_tenant_id", "products__code").distinct()
    )
    series: dict[tuple[object, str], list[tuple[dt.date, int]]] = {}
    for row in MonthlyUsage.objects.select_related("tenant", "product").order_by("month"):
        series.setdefault((row.tenant.tenant_id, row.product.code), []).append((row.month, row.active_users))
    assert set(series) == claimed
    for months in series.values():
        assert [month for month, _ in months][0] == dt.date(2025, 6, 1)
        assert [month for month, _ in months][-1] == dt.date(2026, 11, 1)
        assert len(months) == 18
        users = [n for _, n in months]
        assert users[-1] > users[0] > 0  # growing, with noise


def test_next_month_the_window_moves_and_keeps_eighteen_months() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        call_command("seed_demo", stdout=io.StringIO())
    months = sorted(set(MonthlyUsage.objects.values_list("month", flat=True)))
    assert (months[0], months[-1], len(months)) == (dt.date(2025, 7, 1), dt.date(2026, 12, 1), 18)


def test_one_csp_subscription_and_one_lapsed_for_longer_than_thirty_days() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
    assert Subscription.objects.filter(channel="csp").count() == 1
    lapsed = Subscription.objects.get(subscription_id=LAPSED)
    assert lapsed.status == "suspended"
    assert lapsed.inactive_since == NOW - dt.timedelta(days=LAPSED_DAYS)
    assert list(Subscription.objects.filter(inactive_since__isnull=False)) == [lapsed]


def test_demo_business_applications_claims_name_subscriptions_the_checks_accept() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
        named = {c.name: c for c in Claim.objects.exclude(subscription_id=None)}
        # The earnings demo (earnings/demo.py) adds the associations that earn; they name some too.
        assert {name for name in named if not name.endswith("(earning)")} == {
            "Northwind — Dynamics 365 Sales rollout (ready to submit)",
            "Adventure Works — Power Apps field inspections",
            "Wingtip — Field Service",
            LAPSE_CLAIM,
        }
        # Each was checked when filed; all but the one that lapsed since still pass today.
        for name, claim in named.items():
            assert claim.subscription_problems() == [] or name == LAPSE_CLAIM, name
        ready = named["Northwind — Dynamics 365 Sales rollout (ready to submit)"]
        assert ready.status == Claim.Status.EDITING and ready.submission_problems() == []
        alice = User.objects.get(username="alice@contoso.example")
        assert workflow.transition(ready, "submit", by=alice).status == Claim.Status.SUBMITTED


def test_the_associated_claim_names_the_subscription_that_lapsed() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
        call_command("seed_demo", stdout=io.StringIO())
    (claim,) = Claim.objects.filter(subscription_id=LAPSED)
    assert claim.name == LAPSE_CLAIM and claim.status == Claim.Status.ASSOCIATED
    # It was filed while the registry reported the subscription active, then it was suspended.
    assert claim.events.filter(action="submit").exists()
    lapsed = Subscription.objects.get(subscription_id=LAPSED)
    assert lapsed.status == "suspended" and lapsed.inactive_since == NOW - dt.timedelta(days=LAPSED_DAYS)
    assert "is not active" in " ".join(claim.subscription_problems())
