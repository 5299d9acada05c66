"""The customer's two decisions as forms: decline all or some of a claim's workloads during the
opt-out window, and ask the review team to end an association after it.

Both forms only read and check what was posted; the change itself is the workflow's
(`claims.workflow.decline_workloads`, `request_end_association`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from claims.models import Claim, Product
from claims.workflow.customer import MAX_REASON, checked_reason

REASON_LIMIT = MAX_REASON  # the workflow's one limit of a customer's reason
REASON_READERS = _("The partner and the review team will read your reason.")
NOT_ON_THE_CLAIM = _("That workload is not part of this association. Reload the page and try again.")


def _plain_text(value: str) -> str:
    """The workflow's own check of a reason (control characters, DEL and C1 included; the limit)."""
    return checked_reason(value, limit=REASON_LIMIT)


class WorkloadsField(forms.ModelMultipleChoiceField):
    """The ticked workloads. A value that cannot be a product's id (text, a negative number, one
    past any database integer) is refused as not on the claim before the database is asked."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if not (isinstance(pk, str) and pk.isascii() and pk.isdigit() and len(pk) <= 9):
                raise forms.ValidationError(NOT_ON_THE_CLAIM, code="invalid_pk_value")
        return super()._check_values(value)


class DeclineForm(forms.Form):
    """Which of the claim's workloads the customer declines.

    `scope` is the choice made: "all" declines every workload (the claim is rejected), "chosen"
    only the ticked ones. A post that names no scope declines the ticked workloads; with
    `empty_means_all` (the consent link, whose earlier pages post no workload field at all) one that
    names neither declines everything, as it always did.
    """

    SCOPES = (("all", _("The whole association")), ("chosen", _("Only the workloads I choose")))

    scope = forms.ChoiceField(
        choices=SCOPES,
        required=False,
        error_messages={"invalid_choice": _("Choose the whole association or only some workloads.")},
    )
    products = WorkloadsField(
        queryset=Product.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": NOT_ON_THE_CLAIM,
            "invalid_pk_value": NOT_ON_THE_CLAIM,
            "invalid_list": _("Choose workloads from the list."),
        },
    )
    reason = forms.CharField(required=False, max_length=REASON_LIMIT, help_text=REASON_READERS)
    seen_status = forms.CharField(required=False, max_length=32)

    def __init__(self, *args: Any, claim: Claim, empty_means_all: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claim = claim
        self.empty_means_all = empty_means_all
        self.fields["products"].queryset = claim.products.all()

    def clean_reason(self) -> str:
        return _plain_text(self.cleaned_data["reason"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        scope = cleaned.get("scope") or ""
        chosen = list(cleaned.get("products") or [])
        if not scope:
            named_products = "products" in self.data
            scope = "chosen" if named_products or not self.empty_means_all else "all"
        held = list(self.claim.products.all())
        if scope == "all" and chosen and len(chosen) < len(held):
            # Ticked boxes under "the whole association" are a contradiction, not a choice: asking
            # keeps a customer from declining everything when they meant only some.
            self.add_error(
                "products",
                _(
                    "You ticked some workloads but chose the whole association. Choose “Only the "
                    "workloads I choose” to keep the others, or untick them to decline everything."
                ),
            )
        elif scope == "all":
            # The choice itself goes to the workflow (`decline_all`); the list is for the page's words.
            cleaned["decline_all"] = True
            cleaned["declined"] = held
        elif chosen:
            cleaned["decline_all"] = False
            cleaned["declined"] = chosen
        else:
            self.add_error(
                "products",
                _("Choose at least one workload to decline, or decline the whole association."),
            )
        return cleaned

    @property
    def expected_status(self) -> str | None:
        return self.cleaned_data.get("seen_status") or None


class EndRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why should this association end?"),
        max_length=REASON_LIMIT,
        help_text=REASON_READERS,
        error_messages={"required": _("Tell the review team why this association should end.")},
    )

    def clean_reason(self) -> str:
        reason = _plain_text(self.cleaned_data["reason"])
        if not reason:
            raise forms.ValidationError(_("Tell the review team why this association should end."))
        return reason


def refusal_text(error: Exception) -> str:
    """The words a workflow refusal carries, fit to show the customer."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or str(_("This cannot be done now."))
