"""The reviewer's forms: the input a transition needs, comments, the checklist, assignment, and the
review queue's action bar."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from claims.models import LEAD_GROUP, REVIEWER_GROUP, InformationRequestReason, InsufficientPoeSubReason
from claims.workflow.customer import MAX_DECISION_NOTE
from reviews.models import CHECKLIST_ITEMS

TEXT_LIMIT = 5000


def _comment_field(*, required: bool, label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_LIMIT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
    )


class TransitionForm(forms.Form):
    """A transition's input; `details()` are the keyword arguments for `claims.workflow.transition`."""

    def details(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class RequestInformationForm(TransitionForm):
    reasons = forms.MultipleChoiceField(
        label=_("What is missing"),
        choices=InformationRequestReason.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one reason for the request.")},
    )
    comment = _comment_field(
        required=True,
        label=_("Comment to the partner"),
        help_text=_("The partner sees this comment and has five business days to respond."),
    )


class RejectForm(TransitionForm):
    sub_reasons = forms.MultipleChoiceField(
        label=_("Why the proof of execution is insufficient"),
        choices=InsufficientPoeSubReason.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one rejection reason.")},
    )
    comment = _comment_field(
        required=True,
        label=_("Comment to the partner"),
        help_text=_("The partner sees this comment and may dispute the rejection within 30 days."),
    )


class ReopenForm(TransitionForm):
    comment = _comment_field(
        required=False,
        label=_("Comment to the partner (optional)"),
        help_text=_("The dispute is accepted and the review continues; the partner is told."),
    )


class UpholdRejectionForm(TransitionForm):
    comment = _comment_field(
        required=True,
        label=_("Why the rejection stands"),
        help_text=_("The partner sees this comment. The decision is final: no second dispute."),
    )


class EndAssociationForm(TransitionForm):
    comment = _comment_field(
        required=True,
        label=_("Comment to the partner"),
        help_text=_("The partner sees this comment and may dispute the ending within 30 days."),
    )


class DeclineEndRequestForm(forms.Form):
    """A review lead declines a customer's request to end an association; the customer reads why, and
    so does the partner (which was told of the request and may rely on the association standing)."""

    reason = forms.CharField(
        label=_("Why the association stays (sent to the customer and the partner)"),
        max_length=MAX_DECISION_NOTE,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        error_messages={"required": _("Write the reason the customer will read.")},
    )


class CommentForm(forms.Form):
    PARTNER = "partner"
    INTERNAL = "internal"

    body = _comment_field(required=True, label=_("Comment"))
    visibility = forms.ChoiceField(
        label=_("Who sees it"),
        choices=[
            (PARTNER, _("Partner-visible comment (the partner is mailed)")),
            (INTERNAL, _("Internal note (reviewers only)")),
        ],
        initial=INTERNAL,
        widget=forms.RadioSelect,
    )

    @property
    def partner_visible(self) -> bool:
        return self.cleaned_data["visibility"] == self.PARTNER


class ApproveForm(TransitionForm):
    """No input: the page it renders on is the confirmation (a plain form, no script to confirm)."""


class ChecklistForm(forms.Form):
    """Per check: passes, missing, or neither (not looked at yet). Rendered as one row per check."""

    passed = forms.MultipleChoiceField(
        label=_("PoE checks passed"),
        choices=list(CHECKLIST_ITEMS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    missing = forms.MultipleChoiceField(
        label=_("Missing from the PoE"),
        choices=list(CHECKLIST_ITEMS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if set(cleaned.get("passed", ())) & set(cleaned.get("missing", ())):
            raise ValidationError(_("A check cannot both pass and be missing."), code="both")
        return cleaned

    def rows(self) -> list[tuple[str, Any, Any]]:
        """(check label, its "passes" checkbox, its "missing" checkbox), in checklist order."""
        return [
            (str(label), passed, missing)
            for (_code, label), passed, missing in zip(
                CHECKLIST_ITEMS.items(), self["passed"], self["missing"], strict=True
            )
        ]


def reviewer_choices() -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name__in=[REVIEWER_GROUP, LEAD_GROUP])
        .distinct()
        .order_by("email")
    )


class ReviewerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name()
        return f"{name} <{obj.email}>" if name else obj.email


class AssignForm(forms.Form):
    """A review lead assigns a claim to any reviewer, or to nobody."""

    reviewer = ReviewerChoiceField(
        label=_("Assign to"), queryset=reviewer_choices(), required=False, empty_label=_("— nobody —")
    )


# ---------------------------------------------------------------------------------------------
# The review queue's action bar


def _frozen(value: Any) -> Any:
    """`value` as a hashable key part (lazy text as text), or raise TypeError."""
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, Promise):
        return str(value)
    hash(value)
    return value


class RenderedOnce:
    """A widget mixin: Django renders the widget's template once per distinct input (name, value,
    attributes, choices, language, renderer) and the HTML is reused after that.

    The queue's action bar is the same for every page a reviewer opens, yet rendering its select
    through the form templates cost about as much as writing the page's hundred rows.
    """

    MEMO_SIZE = 64
    _memo: dict[Any, SafeString]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._memo = {}

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        try:
            key = _frozen(
                (
                    self.template_name,
                    name,
                    value,
                    self.is_required,
                    self.attrs,
                    attrs or {},
                    getattr(self, "choices", ()),
                    translation.get_language(),
                )
            ) + (renderer,)
            hash(key)
        except TypeError:  # an input that cannot be a key: rendered as usual
            return super().render(name, value, attrs, renderer)  # type: ignore[misc]
        html = self._memo.get(key)
        if html is None:
            html = super().render(name, value, attrs, renderer)  # type: ignore[misc]
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = html
        return html


class RenderedOnceSelect(RenderedOnce, forms.Select):
    pass


class RenderedOnceHiddenInput(RenderedOnce, forms.HiddenInput):
    pass


class QueueActionForm(ActionForm):
    """Django's admin action form (`helpers.ActionForm`: the same fields, labels and markup) with
    widgets rendered once per distinct input."""

    action = forms.ChoiceField(label=ActionForm.base_fields["action"].label, widget=RenderedOnceSelect)
    select_across = forms.BooleanField(
        label="",
        required=False,
        initial=0,
        widget=RenderedOnceHiddenInput({"class": "select-across"}),
    )
