"""Partner portal forms: they validate what a person typed; `claims.workflow` decides the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from claims import selectors
from claims.models import (
    ACTIVITIES_BY_AREA,
    Activity,
    Claim,
    Membership,
    MpnId,
    Product,
    SolutionArea,
    WithdrawReason,
)

MAX_TEXT = 5000

# ---------------------------------------------------------------------------------------------
# The dashboard's filters


SORT_CHOICES = [
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("submitted", _("Submitted date")),
    ("customer", _("Customer name")),
    ("name", _("Claim name")),
    ("status", _("Status")),
]


class DashboardFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Customer name, domain, tenant ID, claim name or your reference."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + Claim.Status.choices
    )
    activity = forms.ChoiceField(
        label=_("Activity"), required=False, choices=[("", _("Any"))] + Activity.choices
    )
    solution_area = forms.ChoiceField(
        label=_("Solution area"), required=False, choices=[("", _("Any"))] + SolutionArea.choices
    )
    product = forms.ChoiceField(label=_("Product"), required=False)
    submitted_from = forms.DateField(
        label=_("Submitted from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    submitted_to = forms.DateField(
        label=_("Submitted to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, products: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.products = products
        self.fields["product"].choices = [("", _("Any")), *products]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("submitted_from"), cleaned.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> selectors.DashboardFilters:
        """The valid filters; a field with an error counts as not set (its error is shown)."""
        self.is_valid()
        values = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return selectors.DashboardFilters(
            q=(values.get("q") or "").strip(),
            status=values.get("status") or "",
            activity=values.get("activity") or "",
            solution_area=values.get("solution_area") or "",
            product=values.get("product") or "",
            submitted_from=values.get("submitted_from"),
            submitted_to=values.get("submitted_to"),
            sort=values.get("sort") or "newest",
            page=values.get("page") or 1,
        )


# ---------------------------------------------------------------------------------------------
# New claim and edit


AREA_HELP = {
    SolutionArea.BUSINESS_APPLICATIONS: _("Dynamics 365 and Power Platform products."),
    SolutionArea.MICROSOFT_365: _("Microsoft 365 workloads such as Teams, Exchange Online or Intune."),
}

ACTIVITY_HELP = {
    Activity.PRESALES: _(
        "You advised the customer before they bought the products (OSA, the advisor incentive)."
    ),
    Activity.USAGE: _(
        "You helped the customer deploy the products and use them more (OSU, the usage incentive)."
    ),
    Activity.REVENUE_ASSOCIATION: _(
        "You influenced the customer's purchase as Business Influencer: revenue credit, no incentive payment."
    ),
}


class SolutionAreaForm(forms.Form):
    """Step one of a new claim: the solution area decides which activities and products fit."""

    solution_area = forms.ChoiceField(
        label=_("Solution area"), choices=SolutionArea.choices, widget=forms.RadioSelect
    )


PHONE = RegexValidator(
    r"^\+?[0-9 ()./-]{3,30}( ?(x|ext\.?) ?[0-9]{1,6})?$",
    _("Enter a phone number with digits, spaces and + ( ) - only."),
)

# The form shows these first, then the other partner fields of a claim in model order.
LEADING_FIELDS = [
    "name",
    "mpn",
    "solution_area",
    "activity",
    "products",
    "customer_name",
    "customer_domain",
    "customer_tenant_id",
    "subscription_id",
]
CLAIM_FORM_FIELDS = LEADING_FIELDS + sorted(
    Claim.PARTNER_FIELDS - set(LEADING_FIELDS), key=[f.name for f in Claim._meta.get_fields()].index
)


# Fields a draft may leave empty but that `Claim.submission_problems` asks for before submitting: the
# form marks them "needed to submit" (the technical contact only for Dynamics 365, said in its help).
NEEDED_TO_SUBMIT = (
    "customer_contact_name",
    "customer_contact_email",
    "partner_contact_name",
    "partner_contact_email",
    "work_description",
)


class ClaimForm(forms.ModelForm):
    """The partner fields of a claim, only those the claim's state lets the partner change.

    The solution area is chosen first (step one, or `area` when changing it on a draft): activity
    and product choices hold only what fits that area. The model's own rules (domain format, the
    tenant registry, the partner's MPN) run as form validation; the workflow checks them again.
    """

    class Meta:
        model = Claim
        fields = CLAIM_FORM_FIELDS
        widgets = {
            "solution_area": forms.HiddenInput,
            "products": forms.CheckboxSelectMultiple,
            "work_description": forms.Textarea(attrs={"rows": 6, "maxlength": MAX_TEXT}),
            "customer_domain": forms.TextInput(attrs={"placeholder": "contoso.com", "autocomplete": "off"}),
            "customer_tenant_id": forms.TextInput(
                attrs={"placeholder": "00000000-0000-0000-0000-000000000000", "autocomplete": "off"}
            ),
            "subscription_id": forms.TextInput(attrs={"autocomplete": "off"}),
        }
        help_texts = {
            "mpn": _("One of your organization's MPN IDs (PartnerID)."),
            "customer_domain": _("A domain the customer's tenant has verified, such as contoso.com."),
            "customer_tenant_id": _("The customer's Microsoft Entra tenant ID, a GUID."),
            "subscription_id": _("Optional: the subscription your work concerns (a GUID)."),
            "technical_contact_name": _("Needed for Dynamics 365 workloads."),
            "products": _("Every product or workload the proof of execution covers."),
            "work_description": _("What you did for the customer: the solution or service you delivered."),
            "external_reference": _(
                "Optional: your own reference for this claim, such as its record ID in your CRM. "
                "No two of your claims may share one."
            ),
        }
        labels = {"external_reference": _("Your reference")}

    def __init__(
        self,
        *args: Any,
        membership: Membership,
        area: str,
        editable: frozenset[str] = Claim.PARTNER_FIELDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.area = area
        self.duplicates: list[Claim] = []
        for name in list(self.fields):
            if name not in editable:
                del self.fields[name]
        if "solution_area" in self.fields:
            self.fields["solution_area"].initial = area
            self.initial["solution_area"] = area
        if "mpn" in self.fields:
            mpn_field = self.fields["mpn"]
            mpn_field.queryset = MpnId.objects.filter(partner_id=membership.partner_id)
            mpn_field.empty_label = None
        if "activity" in self.fields:
            self.fields["activity"].choices = [
                (value, label)
                for value, label in Activity.choices
                if value in ACTIVITIES_BY_AREA.get(area, ())
            ]
            self.fields["activity"].widget = forms.RadioSelect(choices=self.fields["activity"].choices)
        if "products" in self.fields:
            self.fields["products"].queryset = Product.objects.filter(
                solution_area=area, active=True
            ).order_by("name")
            self.fields["products"].required = True
        if not Claim.area_takes_subscription_id(area):
            self.fields.pop("subscription_id", None)
        for name in NEEDED_TO_SUBMIT:
            if name in self.fields:
                self.fields[name].needed_to_submit = True
        for name in ("customer_contact_email", "technical_contact_email", "partner_contact_email"):
            if name in self.fields:
                self.fields[name].widget.attrs.setdefault("autocomplete", "off")
        for name in ("technical_contact_phone", "partner_contact_phone"):
            if name in self.fields:
                self.fields[name].validators.append(PHONE)
                self.fields[name].widget.input_type = "tel"

    def activity_options(self) -> list[tuple[Any, str]]:
        """Each activity radio button with the sentence that explains it."""
        return [(radio, ACTIVITY_HELP.get(radio.data["value"], "")) for radio in self["activity"]]

    def clean_solution_area(self) -> str:
        # The area comes from step one; a forged value cannot swap the lists the choices came from.
        if self.cleaned_data.get("solution_area") != self.area:
            raise ValidationError(_("The solution area changed; choose the activity and products again."))
        return self.area

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        instance = self.instance
        if not Claim.area_takes_subscription_id(self.area) and "subscription_id" not in self.fields:
            instance.subscription_id = None  # a value left from another area is not kept
        tenant = cleaned.get("customer_tenant_id", instance.customer_tenant_id)
        activity = cleaned.get("activity", instance.activity)
        products = cleaned.get("products")
        if products is None and instance.pk and "products" not in self.errors:
            products = list(instance.products.all())
        if tenant and activity and products and not self.errors:
            self.duplicates = selectors.partner_duplicates(
                self.membership.partner_id,
                tenant_id=tenant,
                activity=activity,
                products=products,
                exclude_pk=instance.pk,
            )
            if self.duplicates:
                self.add_error(
                    "products" if "products" in self.fields else None,
                    Claim.duplicate_message(self.duplicates),
                )
        return cleaned

    def changes(self) -> dict[str, Any]:
        """The submitted partner fields, products as a list (the workflow's `fields`/`changes`)."""
        values = {name: self.cleaned_data[name] for name in self.fields}
        if "products" in values:
            values["products"] = list(values["products"])
        return values

    def _update_errors(self, errors: ValidationError) -> None:
        """The model's rules may name a field this form does not show (a locked one, say): such an
        error goes to the top of the form instead of failing the request."""
        if hasattr(errors, "error_dict"):
            unknown = {name: msgs for name, msgs in errors.error_dict.items() if name not in self.fields}
            if unknown:
                for name in unknown:
                    errors.error_dict.pop(name)
                for messages in unknown.values():
                    self.add_error(None, [message for error in messages for message in error.messages])
        super()._update_errors(errors)

    def add_workflow_error(self, error: ValidationError) -> None:
        """Show a workflow ValidationError next to its field, or at the top for the others."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


# ---------------------------------------------------------------------------------------------
# Documents


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (empty when none and not required)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.docx,.png,.jpg,.jpeg"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > settings.CPOR_POE_MAX_FILES:
            raise ValidationError(
                _("Upload at most %(count)s files at once.") % {"count": settings.CPOR_POE_MAX_FILES}
            )
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(forms.Form):
    prefix = "upload"

    files = MultipleFileField(
        label=_("Proof-of-execution files"),
        help_text=_("PDF, DOCX, PNG or JPEG; several at once. The type is checked from the file's content."),
    )


# ---------------------------------------------------------------------------------------------
# Actions on the claim page


class CommentForm(forms.Form):
    prefix = "comment"

    body = forms.CharField(
        label=_("Your reply"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT}),
    )


class SubmitForm(forms.Form):
    """The checklist mirrors the five reasons reviewers ask for more information."""

    prefix = "submit"

    customer_signature = forms.BooleanField(
        label=_("The PoE carries the customer's signature or written acknowledgment.")
    )
    dates = forms.BooleanField(label=_("The PoE is dated, and the dates are recent and fit this claim."))
    solution = forms.BooleanField(label=_("The PoE describes the solution or service we delivered."))
    products = forms.BooleanField(label=_("The PoE names every product and workload claimed."))
    tenant = forms.BooleanField(label=_("The PoE shows the customer's tenant ID or verified domain."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            bound.error_messages["required"] = _("Tick this once the PoE shows it.")


class ResubmitForm(forms.Form):
    prefix = "resubmit"

    comment = forms.CharField(
        label=_("Your answer to the reviewer"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT}),
    )
    files = MultipleFileField(label=_("Updated proof of execution"), required=False)


class WithdrawForm(forms.Form):
    prefix = "withdraw"

    reason = forms.ChoiceField(
        label=_("Why do you withdraw the claim?"), choices=WithdrawReason.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_TEXT}),
    )
    # The confirmation is a box to tick, not a script dialog: it works without JavaScript and under
    # a strict Content Security Policy.
    confirm = forms.BooleanField(
        label=_("Yes, withdraw this claim"),
        error_messages={"required": _("Tick the box to confirm that you withdraw the claim.")},
    )


class DisputeForm(forms.Form):
    prefix = "dispute"

    justification = forms.CharField(
        label=_("Business justification"),
        required=False,
        max_length=MAX_TEXT,
        help_text=_("Why the rejection should be reconsidered."),
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_TEXT}),
    )
    files = MultipleFileField(label=_("Updated proof of execution"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("justification") or "").strip() and not cleaned.get("files"):
            raise ValidationError(_("Give a business justification or upload updated PoE to dispute."))
        return cleaned


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=2000)
