"""Deadlines counted and worded one way: from the first business day `add_business_days` starts from.

The matrix moves real claims into every state through the workflow on a weekday, a Saturday, a
Sunday, a public holiday and late on the day before a holiday, in UTC and in New York, and reads the
deadline where people meet it: the dashboard, the claim page, the CSV export, the mail and the
reviewer's claim page in the admin, in English and Turkish. Whatever the day, a fresh deadline
reads its full length.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from claims.models import Claim
from cpor.business_days import add_business_days
from cpor.deadlines import business_days_left, describe_deadline, first_business_day
from cpor.models import OutboundEmail
from cpor.tasks import deliver_email
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

S = Claim.Status
UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")

# What each state's deadline reads at the moment the claim entered it.
FRESH_WORDS: dict[str, dict[str, str]] = {
    S.SUBMITTED: {
        "en": "Review should start within 5 business days",
        "tr": "İnceleme 5 iş günü içinde başlamalı",
    },
    S.UNDER_REVIEW: {"en": "Decision due within 5 business days", "tr": "Karar 5 iş günü içinde bekleniyor"},
    S.PARTNER_ACTION_REQUIRED: {
        "en": "5 business days left to respond",
        "tr": "Yanıt vermek için 5 iş günü kaldı",
    },
    S.APPROVED: {
        "en": "Customer opt-out window closes in 7 days",
        "tr": "Müşterinin itiraz süresi 7 gün içinde kapanıyor",
    },
    S.REJECTED: {"en": "30 days left to dispute", "tr": "İtiraz etmek için 30 gün kaldı"},
    S.DISPUTED: {
        "en": "Dispute answer due within 5 business days",
        "tr": "İtiraz yanıtı 5 iş günü içinde bekleniyor",
    },
}

# (name, local wall-clock moment) in the US calendar.
DAYS = [
    ("weekday", dt.datetime(2026, 12, 9, 10, 0)),  # Wednesday
    ("saturday", dt.datetime(2026, 12, 5, 10, 0)),
    ("sunday", dt.datetime(2026, 11, 29, 10, 0)),
    ("holiday", dt.datetime(2026, 12, 25, 10, 0)),  # Christmas Day, a Friday
    ("day-before-holiday-late", dt.datetime(2026, 12, 24, 23, 30)),
]
ZONES = ["UTC", "America/New_York"]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def calendar(settings: Any, request: pytest.FixtureRequest) -> Any:
    settings.CPOR_HOLIDAY_COUNTRY = "US"
    return settings


# ---------------------------------------------------------------------------------------------
# Counting


@given(
    start=st.datetimes(
        min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=0, max_value=40),
    zone=st.sampled_from(["UTC", "America/New_York", "Europe/Istanbul"]),
)
def test_days_left_counts_back_what_add_business_days_added(start: dt.datetime, days: int, zone: str) -> None:
    """From any moment, weekday or not: `add_business_days(t, n)` is n business days away from t."""
    with override_settings(CPOR_HOLIDAY_COUNTRY="US", TIME_ZONE=zone):
        due = add_business_days(start, days)
        assert business_days_left(start, due) == days


@pytest.mark.parametrize(
    ("now", "first"),
    [
        pytest.param(utc(2026, 12, 9, 10), dt.date(2026, 12, 9), id="weekday-is-itself"),
        pytest.param(utc(2026, 12, 5, 10), dt.date(2026, 12, 7), id="saturday-counts-from-monday"),
        pytest.param(utc(2026, 12, 25, 10), dt.date(2026, 12, 28), id="christmas-friday-from-monday"),
        pytest.param(utc(2026, 12, 31, 23, 30), dt.date(2026, 12, 31), id="new-years-eve-late"),
        pytest.param(utc(2027, 1, 1, 0, 30), dt.date(2027, 1, 4), id="new-years-day-from-monday"),
    ],
)
def test_first_business_day(calendar: Any, now: dt.datetime, first: dt.date) -> None:
    calendar.TIME_ZONE = "UTC"
    assert first_business_day(now) == first


def test_the_local_date_decides_not_utc(calendar: Any) -> None:
    calendar.TIME_ZONE = "America/New_York"
    # 02:00 UTC on Saturday is still Friday evening in New York: Friday counts.
    assert first_business_day(utc(2026, 12, 5, 2, 0)) == dt.date(2026, 12, 4)


@pytest.mark.parametrize(
    ("now", "due", "words"),
    [
        # Seen on Saturday, due Monday: no business day is left before it, yet it is not today.
        (utc(2026, 12, 5, 10), utc(2026, 12, 7, 10), "Respond by the next business day"),
        (utc(2026, 12, 7, 9), utc(2026, 12, 7, 10), "Last day to respond"),
        (utc(2026, 12, 7, 11), utc(2026, 12, 7, 10), "The time to respond has passed"),
        # Friday before a weekend: Monday is one business day away.
        (utc(2026, 12, 4, 10), utc(2026, 12, 7, 10), "1 business day left to respond"),
        # Over Christmas and the weekend after it.
        (utc(2026, 12, 24, 10), utc(2026, 12, 29, 10), "2 business days left to respond"),
    ],
)
def test_partner_response_words(calendar: Any, now: dt.datetime, due: dt.datetime, words: str) -> None:
    calendar.TIME_ZONE = "UTC"
    assert describe_deadline("partner_response_due_at", due, now).words == words


def test_calendar_windows_count_calendar_days(calendar: Any) -> None:
    calendar.TIME_ZONE = "UTC"
    saturday = utc(2026, 12, 5, 10)
    assert describe_deadline("consent_window_ends_at", saturday + dt.timedelta(days=7), saturday).words == (
        "Customer opt-out window closes in 7 days"
    )
    assert describe_deadline("dispute_window_ends_at", saturday + dt.timedelta(hours=3), saturday).words == (
        "Last day to dispute"
    )
    assert describe_deadline("dispute_window_ends_at", None, saturday) is None
    with pytest.raises(ValueError, match="not a deadline"):
        describe_deadline("submitted_at", saturday, saturday)


# ---------------------------------------------------------------------------------------------
# Every state × day × zone, where partners read it


def _csv_deadlines(client: Client) -> dict[int, str]:
    body = b"".join(client.get(reverse("claims:export")).streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    deadline_column = len(rows[0]) - 2
    return {int(row[0]): row[deadline_column] for row in rows[1:]}


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("day", "local"), DAYS, ids=[name for name, _ in DAYS])
def test_a_fresh_deadline_reads_its_full_length_on_any_day(
    calendar: Any, zone: str, day: str, local: dt.datetime
) -> None:
    calendar.TIME_ZONE = zone
    moment = local.replace(tzinfo=ZoneInfo(zone))
    partner = PartnerFactory(name="Contoso")
    manager = partner_user(partner)
    with time_machine.travel(moment, tick=False):
        claims = {status: claim_in(status, partner=partner, by=manager) for status in FRESH_WORDS}
        client, staff = Client(), Client()
        client.force_login(manager)
        staff.force_login(reviewer())
        for language in ("en", "tr"):
            client.cookies["django_language"] = staff.cookies["django_language"] = language
            dashboard = client.get(reverse("claims:dashboard")).content.decode()
            exported = _csv_deadlines(client)
            for status, claim in claims.items():
                words = FRESH_WORDS[status][language]
                page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
                admin_page = staff.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
                assert words in page, (status, language)
                assert words in dashboard, (status, language)
                assert exported[claim.pk] == words, (status, language)
                assert words in admin_page, (status, language)


@pytest.mark.django_db
@pytest.mark.parametrize(("day", "local"), DAYS, ids=[name for name, _ in DAYS])
def test_mail_words_the_deadline_as_the_pages_do(calendar: Any, day: str, local: dt.datetime) -> None:
    calendar.TIME_ZONE = "America/New_York"
    moment = local.replace(tzinfo=NEW_YORK)
    with time_machine.travel(moment, tick=False):
        claim_in(S.PARTNER_ACTION_REQUIRED)
    # Delivered three days late (an SMTP outage): the words still count from when it was written.
    with time_machine.travel(moment + dt.timedelta(days=3), tick=False):
        for kind, words in (
            ("claim_submitted", FRESH_WORDS[S.SUBMITTED]["en"]),
            ("information_requested", FRESH_WORDS[S.PARTNER_ACTION_REQUIRED]["en"]),
        ):
            row = OutboundEmail.objects.get(kind=kind)
            assert deliver_email(row.pk) is True
            assert words in mail.outbox[-1].body, kind


@pytest.mark.django_db
def test_turkish_mail_words_the_deadline_in_turkish(calendar: Any) -> None:
    calendar.TIME_ZONE = "UTC"
    with time_machine.travel(utc(2026, 11, 29, 10), tick=False):  # a Sunday
        claim = claim_in(S.SUBMITTED, partner=PartnerFactory(name="Koç Danışmanlık", language="tr"))
        row = OutboundEmail.objects.get(kind="claim_submitted")
        assert row.language == "tr"
        assert deliver_email(row.pk) is True
    assert "İnceleme 5 iş günü içinde başlamalı" in mail.outbox[-1].body
    assert claim.review_start_due_at == utc(2026, 12, 7, 10)


def test_words_follow_the_active_language(calendar: Any) -> None:
    calendar.TIME_ZONE = "UTC"
    sunday = utc(2026, 11, 29, 10)
    due = add_business_days(sunday, 5)
    with translation.override("tr"):
        assert describe_deadline("review_start_due_at", due, sunday).words == FRESH_WORDS[S.SUBMITTED]["tr"]
    assert describe_deadline("review_start_due_at", due, sunday).words == FRESH_WORDS[S.SUBMITTED]["en"]
