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
- `assess_month` writes a month's earning lines, set-based: the database computes and inserts them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import DateTimeField, Max, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, MonthlyUsage, Subscription, Tenant
from claims.workflow import StepContext
from cpor.bulk import insert_new_rows
from earnings.models import (
    MINOR_UNIT_EXPONENT,
    AssessmentHandoff,
    Currency,
    EarningsLine,
    Metric,
    ProgrammeRule,
    Statement,
    first_of_month,
)

# A partner-month: the key a line is filed under before its statement is chosen.
PartnerMonth = tuple[int, dt.date]


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_of(moment: dt.datetime) -> dt.date:
    """The month holding `moment`, in the site's time zone (settings.TIME_ZONE)."""
    return first_of_month(timezone.localtime(moment, timezone.get_default_timezone()).date())


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_starts(month: dt.date) -> dt.datetime:
    """The moment `month` begins in the site's time zone (midnight of its first day, local)."""
    return dt.datetime.combine(month, dt.time(), tzinfo=timezone.get_default_timezone())


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

    Call inside a transaction and write the lines before it commits. At most three statements for
    any number of partner-months: read the partners' statements from the earliest month on, create
    the missing drafts (ON CONFLICT DO NOTHING: another process may create the same one), lock the
    chosen rows in id order (two writers never deadlock on each other) and check them under the
    lock. A statement approved between the read and the lock sends its lines on to the next month,
    which another round settles.
    """
    pending = set(wanted)
    chosen: dict[PartnerMonth, int] = {}
    while pending:
        partners = {partner_id for partner_id, _ in pending}
        earliest = min(month for _, month in pending)
        existing = list(
            Statement.objects.filter(partner_id__in=partners, month__gte=earliest).values_list(
                "id", "partner_id", "month", "status"
            )
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
    # Lock the running associations in id order first, the order the monthly job takes them FOR
    # SHARE in: an UPDATE alone would lock in the order it finds them, and the two could deadlock.
    list(
        AssessmentHandoff.objects.select_for_update()
        .filter(claim_id__in=[c.claim.pk for c in contexts], ended_at=None)
        .order_by("id")
        .values_list("id", flat=True)
    )
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
    # No line of these associations can appear after this read: the monthly job writes lines only
    # while it holds their rows FOR SHARE, which the UPDATE of `ended_at` above waited for (and
    # now blocks until this transaction commits), and it skips an association that has ended.
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


# -- the monthly job ------------------------------------------------------------------------------

# Associations (by id range) assessed in one transaction: enough that the per-batch statements are
# few, few enough that a batch's row locks are short and its statement is quick to plan.
ASSESS_BATCH = 5000
# Money is computed in the database in integers of a ten-thousandth of the currency unit (a rate
# has four decimals), so units × rate and the cap are exact on SQLite and PostgreSQL alike; the
# line's amount is then rounded once, half up, to the currency's minor unit.
RATE_SCALE = 4


class MonthNotEnded(ValueError):
    """The month has not ended: its usage and seats are not final, so it cannot be assessed."""


@dataclass(frozen=True)
class MonthAssessment:
    """What `assess_month` did: the lines it wrote, and the month's earning lines after it (however
    many runs wrote them, reversed later or not) with their sum per currency."""

    month: dt.date
    written: int
    month_lines: int
    month_totals: dict[str, Decimal]


@dataclass(frozen=True)
class _Version:
    """The version of one programme's rule in force for the month, as the SQL needs it."""

    rule: ProgrammeRule
    workload_ids: list[int]

    @property
    def rate_scaled(self) -> int:
        return int(self.rule.rate.scaleb(RATE_SCALE))

    @property
    def cap_scaled(self) -> int | None:
        cap = self.rule.monthly_cap
        return None if cap is None else int(cap.scaleb(RATE_SCALE))


def versions_in_force(month: dt.date) -> dict[str, _Version]:
    """Each programme's rule version in force for `month` (the latest effective_from <= month)."""
    versions: dict[str, ProgrammeRule] = {}
    for version in ProgrammeRule.objects.filter(effective_from__lte=month).order_by(
        "programme", "-effective_from"
    ):
        versions.setdefault(version.programme, version)
    workloads: dict[int, list[int]] = defaultdict(list)
    for rule_id, product_id in ProgrammeRule.workloads.through.objects.filter(
        programmerule_id__in=[v.pk for v in versions.values()]
    ).values_list("programmerule_id", "product_id"):
        workloads[rule_id].append(product_id)
    return {
        programme: _Version(version, sorted(workloads[version.pk])) for programme, version in versions.items()
    }


