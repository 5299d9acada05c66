"""The earnings report's filters (`/earnings/`): what the query string may hold, checked before
any of it reaches a query. A malformed value is an error next to its field, never a 500."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from claims.models import Programme

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


class MonthField(forms.CharField):
    """A month written YYYY-MM, cleaned to the first day of that month."""

    default_error_messages = {"invalid": _("Enter a month as YYYY-MM, for example 2026-01.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.update({"placeholder": "YYYY-MM", "inputmode": "numeric", "maxlength": "7"})

    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        match = MONTH_PATTERN.match(text)
        if match is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        year, month = int(match.group(1)), int(match.group(2))
        if not (1 <= month <= 12 and 2000 <= year <= 2999):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return dt.date(year, month, 1)

    def prepare_value(self, value: Any) -> Any:
        return f"{value:%Y-%m}" if isinstance(value, dt.date) else value


class ReportFilterForm(forms.Form):
    """Bound to request.GET with the names the design fixes: tenant, subscription, programme, from, to.
    (`from` is a Python keyword, so the field is named `from_month` and prefixed by `add_prefix`.)"""

    tenant = forms.UUIDField(
        label=_("Tenant ID"),
        required=False,
        error_messages={"invalid": _("Enter a tenant ID as a GUID (8-4-4-4-12 hexadecimal digits).")},
    )
    subscription = forms.UUIDField(
        label=_("Subscription ID"),
        required=False,
        error_messages={"invalid": _("Enter a subscription ID as a GUID (8-4-4-4-12 hexadecimal digits).")},
    )
    programme = forms.ChoiceField(
        label=_("Programme"),
        required=False,
        choices=[("", _("All programmes")), *Programme.choices],
        error_messages={"invalid_choice": _("Choose one of the listed programmes.")},
    )
    from_month = MonthField(label=_("From month"))
    to_month = MonthField(label=_("To month"))

    FIELD_NAMES = {"from_month": "from", "to_month": "to"}

    def add_prefix(self, field_name: str) -> str:
        return self.FIELD_NAMES.get(field_name, field_name)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("from_month"), cleaned.get("to_month")
        if start and end and start > end:
            self.add_error("to_month", _("The last month comes before the first month."))
        return cleaned

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in ("tenant", "subscription", "programme", "from", "to"))
