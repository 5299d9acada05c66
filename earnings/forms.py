"""Forms of the earnings admin: a programme rule version, as finance adds or changes it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import Subscription
from earnings.models import AssessmentHandoff, EarningsLine, Metric, ProgrammeRule, first_of_month


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def latest_ledger_month(programme: str) -> dt.date | None:
    """The latest month the ledger holds lines of `programme` for (None: it holds none)."""
    return EarningsLine.objects.filter(programme=programme).aggregate(latest=Max("month"))["latest"]


def earliest_new_version(programme: str) -> dt.date | None:
    """The first month a new version of `programme` may start: after every month the ledger holds
    (None: any month, the ledger holds nothing of it yet)."""
    latest = latest_ledger_month(programme)
    return next_month(latest) if latest else None


def suggested_start(programme: str, *, today: dt.date | None = None) -> dt.date:
    """Where a new version's form starts: next month, or later when the ledger already holds it."""
    today = today or timezone.localdate()
    suggestion = next_month(first_of_month(today))
    earliest = earliest_new_version(programme)
    return max(suggestion, earliest) if earliest else suggestion


def in_use_q() -> Exists:
    """An annotation: whether a ledger line or an assessment uses the rule version (the row's own)."""
    return Exists(EarningsLine.objects.filter(rule=OuterRef("pk"))) | Exists(
        AssessmentHandoff.objects.filter(rule=OuterRef("pk"))
    )


def is_in_use(rule: ProgrammeRule) -> bool:
    return (
        EarningsLine.objects.filter(rule=rule).exists()
        or AssessmentHandoff.objects.filter(rule=rule).exists()
    )


MAX_RATE = Decimal("10000")
MAX_CAP = Decimal("10000000")


class ProgrammeRuleForm(forms.ModelForm):
    """A version of a programme's terms. A version in use is never changed here (the admin shows
    it read-only); a new version starts on the first of a month after every month the ledger
    already holds for the programme, so no past earning is recomputed by it."""

    excluded_channels = forms.MultipleChoiceField(
        label=_("Excluded channels"),
        choices=Subscription.Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Subscriptions bought through these channels earn nothing under this version."),
    )

    class Meta:
        model = ProgrammeRule
        fields = [
            "programme",
            "effective_from",
            "metric",
            "rate",
            "currency",
            "monthly_cap",
            "minimum_units",
            "eligible_months",
            "workloads",
            "excluded_channels",
            "is_example",
        ]

    def clean_effective_from(self) -> dt.date:
        effective_from: dt.date = self.cleaned_data["effective_from"]
        if effective_from.day != 1:
            raise ValidationError(
                _("A version starts on the first day of a month: %(first)s, for example."),
                code="not_first_of_month",
                params={"first": f"{first_of_month(effective_from):%Y-%m-%d}"},
            )
        return effective_from

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        programme, effective_from = cleaned.get("programme"), cleaned.get("effective_from")
        if self.instance.pk is not None:
            # Lock the version for the rest of the save (the admin saves in one transaction): a
            # ledger line or an assessment that would come to use it meanwhile waits, and one that
            # already does makes the change refused rather than rewriting terms it was paid under.
            ProgrammeRule.objects.select_for_update().filter(pk=self.instance.pk).first()
            if is_in_use(self.instance):
                raise ValidationError(
                    _(
                        "This version is in use by the ledger or an assessment and cannot change. "
                        "Add a new version from a later month instead."
                    ),
                    code="in_use",
                )
        moved = self.instance.pk is None or (programme, effective_from) != (
            self.instance.programme,
            self.instance.effective_from,
        )
        if programme and effective_from and moved:
            earliest = earliest_new_version(programme)
            if earliest is not None and effective_from < earliest:
                self.add_error(
                    "effective_from",
                    ValidationError(
                        _(
                            "The ledger already holds earnings of this programme up to %(latest)s. "
                            "Past earnings are never recomputed, so a version starts from %(earliest)s "
                            "at the earliest."
                        ),
                        code="before_ledger",
                        params={
                            "latest": f"{latest_ledger_month(programme):%Y-%m}",
                            "earliest": f"{earliest:%Y-%m-%d}",
                        },
                    ),
                )
        self._check_bounds(cleaned)
        return cleaned

    def _check_bounds(self, cleaned: dict[str, Any]) -> None:
        """Amounts the ledger can hold: the job computes units × rate in integers, and a line's
        amount has twelve digits before the point. A per-unit metric needs a cap, since units come
        from the feeds (millions of users are possible); a one-time fee is one unit."""
        rate, cap, metric = cleaned.get("rate"), cleaned.get("monthly_cap"), cleaned.get("metric")
        if rate is not None and rate > MAX_RATE:
            self.add_error(
                "rate",
                ValidationError(
                    _("A rate is at most %(max)s per unit."), code="rate_too_high", params={"max": MAX_RATE}
                ),
            )
        if cap is not None and cap > MAX_CAP:
            self.add_error(
                "monthly_cap",
                ValidationError(
                    _("A monthly cap is at most %(max)s."), code="cap_too_high", params={"max": MAX_CAP}
                ),
            )
        if cap is None and metric in (Metric.ACTIVE_USER_GROWTH, Metric.NEW_SEATS):
            self.add_error(
                "monthly_cap",
                ValidationError(
                    _("Give a monthly cap: this metric pays per user or seat, however many there are."),
                    code="cap_required",
                ),
            )
