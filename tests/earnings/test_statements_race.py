"""Approving a statement and attaching a line to it at the same moment, on PostgreSQL with real
commits (each thread its own connection): whichever takes the statement's row lock first wins, and
the other sees its outcome. Never a line on an approved statement that its frozen totals do not
count; a line that lost the race goes on the partner's next draft statement."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Count, Sum

from earnings.ledger import attach_to_statement, next_month
from earnings.models import Currency, EarningsLine, Statement
from earnings.statements import StatementRefused, approve_statement
from tests.earnings.statement_helpers import (
    MONTH,
    NOW,
    finance_user,
    handoff,
    line,
    rule_version,
    statement_for,
)
from tests.factories import PartnerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROUNDS = 12


def at_once(*calls: Callable[[], Any]) -> list[BaseException]:
    """Run the calls in threads released together; the exceptions they raised."""
    barrier = threading.Barrier(len(calls), timeout=30)
    crashes: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            call()
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: a lock was never released"
    return crashes


def lines_per_currency(statement: Statement) -> dict[str, tuple[Decimal, int]]:
    return {
        row["currency"]: (row["amount"], row["n"])
        for row in EarningsLine.objects.filter(statement=statement)
        .order_by()
        .values("currency")
        .annotate(amount=Sum("amount"), n=Count("id"))
    }


def frozen(statement: Statement) -> dict[str, tuple[Decimal, int]]:
    return {t.currency: (t.amount, t.line_count) for t in statement.totals.all()}


def test_approving_and_attaching_at_once_never_leaves_a_line_on_an_approved_statement() -> None:
    outcomes: Counter[str] = Counter()
    with time_machine.travel(NOW, tick=True):
        finance = finance_user()
        rule_version(currency=Currency.EUR)
        for round_number in range(ROUNDS):
            partner = PartnerFactory()
            statement = statement_for(partner)
            line(statement, "10.00", currency=Currency.EUR)
            association = handoff(partner)
            # Odd rounds: approval starts only once the attaching side holds the statement's lock (and
            # keeps it a moment before writing its line), so approval must wait and then count the
            # line. Even rounds: both start together and either may win.
            held = round_number % 2 == 1
            locked = threading.Event()

            def approve(statement_id: int = statement.pk, held: bool = held, locked: Any = locked) -> None:
                if held:
                    assert locked.wait(30)
                approve_statement(statement_id, by=finance)

            def attach(
                partner_id: int = partner.pk,
                association: Any = association,
                locked: Any = locked,
                held: bool = held,
            ) -> None:
                with transaction.atomic():
                    target = attach_to_statement(partner_id, MONTH)
                    locked.set()
                    if held:
                        time.sleep(0.2)
                    line(target, "2.50", currency=Currency.EUR, association=association, month=MONTH)

            crashes = at_once(approve, attach)
            assert crashes == [], crashes

            statement.refresh_from_db()
            assert statement.status == Statement.Status.APPROVED
            # The frozen totals are exactly what the statement's lines add up to, now and forever.
            assert frozen(statement) == lines_per_currency(statement)
            late = EarningsLine.objects.get(assessment=association)
            if held:
                assert late.statement_id == statement.pk, "approval did not wait for the attaching lock"
            if late.statement_id == statement.pk:
                outcomes["attached before approval"] += 1
                assert frozen(statement) == {"EUR": (Decimal("12.50"), 2)}
            else:
                outcomes["moved to the next draft"] += 1
                assert frozen(statement) == {"EUR": (Decimal("10.00"), 1)}
                assert late.statement.month == next_month(MONTH)
                assert late.statement.status == Statement.Status.DRAFT
    print(f"approve vs attach over {ROUNDS} rounds: {dict(outcomes)}")
    assert sum(outcomes.values()) == ROUNDS
    assert outcomes["attached before approval"] >= ROUNDS // 2, outcomes


def test_two_finance_users_approving_at_once_freeze_the_totals_once() -> None:
    with time_machine.travel(NOW, tick=True):
        statement = statement_for()
        line(statement, "10.00")
        line(statement, "5.55", currency=Currency.GBP)
        first, second = finance_user(), finance_user()
        refused: list[BaseException] = []

        def approve_as(user: Any) -> Callable[[], None]:
            def call() -> None:
                try:
                    approve_statement(statement.pk, by=user)
                except StatementRefused as exc:
                    refused.append(exc)

            return call

        assert at_once(approve_as(first), approve_as(second)) == []
    assert len(refused) == 1
    assert "Only a draft statement can be approved" in str(refused[0])
    statement.refresh_from_db()
    assert statement.status == Statement.Status.APPROVED
    assert statement.totals.count() == 2
    assert frozen(statement) == {"USD": (Decimal("10.00"), 1), "GBP": (Decimal("5.55"), 1)}


def test_the_month_boundary_is_the_site_time_zone(settings: Any) -> None:
    # Kept here beside the race: on PostgreSQL the DB and Python must agree on "month ended".
    settings.TIME_ZONE = "Europe/Istanbul"
    statement = statement_for(month=dt.date(2026, 4, 1))
    line(statement, "1.00")
    finance = finance_user()
    # 21:30 UTC on 30 April is already 1 May in Istanbul: April has ended there.
    with time_machine.travel(dt.datetime(2026, 4, 30, 21, 30, tzinfo=dt.UTC), tick=False):
        assert approve_statement(statement.pk, by=finance).status == Statement.Status.APPROVED
