"""Statements: finance approves a partner's month (its totals per currency frozen) and records its
payment. Two actions, each one transaction on the locked statement row.

The ledger attaches lines to a statement under the same row lock and re-checks that the statement
is still a draft, so a line can never land on a statement once it is approved: whichever of
"approve" and "attach" takes the lock first wins, and the other sees its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from claims.models import group_names
from earnings.ledger import month_has_ended
from earnings.models import FINANCE_GROUP, EarningsLine, Statement, StatementTotal, round_money

PAYMENT_REFERENCE_MAX_LENGTH = Statement._meta.get_field("payment_reference").max_length


class StatementRefused(PermissionDenied):
    """The action is not allowed now; the message says why in words fit to show the user."""


def is_finance(user: Any) -> bool:
    """An active staff member of the group "Incentive finance", or an active superuser."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or (user.is_staff and FINANCE_GROUP in group_names(user)))


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    amount: Decimal
    line_count: int


def line_totals(statement: Statement) -> list[CurrencyTotal]:
    """The statement's lines summed per currency (never across currencies), by currency code."""
    rows = (
        EarningsLine.objects.filter(statement=statement)
        .order_by()
        .values("currency")
        .annotate(amount=Sum("amount"), line_count=Count("id"))
        .order_by("currency")
    )
    # Lines carry two decimals; the quantize only restores the places SQLite's SUM drops.
    return [
        CurrencyTotal(r["currency"], round_money(r["amount"], r["currency"]), r["line_count"]) for r in rows
    ]


def statement_totals(statement: Statement) -> list[CurrencyTotal]:
    """The totals to show: frozen once approved, else what the lines add up to so far."""
    if statement.status == Statement.Status.DRAFT:
        return line_totals(statement)
    return [CurrencyTotal(t.currency, t.amount, t.line_count) for t in statement.totals.all()]


def _require_finance(user: Any) -> None:
    if not is_finance(user):
        raise StatementRefused(
            _("Only the Incentive finance team can approve statements and record payments.")
        )


def _locked(statement_id: int) -> Statement:
    statement = Statement.objects.select_for_update().filter(pk=statement_id).first()
    if statement is None:
        raise StatementRefused(_("This statement no longer exists."))
    return statement


def clean_payment_reference(reference: str) -> str:
    """The reference trimmed; a clear ValidationError when it is empty, too long or not printable."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError(_("Enter the payment reference."), code="required")
    if len(reference) > PAYMENT_REFERENCE_MAX_LENGTH:
        raise ValidationError(
            _("The payment reference can have at most %(limit)d characters (it has %(length)d).")
            % {"limit": PAYMENT_REFERENCE_MAX_LENGTH, "length": len(reference)},
            code="max_length",
        )
    # Control characters, line breaks and invisible separators have no place in a bank reference
    # and would break the CSV and the printed statement.
    if not reference.isprintable():
        raise ValidationError(
            _(
                "The payment reference can hold printable characters only "
                "(no line breaks or control characters)."
            ),
            code="invalid",
        )
    return reference


def approve_statement(statement_id: int, *, by: Any) -> Statement:
    """Approve a draft statement whose month has ended and that has lines: its totals per currency
    are frozen from the lines, and from then on no line is ever attached to it.

    Refused (StatementRefused, nothing changed): `by` is not finance; the statement is not a draft;
    its month has not ended (the ledger may still write lines for it); it has no lines (there is
    nothing to pay, and an empty approved statement would only push later lines to the next month).
    """
    _require_finance(by)
    with transaction.atomic():
        statement = _locked(statement_id)
        if not can_proceed(statement.approve):
            raise StatementRefused(
                _("Only a draft statement can be approved; this one is %(status)s.")
                % {"status": statement.get_status_display().lower()}
            )
        now = timezone.now()
        if not month_has_ended(statement.month, now):
            raise StatementRefused(
                _("%(month)s has not ended yet: the ledger may still add lines to this statement.")
                % {"month": f"{statement.month:%Y-%m}"}
            )
        # Read under the lock: the ledger attaches lines only while holding this row, so the sum
        # taken here is the statement's final content.
        totals = line_totals(statement)
        if not totals:
            raise StatementRefused(_("This statement has no lines: there is nothing to approve."))
        statement.approve(by=by, now=now)
        statement.save(update_fields=["status", "approved_by", "approved_at"])
        StatementTotal.objects.bulk_create(
            StatementTotal(statement=statement, currency=t.currency, amount=t.amount, line_count=t.line_count)
            for t in totals
        )
    return statement


def record_payment(statement_id: int, *, by: Any, reference: str) -> Statement:
    """Record that an approved statement was paid, with the payment's reference (trimmed, 1–100
    printable characters). Refused with a clear message when `by` is not finance, the reference is
    not valid (ValidationError) or the statement is not approved; nothing changes then."""
    _require_finance(by)
    reference = clean_payment_reference(reference)
    with transaction.atomic():
        statement = _locked(statement_id)
        if not can_proceed(statement.mark_paid):
            if statement.status == Statement.Status.PAID:
                message = _("This statement's payment is already recorded (reference %(reference)s).") % {
                    "reference": statement.payment_reference
                }
            else:
                message = _("Approve the statement before recording its payment.")
            raise StatementRefused(message)
        statement.mark_paid(by=by, now=timezone.now(), reference=reference)
        statement.save(update_fields=["status", "paid_by", "paid_at", "payment_reference"])
    return statement
