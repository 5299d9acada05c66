"""Sign-in forms: the portal's and the admin's, both by email address."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class SignInEmailField(forms.EmailField):
    """An address typed in compatibility characters (fullwidth `ａｌｉｃｅ@…`) is read as the plain
    one before it is validated. The case is kept: `accounts.auth` folds it for the lock and the
    account lookup, and needs the exact spelling only to tell apart two accounts that fold alike."""

    def to_python(self, value: Any) -> str:
        return unicodedata.normalize("NFKC", super().to_python(value))


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with email and password. Failures are counted and locks kept by django-axes
    (`accounts.auth`), the same for the admin's sign-in page."""

    username = SignInEmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The email address or the password is wrong."),
    }


class AdminSignInForm(AdminAuthenticationForm):
    """The admin's sign-in by email. Failures are counted and locks kept by django-axes, one policy
    with the portal's sign-in (`accounts.auth`): an account locked at one page is locked at the other."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")
