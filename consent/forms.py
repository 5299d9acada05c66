from django import forms
from django.conf import settings
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


class ConsentNoticeForm(forms.Form):
    """A reviewer sends the consent notice again, to the customer contact or another address."""

    email = forms.EmailField(
        label=_("Send to"),
        required=False,
        help_text=_("Leave empty to send to the claim's customer contact."),
    )
    name = forms.CharField(label=_("Contact name"), required=False, max_length=200)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("The contact's language")), *settings.LANGUAGES], required=False
    )
