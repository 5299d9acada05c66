from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import ApiKey
from claims.models import has_control_character


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_(
            "Say what uses the key, e.g. “CRM sync”. History names the key on every change it makes."
        ),
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=ApiKey.Scope.choices,
        initial=ApiKey.Scope.READ,
        widget=forms.RadioSelect,
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if has_control_character(name):
            raise forms.ValidationError(_("Use one line without control characters."))
        return name
