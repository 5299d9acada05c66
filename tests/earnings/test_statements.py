"""Finance approves a statement (its totals per currency frozen from the lines) and records its
payment; everybody else is refused, bad input is refused with a clear message, and a refusal
changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.utils import timezone

from claims.models import LEAD_GROUP, Membership
from earnings.models import Currency, EarningsLine, Statement, StatementTotal
from earnings.statements import StatementRefused, approve_statement, record_payment
from tests.earnings.statement_helpers import (
    NOW,
    finance_user,
    fingerprint,
    line,
    reversal,
    statement_for,
)
from tests.factories import PartnerFactory, UserFactory, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Statement.Status


@pytest.fixture(autouse=True)
def _clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def finance() -> Any:
    return finance_user(email="fiona@cpor.example")


@pytest.fixture
def statement() -> Statement:
    statement = statement_for()
    first = line(statement, "30.00")
    line(statement, "12.35")
    line(statement, "0.00", units=0)
    line(statement, "99.99", currency=Currency.EUR)
    reversal(first, statement)
    line(statement, "1500.00", currency=Currency.TRY)
    return statement


def lines_per_currency(statement: Statement) -> dict[str, tuple[Decimal, int]]:
    return {
        row["currency"]: (row["amount"], row["n"])
        for row in EarningsLine.objects.filter(statement=statement)
        .values("currency")
        .annotate(amount=Sum("amount"), n=Count("id"))
    }


def totals(statement: Statement) -> dict[str, tuple[Decimal, int]]:
    return {t.currency: (t.amount, t.line_count) for t in StatementTotal.objects.filter(statement=statement)}


# -- approve ----------------------------------------------------------------------------------------


def test_approving_freezes_one_total_per_currency_equal_to_the_lines(
    finance: Any, statement: Statement
) -> None:
    approved = approve_statement(statement.pk, by=finance)

    approved.refresh_from_db()
    assert approved.status == S.APPROVED
    assert approved.approved_by == finance
    assert approved.approved_at == NOW
    assert totals(statement) == {
        "USD": (Decimal("12.35"), 4),  # 30.00 + 12.35 + 0.00 − 30.00: the reversal nets its line out
        "EUR": (Decimal("99.99"), 1),
        "TRY": (Decimal("1500.00"), 1),
    }
    assert totals(statement) == lines_per_currency(statement)


def test_a_superuser_may_approve(statement: Statement) -> None:
    boss = UserFactory(is_staff=True, is_superuser=True)
    assert approve_statement(statement.pk, by=boss).status == S.APPROVED


def test_a_statement_whose_lines_net_to_zero_is_approved_with_a_zero_total(finance: Any) -> None:
    statement = statement_for()
    reversal(line(statement, "40.00"), statement)
    approve_statement(statement.pk, by=finance)
    assert totals(statement) == {"USD": (Decimal("0.00"), 2)}


def refusers() -> list[tuple[str, Any]]:
    def staff_without_group() -> Any:
        return UserFactory(is_staff=True)

    def inactive_finance() -> Any:
        user = finance_user()
        user.is_active = False
        user.save()
        return user

    def finance_group_without_staff() -> Any:
        user = UserFactory(is_staff=False)
        user.groups.add(Group.objects.get(name="Incentive finance"))
        return user

    def partner_global_admin() -> Any:
        return partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN)

    def lead() -> Any:
        user = reviewer(lead=True)
        assert user.groups.filter(name=LEAD_GROUP).exists()
        return user

    return [
        ("a reviewer", lambda: reviewer()),
        ("a review lead", lead),
        ("staff outside finance", staff_without_group),
        ("an inactive finance user", inactive_finance),
        ("the finance group without staff status", finance_group_without_staff),
        ("a partner's Global admin", partner_global_admin),
    ]


@pytest.mark.parametrize(("who", "make"), refusers(), ids=[who for who, _ in refusers()])
def test_only_finance_may_approve_or_record_payment(who: str, make: Any, statement: Statement) -> None:
    user = make()
    before = fingerprint()
    with pytest.raises(StatementRefused, match="Only the Incentive finance team"):
        approve_statement(statement.pk, by=user)
    approve_statement(statement.pk, by=finance_user())
    middle = fingerprint()
    with pytest.raises(PermissionDenied, match="Only the Incentive finance team"):
        record_payment(statement.pk, by=user, reference="TRX-1")
    assert fingerprint() == middle != before


def test_approving_twice_is_refused_and_changes_nothing(finance: Any, statement: Statement) -> None:
    approve_statement(statement.pk, by=finance)
    before = fingerprint()
    with pytest.raises(
        StatementRefused, match="Only a draft statement can be approved; this one is approved"
    ):
        approve_statement(statement.pk, by=finance_user())
    assert fingerprint() == before


def test_an_empty_draft_is_not_approved_there_is_nothing_to_pay(finance: Any) -> None:
    statement = statement_for()
    before = fingerprint()
    with pytest.raises(StatementRefused, match="no lines: there is nothing to approve"):
        approve_statement(statement.pk, by=finance)
    assert fingerprint() == before


def test_a_month_that_has_not_ended_is_not_approved(finance: Any) -> None:
    statement = statement_for(month=dt.date(2026, 5, 1))
    line(statement, "10.00")
    before = fingerprint()
    with pytest.raises(StatementRefused, match="2026-05 has not ended yet"):
        approve_statement(statement.pk, by=finance)
    assert fingerprint() == before
    # One second into June in the site's time zone (the month ends at local midnight).
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 6, 1, 0, 0, 1)), tick=False):
        assert approve_statement(statement.pk, by=finance).status == S.APPROVED


def test_a_statement_that_does_not_exist_is_refused_with_a_message(finance: Any) -> None:
    with pytest.raises(StatementRefused, match="no longer exists"):
        approve_statement(987654, by=finance)
    with pytest.raises(StatementRefused, match="no longer exists"):
        record_payment(987654, by=finance, reference="TRX-1")


def test_the_fsm_field_cannot_be_set_by_hand(statement: Statement) -> None:
    # protected=True: the only way to approved is the transition, which approve_statement calls.
    with pytest.raises(AttributeError):
        statement.status = S.APPROVED


# -- record payment ----------------------------------------------------------------------------------


def test_recording_payment_of_an_approved_statement(finance: Any, statement: Statement) -> None:
    approve_statement(statement.pk, by=finance)
    frozen = totals(statement)
    paid = record_payment(statement.pk, by=finance, reference="  SEPA 2026-05 / 0042  ")
    paid.refresh_from_db()
    assert paid.status == S.PAID
    assert paid.payment_reference == "SEPA 2026-05 / 0042"
    assert paid.paid_by == finance
    assert paid.paid_at == NOW
    assert totals(statement) == frozen


def test_payment_of_a_draft_is_refused(finance: Any, statement: Statement) -> None:
    before = fingerprint()
    with pytest.raises(StatementRefused, match="Approve the statement before recording its payment"):
        record_payment(statement.pk, by=finance, reference="TRX-1")
    assert fingerprint() == before


def test_payment_recorded_twice_is_refused_naming_the_first_reference(
    finance: Any, statement: Statement
) -> None:
    approve_statement(statement.pk, by=finance)
    record_payment(statement.pk, by=finance, reference="TRX-1")
    before = fingerprint()
    with pytest.raises(StatementRefused, match="already recorded \\(reference TRX-1\\)"):
        record_payment(statement.pk, by=finance, reference="TRX-2")
    assert fingerprint() == before


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("", "Enter the payment reference"),
        ("   \t ", "Enter the payment reference"),
        ("x" * 101, "at most 100 characters \\(it has 101\\)"),
        ("TRX\n1", "printable characters only"),
        ("TRX\x001", "printable characters only"),
        ("TRX\u20281", "printable characters only"),
        ("TRX\x1b[31m", "printable characters only"),
    ],
    ids=["empty", "blank", "too-long", "newline", "nul", "line-separator", "escape"],
)
def test_a_bad_payment_reference_is_refused_and_changes_nothing(
    finance: Any, statement: Statement, reference: str, message: str
) -> None:
    approve_statement(statement.pk, by=finance)
    before = fingerprint()
    with pytest.raises(ValidationError, match=message):
        record_payment(statement.pk, by=finance, reference=reference)
    assert fingerprint() == before


@pytest.mark.parametrize("reference", ["x" * 100, "Havale İş Bankası ödeme №42", "=HYPERLINK(1)"])
def test_printable_references_up_to_100_characters_are_kept(
    finance: Any, statement: Statement, reference: str
) -> None:
    approve_statement(statement.pk, by=finance)
    assert record_payment(statement.pk, by=finance, reference=reference).payment_reference == reference
