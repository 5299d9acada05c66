"""Password-reset mail through the outbox: an SMTP outage delays it and loses nothing.

The reset link is a secret, so the outbox row holds only the user's id; the link (uid and
`default_token_generator` token, which depend on time and on the account's state, not on a stored
value) is minted each time the mail is sent, by `reset_link`, the outbox secret loader registered in
`ClaimsConfig.ready`. Staff reading the outbox see a stand-in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from cpor import outbox

USER_KEY = "password_reset_user_id"


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's form, which finds the accounts; each one's mail is queued instead of sent."""

    def send_mail(  # type: ignore[override]
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        outbox.enqueue_many(
            [
                outbox.Message(
                    kind="password_reset",
                    to=to_email,
                    language=translation.get_language() or settings.LANGUAGE_CODE,
                    context={USER_KEY: context["user"].pk, "email": to_email},
                )
            ]
        )


def reset_link(context: dict[str, Any], live: bool) -> dict[str, Any]:
    """Outbox secret loader: the reset link for the mail being sent, or a stand-in for staff."""
    if not live:
        return {**context, "reset_url": _("[password reset link: sent only to the account's owner]")}
    user = get_user_model().objects.get(pk=context[USER_KEY])
    path = reverse(
        "claims:password_reset_confirm",
        args=[urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)],
    )
    return {**context, "reset_url": f"{settings.SITE_URL}{path}"}
