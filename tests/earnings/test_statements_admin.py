"""Statements in the admin: finance lists them with totals per currency (never summed across
currencies), reads one with its lines, approves it and records its payment with POST buttons;
refusals are messages, never a 500, and change nothing. Reviewers have no permission on
statements or the ledger at all; the ledger is read-only for everyone."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from claims.models import LEAD_GROUP, REVIEWER_GROUP
from earnings.models import FINANCE_GROUP, Currency, EarningsLine, Statement
from earnings.statements import approve_statement, record_payment
from tests.earnings.statement_helpers import NOW, finance_user, fingerprint, line, rule_version, statement_for
from tests.factories import PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Statement.Status


@pytest.fixture(autouse=True)
def _clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finance() -> Any:
    return finance_user(email="fiona@cpor.example")


@pytest.fixture
def statement() -> Statement:
    statement = statement_for(PartnerFactory(name="Contoso"))
    line(statement, "30.00", cap_applied=True)
    line(statement, "12.35")
    line(statement, "99.99", currency=Currency.EUR)
    return statement


def change_url(statement: Statement) -> str:
    return reverse("admin:earnings_statement_change", args=[statement.pk])


def approve_url(statement: Statement) -> str:
    return reverse("admin:earnings_statement_approve", args=[statement.pk])


def payment_url(statement: Statement) -> str:
    return reverse("admin:earnings_statement_record_payment", args=[statement.pk])


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_list_shows_totals_per_currency_and_line_counts(finance: Any, statement: Statement) -> None:
    other = statement_for(PartnerFactory(name="Fabrikam"), month=dt.date(2026, 2, 1))
    line(other, "7.00", currency=Currency.GBP)
    response = signed_in(finance).get(reverse("admin:earnings_statement_changelist"))
    assert response.status_code == 200
    page = text(response)
    assert "42.35 USD 99.99 EUR" in page  # never 142.34 of nothing
    assert "142.34" not in page
    assert "7.00 GBP" in page
    assert "2026-03" in page and "2026-02" in page


def test_the_list_filters_by_status_month_and_partner(finance: Any, statement: Statement) -> None:
    other = statement_for(PartnerFactory(name="Fabrikam"), month=dt.date(2026, 2, 1))
    line(other, "7.00", currency=Currency.GBP)
    client = signed_in(finance)
    url = reverse("admin:earnings_statement_changelist")
    assert "Fabrikam" not in text(client.get(url, {"month": "2026-03"})).split("Filter")[0]
    assert "7.00 GBP" not in text(client.get(url, {"month": "2026-03"}))
    assert "7.00 GBP" in text(client.get(url, {"partner__id__exact": other.partner_id}))
    assert "42.35 USD" not in text(client.get(url, {"partner__id__exact": other.partner_id}))
    approve_statement(statement.pk, by=finance)
    assert "42.35 USD" in text(client.get(url, {"status__exact": "approved"}))
    assert "7.00 GBP" not in text(client.get(url, {"status__exact": "approved"}))
    # A hand-edited month shows nothing, not an error.
    assert client.get(url, {"month": "March"}).status_code == 200


def test_the_list_reads_a_page_of_statements_in_constant_queries(
    finance: Any, django_assert_max_num_queries: Any
) -> None:
    for month in range(1, 4):
        for _ in range(3):
            s = statement_for(month=dt.date(2025, month, 1))
            line(s, "1.00")
            line(s, "2.00", currency=Currency.EUR)
    client = signed_in(finance)
    client.get(reverse("admin:earnings_statement_changelist"))  # warm the session and content types
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:earnings_statement_changelist")).status_code == 200


def test_the_statement_page_is_read_only_with_its_lines(finance: Any, statement: Statement) -> None:
    response = signed_in(finance).get(change_url(statement))
    assert response.status_code == 200
    page = text(response)
    assert "Draft — may still change" in page
    for value in ("30.00", "12.35", "99.99", "Active-user growth", "2026-01", "yes (500.00)"):
        assert value in page
    body = response.content.decode()
    assert 'name="_save"' not in body  # nothing to save: the page is read-only
    assert f'action="{approve_url(statement)}"' in body
    assert f'action="{payment_url(statement)}"' not in body  # not until approved
    assert reverse("earnings:statement_csv", args=[statement.pk]) in body
    assert reverse("earnings:statement_print", args=[statement.pk]) in body


def test_example_terms_are_flagged_on_the_page(finance: Any) -> None:
    statement = statement_for()
    example = rule_version(effective_from=dt.date(2025, 6, 1), is_example=True)
    line(statement, "5.00", rule=example)
    assert "Some lines use example terms" in text(signed_in(finance).get(change_url(statement)))


def test_finance_approves_then_records_payment_with_the_buttons(finance: Any, statement: Statement) -> None:
    client = signed_in(finance)
    response = client.post(approve_url(statement), follow=True)
    assert response.redirect_chain[-1][0] == change_url(statement)
    assert "Statement approved" in text(response)
    statement.refresh_from_db()
    assert statement.status == S.APPROVED
    assert {t.currency: t.amount for t in statement.totals.all()} == {
        "USD": Decimal("42.35"),
        "EUR": Decimal("99.99"),
    }
    body = response.content.decode()
    assert f'action="{approve_url(statement)}"' not in body
    assert f'action="{payment_url(statement)}"' in body

    response = client.post(payment_url(statement), {"reference": " TRX-2026-0042 "}, follow=True)
    assert "Payment recorded" in text(response)
    statement.refresh_from_db()
    assert (statement.status, statement.payment_reference, statement.paid_by) == (
        S.PAID,
        "TRX-2026-0042",
        finance,
    )
    assert 'action="' + payment_url(statement) + '"' not in response.content.decode()
    # The admin's history of the statement says who did what.
    history = text(client.get(reverse("admin:earnings_statement_history", args=[statement.pk])))
    assert "Statement approved" in history and "Payment recorded" in history


def test_refusals_are_messages_on_the_page_and_change_nothing(finance: Any, statement: Statement) -> None:
    client = signed_in(finance)
    before = fingerprint()
    response = client.post(payment_url(statement), {"reference": "TRX-1"}, follow=True)
    assert response.status_code == 200
    assert "Approve the statement before recording its payment." in text(response)
    assert fingerprint() == before

    client.post(approve_url(statement))
    approved = fingerprint()
    for reference, message in (("", "Enter the payment reference."), ("a\nb", "printable characters only")):
        response = client.post(payment_url(statement), {"reference": reference}, follow=True)
        assert response.status_code == 200
        assert message in text(response)
    response = client.post(approve_url(statement), follow=True)
    assert "Only a draft statement can be approved" in text(response)
    assert fingerprint() == approved


def test_an_empty_draft_cannot_be_approved_from_the_page(finance: Any) -> None:
    empty = statement_for()
    response = signed_in(finance).post(approve_url(empty), follow=True)
    assert "nothing to approve" in text(response)
    empty.refresh_from_db()
    assert empty.status == S.DRAFT


def test_a_statement_gone_is_a_message_not_a_500(finance: Any) -> None:
    response = signed_in(finance).post(
        reverse("admin:earnings_statement_approve", args=[987654]), follow=True
    )
    assert response.status_code == 200
    assert "This statement no longer exists." in text(response)


def test_the_buttons_refuse_get(finance: Any, statement: Statement) -> None:
    before = fingerprint()
    assert signed_in(finance).get(approve_url(statement)).status_code == 405
    assert signed_in(finance).get(payment_url(statement)).status_code == 405
    assert fingerprint() == before


def test_csrf_is_required(finance: Any, statement: Statement) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(finance)
    before = fingerprint()
    assert client.post(approve_url(statement)).status_code == 403
    assert fingerprint() == before


def staff_in(group: str) -> Any:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.mark.parametrize("group", [REVIEWER_GROUP, LEAD_GROUP])
def test_reviewers_have_no_permission_on_statements_or_the_ledger(group: str, statement: Statement) -> None:
    user = staff_in(group)
    for codename in ("view_statement", "change_statement", "approve_statement", "record_payment"):
        assert not user.has_perm(f"earnings.{codename}")
    assert not user.has_perm("earnings.view_earningsline")
    client = signed_in(user)
    before = fingerprint()
    assert client.get(reverse("admin:earnings_statement_changelist")).status_code == 403
    assert client.get(change_url(statement)).status_code in (302, 403)
    assert client.get(reverse("admin:earnings_earningsline_changelist")).status_code == 403
    assert client.post(approve_url(statement)).status_code == 403
    assert client.post(payment_url(statement), {"reference": "TRX-1"}).status_code == 403
    assert fingerprint() == before


def test_staff_with_read_access_only_see_no_buttons_and_cannot_act(statement: Statement) -> None:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Group.objects.get(name=FINANCE_GROUP).permissions.filter(codename="view_statement")
    )
    client = signed_in(user)
    response = client.get(change_url(statement))
    assert response.status_code == 200
    assert "42.35 USD" in text(response)  # reading is allowed
    body = response.content.decode()
    assert f'action="{approve_url(statement)}"' not in body
    before = fingerprint()
    response = client.post(approve_url(statement), follow=True)
    assert "Only the Incentive finance team" in text(response)
    assert fingerprint() == before


def test_the_finance_group_holds_exactly_the_statement_permissions_it_needs() -> None:
    codenames = set(Group.objects.get(name=FINANCE_GROUP).permissions.values_list("codename", flat=True))
    assert {"view_statement", "approve_statement", "record_payment", "view_earningsline"} <= codenames
    assert not codenames & {"add_statement", "change_statement", "delete_statement"}
    assert not codenames & {"add_earningsline", "change_earningsline", "delete_earningsline"}


# -- the ledger lines ------------------------------------------------------------------------------


def test_finance_reads_the_ledger_and_nobody_edits_it(finance: Any, statement: Statement) -> None:
    boss = UserFactory(is_staff=True, is_superuser=True)
    first = EarningsLine.objects.filter(statement=statement).first()
    for user in (finance, boss):
        client = signed_in(user)
        listing = client.get(reverse("admin:earnings_earningsline_changelist"))
        assert listing.status_code == 200
        assert "99.99" in text(listing)
        page = client.get(reverse("admin:earnings_earningsline_change", args=[first.pk]))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        before = fingerprint()
        assert client.get(reverse("admin:earnings_earningsline_add")).status_code == 403
        assert client.post(reverse("admin:earnings_earningsline_delete", args=[first.pk])).status_code == 403
        assert (
            client.post(
                reverse("admin:earnings_earningsline_change", args=[first.pk]), {"amount": "1000000.00"}
            ).status_code
            == 403
        )
        assert client.get(reverse("admin:earnings_statement_add")).status_code == 403
        assert client.post(reverse("admin:earnings_statement_delete", args=[statement.pk])).status_code == 403
        assert fingerprint() == before


def test_the_statement_page_links_to_its_lines_in_the_ledger(finance: Any, statement: Statement) -> None:
    other = statement_for()
    line(other, "77.77")
    client = signed_in(finance)
    url = reverse("admin:earnings_earningsline_changelist") + f"?statement__id__exact={statement.pk}"
    page = text(client.get(url))
    assert "12.35" in page and "77.77" not in page


def test_a_paid_statement_page_shows_the_payment(finance: Any, statement: Statement) -> None:
    approve_statement(statement.pk, by=finance)
    record_payment(statement.pk, by=finance, reference="TRX-7")
    page = text(signed_in(finance).get(change_url(statement)))
    assert "TRX-7" in page and "Paid" in page
    assert "Frozen at approval" in page


def test_an_id_beyond_any_integer_is_not_a_500(finance: Any) -> None:
    client = signed_in(finance)
    huge = "9" * 30
    before = fingerprint()
    assert client.get(f"/admin/earnings/statement/{huge}/change/").status_code == 302
    response = client.post(f"/admin/earnings/statement/{huge}/approve/", follow=True)
    assert "This statement no longer exists." in text(response)
    response = client.post(
        f"/admin/earnings/statement/{huge}/record-payment/", {"reference": "x"}, follow=True
    )
    assert "This statement no longer exists." in text(response)
    assert fingerprint() == before


@pytest.mark.parametrize("month", ["99999999999999999999-1", "2026-13", "2026", "x-y", "0-1"])
def test_a_hand_edited_month_filter_shows_nothing_instead_of_failing(
    finance: Any, statement: Statement, month: str
) -> None:
    response = signed_in(finance).get(reverse("admin:earnings_statement_changelist"), {"month": month})
    assert response.status_code == 200
    assert "0 statements" in text(response)