class _Sql:
    """A statement's named parameters, typed the same way on both databases: each value becomes a
    `%(pN)s` placeholder (cast on PostgreSQL, where an untyped literal in a CASE would be text)."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.postgres = connection.vendor == "postgresql"

    def param(self, value: Any, pg_type: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"CAST(%({name})s AS {pg_type})" if self.postgres else f"%({name})s"

    def date(self, value: dt.date) -> str:
        return self.param(connection.ops.adapt_datefield_value(value), "date")

    def moment(self, value: dt.datetime) -> str:
        return self.param(connection.ops.adapt_datetimefield_value(value), "timestamptz")

    def integer(self, value: int) -> str:
        return self.param(value, "bigint")

    def integers(self, values: Iterable[int]) -> str:
        return ", ".join(self.integer(value) for value in values)

    def text(self, value: str) -> str:
        return self.param(value, "text")

    def decimal(self, value: Decimal | None) -> str:
        return self.param(None if value is None else str(value), "numeric")


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _candidates(sql: _Sql, month: dt.date, version: _Version, ids: tuple[int, int]) -> str:
    """WHERE clause (over `h`, the hand-off) of the associations of one programme that earn a line
    for `month` and have none yet: eligible, associated within the version's months of
    eligibility, in force at the month's end, not in an excluded channel."""
    rule = version.rule
    following = month_starts(add_months(month, 1))
    first_association = (
        month if rule.metric == Metric.ONE_TIME_FEE else add_months(month, 1 - rule.eligible_months)
    )
    conditions = [
        f"h.id >= {sql.integer(ids[0])}",
        f"h.id < {sql.integer(ids[1])}",
        f"h.programme = {sql.text(rule.programme)}",
        "h.eligible = TRUE",
        f"h.queued_at >= {sql.moment(month_starts(first_association))}",
        f"h.queued_at < {sql.moment(following)}",
        f"(h.ended_at IS NULL OR h.ended_at >= {sql.moment(following)})",
        # The batch's id range again inside: the lines' unique index is read as a range.
        f"NOT EXISTS (SELECT 1 FROM {_table(EarningsLine)} l WHERE l.assessment_id = h.id"  # noqa: S608  (names from the models, values as parameters)
        f" AND l.assessment_id >= {sql.integer(ids[0])} AND l.assessment_id < {sql.integer(ids[1])}"
        f" AND l.month = {sql.date(month)} AND l.kind = {sql.text(EarningsLine.Kind.EARNING)})",
    ]
    if rule.excluded_channels:
        channels = ", ".join(sql.text(channel) for channel in rule.excluded_channels)
        conditions.append(f"h.channel NOT IN ({channels})")
    return " AND ".join(conditions)


def _active_users(sql: _Sql, version: _Version, month_sql: str) -> str:
    """Σ active users of the association's claimed workloads that the version covers, in one month
    (the hand-off's workloads, else the claim's; missing usage counts 0)."""
    if not version.workload_ids:
        return "0"
    usage, tenant = _table(MonthlyUsage), _table(Tenant)
    queued, claimed = _table(AssessmentHandoff.products.through), _table(Claim.products.through)
    return (
        f"(SELECT COALESCE(SUM(u.active_users), 0) FROM {usage} u INNER JOIN {tenant} t"  # noqa: S608  (names from the models, values as parameters)
        f" ON t.id = u.tenant_id WHERE t.tenant_id = h.tenant_id AND u.month = {month_sql}"
        f" AND u.product_id IN ({sql.integers(version.workload_ids)})"
        f" AND (u.product_id IN (SELECT q.product_id FROM {queued} q WHERE q.assessmenthandoff_id = h.id)"
        f" OR (NOT EXISTS (SELECT 1 FROM {queued} q WHERE q.assessmenthandoff_id = h.id)"
        f" AND u.product_id IN (SELECT c.product_id FROM {claimed} c WHERE c.claim_id = h.claim_id))))"
    )


def _units(sql: _Sql, month: dt.date, version: _Version) -> tuple[str, str]:
    """The (now, baseline) expressions whose positive difference is the month's units."""
    rule = version.rule
    if rule.metric == Metric.ONE_TIME_FEE:
        return "1", "0"
    if rule.metric == Metric.NEW_SEATS:
        seats = (
            f"(SELECT s.seats FROM {_table(Subscription)} s INNER JOIN {_table(Tenant)} t"  # noqa: S608  (names from the models, values as parameters)
            f" ON t.id = s.tenant_id WHERE s.subscription_id = h.subscription_id"
            f" AND t.tenant_id = h.tenant_id)"
        )
        # No named subscription, or no seats recorded at association: nothing to grow from.
        return (
            f"CASE WHEN h.subscription_id IS NULL OR h.baseline_seats IS NULL THEN 0"
            f" ELSE COALESCE({seats}, 0) END",
            "COALESCE(h.baseline_seats, 0)",
        )
    # The baseline month is the month before the association month; the association month is
    # told by the hand-off's moment against the local month starts, so no time-zone arithmetic
    # runs in SQL.
    branches = []
    for offset in range(rule.eligible_months - 1, 0, -1):
        association = add_months(month, -offset)
        branches.append(
            f"WHEN h.queued_at < {sql.moment(month_starts(add_months(association, 1)))}"
            f" THEN {sql.date(add_months(association, -1))}"
        )
    baseline_month = (
        f"CASE {' '.join(branches)} ELSE {sql.date(add_months(month, -1))} END"
        if branches
        else sql.date(add_months(month, -1))
    )
    now = _active_users(sql, version, sql.date(month))
    baseline = _active_users(sql, version, baseline_month)
    return now, baseline


