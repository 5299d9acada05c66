"""The earnings ledger: which statement a line goes on, and what ends an association's earning.

- `attach_to_statements` / `attach_to_statement`: the one statement rule. A line for month M goes
  on the partner's statement for M while that statement is a draft (created if missing); once M's
  statement is approved or paid, on the partner's next draft after M (the first later month whose
  statement is a draft or missing, created as a draft), so a reversal there is a clawback the
  partner sees. The chosen statements are locked (`SELECT … FOR UPDATE`) and re-checked to be drafts
  under the lock, the same row lock finance's approval takes: no line ever lands on an approved
  statement.
- `end_associations`: the step of every transition that ends an association (withdraw, supersede,
  end_association, lapse). It records when the association stopped earning and reverses, in the
  same transaction, every earning line of a month it no longer earns.
- `assess_month` (earnings.monthly) writes the month's earning lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import DateTimeField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from claims.models import Subscription
from claims.workflow import StepContext
from cpor.bulk import insert_new_rows
from earnings.models import AssessmentHandoff, EarningsLine, Statement, first_of_month

# A partner-month: the key a line is filed under before its statement is chosen.
PartnerMonth = tuple[int, dt.date]


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_of(moment: dt.datetime) -> dt.date:
    """The month holding `moment`, in the site's time zone (settings.TIME_ZONE)."""
    return first_of_month(timezone.localtime(moment).date())


def _target_months(
    wanted: Iterable[PartnerMonth], closed: set[PartnerMonth]
) -> dict[PartnerMonth, PartnerMonth]:
    """For each partner-month, the first month from it on whose statement is not approved or paid."""
    targets = {}
    for partner_id, month in wanted:
        target = month
        while (partner_id, target) in closed:
            target = next_month(target)
        targets[(partner_id, month)] = (partner_id, target)
    return targets


def attach_to_statements(wanted: Iterable[PartnerMonth], *, now: dt.datetime) -> dict[PartnerMonth, int]:
    """The statement id each partner-month's lines go on, drafts locked until the transaction ends.

    Call inside a transaction and write the lines before it commits. Four statements for any
    number of partner-months: read the partners' statements from the earliest month on, create the
    missing drafts (ON CONFLICT DO NOTHING: another process may create the same one), lock the
    chosen rows in id order (two writers never deadlock on each other), and check them under the
    lock. A statement approved between the read and the lock sends its lines on to the next month,
    which another round settles.
    """
    pending = set(wanted)
    chosen: dict[PartnerMonth, int] = {}
    while pending:
        partners = {partner_id for partner_id, _ in pending}
        earliest = min(month for _, month in pending)
        existing = Statement.objects.filter(partner_id__in=partners, month__gte=earliest).values_list(
            "id", "partner_id", "month", "status"
        )
        closed = {(p, m) for _, p, m, status in existing if status != Statement.Status.DRAFT}
        targets = _target_months(pending, closed)
        known = {(p, m) for _, p, m, _ in existing}
        insert_new_rows(
            Statement,
            [
                {
                    "partner_id": partner_id,
                    "month": month,
                    "status": Statement.Status.DRAFT,
                    "created_at": now,
                    "approved_at": None,
                    "approved_by_id": None,
                    "paid_at": None,
                    "paid_by_id": None,
                    "payment_reference": "",
                }
                for partner_id, month in sorted(set(targets.values()) - known)
            ],
        )
        target_set = set(targets.values())
        locked = {
            (partner_id, month): (pk, status)
            for pk, partner_id, month, status in Statement.objects.select_for_update()
            .filter(partner_id__in={p for p, _ in target_set}, month__in={m for _, m in target_set})
            .order_by("id")
            .values_list("id", "partner_id", "month", "status")
            if (partner_id, month) in target_set
        }
        for key, target in targets.items():
            pk, status = locked[target]
            if status == Statement.Status.DRAFT:
                chosen[key] = pk
                pending.discard(key)
    return chosen


def attach_to_statement(partner_id: int, month: dt.date, *, now: dt.datetime | None = None) -> Statement:
    """The locked draft statement a line of `partner_id` for `month` goes on (see the module)."""
    pk = attach_to_statements([(partner_id, month)], now=now or timezone.now())[(partner_id, month)]
    return Statement.objects.get(pk=pk)


