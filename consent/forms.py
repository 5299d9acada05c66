from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


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


class CustomerSignInForm(forms.Form):
    """A customer asks for a sign-in link. Only the address's form is checked here: whether it is
    at a registered organisation is never told (the page answers the same either way)."""

    email = forms.CharField(
        label=_("Your work email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"}),
        error_messages={"required": _("Enter your work email address.")},
    )

    def clean_email(self) -> str:
        from consent.signin import normalise_email

        email = normalise_email(self.cleaned_data["email"])
        if email is None:
            raise forms.ValidationError(_("Enter a work email address such as name@contoso.com."))
        return email