def _insert_lines(
    month: dt.date, version: _Version, ids: tuple[int, int], partners: set[int], now: dt.datetime
) -> int:
    """One INSERT … SELECT of the month's lines of one programme's associations in `ids`.

    `w` holds the associations with the month's and the baseline's figures; two nested selects: `x`
    their units (the positive difference), `y` the gross amount in ten-thousandths; the outer one
    caps, applies the threshold, rounds half up once to the minor unit and picks the statement
    (the partner's first draft from the month on: `attach_to_statements` has made and locked it).
    """
    rule = version.rule
    sql = _Sql()
    exponent = MINOR_UNIT_EXPONENT[Currency(rule.currency)]
    scale = 10 ** (RATE_SCALE - exponent)
    minimum = sql.integer(rule.minimum_units)
    if version.cap_scaled is None:
        cap_applied, payable = "FALSE", "y.gross"
    else:
        cap = sql.integer(version.cap_scaled)
        cap_applied = f"CASE WHEN y.units >= {minimum} AND y.gross > {cap} THEN TRUE ELSE FALSE END"
        payable = f"CASE WHEN y.gross > {cap} THEN {cap} ELSE y.gross END"
    # Integer division of non-negative integers: adding half the divisor first rounds half up.
    minor = (
        f"(CASE WHEN y.units < {minimum} THEN 0"
        f" ELSE ({payable} + {sql.integer(scale // 2)}) / {sql.integer(scale)} END)"
    )
    amount = (
        f"CAST({minor} AS numeric) / {sql.integer(10**exponent)}"
        if sql.postgres
        # SQLite keeps the amount as a float with at most 14 significant digits, which Django
        # reads back exactly (quantized to the field's two decimals).
        else f"{minor} / {10**exponent}.0"
    )
    month_sql = sql.date(month)
    statement = (
        f"(SELECT s.id FROM {_table(Statement)} s WHERE s.partner_id = y.partner_id"  # noqa: S608  (names from the models, values as parameters)
        f" AND s.month >= {month_sql} AND s.status = {sql.text(Statement.Status.DRAFT)}"
        f" ORDER BY s.month LIMIT 1)"
    )
    now_units, baseline_units = _units(sql, month, version)
    columns = (
        "kind, partner_id, assessment_id, programme, month, tenant_id, subscription_id, rule_id,"
        " metric, units, rate, minimum_units, cap, cap_applied, amount, currency, revision,"
        " reverses_id, reversal_reason, statement_id, created_at"
    )
    # `w` is MATERIALIZED: each association's figures are read once, however often the amount's
    # expression names them (an inlined subquery would run once per mention).
    text = (
        f"WITH w AS MATERIALIZED (SELECT h.id, h.partner_id, h.programme, h.tenant_id,"  # noqa: S608  (names from the models, values as parameters)
        f" h.subscription_id, {now_units} AS now_units, {baseline_units} AS baseline_units"
        f" FROM {_table(AssessmentHandoff)} h WHERE {_candidates(sql, month, version, ids)}"
        # Only the partners whose statements this batch made and locked: an association that
        # became eligible after the batch locked its rows waits for the next run.
        f" AND h.partner_id IN ({', '.join(str(int(partner)) for partner in sorted(partners))}))"
        f" INSERT INTO {_table(EarningsLine)} ({columns})"
        f" SELECT {sql.text(EarningsLine.Kind.EARNING)}, y.partner_id, y.id, y.programme, {month_sql},"
        f" y.tenant_id, y.subscription_id, {sql.integer(rule.pk)}, {sql.text(rule.metric)}, y.units,"
        f" {sql.decimal(rule.rate)}, {minimum}, {sql.decimal(rule.monthly_cap)}, {cap_applied},"
        f" {amount}, {sql.text(rule.currency)}, 0, NULL, '', {statement}, {sql.moment(now)}"
        f" FROM (SELECT x.*, x.units * {sql.integer(version.rate_scaled)} AS gross"
        f" FROM (SELECT w.*, CASE WHEN w.now_units > w.baseline_units"
        f" THEN w.now_units - w.baseline_units ELSE 0 END AS units FROM w) x) y"
        # SQLite reads ON CONFLICT after a bare FROM as a join's ON: a WHERE makes it unambiguous.
        f" WHERE 1 = 1 ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(text, sql.params)
        if sql.postgres:
            return cursor.rowcount
        # Python's sqlite3 reports no rowcount for a statement that starts with WITH.
        cursor.execute("SELECT changes()")
        return cursor.fetchone()[0]


def month_has_ended(month: dt.date, now: dt.datetime) -> bool:
    """Whether `month` is over at `now` in the site's time zone."""
    return month_starts(add_months(first_of_month(month), 1)) <= now


def _lock_candidates(month: dt.date, versions: dict[str, _Version], ids: tuple[int, int]) -> set[int]:
    """The partners of the batch's associations that earn a line this month and have none yet.

    On PostgreSQL the associations' rows are locked FOR SHARE until the batch commits: an
    association that ends meanwhile (its UPDATE of `ended_at`) waits for the lines to be written
    and then reverses them, and one that ended just before is seen ended here. Two runs of the job
    share these locks and meet at the statements' row locks instead.
    """
    sql = _Sql()
    clauses = " OR ".join(f"({_candidates(sql, month, version, ids)})" for version in versions.values())
    text = (
        f"SELECT h.id, h.partner_id FROM {_table(AssessmentHandoff)} h"  # noqa: S608  (as above)
        f" WHERE {clauses} ORDER BY h.id"
    )
    if sql.postgres:
        text += " FOR SHARE OF h"
    with connection.cursor() as cursor:
        cursor.execute(text, sql.params)
        return {partner_id for _id, partner_id in cursor.fetchall()}


def _deadlocked(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


def _assess_batch(
    month: dt.date, versions: dict[str, _Version], ids: tuple[int, int], now: dt.datetime
) -> int:
    """One transaction: lock the batch's earning associations, make and lock their partners' draft
    statements, insert the lines (one INSERT … SELECT per programme). A deadlock with a sweep that
    ends associations of the batch meanwhile is retried: the batch is all or nothing."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # The statements are index lookups per association; compiling their long
                    # expressions (JIT) costs more than it saves at a batch's size.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL jit = off")
                partners = _lock_candidates(month, versions, ids)
                if not partners:
                    return 0
                attach_to_statements({(partner_id, month) for partner_id in partners}, now=now)
                return sum(_insert_lines(month, version, ids, partners, now) for version in versions.values())
        except OperationalError as exc:
            if not _deadlocked(exc) or attempt == 2:
                raise
    return 0


def assess_month(month: dt.date, *, now: dt.datetime | None = None) -> MonthAssessment:
    """Write `month`'s earning lines for every association that earns one.

    An association earns a line for month M when it is eligible; its programme has a version in
    force for M (the latest effective_from <= M), whose months of eligibility hold M counted from
    the association month A (a one-time fee: M = A only); it was still in force at the end of M;
    and its subscription's channel is not one the version excludes. Units: active-user growth of
    the claimed workloads the version covers over A − 1, new seats over the seats at
    association, or 1; amount = units × rate, capped, 0 under the threshold, rounded once half up.

    The month must have ended (MonthNotEnded otherwise, nothing written). Set-based: associations
    go in id ranges of ASSESS_BATCH, each one transaction of a fixed number of statements, and the
    database computes and inserts the lines (INSERT … SELECT … ON CONFLICT DO NOTHING against
    `one_earning_per_association_month`). Idempotent: an association that has its line for the
    month is skipped, so a second run, or one in another process at the same time, writes nothing
    twice. Each line uses, and records, the rule version in force for `month`.
    """
    now = now or timezone.now()
    month = first_of_month(month)
    if not month_has_ended(month, now):
        raise MonthNotEnded(
            _(
                "%(month)s has not ended yet: its usage is not final. A month can be assessed from "
                "the first day of the following month."
            )
            % {"month": f"{month:%Y-%m}"}
        )
    versions = versions_in_force(month)
    written = 0
    if versions:
        bounds = AssessmentHandoff.objects.filter(eligible=True, programme__in=list(versions)).aggregate(
            low=Min("id"), high=Max("id")
        )
        if bounds["low"] is not None:
            for start in range(bounds["low"], bounds["high"] + 1, ASSESS_BATCH):
                written += _assess_batch(month, versions, (start, start + ASSESS_BATCH), now)
    # The month's earning lines, reversed or not, read by month alone: no self-join, which a plan
    # made from statistics taken before the job wrote the month would run as a nested loop.
    month_lines = EarningsLine.objects.filter(month=month, kind=EarningsLine.Kind.EARNING)
    totals = {
        row["currency"]: row["total"]
        for row in month_lines.order_by()
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    }
    return MonthAssessment(month=month, written=written, month_lines=month_lines.count(), month_totals=totals)
