"""The business calendar: weekends, public holidays of CPOR_HOLIDAY_COUNTRY, wall-clock time in TIME_ZONE."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from claims import workflow
from claims.models import Claim
from cpor.business_days import add_business_days, is_business_day
from cpor.models import OutboundEmail
from cpor.tasks import deliver_email
from tests.factories import draft

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def us_calendar(settings: pytest.FixtureRequest) -> pytest.FixtureRequest:
    settings.CPOR_HOLIDAY_COUNTRY = "US"
    settings.TIME_ZONE = "UTC"
    return settings


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Weekends and holidays (TIME_ZONE UTC, so local and UTC wall clocks agree)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(utc(2026, 1, 9, 10, 0), 5, utc(2026, 1, 16, 10, 0), id="friday-to-next-friday"),
        pytest.param(utc(2026, 1, 12, 16, 45), 5, utc(2026, 1, 20, 16, 45), id="monday-over-mlk-day"),
        pytest.param(utc(2026, 3, 14, 10, 0), 5, utc(2026, 3, 23, 10, 0), id="saturday-to-monday-after-next"),
        pytest.param(utc(2026, 3, 15, 10, 0), 5, utc(2026, 3, 23, 10, 0), id="sunday-to-monday-after-next"),
        pytest.param(utc(2026, 3, 14, 10, 0), 0, utc(2026, 3, 16, 10, 0), id="saturday-plus-zero-is-monday"),
        pytest.param(utc(2026, 3, 11, 10, 0), 0, utc(2026, 3, 11, 10, 0), id="wednesday-plus-zero-is-itself"),
        pytest.param(utc(2026, 11, 23, 9, 0), 5, utc(2026, 12, 1, 9, 0), id="thanksgiving-in-the-span"),
        pytest.param(utc(2026, 7, 1, 9, 0), 5, utc(2026, 7, 9, 9, 0), id="independence-day-observed-friday"),
        pytest.param(utc(2026, 12, 24, 12, 0), 5, utc(2027, 1, 4, 12, 0), id="christmas-and-new-year"),
        pytest.param(utc(2026, 11, 26, 10, 0), 5, utc(2026, 12, 4, 10, 0), id="start-on-thanksgiving"),
        pytest.param(utc(2026, 12, 25, 8, 0), 5, utc(2027, 1, 5, 8, 0), id="start-on-christmas"),
        pytest.param(utc(2026, 7, 3, 8, 0), 1, utc(2026, 7, 7, 8, 0), id="start-on-observed-holiday"),
    ],
)
def test_add_business_days_skips_weekends_and_us_holidays(
    us_calendar: pytest.FixtureRequest, start: dt.datetime, days: int, due: dt.datetime
) -> None:
    result = add_business_days(start, days)
    assert result == due
    assert result.tzinfo == UTC


def test_result_is_utc_even_when_the_start_is_given_in_another_zone(
    us_calendar: pytest.FixtureRequest,
) -> None:
    start = dt.datetime(2026, 1, 9, 12, 0, tzinfo=ZoneInfo("Europe/Istanbul"))  # 09:00 UTC, a Friday
    assert add_business_days(start, 5) == utc(2026, 1, 16, 9, 0)


def test_a_naive_datetime_is_refused(us_calendar: pytest.FixtureRequest) -> None:
    with pytest.raises(ValueError, match="aware"):
        add_business_days(dt.datetime(2026, 1, 9, 10, 0), 5)


def test_negative_days_are_refused(us_calendar: pytest.FixtureRequest) -> None:
    with pytest.raises(ValueError, match="forward"):
        add_business_days(utc(2026, 1, 9, 10, 0), -1)


def test_the_holiday_country_setting_changes_the_result(us_calendar: pytest.FixtureRequest) -> None:
    start = utc(2026, 10, 26, 9, 0)  # Monday; 29 October is Republic Day in Türkiye, a workday in the US
    assert add_business_days(start, 5) == utc(2026, 11, 2, 9, 0)
    us_calendar.CPOR_HOLIDAY_COUNTRY = "TR"
    assert not is_business_day(dt.date(2026, 10, 29))
    assert add_business_days(start, 5) == utc(2026, 11, 3, 9, 0)
    # And back: the calendar follows the setting, it is not frozen by the first call.
    us_calendar.CPOR_HOLIDAY_COUNTRY = "US"
    assert add_business_days(start, 5) == utc(2026, 11, 2, 9, 0)


def test_a_us_holiday_is_a_workday_under_another_country(us_calendar: pytest.FixtureRequest) -> None:
    us_calendar.CPOR_HOLIDAY_COUNTRY = "TR"
    assert add_business_days(utc(2026, 11, 23, 9, 0), 5) == utc(2026, 11, 30, 9, 0)  # Thanksgiving counts


# ---------------------------------------------------------------------------------------------
# Wall-clock time in TIME_ZONE across daylight-saving changes


@pytest.fixture
def new_york(us_calendar: pytest.FixtureRequest) -> pytest.FixtureRequest:
    us_calendar.TIME_ZONE = "America/New_York"
    return us_calendar


def test_spring_forward_keeps_the_local_time_and_shifts_utc(new_york: pytest.FixtureRequest) -> None:
    start = dt.datetime(2026, 3, 6, 10, 0, tzinfo=NEW_YORK)  # Friday, EST (UTC-5)
    due = add_business_days(start, 5)
    assert due.astimezone(NEW_YORK) == dt.datetime(2026, 3, 13, 10, 0, tzinfo=NEW_YORK)  # EDT (UTC-4)
    assert due == utc(2026, 3, 13, 14, 0)
    assert due - start == dt.timedelta(days=7, hours=-1)


def test_fall_back_keeps_the_local_time_and_shifts_utc(new_york: pytest.FixtureRequest) -> None:
    start = dt.datetime(2026, 10, 30, 10, 0, tzinfo=NEW_YORK)  # Friday, EDT (UTC-4)
    due = add_business_days(start, 5)
    assert due == utc(2026, 11, 6, 15, 0)  # 10:00 EST (UTC-5)
    assert due - start == dt.timedelta(days=7, hours=1)


def test_a_start_at_0230_before_spring_forward_is_due_at_0230_after_it(
    new_york: pytest.FixtureRequest,
) -> None:
    start = utc(2026, 3, 7, 7, 30)  # Saturday 02:30 EST; the next day has no 02:30
    due = add_business_days(start, 5)
    assert due.astimezone(NEW_YORK).time() == dt.time(2, 30)
    assert due == utc(2026, 3, 16, 6, 30)  # Monday after next, 02:30 EDT


def test_a_start_at_the_nonexistent_0230_of_spring_forward_day(new_york: pytest.FixtureRequest) -> None:
    # 02:30 on 8 March 2026 never happens in New York; Python reads it with the old offset, which
    # is the real moment 03:30 EDT. That Sunday counts from Monday; the due time is that moment's.
    start = dt.datetime(2026, 3, 8, 2, 30, tzinfo=NEW_YORK)
    assert start.astimezone(UTC) == utc(2026, 3, 8, 7, 30)
    due = add_business_days(start, 5)
    assert due.astimezone(NEW_YORK).replace(tzinfo=None) == dt.datetime(2026, 3, 16, 3, 30)
    assert add_business_days(start.astimezone(UTC), 5) == due  # one moment, one due date


def test_both_occurrences_of_the_ambiguous_0130_are_due_at_0130(new_york: pytest.FixtureRequest) -> None:
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)  # 01:30 EDT
    second = dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)  # 01:30 EST, an hour later
    assert second.astimezone(UTC) - first.astimezone(UTC) == dt.timedelta(hours=1)
    expected = utc(2026, 11, 9, 6, 30)  # Monday after next, 01:30 EST
    assert add_business_days(first, 5) == expected
    assert add_business_days(second, 5) == expected


def test_the_local_date_counts_not_the_utc_date(new_york: pytest.FixtureRequest) -> None:
    start = utc(2026, 1, 10, 3, 0)  # Saturday in UTC, but Friday 22:00 in New York
    assert add_business_days(start, 5) == utc(2026, 1, 17, 3, 0)  # Friday 16 January, 22:00 EST


# In New York both changes fall on a Sunday, which is never a due date. Zones that change on a
# weekday show the documented rule for a due time that is missing or repeated on the due date.


def test_a_due_time_in_the_spring_gap_moves_forward_by_the_gap(us_calendar: pytest.FixtureRequest) -> None:
    us_calendar.TIME_ZONE = "Asia/Jerusalem"  # Friday 27 March 2026, 02:00 -> 03:00
    jerusalem = ZoneInfo("Asia/Jerusalem")
    start = dt.datetime(2026, 3, 20, 2, 30, tzinfo=jerusalem)
    due = add_business_days(start, 5)
    assert due.astimezone(jerusalem).replace(tzinfo=None) == dt.datetime(2026, 3, 27, 3, 30)
    assert due == utc(2026, 3, 27, 0, 30)


def test_an_ambiguous_due_time_takes_its_first_occurrence(us_calendar: pytest.FixtureRequest) -> None:
    us_calendar.TIME_ZONE = "Africa/Cairo"  # Thursday 29 October 2026, 24:00 -> 23:00
    cairo = ZoneInfo("Africa/Cairo")
    start = dt.datetime(2026, 10, 22, 23, 30, tzinfo=cairo)  # Thursday, UTC+3
    due = add_business_days(start, 5)
    assert due == utc(2026, 10, 29, 20, 30)  # 23:30 summer time, not 21:30 UTC an hour later
    assert due.astimezone(cairo).fold == 0


# ---------------------------------------------------------------------------------------------
# Through the workflow


@pytest.mark.django_db
def test_a_claim_submitted_on_friday_is_due_for_review_the_next_friday(
    new_york: pytest.FixtureRequest,
) -> None:
    friday = dt.datetime(2026, 10, 30, 10, 0, tzinfo=NEW_YORK)  # before the clocks go back
    with time_machine.travel(friday, tick=False):
        claim = draft()
        manager = claim.created_by
        claim = workflow.transition(claim, "submit", by=manager)

    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED
    assert claim.submitted_at == friday
    assert claim.review_start_due_at == utc(2026, 11, 6, 15, 0)  # Friday 6 November, 10:00 EST
    receipt = OutboundEmail.objects.get(kind="claim_submitted")
    assert deliver_email(receipt.pk) is True
    assert "6 November 2026, 10:00 EST" in mail.outbox[0].body  # the partner sees local time


@pytest.mark.django_db
def test_a_claim_submitted_before_thanksgiving_is_due_a_day_later(us_calendar: pytest.FixtureRequest) -> None:
    friday = utc(2026, 11, 20, 15, 0)
    with time_machine.travel(friday, tick=False):
        claim = draft()
        claim = workflow.transition(claim, "submit", by=claim.created_by)

    claim.refresh_from_db()
    assert claim.review_start_due_at == utc(2026, 11, 30, 15, 0)  # Monday, not Friday 27 November
