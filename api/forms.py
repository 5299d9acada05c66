from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from api.models import ApiKey
from api.webhooks.endpoints import validate_url
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


class OneLineInput(forms.TextInput):
    """A text input that shows a sent-back value on one line: a line feed is not allowed in `value`."""

    def format_value(self, value: Any) -> str | None:
        formatted = super().format_value(value)
        return None if formatted is None else " ".join(formatted.splitlines())


class WebhookEndpointForm(forms.Form):
    """What a partner types to add an endpoint. The URL's rules (https, no private address) are
    api.webhooks' to check, so the portal and the API refuse the same URLs with the same words."""

    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        widget=forms.URLInput(attrs={"autocomplete": "url", "spellcheck": "false"}),
        help_text=_("An https address of your system that accepts POST requests."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        widget=OneLineInput,
        help_text=_("Say what receives the events, e.g. “CRM production”."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events to send"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event type.")},
        help_text=_("Untick the events your system does not need."),
    )

    def __init__(self, *args: Any, event_types: Sequence[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event_types"]
        field.choices = list(event_types)
        field.initial = [code for code, _label in event_types]

    def clean_url(self) -> str:
        # The same check create_endpoint makes, here too so that every error shows at once.
        try:
            return validate_url(self.cleaned_data["url"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["url"]) from None

    def clean_description(self) -> str:
        description = self.cleaned_data["description"].strip()
        if has_control_character(description):
            raise forms.ValidationError(_("Use one line without control characters."))
        return description
