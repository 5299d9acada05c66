from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class EmailBackend(ModelBackend):
    """Users sign in with their email address (case-insensitive); the username is not shown anywhere."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        email = kwargs.get("email") or username
        if not email or password is None:
            return None
        user_model = get_user_model()
        user = user_model.objects.filter(email__iexact=email.strip()).order_by("pk").first()
        if user is None:
            user_model().set_password(password)  # spend the same time as a real check
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
