"""How every write begins: lock the rows it depends on, or refuse.

Each change to a claim runs in one transaction that first locks the claim's row, so two people
acting at once are served one after the other and the second sees what the first did. Creating,
copying or editing a claim, or bringing one back to life, also locks its partner's row: that serializes the
partner's changes with each other, so two at once cannot both pass the duplicate rule.

`TransitionRefused` is how any workflow function says no; it lives here because the first refusal
a write can meet is that its claim is gone.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from claims.models import Claim, Partner


class TransitionRefused(PermissionDenied):
    """The action is not allowed now; the message says why in words fit to show the user."""


def lock_claim(claim: Claim | int) -> Claim:
    """The claim, fresh from its row and locked until the transaction ends."""
    pk = claim.pk if isinstance(claim, Claim) else claim
    locked = Claim.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise TransitionRefused(_("This claim no longer exists."))
    return locked


def lock_partner(partner_id: int) -> None:
    """Serialize a partner's claim creations and edits, so two at once cannot both pass the duplicate rule."""
    Partner.objects.select_for_update().filter(pk=partner_id).first()
