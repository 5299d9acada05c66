"""Earnings: what an association earns after its opt-out window closed.

- `ProgrammeRule`: a programme's terms as data, one version per effective month, edited by the
  staff group "Incentive finance". A version that a ledger line used is never changed: a rule
  change is a new version from a later month, so past earnings are never recomputed silently.
- `AssessmentHandoff`: one per association, written when the window closes (moved here from
  consent/): the workloads queued, and the assessment — eligible or not, with reasons.
- `EarningsLine`: the append-only ledger, one earning line per association and month, and
  reversal lines that cancel one (a correction, or an association that ended). Never edited.
- `Statement`: one per partner and month, draft → approved → paid (finance); approved is immutable.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from claims.models import Claim, Partner, Product, Programme, Subscription

FINANCE_GROUP = "Incentive finance"


class Currency(models.TextChoices):
    USD = "USD", _("US dollar (USD)")
    EUR = "EUR", _("Euro (EUR)")
    GBP = "GBP", _("Pound sterling (GBP)")
    TRY = "TRY", _("Turkish lira (TRY)")


# Every supported currency has two minor-unit digits; the stated rounding rule (ROUND_HALF_UP to
# the minor unit, once per line, on the line's final amount) reads its exponent from here.
MINOR_UNIT_EXPONENT = {Currency.USD: 2, Currency.EUR: 2, Currency.GBP: 2, Currency.TRY: 2}


def round_money(amount: Decimal, currency: str) -> Decimal:
    """The one rounding rule: half up to the currency's minor unit, applied once per line."""
    return amount.quantize(
        Decimal(1).scaleb(-MINOR_UNIT_EXPONENT[Currency(currency)]), rounding=ROUND_HALF_UP
    )


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


class Metric(models.TextChoices):
    ACTIVE_USER_GROWTH = "active_user_growth", _("Active-user growth over the baseline month")
    NEW_SEATS = "new_seats", _("New seats since the association")
    ONE_TIME_FEE = "one_time_fee", _("One-time fee per association")


class ProgrammeRule(models.Model):
    """One version of a programme's terms, in force from `effective_from` (the first of a month)
    until the next version of the same programme. Units × rate, capped per association and month;
    a month below `minimum_units` earns nothing."""

    programme = models.CharField(_("programme"), max_length=32, choices=Programme.choices)
    effective_from = models.DateField(
        _("in force from"), help_text=_("The first day of the first month this version applies to.")
    )
    workloads = models.ManyToManyField(Product, related_name="+", verbose_name=_("eligible workloads"))
    metric = models.CharField(_("metric"), max_length=24, choices=Metric.choices)
    rate = models.DecimalField(
        _("rate"),
        max_digits=12,
        decimal_places=4,
        help_text=_(
            "Paid per unit of the metric (per active user gained, per new seat, or per association)."
        ),
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    monthly_cap = models.DecimalField(
        _("monthly cap per association"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The most one association earns in one month; empty for no cap."),
    )
    minimum_units = models.PositiveIntegerField(
        _("minimum threshold (units)"),
        default=0,
        help_text=_("A month with fewer units than this earns nothing."),
    )
    eligible_months = models.PositiveSmallIntegerField(
        _("months of eligibility"),
        help_text=_("How many months after the association month earn, counting the association month."),
    )
    excluded_channels = models.JSONField(
        _("excluded channels"),
        default=list,
        blank=True,
        help_text=_("Subscription channels this programme does not pay for (CSP, for example)."),
    )
    is_example = models.BooleanField(
        _("example terms"),
        default=False,
        help_text=_("Demo terms, not any real programme's rates."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["programme", "-effective_from"]
        verbose_name = _("programme rule")
        verbose_name_plural = _("programme rules")
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "effective_from"], name="one_rule_version_per_month"
            ),
            models.CheckConstraint(
                condition=models.Q(effective_from__day=1), name="rule_starts_on_first_day"
            ),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="rule_rate_not_negative"),
            models.CheckConstraint(
                condition=models.Q(monthly_cap__isnull=True) | models.Q(monthly_cap__gte=0),
                name="rule_cap_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(eligible_months__gte=1), name="rule_at_least_one_month"
            ),
        ]

    def __str__(self) -> str:
        return _("%(programme)s from %(month)s") % {
            "programme": self.get_programme_display(),
            "month": f"{self.effective_from:%Y-%m}",
        }

    def clean(self) -> None:
        unknown = set(self.excluded_channels or []) - set(Subscription.Channel.values)
        if unknown:
            raise ValidationError(
                {
                    "excluded_channels": _("Unknown channel: %(codes)s.")
                    % {"codes": ", ".join(sorted(unknown))}
                }
            )


