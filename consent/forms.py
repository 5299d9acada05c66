from django import forms
from django.utils.translation import gettext_lazy as _


class DenyForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you deny this association? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if "\x00" in reason:
            raise forms.ValidationError(_("Remove the control characters from your text."))
        return reason
