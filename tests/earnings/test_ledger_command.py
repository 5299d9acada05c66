"""`manage.py assess_earnings --month YYYY-MM` and the daily beat task that assesses the month
before: clear refusals that write nothing, a summary of what was written, idempotent runs, and the
year-end turn (on 1 January the task assesses December)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from earnings.models import EarningsLine, Statement
from earnings.tasks import assess_previous_month
from tests.earnings.ledger_helpers import association, rule, tenant, usage

pytestmark = pytest.mark.django_db

NOV, DEC = dt.date(2025, 11, 1), dt.date(2025, 12, 1)


def run(*args: str) -> str:
    out = StringIO()
    call_command("assess_earnings", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def earning_association() -> None:
    rule(effective_from=NOV, rate="1.5000", currency="EUR")
    customer = tenant()
    association(queued_at=timezone.make_aware(dt.datetime(2025, 12, 3, 9)), tenant_row=customer)
    usage(customer, NOV, 10)
    usage(customer, DEC, 17)


@pytest.mark.parametrize(
    "value", ["2025-13", "2025-1", "25-12", "2025/12", "December", "2025-00", "", "0000-01"]
)
def test_a_malformed_month_is_refused_with_the_expected_shape(value: str, earning_association: None) -> None:
    with pytest.raises(CommandError, match="YYYY-MM"):
        run("--month", value)
    assert not EarningsLine.objects.exists()


@pytest.mark.parametrize("value", ["2026-01", "2026-02", "2031-07", "9999-12"])
def test_the_current_and_future_months_are_refused(value: str, earning_association: None) -> None:
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 1, 31, 23, 59)), tick=False):
        with pytest.raises(CommandError, match=f"{value} has not ended yet"):
            run("--month", value)
    assert not EarningsLine.objects.exists() and not Statement.objects.exists()


def test_the_command_writes_the_month_and_says_what_it_wrote(earning_association: None) -> None:
    # One second into January in the site's time zone.
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 1, 1, 0, 0, 1)), tick=False):
        first = run("--month", "2025-12")
        again = run("--month", "2025-12")
    assert "2025-12: wrote 1 earning line." in first
    assert "2025-12 now holds 1 earning line (before any reversal), per currency: EUR 10.50." in first
    assert "2025-12: wrote 0 earning lines." in again
    (line,) = EarningsLine.objects.all()
    assert (line.units, line.amount, line.currency) == (7, Decimal("10.50"), "EUR")


def test_the_beat_task_assesses_the_previous_month_across_the_year_end(
    earning_association: None, settings: Any
) -> None:
    settings.CPOR_EARNINGS_USAGE_DAYS = 0
    with time_machine.travel(timezone.make_aware(dt.datetime(2025, 12, 31, 23, 0)), tick=False):
        assert assess_previous_month() == 0  # November: the association is from December
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 1, 1, 6, 0)), tick=False):
        assert assess_previous_month() == 1
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 1, 2, 6, 0)), tick=False):
        assert assess_previous_month() == 0  # the next day's run changes nothing
    assert list(EarningsLine.objects.values_list("month", "amount")) == [(DEC, Decimal("10.50"))]


def test_the_beat_task_waits_for_the_usage_feed_to_report_the_month(earning_association: None) -> None:
    # Default: 5 days. January 5 is still the feed's time; January 6 writes December.
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 1, 5, 23, 59)), tick=False):
        assert assess_previous_month() == 0
    assert not EarningsLine.objects.exists() and not Statement.objects.exists()
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 1, 6, 6, 0)), tick=False):
        assert assess_previous_month() == 1
    assert list(EarningsLine.objects.values_list("month", "amount")) == [(DEC, Decimal("10.50"))]
