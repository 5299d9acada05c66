"""The partner's earnings report (/earnings/): who sees what, every filter, totals per currency, the
lines explaining themselves, keyset pages, CSV, statements, empty states, constant queries, en/tr.

Lines are written with the models directly (the report reads the ledger; how the ledger is written
is tested with the ledger)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Claim, Membership, Partner, Programme
from earnings.models import (
    AssessmentHandoff,
    Currency,
    EarningsLine,
    Metric,
    ProgrammeRule,
    Statement,
    StatementTotal,
)
from tests.factories import MpnFactory, PartnerFactory, UserFactory, draft, partner_user

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
R = Membership.Role
DEC, JAN, FEB = dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)


@pytest.fixture(autouse=True)
def _pinned_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


# --- building the ledger with the models ----------------------------------------------------------


def a_partner(name: str, mpn: str) -> Partner:
    partner = PartnerFactory(name=name)
    MpnFactory(partner=partner, number=mpn, location="Seattle")
    return partner


def a_rule(
    programme: str = Programme.OSU,
    *,
    metric: str = Metric.ACTIVE_USER_GROWTH,
    rate: str = "2.5",
    currency: str = Currency.USD,
    cap: str | None = "100.00",
    minimum_units: int = 5,
    effective_from: dt.date = dt.date(2025, 11, 1),
    is_example: bool = True,
) -> ProgrammeRule:
    return ProgrammeRule.objects.create(
        programme=programme,
        effective_from=effective_from,
        metric=metric,
        rate=Decimal(rate),
        currency=currency,
        monthly_cap=Decimal(cap) if cap is not None else None,
        minimum_units=minimum_units,
        eligible_months=12,
        is_example=is_example,
    )


def an_association(
    partner: Partner,
    by: Any,
    customer: str,
    *,
    rule: ProgrammeRule | None,
    programme: str = Programme.OSU,
    subscription: uuid.UUID | None = None,
    eligible: bool | None = True,
    reasons: tuple[str, ...] = (),
    ended: bool = False,
    queued_at: dt.datetime = dt.datetime(2025, 12, 5, 9, 0, tzinfo=UTC),
) -> AssessmentHandoff:
    claim = draft(partner, by=by, document=False, customer_name=customer)
    return AssessmentHandoff.objects.create(
        claim=claim,
        partner=partner,
        programme=programme,
        payment_eligible=programme != Programme.BUSINESS_INFLUENCER,
        queued_at=queued_at,
        tenant_id=claim.customer_tenant_id,
        subscription_id=subscription,
        eligible=eligible,
        reasons=list(reasons),
        rule=rule if eligible is not None else None,
        assessed_at=queued_at if eligible is not None else None,
        ended_at=queued_at + dt.timedelta(days=40) if ended else None,
    )


def statement_for(partner: Partner, month: dt.date) -> Statement:
    return Statement.objects.get_or_create(partner=partner, month=month)[0]


def a_line(
    handoff: AssessmentHandoff,
    month: dt.date,
    *,
    units: int,
    rule: ProgrammeRule | None = None,
    statement: Statement | None = None,
) -> EarningsLine:
    """An earning line worked out as the ledger does (min(units × rate, cap), 0 below threshold)."""
    rule = rule or handoff.rule
    raw = Decimal(units) * rule.rate
    capped = rule.monthly_cap is not None and raw > rule.monthly_cap
    amount = Decimal(0) if units < rule.minimum_units else (rule.monthly_cap if capped else raw)
    return EarningsLine.objects.create(
        partner=handoff.partner,
        assessment=handoff,
        programme=handoff.programme,
        month=month,
        tenant_id=handoff.tenant_id,
        subscription_id=handoff.subscription_id,
        rule=rule,
        metric=rule.metric,
        units=units,
        rate=rule.rate,
        minimum_units=rule.minimum_units,
        cap=rule.monthly_cap,
        cap_applied=capped and units >= rule.minimum_units,
        amount=amount.quantize(Decimal("0.01")),
        currency=rule.currency,
        statement=statement or statement_for(handoff.partner, month),
    )


def a_reversal(line: EarningsLine, statement: Statement | None = None) -> EarningsLine:
    return EarningsLine.objects.create(
        kind=EarningsLine.Kind.REVERSAL,
        partner=line.partner,
        assessment=line.assessment,
        programme=line.programme,
        month=line.month,
        tenant_id=line.tenant_id,
        subscription_id=line.subscription_id,
        rule=line.rule,
        metric=line.metric,
        units=line.units,
        rate=line.rate,
        minimum_units=line.minimum_units,
        cap=line.cap,
        cap_applied=line.cap_applied,
        amount=-line.amount,
        currency=line.currency,
        reverses=line,
        reversal_reason=EarningsLine.ReversalReason.ASSOCIATION_ENDED,
        statement=statement or line.statement,
    )


def approve(statement: Statement, by: Any, *, paid_reference: str = "") -> Statement:
    sums: dict[str, list[Decimal]] = {}
    for line in statement.lines.all():
        sums.setdefault(line.currency, []).append(line.amount)
    statement.approve(by=by, now=NOW)
    statement.save()
    for currency, amounts in sums.items():
        StatementTotal.objects.create(
            statement=statement, currency=currency, amount=sum(amounts), line_count=len(amounts)
        )
    if paid_reference:
        statement.mark_paid(by=by, now=NOW, reference=paid_reference)
        statement.save()
    return statement


def signed_in(user: Any, language: str = "en") -> Client:
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


def html_of(client: Client, **query: str) -> str:
    response = client.get(reverse("earnings:report"), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def without_tokens(html: str) -> str:
    """The page minus GUIDs and form values (the CSRF token), whose random digits could hold any
    number a test says is absent."""
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "GUID", html)
    return re.sub(r'value="[^"]*"', 'value=""', html)


def line_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="line-(\d+)">', html)]


def csv_rows(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- the scene: Contoso with three associations, lines in two currencies, statements -------------


class Scene:
    def __init__(self) -> None:
        self.partner = a_partner("Contoso", "1234567")
        self.other = a_partner("Fabrikam", "7654321")
        self.users = {
            "global": partner_user(self.partner, R.GLOBAL_ADMIN, email="gina@contoso.example"),
            "billing": partner_user(self.partner, R.BILLING_ADMIN, email="bill@contoso.example"),
            "incentives": partner_user(self.partner, R.INCENTIVES_ADMIN, email="ines@contoso.example"),
            "member": partner_user(self.partner, R.MEMBER, email="mo@contoso.example"),
            "outsider": partner_user(self.other, R.GLOBAL_ADMIN, email="olga@fabrikam.example"),
        }
        self.staff = UserFactory(is_staff=True, email="sam@cpor.example")
        by = self.users["incentives"]
        self.osu = a_rule()
        self.osa = a_rule(
            Programme.OSA,
            metric=Metric.ONE_TIME_FEE,
            rate="250",
            currency=Currency.EUR,
            cap=None,
            minimum_units=0,
            is_example=False,
        )
        self.subscription = uuid.uuid4()
        self.north = an_association(self.partner, by, "Northwind Traders", rule=self.osu)
        self.tail = an_association(
            self.partner,
            by,
            "Tailspin Toys",
            rule=self.osa,
            programme=Programme.OSA,
            subscription=self.subscription,
        )
        self.ended = an_association(self.partner, by, "Ended Co", rule=self.osu, ended=True)
        self.csp = an_association(
            self.partner,
            by,
            "Csp Co",
            rule=self.osu,
            eligible=False,
            reasons=(AssessmentHandoff.Reason.CSP_SUBSCRIPTION,),
        )
        self.pending = an_association(self.partner, by, "Pending Co", rule=None, eligible=None)
        # December: Northwind 30 users × 2.50 = 75.00; Tailspin's one-time fee 250 EUR. Approved, paid.
        self.dec_north = a_line(self.north, DEC, units=30)
        self.dec_tail = a_line(self.tail, DEC, units=1)
        self.dec_ended = a_line(self.ended, DEC, units=10)  # 25.00
        self.december = approve(statement_for(self.partner, DEC), self.staff, paid_reference="PAY-2026-0042")
        # January: Northwind capped (60 × 2.50 = 150 > 100); the ended association's December line
        # is reversed on January's draft (a clawback), and January below threshold (3 < 5).
        self.jan_north = a_line(self.north, JAN, units=60)
        self.jan_ended = a_line(self.ended, JAN, units=3)
        self.clawback = a_reversal(self.dec_ended, statement_for(self.partner, JAN))
        # Fabrikam's line, never shown to Contoso.
        theirs = an_association(self.other, self.users["outsider"], "Their Customer", rule=self.osu)
        self.their_line = a_line(theirs, DEC, units=41)


@pytest.fixture
def scene() -> Scene:
    return Scene()


def fingerprint() -> tuple[Any, ...]:
    return (
        EarningsLine.objects.count(),
        sorted(Statement.objects.values_list("pk", "status", "payment_reference")),
        StatementTotal.objects.count(),
        sorted(AssessmentHandoff.objects.values_list("pk", "eligible", "ended_at")),
        Claim.objects.count(),
    )


# --- what each person sees ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["global", "billing"])
def test_global_and_billing_admins_see_lines_totals_and_statements(scene: Scene, who: str) -> None:
    html = html_of(signed_in(scene.users[who]))
    # Newest month first; within a month, the newest line first. The clawback is December's (the
    # month it cancels) though it sits on January's statement.
    assert line_ids(html) == [
        scene.jan_ended.pk,
        scene.jan_north.pk,
        scene.clawback.pk,
        scene.dec_ended.pk,
        scene.dec_tail.pk,
        scene.dec_north.pk,
    ]
    # Totals per currency, never summed: USD 75 + 25 + 100 + 0 − 25 = 175; EUR 250.
    assert "<strong>175.00 USD</strong>" in html and "<strong>250.00 EUR</strong>" in html
    assert "425" not in without_tokens(html)
    # The capped line explains itself.
    row = re.search(rf'<tr id="line-{scene.jan_north.pk}">(.*?)</tr>', html, re.S).group(1)
    for part in (
        "January 2026",
        "Northwind Traders",
        str(scene.north.tenant_id),
        "OSU (usage)",
        "Active-user growth over the baseline month",
        ">60<",
        "2.50 USD",
        "100.00 USD",
        "cap applied",
        "100.00 USD</strong>",
        "Earning",
        "from November 2025",
        "example terms",
    ):
        assert part in row, part
    below = re.search(rf'<tr id="line-{scene.jan_ended.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "below threshold" in below and "0.00 USD</strong>" in below
    reversal = re.search(rf'<tr id="line-{scene.clawback.pk}">(.*?)</tr>', html, re.S).group(1)
    assert f"of line {scene.dec_ended.pk} (December 2025)" in reversal
    assert "The association ended before this month closed." in reversal and "-25.00 USD" in reversal
    assert "on the January 2026 statement" in reversal
    fee = re.search(rf'<tr id="line-{scene.dec_tail.pk}">(.*?)</tr>', html, re.S).group(1)
    assert str(scene.subscription) in fee and "250.00 EUR" in fee and "no cap" in fee
    assert "example terms" not in fee
    # Statements: December paid with its reference and frozen totals; January a running draft.
    statements = re.search(r'<table class="statements">(.*?)</table>', html, re.S).group(1)
    assert statements.index("January 2026") < statements.index("December 2025")
    assert "Paid" in statements and "PAY-2026-0042" in statements and "Draft" in statements
    assert "75.00 USD" in statements and "so far (draft)" in statements
    for name in ("earnings:statement_csv", "earnings:statement_print"):
        assert reverse(name, args=[scene.december.pk]) in statements
    # Fabrikam's line is nowhere.
    assert (
        "Their Customer" not in html
        and "102.50" not in without_tokens(html)
        and scene.their_line.pk not in line_ids(html)
    )
    assert 'href="/earnings/export.csv"' in html


def test_incentives_admin_sees_assessments_and_reasons_without_amounts(scene: Scene) -> None:
    html = html_of(signed_in(scene.users["incentives"]))
    assert line_ids(html) == [] and "USD" not in html and "EUR" not in html and "Statements" not in html
    assert "export.csv" not in html and 'name="tenant"' not in html
    assert "The subscription is bought through CSP, which the programme excludes." in html
    for status in ("Eligible", "Not eligible", "Not yet assessed", "Ended"):
        assert f">{status}</span>" in html
    assert "Meets the terms of OSU (usage) from 2025-11." in html
    assert "Their Customer" not in html


def test_member_sees_eligibility_only(scene: Scene) -> None:
    html = html_of(signed_in(scene.users["member"]))
    for status in ("Eligible", "Not eligible", "Not yet assessed", "Ended"):
        assert f">{status}</span>" in html
    for hidden in ("CSP", "Reasons", "USD", "EUR", "Statements", "export.csv", "Meets the terms"):
        assert hidden not in html, hidden
    assert all(name in html for name in ("Northwind Traders", "Tailspin Toys", "Csp Co", "Pending Co"))


def test_another_partners_admin_sees_only_their_own(scene: Scene) -> None:
    client = signed_in(scene.users["outsider"])
    html = html_of(client)
    assert line_ids(html) == [scene.their_line.pk]
    assert "Northwind" not in html and "Contoso" not in html.replace("Fabrikam", "")
    # Asking for our tenant by its ID finds nothing of ours, on the page and in the CSV.
    filtered = html_of(client, tenant=str(scene.north.tenant_id))
    assert line_ids(filtered) == [] and "Northwind" not in filtered
    rows = csv_rows(client.get(reverse("earnings:report_csv"), {"tenant": str(scene.north.tenant_id)}))
    assert rows[1:] == []


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "who", ["global", "billing", "incentives", "member", "outsider", "staff", "anonymous"]
)
def test_access_matrix_changes_nothing(scene: Scene, who: str, method: str) -> None:
    user = {"staff": scene.staff, "anonymous": None}.get(who, scene.users.get(who))
    client = signed_in(user) if user is not None else Client()
    before = fingerprint()
    page = getattr(client, method)(reverse("earnings:report"))
    export = getattr(client, method)(reverse("earnings:report_csv"))
    expected_page, expected_csv = {
        "global": (200, 200),
        "billing": (200, 200),
        "incentives": (200, 403),
        "member": (200, 403),
        "outsider": (200, 200),
        "staff": (403, 403),
        "anonymous": (302, 302),
    }[who]
    if method == "post":
        # Nothing here takes a POST (anonymous visitors are sent to sign in first).
        expected_page = expected_csv = 302 if who == "anonymous" else 405
    assert (page.status_code, export.status_code) == (expected_page, expected_csv)
    if who == "anonymous":
        assert page["Location"].startswith(reverse("login"))
    if expected_csv == 200 and method == "get":
        body = b"".join(export.streaming_content).decode()
        assert ("Northwind Traders" in body) is (who != "outsider")
        assert ("Their Customer" in body) is (who == "outsider")
    assert fingerprint() == before


# --- filters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["jan_ended", "jan_north", "clawback", "dec_ended", "dec_tail", "dec_north"]),
        ({"tenant": "north"}, ["jan_north", "dec_north"]),
        ({"subscription": "tail"}, ["dec_tail"]),
        ({"programme": Programme.OSA}, ["dec_tail"]),
        ({"programme": Programme.OSU}, ["jan_ended", "jan_north", "clawback", "dec_ended", "dec_north"]),
        ({"from": "2026-01"}, ["jan_ended", "jan_north"]),
        ({"to": "2025-12"}, ["clawback", "dec_ended", "dec_tail", "dec_north"]),
        ({"from": "2025-12", "to": "2025-12"}, ["clawback", "dec_ended", "dec_tail", "dec_north"]),
        ({"tenant": "north", "from": "2026-01", "to": "2026-01"}, ["jan_north"]),
        ({"programme": Programme.BUSINESS_INFLUENCER}, []),
        ({"from": "2026-02"}, []),
    ],
)
def test_each_filter_on_page_totals_and_csv(scene: Scene, query: dict[str, str], expected: list[str]) -> None:
    values = {"north": str(scene.north.tenant_id), "tail": str(scene.subscription)}
    query = {k: values.get(v, v) for k, v in query.items()}
    client = signed_in(scene.users["global"])
    html = html_of(client, **query)
    assert line_ids(html) == [getattr(scene, name).pk for name in expected]
    lines = [getattr(scene, name) for name in expected]
    for currency in ("USD", "EUR"):
        amounts = [line.amount for line in lines if line.currency == currency]
        if amounts:
            assert f"<strong>{sum(amounts)} {currency}</strong>" in html
        else:
            assert f"</strong> {currency}" not in html and f" {currency}</strong>" not in html
    if not expected:
        assert "No lines match these filters." in html
    rows = csv_rows(client.get(reverse("earnings:report_csv"), query))
    assert [int(row[0]) for row in rows[1:]] == [line.pk for line in lines]
    # The form keeps what was asked for.
    for name, value in query.items():
        assert f'name="{name}"' in html
        assert f'value="{value}"' in html or f'<option value="{value}" selected>' in html


def test_filters_narrow_the_associations_too(scene: Scene) -> None:
    html = html_of(signed_in(scene.users["global"]), subscription=str(scene.subscription))
    associations = re.search(r'<table class="associations">(.*?)</table>', html, re.S).group(1)
    assert "Tailspin Toys" in associations and "Northwind" not in associations


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"tenant": "not-a-guid"}, "tenant", "Enter a tenant ID as a GUID"),
        ({"tenant": "' OR 1=1 --"}, "tenant", "Enter a tenant ID as a GUID"),
        ({"subscription": "1234"}, "subscription", "Enter a subscription ID as a GUID"),
        ({"programme": "lottery"}, "programme", "Choose one of the listed programmes."),
        ({"from": "2026-13"}, "from", "Enter a month as YYYY-MM"),
        ({"from": "01/2026"}, "from", "Enter a month as YYYY-MM"),
        ({"to": "2026-1"}, "to", "Enter a month as YYYY-MM"),
        ({"to": "9999999-01"}, "to", "Enter a month as YYYY-MM"),
        ({"from": "2026-02", "to": "2025-12"}, "to", "The last month comes before the first month."),
    ],
)
def test_bad_filters_say_what_is_wrong_beside_the_field_and_show_no_lines(
    scene: Scene, query: dict[str, str], field: str, message: str
) -> None:
    client = signed_in(scene.users["billing"])
    before = fingerprint()
    html = html_of(client, **query)
    assert line_ids(html) == [] and "<strong>175.00 USD</strong>" not in html
    error = re.search(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', html, re.S)
    assert error is not None and message.replace("'", "&#x27;") in error.group(1)
    assert 'class="error-summary"' in html and f'href="#id_{field}"' in html
    assert re.search(rf"<(input|select)[^>]*aria-invalid=\"true\"[^>]*id=\"id_{field}\"", html), (
        "marked invalid"
    )
    # The associations still show; the CSV refuses to guess and shows the page with the error.
    assert "Northwind Traders" in html
    export = client.get(reverse("earnings:report_csv"), query)
    assert export.status_code == 200 and not export.streaming
    assert message.replace("'", "&#x27;") in export.content.decode()
    assert fingerprint() == before


def test_odd_cursors_and_page_numbers_show_the_first_page(scene: Scene) -> None:
    client = signed_in(scene.users["global"])
    first = line_ids(html_of(client))
    for query in (
        {"after": "x"},
        {"after": "2026-13-01.5"},
        {"before": "2026-01-01.abc"},
        {"associations": "-1"},
        {"associations": "zz"},
        {"after": "2026-01-01." + "9" * 40},
    ):
        assert line_ids(html_of(client, **query)) == first, query


# --- pages, CSV, empty states, languages, queries ---------------------------------------------------


def _many_lines(scene: Scene, count: int) -> list[EarningsLine]:
    """`count` more lines on their own associations, one per month going back from February 2026."""
    made = []
    by = scene.users["incentives"]
    for i in range(count):
        handoff = an_association(scene.partner, by, f"Bulk {i:03d}", rule=scene.osu)
        made.append(a_line(handoff, FEB, units=i % 50))
    return made


def test_keyset_pages_walk_every_line_once_both_ways(scene: Scene) -> None:
    _many_lines(scene, 115)  # 121 lines in all: pages of 50, 50, 21
    client = signed_in(scene.users["global"])
    expected = list(
        EarningsLine.objects.filter(partner=scene.partner)
        .order_by("-month", "-id")
        .values_list("pk", flat=True)
    )
    seen: list[list[int]] = []
    html = html_of(client, programme=Programme.OSU)  # filters carried along the pages
    expected = list(
        EarningsLine.objects.filter(partner=scene.partner, programme=Programme.OSU)
        .order_by("-month", "-id")
        .values_list("pk", flat=True)
    )
    queries = []
    while True:
        seen.append(line_ids(html))
        older = re.search(r'<a href="\?([^"]+)" rel="next">Older</a>', html)
        if older is None:
            break
        query = older.group(1).replace("&amp;", "&")
        assert "programme=osu" in query
        queries.append(query)
        html = client.get(reverse("earnings:report") + "?" + query).content.decode()
    assert [len(page) for page in seen] == [50, 50, 20]
    assert [pk for page in seen for pk in page] == expected
    assert "120 lines" in html
    newer = re.search(r'<a href="\?([^"]+)" rel="prev">Newer</a>', html).group(1).replace("&amp;", "&")
    assert line_ids(client.get(reverse("earnings:report") + "?" + newer).content.decode()) == seen[1]


def test_csv_content_and_formula_injection(scene: Scene) -> None:
    hostile = an_association(
        scene.partner, scene.users["incentives"], '=HYPERLINK("http://x")', rule=scene.osu
    )
    line = a_line(hostile, FEB, units=7)
    rows = csv_rows(signed_in(scene.users["global"]).get(reverse("earnings:report_csv")))
    assert rows[0] == [
        "Line ID",
        "Month",
        "Customer",
        "Tenant ID",
        "Subscription ID",
        "Programme",
        "Metric",
        "Units",
        "Rate",
        "Minimum threshold (units)",
        "Cap",
        "Cap applied",
        "Amount",
        "Currency",
        "Kind",
        "Reverses line",
        "Reversal reason",
        "Rule version",
        "Example terms",
        "Statement month",
    ]
    by_id = {int(row[0]): row for row in rows[1:]}
    assert len(by_id) == 7
    assert by_id[line.pk][2] == '\'=HYPERLINK("http://x")'
    assert by_id[scene.jan_north.pk] == [
        str(scene.jan_north.pk),
        "2026-01",
        "Northwind Traders",
        str(scene.north.tenant_id),
        "",
        "OSU (usage)",
        "Active-user growth over the baseline month",
        "60",
        "2.5000",
        "5",
        "100.00",
        "yes",
        "100.00",
        "USD",
        "Earning",
        "",
        "",
        "2025-11",
        "yes",
        "2026-01",
    ]
    clawback = by_id[scene.clawback.pk]
    assert clawback[12] == "-25.00" and clawback[14] == "Reversal" and clawback[15] == str(scene.dec_ended.pk)
    assert clawback[16] == "The association ended before this month closed." and clawback[19] == "2026-01"
    assert by_id[scene.dec_tail.pk][4] == str(scene.subscription) and by_id[scene.dec_tail.pk][18] == "no"
    # The lines' sum per currency is the page's total.
    assert sum(Decimal(r[12]) for r in rows[1:] if r[13] == "USD") == Decimal("192.50")


def test_empty_states_explain(scene: Scene) -> None:
    newcomer = a_partner("Newcomer", "5550001")
    admin = partner_user(newcomer, R.GLOBAL_ADMIN)
    html = html_of(signed_in(admin))
    assert "No association yet." in html
    assert "No earnings lines yet. A month earns once it has ended" in html
    assert "No statements yet." in html and "Export CSV" not in html
    an_association(newcomer, admin, "Fresh Co", rule=scene.osu)
    html = html_of(signed_in(admin))
    assert "Fresh Co" in html and "No earnings lines yet" in html
    member = html_of(signed_in(partner_user(newcomer, R.MEMBER)))
    assert "Fresh Co" in member and "No earnings lines" not in member


def test_turkish_and_the_navigation_link(scene: Scene) -> None:
    en = html_of(signed_in(scene.users["member"]))
    assert '<a href="/earnings/">Earnings</a>' in en
    tr = html_of(signed_in(scene.users["global"], "tr"))
    assert '<a href="/earnings/">Kazançlar</a>' in tr
    assert "Ocak 2026" in tr and "Ekstreler" in tr and "Uygun" in tr
    bad = html_of(signed_in(scene.users["global"], "tr"), to="2026-99")
    assert "YYYY-MM" in bad and "Enter a month" not in bad


def _count_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        html = html_of(client)
    assert "Northwind Traders" in html
    return len(queries)


def test_constant_queries_for_2_and_200_lines_and_2_and_50_associations() -> None:
    partner = a_partner("Counting", "5550002")
    admin = partner_user(partner, R.GLOBAL_ADMIN)
    rule = a_rule()
    client = signed_in(admin)
    first = an_association(partner, admin, "Northwind Traders", rule=rule)
    second = an_association(partner, admin, "Second Co", rule=rule)
    a_line(first, DEC, units=10)
    a_line(second, DEC, units=20)
    approve(statement_for(partner, DEC), admin, paid_reference="P-1")
    a_line(
        second, dt.date(2025, 9, 1), units=30
    )  # a draft statement beside the paid one (its running sum: one query)
    html_of(client)  # session and caches warm
    small = _count_queries(client)
    # 50 associations (two pages of 25), 200 lines over 4 months, statements approved, paid, draft.
    handoffs = [first, second] + [an_association(partner, admin, f"Co {i}", rule=rule) for i in range(48)]
    for i in range(197):
        a_line(handoffs[i % 50], [JAN, FEB, dt.date(2025, 11, 1), dt.date(2025, 10, 1)][i // 50], units=i)
    approve(statement_for(partner, JAN), admin)
    large = _count_queries(client)
    assert small == large, (small, large)
    assert large <= 12


def test_unfiltered_totals_from_the_statements_equal_the_lines_sums(scene: Scene) -> None:
    """Unfiltered, the totals come from the statements (frozen for approved and paid, running for
    drafts); a filter that keeps every line sums the lines instead: the two agree."""
    more = _many_lines(scene, 7)
    approve(statement_for(scene.partner, FEB), scene.staff)
    a_reversal(more[3], statement_for(scene.partner, dt.date(2026, 3, 1)))
    client = signed_in(scene.users["global"])
    every = html_of(client, **{"from": "2000-01"})
    unfiltered = html_of(client)

    def totals(html: str) -> list[str]:
        return re.findall(
            r"<li><strong>([-\d.]+ [A-Z]{3})</strong> <span class=\"muted\">\((\d+) lines?\)", html
        )

    expected = {
        currency: sum(
            line.amount for line in EarningsLine.objects.filter(partner=scene.partner, currency=currency)
        )
        for currency in ("EUR", "USD")
    }
    assert totals(unfiltered) == totals(every)
    assert [amount for amount, _count in totals(unfiltered)] == [
        f"{expected['EUR']} EUR",
        f"{expected['USD']} USD",
    ]
    assert sum(int(count) for _amount, count in totals(unfiltered)) == 14
