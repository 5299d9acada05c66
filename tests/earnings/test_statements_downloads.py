"""A statement's CSV and printable page: for the partner's Global and Billing admins and for
finance; 403 for the partner's Incentives admins and members, 404 for another partner's users,
reviewers and other staff, sign-in for anonymous visitors; nothing changes for anyone."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from claims.models import Membership, Partner
from earnings.models import Currency, Statement
from earnings.statements import approve_statement, record_payment
from tests.earnings.statement_helpers import (
    NOW,
    finance_user,
    fingerprint,
    handoff,
    line,
    reversal,
    rule_version,
    statement_for,
)
from tests.factories import PartnerFactory, UserFactory, partner_user, reviewer

pytestmark = pytest.mark.django_db
R = Membership.Role
VIEWS = ["earnings:statement_csv", "earnings:statement_print"]


@pytest.fixture(autouse=True)
def _clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory(name="Contoso")


@pytest.fixture
def statement(partner: Partner) -> Statement:
    statement = statement_for(partner)
    hostile = handoff(partner, customer_name='=HYPERLINK("http://evil.example","x")')
    first = line(statement, "30.00", association=hostile, cap_applied=True)
    line(statement, "12.35")
    line(statement, "99.99", currency=Currency.EUR)
    reversal(first, statement)
    return statement


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def rows_of(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


PEOPLE = {
    "global admin": (lambda p: partner_user(p, R.GLOBAL_ADMIN), 200),
    "billing admin": (lambda p: partner_user(p, R.BILLING_ADMIN), 200),
    "finance": (lambda p: finance_user(), 200),
    "superuser": (lambda p: UserFactory(is_staff=True, is_superuser=True), 200),
    "incentives admin": (lambda p: partner_user(p, R.INCENTIVES_ADMIN), 403),
    "member": (lambda p: partner_user(p, R.MEMBER), 403),
    "other partner's global admin": (lambda p: partner_user(PartnerFactory(), R.GLOBAL_ADMIN), 404),
    "other partner's billing admin": (lambda p: partner_user(PartnerFactory(), R.BILLING_ADMIN), 404),
    "reviewer": (lambda p: reviewer(), 404),
    "review lead": (lambda p: reviewer(lead=True), 404),
    "staff outside finance": (lambda p: UserFactory(is_staff=True), 404),
    "inactive global admin": (lambda p: partner_user(p, R.GLOBAL_ADMIN, is_active=False), 302),
}


@pytest.mark.parametrize("name", VIEWS)
@pytest.mark.parametrize("who", list(PEOPLE))
def test_who_may_download_a_statement(who: str, name: str, partner: Partner, statement: Statement) -> None:
    make, expected = PEOPLE[who]
    before = fingerprint()
    response = client_for(make(partner)).get(reverse(name, args=[statement.pk]))
    assert response.status_code == expected
    if expected == 200:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"99.99" in content
    else:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"99.99" not in content and b"12.35" not in content
    assert fingerprint() == before


@pytest.mark.parametrize("name", VIEWS)
def test_anonymous_visitors_are_sent_to_sign_in(name: str, statement: Statement) -> None:
    response = Client().get(reverse(name, args=[statement.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", VIEWS)
def test_an_unknown_statement_is_404_even_for_finance(name: str) -> None:
    assert client_for(finance_user()).get(reverse(name, args=[987654])).status_code == 404


@pytest.mark.parametrize("name", VIEWS)
def test_downloads_do_not_accept_post(name: str, partner: Partner, statement: Statement) -> None:
    client = client_for(partner_user(partner, R.GLOBAL_ADMIN))
    before = fingerprint()
    assert client.post(reverse(name, args=[statement.pk])).status_code == 405
    assert fingerprint() == before


def test_the_csv_has_a_header_one_row_per_line_and_totals_per_currency(
    partner: Partner, statement: Statement
) -> None:
    response = client_for(partner_user(partner, R.BILLING_ADMIN)).get(
        reverse("earnings:statement_csv", args=[statement.pk])
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="statement-{statement.pk}-2026-03.csv"'
    assert "no-store" in response["Cache-Control"]
    rows = rows_of(response)
    header = rows[0]
    assert header[:3] == ["Line ID", "Kind", "Month"]
    assert {"Units", "Rate", "Cap", "Cap applied", "Amount", "Currency", "Rule version"} <= set(header)
    lines = rows[1 : rows.index([])]
    assert len(lines) == 4
    column = {name: i for i, name in enumerate(header)}
    amounts = [(r[column["Amount"]], r[column["Currency"]]) for r in lines]
    assert amounts == [("30.00", "USD"), ("12.35", "USD"), ("99.99", "EUR"), ("-30.00", "USD")]
    assert [r[column["Kind"]] for r in lines] == ["Earning", "Earning", "Earning", "Reversal"]
    assert lines[3][column["Reverses line"]] == lines[0][column["Line ID"]]
    assert lines[0][column["Cap applied"]] == "yes"
    assert lines[0][column["Cap"]] == "500.00"
    assert lines[0][column["Rate"]] == "10.0000"
    assert lines[0][column["Rule version"]] == "OSU (usage) 2026-01"
    # The customer's name is text a person typed: a spreadsheet must not run it.
    assert lines[0][column["Customer"]] == '\'=HYPERLINK("http://evil.example","x")'
    second = rows.index([])
    totals = rows[second + 1 : rows.index([], second + 1)]
    assert totals == [["Currency", "Total", "Lines"], ["EUR", "99.99", "1"], ["USD", "12.35", "3"]]
    assert ["Status", "Draft — may still change"] in rows
    assert ["Month", "2026-03"] in rows


def test_the_csv_of_a_paid_statement_gives_the_frozen_totals_and_reference(
    partner: Partner, statement: Statement
) -> None:
    finance = finance_user()
    approve_statement(statement.pk, by=finance)
    record_payment(statement.pk, by=finance, reference="+TRX-42")
    rows = rows_of(client_for(finance).get(reverse("earnings:statement_csv", args=[statement.pk])))
    assert ["EUR", "99.99", "1"] in rows and ["USD", "12.35", "3"] in rows
    assert ["Status", "Paid"] in rows
    assert ["Payment reference", "'+TRX-42"] in rows


def test_the_csv_speaks_the_readers_language(partner: Partner, statement: Statement) -> None:
    client = client_for(partner_user(partner, R.GLOBAL_ADMIN))
    client.post(reverse("set_language"), {"language": "tr"})
    rows = rows_of(client.get(reverse("earnings:statement_csv", args=[statement.pk])))
    assert rows[0][0] != "Line ID"
    # Amounts stay plain decimals with a dot, whatever the language.
    assert any("12.35" in row for row in rows)


def test_the_printable_page_shows_the_statement(partner: Partner, statement: Statement) -> None:
    example = rule_version(effective_from=dt.date(2025, 6, 1), is_example=True)
    line(statement, "5.00", rule=example)
    response = client_for(partner_user(partner, R.GLOBAL_ADMIN)).get(
        reverse("earnings:statement_print", args=[statement.pk])
    )
    page = text(response)
    assert "Contoso" in page
    assert "Draft — may still change" in page
    assert "17.35 USD" in page and "99.99 EUR" in page
    assert "117.34" not in page
    assert "Some lines use example terms" in page
    assert "css/statement.css" in response.content.decode()
    # The hostile customer name is shown as text, escaped.
    assert "=HYPERLINK(&quot;http://evil.example&quot;" in response.content.decode()


def test_the_printable_page_of_a_paid_statement(partner: Partner, statement: Statement) -> None:
    finance = finance_user(email="fiona@cpor.example")
    approve_statement(statement.pk, by=finance)
    record_payment(statement.pk, by=finance, reference="TRX-42")
    url = reverse("earnings:statement_print", args=[statement.pk])
    page = text(client_for(partner_user(partner, R.BILLING_ADMIN)).get(url))
    assert "Draft — may still change" not in page
    assert "Paid" in page and "TRX-42" in page
    assert "Some lines use example terms" not in page
    # The partner sees when, not which finance colleague; finance sees who.
    assert "fiona@cpor.example" not in page
    assert "fiona@cpor.example" in text(client_for(finance).get(url))


def test_the_printable_page_reads_in_constant_queries(
    partner: Partner, statement: Statement, django_assert_max_num_queries: Any
) -> None:
    for _ in range(20):
        line(statement, "1.00")
    client = client_for(partner_user(partner, R.GLOBAL_ADMIN))
    url = reverse("earnings:statement_print", args=[statement.pk])
    client.get(url)
    with django_assert_max_num_queries(10):
        assert client.get(url).status_code == 200


def test_a_statement_too_long_to_print_lists_its_sums_and_points_to_the_csv(
    partner: Partner, statement: Statement, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earnings import statement_views

    monkeypatch.setattr(statement_views, "PRINT_LINES_LIMIT", 3)
    response = client_for(partner_user(partner, R.GLOBAL_ADMIN)).get(
        reverse("earnings:statement_print", args=[statement.pk])
    )
    page = text(response)
    assert "This statement has 4 lines: more than the 3 a printed statement lists." in page
    assert 'table class="statement-lines"' not in response.content.decode()
    # 2026-03 OSU: earnings 30.00 + 12.35 USD (2 lines), 99.99 EUR (1), the reversal −30.00 USD (1).
    assert "2026-03 OSU (usage) Earning 2 42.35 USD" in page
    assert "2026-03 OSU (usage) Earning 1 99.99 EUR" in page
    assert "2026-03 OSU (usage) Reversal 1 -30.00 USD" in page
    assert "12.35 USD" in page  # the totals per currency are still there


@pytest.mark.parametrize("suffix", [".csv", "/print/"])
def test_an_id_beyond_any_integer_is_404(suffix: str) -> None:
    assert client_for(finance_user()).get(f"/earnings/statements/{'9' * 30}{suffix}").status_code == 404