def end_association(context: StepContext) -> None:
    """An association that ends (withdrawn, superseded, ended at the customer's request, lapsed)
    stops earning from the month it ended in."""
    end_associations([context])


def _ended_at_expression(now: dt.datetime, *, lapse: bool) -> Value | Least:
    """When the association stopped earning: now, or for a lapse the moment its named subscription
    left active/grace when that is earlier (it stopped being live then, not when the sweep ran)."""
    moment = Value(now, output_field=DateTimeField())
    if not lapse:
        return moment
    inactive_since = Subquery(
        Subscription.objects.filter(
            subscription_id=OuterRef("subscription_id"), tenant__tenant_id=OuterRef("tenant_id")
        ).values("inactive_since")[:1],
        output_field=DateTimeField(),
    )
    return Least(moment, Coalesce(inactive_since, moment), output_field=DateTimeField())


def end_associations(contexts: Sequence[StepContext]) -> None:
    """`end_association` for a sweep's batch, with a fixed number of statements for any batch.

    Sets `ended_at` on the associations still running (one UPDATE per distinct moment and kind,
    which a sweep makes one), then reverses every earning line of a month from month(ended_at) on
    that has no reversal yet: one read of the associations, one of their unreversed lines, the
    statements (`attach_to_statements`), one INSERT of the reversals. Run again, it finds nothing
    left to reverse and changes nothing.
    """
    if not contexts:
        return
    groups: dict[tuple[dt.datetime, bool], list[int]] = defaultdict(list)
    for context in contexts:
        groups[(context.now, context.action == "lapse")].append(context.claim.pk)
    for (now, lapse), claim_ids in groups.items():
        AssessmentHandoff.objects.filter(claim_id__in=claim_ids, ended_at=None).update(
            ended_at=_ended_at_expression(now, lapse=lapse)
        )
    reverse_ended_lines(claim_ids=[c.claim.pk for c in contexts], now=max(c.now for c in contexts))


def reverse_ended_lines(*, claim_ids: Sequence[int], now: dt.datetime) -> int:
    """Reverse the unreversed earning lines of the ended associations of `claim_ids` whose month is
    on or after the month the association ended; returns how many reversals were written."""
    ended = dict(
        AssessmentHandoff.objects.filter(claim_id__in=claim_ids, ended_at__isnull=False).values_list(
            "id", "ended_at"
        )
    )
    if not ended:
        return 0
    # The statements' locks are taken before the lines are read, in `attach_to_statements`; the
    # lines of these associations cannot change meanwhile: the monthly job writes a line only while
    # it holds the association's row, which the UPDATE above holds now.
    candidates = list(
        EarningsLine.objects.filter(
            assessment_id__in=ended, kind=EarningsLine.Kind.EARNING, reversal__isnull=True
        )
        .order_by("id")
        .values(
            "id",
            "partner_id",
            "assessment_id",
            "programme",
            "month",
            "tenant_id",
            "subscription_id",
            "rule_id",
            "metric",
            "units",
            "rate",
            "minimum_units",
            "cap",
            "cap_applied",
            "amount",
            "currency",
            "revision",
        )
    )
    lines = [line for line in candidates if line["month"] >= month_of(ended[line["assessment_id"]])]
    if not lines:
        return 0
    statements = attach_to_statements({(line["partner_id"], line["month"]) for line in lines}, now=now)
    reversals = []
    for line in lines:
        reversal = dict(line)
        reversal["reverses_id"] = reversal.pop("id")
        reversal.update(
            kind=EarningsLine.Kind.REVERSAL,
            amount=-line["amount"],
            reversal_reason=EarningsLine.ReversalReason.ASSOCIATION_ENDED,
            statement_id=statements[(line["partner_id"], line["month"])],
            created_at=now,
        )
        reversals.append(reversal)
    # One reversal per line (`reverses` is unique): a reversal written meanwhile is kept, not doubled.
    return insert_new_rows(EarningsLine, reversals)
