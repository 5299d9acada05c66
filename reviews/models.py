"""What the reviewer workflow keeps beside the claim: the PoE checklist and the SLA digest log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import Claim, InformationRequestReason

# The PoE checklist asks, for each reason an information request can give, whether the PoE is fine
# on that point. An item the reviewer marks as missing is what they would ask the partner for; an
# item not looked at yet is neither (an untouched checklist suggests no reason at all).
CHECKLIST_ITEMS: dict[str, str] = {
    InformationRequestReason.MISSING_ALL_POE: _("PoE is present and pertains to this claim"),
    InformationRequestReason.MISSING_CUSTOMER_ACKNOWLEDGMENT: _("The customer's signature is on the PoE"),
    InformationRequestReason.MISSING_OR_OLD_DATES: _("Dates on the PoE are present and current"),
    InformationRequestReason.MISSING_PARTNER_SOLUTION: _("The partner's solution or service is described"),
    InformationRequestReason.MISSING_PRODUCTS: _("Every claimed product or workload is named"),
}


class ReviewChecklist(models.Model):
    """The reviewer's PoE checklist of one claim: which checks passed and which the PoE is missing.

    Both hold codes of `CHECKLIST_ITEMS`, never the same code twice; an item in neither is unchecked.
    """

    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="review_checklist")
    passed = models.JSONField(_("checks passed"), default=list, blank=True)
    missing = models.JSONField(_("missing from the PoE"), default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, verbose_name=_("updated by")
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("PoE checklist")
        verbose_name_plural = _("PoE checklists")

    def __str__(self) -> str:
        return f"PoE checklist of claim {self.claim_id}"

    @property
    def failed(self) -> list[str]:
        """The information-request reasons the reviewer marked as missing, in checklist order."""
        return [code for code in CHECKLIST_ITEMS if code in self.missing]


class SlaDigest(models.Model):
    """One row per day a digest of SLA breaches went to the review leads; the unique day is the guard."""

    day = models.DateField(_("day"), unique=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    breached_count = models.PositiveIntegerField(_("breached claims"))
    recipients = models.PositiveIntegerField(_("recipients"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("SLA digest")
        verbose_name_plural = _("SLA digests")

    def __str__(self) -> str:
        return f"SLA digest of {self.day}"