class AssessmentHandoff(models.Model):
    """An association queued for incentive-eligibility assessment once its opt-out window closed,
    and the assessment's result. Being eligible is not a payment: the ledger decides each month.
    The row stays after the association ends (`ended_at`): its ledger lines refer to it.
    """

    class Reason(models.TextChoices):
        REVENUE_ASSOCIATION = (
            "revenue_association",
            _("A revenue association earns Business Influencer credit, not a payment."),
        )
        CSP_SUBSCRIPTION = (
            "csp_subscription",
            _("The subscription is bought through CSP, which the programme excludes."),
        )
        WORKLOAD_OUTSIDE_PROGRAMME = (
            "workload_outside_programme",
            _("None of the claimed workloads is eligible under the programme."),
        )
        NO_PROGRAMME_RULE = (
            "no_programme_rule",
            _("The programme has no terms in force for the association month."),
        )
        SUBSCRIPTION_NOT_ACTIVE = "subscription_not_active", _("The named subscription is not active.")
        CHANNEL_EXCLUDED = (
            "channel_excluded",
            _("The subscription is bought through a channel the programme excludes."),
        )

    claim = models.OneToOneField(
        Claim, on_delete=models.CASCADE, related_name="assessment", verbose_name=_("claim")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner")
    )
    programme = models.CharField(_("programme"), max_length=32, choices=Programme.choices)
    payment_eligible = models.BooleanField(
        _("payment eligible"),
        help_text=_(
            "Whether the programme can pay incentives at all (revenue association earns credit only)."
        ),
    )
    queued_at = models.DateTimeField(_("queued"), default=timezone.now, db_index=True)
    # The workloads queued: the claim's products when the window closed, after any the customer
    # declined (empty on rows queued before workloads could be declined: then all of the claim's).
    products = models.ManyToManyField(Product, blank=True, related_name="+", verbose_name=_("products"))
    # What the association names, as it was at hand-off: the ledger filters and explains by them.
    tenant_id = models.UUIDField(_("tenant ID"), null=True, blank=True)
    subscription_id = models.UUIDField(_("subscription ID"), null=True, blank=True)
    channel = models.CharField(
        _("subscription channel"), max_length=8, choices=Subscription.Channel.choices, blank=True
    )
    baseline_seats = models.PositiveIntegerField(_("seats at association"), null=True, blank=True)
    # The assessment: null until assessed.
    eligible = models.BooleanField(_("eligible"), null=True, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    rule = models.ForeignKey(
        ProgrammeRule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rule in force at assessment"),
    )
    assessed_at = models.DateTimeField(_("assessed"), null=True, blank=True)
    # When the association stopped earning (withdrawn, superseded, ended, lapsed); months from the
    # one holding this moment on earn nothing.
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("assessment hand-off")
        verbose_name_plural = _("assessment hand-offs")
        indexes = [
            models.Index(fields=["partner", "tenant_id"], name="handoff_partner_tenant"),
        ]

    def __str__(self) -> str:
        return f"Claim {self.claim_id} queued for {self.get_programme_display()}"

    @property
    def reason_labels(self) -> list[str]:
        labels = dict(self.Reason.choices)
        return [str(labels.get(code, code)) for code in self.reasons or []]

    @property
    def association_month(self) -> dt.date:
        return first_of_month(timezone.localtime(self.queued_at).date())


class Statement(FSMModelMixin, models.Model):
    """A partner's earnings for one month: draft while the ledger may still add lines to it,
    approved by finance (then immutable, its totals per currency frozen), paid with a reference."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="statements", verbose_name=_("partner")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    status = FSMField(_("status"), default=Status.DRAFT, choices=Status.choices, protected=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment recorded by"),
    )
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)

    class Meta:
        ordering = ["-month", "partner"]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        constraints = [
            models.UniqueConstraint(fields=["partner", "month"], name="one_statement_per_partner_month"),
            models.CheckConstraint(condition=models.Q(month__day=1), name="statement_month_is_first_day"),
        ]
        permissions = [
            ("approve_statement", "Can approve a statement"),
            ("record_payment", "Can record a statement's payment"),
        ]

    def __str__(self) -> str:
        return _("%(partner)s, %(month)s") % {"partner": self.partner, "month": f"{self.month:%Y-%m}"}

    @transition(field=status, source=Status.DRAFT, target=Status.APPROVED)
    def approve(self, *, by: Any, now: dt.datetime) -> None:
        self.approved_by = by
        self.approved_at = now

    @transition(field=status, source=Status.APPROVED, target=Status.PAID)
    def mark_paid(self, *, by: Any, now: dt.datetime, reference: str) -> None:
        self.paid_by = by
        self.paid_at = now
        self.payment_reference = reference


class StatementTotal(models.Model):
    """A statement's total in one currency, frozen when finance approves it (never summed across
    currencies). The lines' sum per currency equals it."""

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="totals", verbose_name=_("statement")
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    line_count = models.PositiveIntegerField(_("lines"))

    class Meta:
        ordering = ["currency"]
        verbose_name = _("statement total")
        verbose_name_plural = _("statement totals")
        constraints = [
            models.UniqueConstraint(fields=["statement", "currency"], name="one_total_per_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class EarningsLine(models.Model):
    """One line of the append-only ledger. An earning line is what an association earned in one
    month under one rule version; a reversal line cancels one line exactly (its units, and the
    negated amount). Lines are never edited or deleted."""

    class Kind(models.TextChoices):
        EARNING = "earning", _("Earning")
        REVERSAL = "reversal", _("Reversal")

    class ReversalReason(models.TextChoices):
        ASSOCIATION_ENDED = "association_ended", _("The association ended before this month closed.")
        CORRECTION = "correction", _("Corrected.")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.EARNING)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="+", verbose_name=_("partner"), db_index=False
    )
    assessment = models.ForeignKey(
        AssessmentHandoff,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("association"),
        db_index=False,  # the unique constraint's index leads with it
    )
    programme = models.CharField(_("programme"), max_length=32, choices=Programme.choices)
    month = models.DateField(_("month"), help_text=_("The first day of the month earned."))
    # Copied from the association so the report filters without joins.
    tenant_id = models.UUIDField(_("tenant ID"), null=True, blank=True)
    subscription_id = models.UUIDField(_("subscription ID"), null=True, blank=True)
    rule = models.ForeignKey(
        ProgrammeRule,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("rule version"),
        db_index=False,
    )
    metric = models.CharField(_("metric"), max_length=24, choices=Metric.choices)
    units = models.IntegerField(_("units"))
    rate = models.DecimalField(_("rate"), max_digits=12, decimal_places=4)
    minimum_units = models.PositiveIntegerField(_("minimum threshold (units)"), default=0)
    cap = models.DecimalField(_("cap"), max_digits=14, decimal_places=2, null=True, blank=True)
    cap_applied = models.BooleanField(_("cap applied"), default=False)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    # Corrections write a new earning line with the next revision after reversing the last one.
    revision = models.PositiveSmallIntegerField(_("revision"), default=0)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        verbose_name=_("reverses"),
    )
    reversal_reason = models.CharField(
        _("reversal reason"), max_length=24, choices=ReversalReason.choices, blank=True
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="lines", verbose_name=_("statement"), db_index=False
    )
    created_at = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        ordering = ["month", "id"]
        verbose_name = _("earnings line")
        verbose_name_plural = _("earnings lines")
        indexes = [
            models.Index(fields=["partner", "month"], name="ledger_partner_month"),
            models.Index(fields=["partner", "tenant_id", "month"], name="ledger_partner_tenant"),
            models.Index(
                fields=["partner", "subscription_id", "month"],
                condition=models.Q(subscription_id__isnull=False),
                name="ledger_partner_subscription",
            ),
            models.Index(fields=["statement", "currency"], name="ledger_statement"),
        ]
        constraints = [
            # The ledger never counts a month twice: one earning line per association, month and
            # revision; the monthly job inserts with ON CONFLICT DO NOTHING against it.
            models.UniqueConstraint(
                fields=["assessment", "month", "revision"],
                condition=models.Q(kind="earning"),
                name="one_earning_per_association_month",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="earning", reverses__isnull=True, reversal_reason="")
                | models.Q(kind="reversal", reverses__isnull=False) & ~models.Q(reversal_reason=""),
                name="reversal_names_its_line",
            ),
            models.CheckConstraint(condition=models.Q(month__day=1), name="ledger_month_is_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.month:%Y-%m} {self.amount} {self.currency}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValidationError(_("The ledger is append-only: a line cannot be changed; reverse it."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(_("The ledger is append-only: a line cannot be deleted; reverse it."))
