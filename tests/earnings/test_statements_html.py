"""The printable statement (draft, paid, and too long to list) and the statements admin pages are
valid HTML by the W3C Nu checker, in English and Turkish (one checker run, as tests/test_html_valid.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from claims.models import Membership
from earnings import statement_views
from earnings.models import Currency
from earnings.statements import approve_statement, record_payment
from tests.conftest import IN_CI
from tests.earnings.statement_helpers import NOW, finance_user, line, reversal, statement_for
from tests.factories import PartnerFactory, partner_user
from tests.test_html_valid import LANGUAGES, _checker_problem, client_for, nu_errors

pytestmark = pytest.mark.django_db


def test_the_statement_pages_are_valid_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _checker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI checks every page with the Nu HTML checker, but {problem}")
        pytest.skip(problem)
    with time_machine.travel(NOW, tick=False):
        partner = PartnerFactory(name="Contoso")
        draft_statement = statement_for(partner)
        first = line(draft_statement, "30.00", cap_applied=True)
        line(draft_statement, "99.99", currency=Currency.EUR)
        reversal(first, draft_statement)
        paid = statement_for(partner, month=NOW.date().replace(month=2, day=1))
        line(paid, "12.35")
        finance = finance_user()
        approve_statement(paid.pk, by=finance)
        record_payment(paid.pk, by=finance, reference="SEPA <0042> & co")
        billing = partner_user(partner, Membership.Role.BILLING_ADMIN)
        pages: list[tuple[str, str, Any]] = [
            ("print-draft", reverse("earnings:statement_print", args=[draft_statement.pk]), billing),
            ("print-paid", reverse("earnings:statement_print", args=[paid.pk]), billing),
            ("print-paid-finance", reverse("earnings:statement_print", args=[paid.pk]), finance),
            ("admin-list", reverse("admin:earnings_statement_changelist"), finance),
            ("admin-draft", reverse("admin:earnings_statement_change", args=[draft_statement.pk]), finance),
            ("admin-paid", reverse("admin:earnings_statement_change", args=[paid.pk]), finance),
            ("admin-ledger", reverse("admin:earnings_earningsline_changelist"), finance),
        ]
        files: list[Path] = []
        for language in LANGUAGES:
            for name, url, who in pages:
                response = client_for(who, language).get(url)
                assert response.status_code == 200, f"{language} {name}"
                path = tmp_path / f"{language}-{name}.html"
                path.write_bytes(response.content)
                files.append(path)
            with monkeypatch.context() as patch:
                patch.setattr(statement_views, "PRINT_LINES_LIMIT", 2)
                response = client_for(billing, language).get(pages[0][1])
            assert b"statement-summary" in response.content
            (path := tmp_path / f"{language}-print-summary.html").write_bytes(response.content)
            files.append(path)
    errors = nu_errors(files)
    listing = "\n".join(
        f"{Path(m.get('url', '?')).name}:{m.get('lastLine', '?')}: {m['message']}" for m in errors
    )
    assert not errors, listing
