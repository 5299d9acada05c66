"""Consent's panel on the reviewer's claim page: the notices sent, and sending one again.

Registered with `claims.contributions` in `ConsentConfig.ready`; `reviews` renders it without
importing consent.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext as _

from claims.contributions import ClaimPagePanel
from claims.models import Claim
from consent.forms import ConsentNoticeForm
from consent.models import ConsentRequest
from consent.services import resend_notice


def notices(claim: Claim, user: Any) -> dict[str, Any]:
    """Every notice sent for the claim, newest first; the resend form while the claim is approved."""
    return {
        "requests": list(
            ConsentRequest.objects.filter(claim=claim)
            .select_related("email", "sent_by")
            .order_by("-created_at")
        ),
        "form": ConsentNoticeForm() if claim.status == Claim.Status.APPROVED else None,
    }


def send_notice_again(claim_id: int, *, by: Any, data: QueryDict) -> str:
    """A reviewer's resend form: the notice goes out again, or a ValidationError says why not."""
    form = ConsentNoticeForm(data)
    if not form.is_valid():
        raise ValidationError([str(error) for errors in form.errors.values() for error in errors])
    notice = resend_notice(claim_id, by=by, **form.cleaned_data)
    return _("Consent notice sent to %(email)s.") % {"email": notice.contact_email}


PANEL = ClaimPagePanel(
    name="consent_notice",
    template="consent/claim_page_panel.html",
    read=notices,
    act=send_notice_again,
)
