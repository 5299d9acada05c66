"""Partners, the product catalogue, and the claim with its state machine.

The claim's rules read top to bottom in `Claim`: states, transitions, conditions and permissions.
Transition methods only change the claim in memory; `claims.workflow.transition` is the one caller
that checks permission and conditions, saves, and writes history and mail.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from claims.actors import Actor
from cpor.business_days import add_business_days
from cpor.models import OutboundEmail

REVIEWER_GROUP = "PoE reviewers"
LEAD_GROUP = "Review leads"
REVIEW_BUSINESS_DAYS = 5
PARTNER_RESPONSE_BUSINESS_DAYS = 5
DISPUTE_RESPONSE_BUSINESS_DAYS = 5
REMINDER_BUSINESS_DAYS = 2  # the partner is reminded this many business days before its deadline
CONSENT_WINDOW = dt.timedelta(days=7)
DISPUTE_WINDOW = dt.timedelta(days=30)

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


def has_control_character(text: str) -> bool:
    """CR, LF, tab and the other C0/C1 controls, DEL, and the Unicode line and paragraph separators."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


class ClaimRuleError(Exception):
    """A business rule refuses what was asked; the message is fit to show the user."""


# ---------------------------------------------------------------------------------------------
# Partners and people


class Partner(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("Language of partner mail."),
    )
    # Bumped by the workflow in the transaction of every claim creation, edit, deletion, document
    # and status change of this partner: the dashboard caches its counts and body under it.
    claims_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return self.name


class MpnId(models.Model):
    """A Microsoft Partner Network ID (PartnerID) of a partner location."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="mpn_ids", verbose_name=_("partner")
    )
    number = models.CharField(_("number"), max_length=16, unique=True, validators=[])
    location = models.CharField(_("location"), max_length=120, blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("MPN ID")
        verbose_name_plural = _("MPN IDs")

    def __str__(self) -> str:
        return f"{self.number} ({self.location})" if self.location else self.number

    def clean(self) -> None:
        if not self.number.isdigit():
            raise ValidationError({"number": _("An MPN ID is digits only.")})


class Membership(models.Model):
    class Role(models.TextChoices):
        GLOBAL_ADMIN = "global_admin", _("Global admin")
        BILLING_ADMIN = "billing_admin", _("Billing admin")
        INCENTIVES_ADMIN = "incentives_admin", _("Incentives admin")
        MEMBER = "member", _("Member (read-only)")

    MANAGING_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.BILLING_ADMIN, Role.INCENTIVES_ADMIN})

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)

    def __str__(self) -> str:
        return f"{self.user} — {self.partner} ({self.get_role_display()})"

    def clean(self) -> None:
        if self.user_id and self.user.is_staff:
            raise ValidationError(_("Staff accounts review claims; they cannot belong to a partner."))

    @property
    def can_manage_claims(self) -> bool:
        return self.role in self.MANAGING_ROLES


def membership_of(user: Any) -> Membership | None:
    # Staff (reviewers, admins) never act for a partner: one account cannot both claim and decide.
    if isinstance(user, Actor) or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_staff:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def is_managing_user(user: Any, partner_id: int) -> bool:
    membership = membership_of(user)
    return bool(membership and membership.partner_id == partner_id and membership.can_manage_claims)


def group_names(user: Any) -> frozenset[str]:
    """The names of `user`'s groups; none for the customer, the system or an anonymous visitor.

    Every "is this a reviewer? a lead?" goes through here. A page or a batch asks it many times for
    the same person, so the first answer is kept on that user object (`_cpor_group_names`, read and
    written by this function only) for as long as the object lives, normally one request.
    """
    if isinstance(user, Actor) or not getattr(user, "is_authenticated", False):
        return frozenset()
    names = getattr(user, "_cpor_group_names", None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        user._cpor_group_names = names
    return names


def is_reviewer(user: Any) -> bool:
    """An active staff account in the reviewers' or the review leads' group."""
    if isinstance(user, Actor) or not getattr(user, "is_authenticated", False):
        return False
    if not (user.is_active and user.is_staff):
        return False
    return bool(group_names(user) & {REVIEWER_GROUP, LEAD_GROUP})


def is_lead(user: Any) -> bool:
    """A reviewer who is also a review lead: assigns claims to others and decides disputes."""
    return is_reviewer(user) and LEAD_GROUP in group_names(user)


# ---------------------------------------------------------------------------------------------
# Catalogue and tenants


class SolutionArea(models.TextChoices):
    BUSINESS_APPLICATIONS = "business_applications", _("Business Applications")
    MICROSOFT_365 = "microsoft_365", _("Microsoft 365")


class Activity(models.TextChoices):
    PRESALES = "presales", _("Pre-sales")
    USAGE = "usage", _("Usage")
    REVENUE_ASSOCIATION = "revenue_association", _("Revenue association (Business Influencer)")


class Programme(models.TextChoices):
    """The incentive programme an association is assessed under, decided by its activity
    (`Claim.programme`): the assessment hand-off records it and the partner's mail names it."""

    OSA = "osa", _("OSA (partner advisor, pre-sales)")
    OSU = "osu", _("OSU (usage)")
    BUSINESS_INFLUENCER = "business_influencer", _("Business Influencer revenue association")

    @property
    def pays_incentives(self) -> bool:
        """Whether the programme can pay incentives at all: revenue association earns credit only."""
        return self != Programme.BUSINESS_INFLUENCER


# The one mapping from activity to programme; ask `Claim.programme` or `Claim.programme_of`.
PROGRAMME_BY_ACTIVITY = {
    Activity.PRESALES: Programme.OSA,
    Activity.USAGE: Programme.OSU,
    Activity.REVENUE_ASSOCIATION: Programme.BUSINESS_INFLUENCER,
}


ACTIVITIES_BY_AREA: dict[str, tuple[str, ...]] = {
    SolutionArea.BUSINESS_APPLICATIONS: (Activity.PRESALES, Activity.USAGE, Activity.REVENUE_ASSOCIATION),
    SolutionArea.MICROSOFT_365: (Activity.USAGE,),
}


class Product(models.Model):
    """A product or workload that can be claimed, by solution area."""

    class Family(models.TextChoices):
        DYNAMICS_365 = "dynamics_365", "Dynamics 365"
        POWER_PLATFORM = "power_platform", "Power Platform"
        MICROSOFT_365 = "microsoft_365", "Microsoft 365"

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    solution_area = models.CharField(
        _("solution area"), max_length=32, choices=SolutionArea.choices, db_index=True
    )
    family = models.CharField(_("product family"), max_length=32, choices=Family.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["solution_area", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name

    @property
    def needs_technical_contact(self) -> bool:
        return self.family == self.Family.DYNAMICS_365


class Tenant(models.Model):
    """A customer tenant the registry knows, with its verified domains."""

    tenant_id = models.UUIDField(_("tenant ID"), unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"


class TenantDomain(models.Model):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="domains", verbose_name=_("tenant")
    )
    domain = models.CharField(_("domain"), max_length=253, unique=True)

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Reason codes


class InformationRequestReason(models.TextChoices):
    MISSING_ALL_POE = "missing_all_poe", _("Missing all PoE")
    MISSING_CUSTOMER_ACKNOWLEDGMENT = "missing_customer_acknowledgment", _("Missing customer acknowledgment")
    MISSING_OR_OLD_DATES = "missing_or_old_dates", _("Missing or old dates")
    MISSING_PARTNER_SOLUTION = "missing_partner_solution", _("Missing partner solution/service")
    MISSING_PRODUCTS = "missing_products", _("Missing products")


class RejectionReason(models.TextChoices):
    PARTNER_REQUEST = "partner_request", _("Partner request")
    CUSTOMER_DECLINE = "customer_decline", _("Customer decline")
    INSUFFICIENT_POE = "insufficient_poe", _("Insufficient proof of execution")
    NO_PARTNER_RESPONSE = "no_partner_response", _("No partner response")
    SUPERSEDED = "superseded", _("Superseded by another partner's association")
    CUSTOMER_REQUEST = "customer_request", _("Ended at the customer's request")
    SUBSCRIPTION_INACTIVE = "subscription_inactive", _("The claimed subscription is no longer active")


class InsufficientPoeSubReason(models.TextChoices):
    MISSING_CUSTOMER_CONSENT = "missing_customer_consent", _("Missing customer consent on PoE")
    MISSING_PRODUCTS = "missing_products", _("Missing products")
    NO_PARTNER_RESPONSE = "no_partner_response", _("No partner response")
    POE_UNAVAILABLE = "poe_unavailable", _("PoE unavailable")


class WithdrawReason(models.TextChoices):
    WRONG_MPN = "wrong_mpn", _("Created with the wrong MPN ID")
    WRONG_ACTIVITY = "wrong_activity", _("Chose the wrong activity")
    NO_LONGER_WORKING = "no_longer_working", _("No longer working with the customer")


def choice_labels(codes: Iterable[str] | None, choices: type[models.TextChoices]) -> list[str]:
    """Stored reason codes as labels in the active language (an unknown code stays as it is)."""
    return [str(choices(code).label) if code in choices.values else str(code) for code in codes or ()]


# Rejections after which the partner may not dispute: the partner asked for it, or the customer
# declined. Ask `Claim.not_disputable_because` or filter with `Claim.disputable_q`.
NOT_DISPUTABLE = frozenset({RejectionReason.PARTNER_REQUEST, RejectionReason.CUSTOMER_DECLINE})


class NotDisputable(models.TextChoices):
    """Why a claim cannot be disputed now (`Claim.not_disputable_because`); the label is the
    refusal the partner reads."""

    NOT_REJECTED = "not_rejected", _("Only a rejected claim can be disputed.")
    REJECTED_ON_REQUEST = (
        "rejected_on_request",
        _("A rejection at the partner's request or the customer's decline cannot be disputed."),
    )
    WINDOW_CLOSED = (
        "window_closed",
        _("This rejection can no longer be disputed; submit a new claim with updated PoE instead."),
    )


class Fact:
    """Names of the facts a transition carries in django-fsm-2's `custom=` (read with
    `Claim.actions_with`), so a surface asks the state machine instead of keeping its own list."""

    # The action may bring new PoE documents with it (the answer to a request, a dispute).
    TAKES_DOCUMENTS = "takes_documents"
    # A reviewer starts it from a button on the reviewer's claim page; the value is the button's
    # place, first = 1.
    REVIEWER_BUTTON = "reviewer_button"


# ---------------------------------------------------------------------------------------------
# Conditions and permissions of the state machine (pure: they read, never write)


def refusal(
    message: str | Callable[[Claim], str],
) -> Callable[[Callable[[Claim], bool]], Callable[[Claim], bool]]:
    """Attach the message shown to the user when this condition stops a transition."""

    def attach(condition: Callable[[Claim], bool]) -> Callable[[Claim], bool]:
        condition.refusal = message  # type: ignore[attr-defined]
        return condition

    return attach


@refusal(lambda claim: " ".join(claim.submission_problems()))
def is_complete(claim: Claim) -> bool:
    return not claim.submission_problems()


@refusal(_("Add a comment or a new PoE document answering the reviewer before resubmitting."))
def has_partner_response(claim: Claim) -> bool:
    since = claim.information_requested_at
    if since is None:
        return False
    return (
        claim.comments.filter(author_kind=ClaimEvent.ActorKind.PARTNER, created_at__gt=since).exists()
        or claim.documents.filter(uploaded_at__gt=since).exists()
    )


@refusal(_("The partner still has time to respond; the claim expires only after its deadline."))
def partner_response_overdue(claim: Claim) -> bool:
    return claim.partner_response_due_at is not None and claim.partner_response_due_at <= timezone.now()


@refusal(_("The consent period has ended."))
def consent_window_open(claim: Claim, now: dt.datetime | None = None) -> bool:
    """The customer's opt-out window is open at `now` (the current time unless given): the one rule,
    which the transition's condition, the customer's decisions and their pages all use."""
    now = timezone.now() if now is None else now
    return claim.consent_window_ends_at is not None and now < claim.consent_window_ends_at


@refusal(_("The customer's opt-out window is still open."))
def consent_window_closed(claim: Claim) -> bool:
    return claim.consent_window_ends_at is not None and claim.consent_window_ends_at <= timezone.now()


@refusal(lambda claim: str(claim.not_disputable_because.label))
def dispute_window_open(claim: Claim) -> bool:
    """The rejection may still be disputed: a disputable reason, and its 30-day window is open."""
    return (
        claim.rejection_reason not in NOT_DISPUTABLE
        and claim.dispute_window_ends_at is not None
        and timezone.now() < claim.dispute_window_ends_at
    )


@refusal(lambda claim: Claim.duplicate_message(claim.duplicates()))
def has_no_duplicate(claim: Claim) -> bool:
    return not claim.duplicates().exists()


def partner_manager(claim: Claim, user: Any) -> bool:
    return is_managing_user(user, claim.partner_id)


def reviewer(claim: Claim, user: Any) -> bool:
    return is_reviewer(user)


def dispute_decider(claim: Claim, user: Any) -> bool:
    """A review lead decides a dispute, and never the one who rejected the claim (separation of duties)."""
    return is_lead(user) and user.pk != claim.rejected_by_id


def review_lead(claim: Claim, user: Any) -> bool:
    return is_lead(user)


@refusal(_("The customer has not asked to end this association."))
def end_requested(claim: Claim) -> bool:
    return claim.end_requests.filter(outcome=AssociationEndRequest.Outcome.PENDING).exists()


def lapse_cutoff(now: dt.datetime) -> dt.datetime:
    """Subscriptions out of active/grace since before this moment have lapsed (`CPOR_LAPSE_DAYS`)."""
    return now - dt.timedelta(days=settings.CPOR_LAPSE_DAYS)


def _not_lapsed_yet(claim: Claim) -> str:
    return str(
        _(
            "The lapse period of %(days)s days has not passed since the claim's subscription left "
            "active or grace."
        )
    ) % {"days": settings.CPOR_LAPSE_DAYS}


@refusal(_not_lapsed_yet)
def subscription_lapsed(claim: Claim) -> bool:
    since = claim.subscription_inactive_since
    return since is not None and since < lapse_cutoff(timezone.now())


def customer(claim: Claim, user: Any) -> bool:
    return isinstance(user, Actor) and user.kind == "customer"


def system(claim: Claim, user: Any) -> bool:
    return isinstance(user, Actor) and user.kind == "system"


# ---------------------------------------------------------------------------------------------
# The claim


class Claim(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        EDITING = "editing", _("Editing")
        SUBMITTED = "submitted", _("Submitted")
        UNDER_REVIEW = "under_review", _("Under review")
        PARTNER_ACTION_REQUIRED = "partner_action_required", _("Partner action required")
        APPROVED = "approved", _("Approved (customer opt-out window open)")
        ASSOCIATED = "associated", _("Approved · sent for incentive assessment")
        REJECTED = "rejected", _("Rejected")
        DISPUTED = "disputed", _("Rejection disputed")

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        TURKISH = "tr", "Türkçe"

    S = Status
    LIVE_STATUSES = frozenset(set(Status) - {Status.REJECTED})
    # A draft is its partner's alone: reviewers see a claim, its documents and its checklist from
    # its submission on (`for_reviewers`, `in_review_queue`).
    # (In the order of `Status`, which the admin's status filter keeps.)
    REVIEWER_STATUSES = tuple(sorted(set(Status) - {Status.EDITING}, key=list(Status).index))

    # Fields a partner may still change after submitting (in `submitted` and
    # `partner_action_required`); in `editing` every partner field is editable.
    # `external_reference` is the partner's own bookkeeping (their CRM's key), which the review
    # does not judge, so it is editable whenever the partner may edit anything. It is not editable
    # once the claim is with a reviewer, the customer or assessment: an edit there re-checks the
    # whole claim (the duplicate rule would refuse a rejected claim that was filed again), and the
    # claim the partner holds in those states is frozen as it was decided on.
    EDITABLE_AFTER_SUBMIT = frozenset(
        {
            "external_reference",
            "mpn",
            "products",
            "customer_contact_name",
            "customer_contact_title",
            "customer_contact_email",
            "customer_contact_language",
            "technical_contact_name",
            "technical_contact_email",
            "technical_contact_phone",
            "partner_contact_name",
            "partner_contact_email",
            "partner_contact_phone",
        }
    )
    PARTNER_FIELDS = EDITABLE_AFTER_SUBMIT | {
        "name",
        "solution_area",
        "activity",
        "customer_name",
        "customer_domain",
        "customer_tenant_id",
        "subscription_id",
        "work_description",
    }
    SLA_FIELDS = frozenset({"review_start_due_at", "review_due_at", "dispute_response_due_at"})
    DEADLINE_BY_STATUS = {
        Status.SUBMITTED: "review_start_due_at",
        Status.UNDER_REVIEW: "review_due_at",
        Status.PARTNER_ACTION_REQUIRED: "partner_response_due_at",
        Status.APPROVED: "consent_window_ends_at",
        Status.REJECTED: "dispute_window_ends_at",
        Status.DISPUTED: "dispute_response_due_at",
    }

    name = models.CharField(_("claim name"), max_length=200)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="claims", verbose_name=_("partner")
    )
    # The partner's own key for this claim (their CRM record), so a CRM can find it again;
    # unique per partner when given (claim_partner_external_reference_uniq).
    external_reference = models.CharField(
        _("partner's reference"),
        max_length=100,
        blank=True,
        help_text=_("The partner's own reference for this claim, such as its record ID in their CRM."),
    )
    mpn = models.ForeignKey(MpnId, on_delete=models.PROTECT, related_name="claims", verbose_name=_("MPN ID"))
    solution_area = models.CharField(_("solution area"), max_length=32, choices=SolutionArea.choices)
    activity = models.CharField(_("activity"), max_length=32, choices=Activity.choices)
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_domain = models.CharField(_("customer domain"), max_length=253)
    # Indexed with the partner (Meta.indexes): the duplicate check looks for both.
    customer_tenant_id = models.UUIDField(_("customer tenant ID"))
    subscription_id = models.UUIDField(_("subscription ID"), null=True, blank=True)
    products = models.ManyToManyField(Product, related_name="claims", blank=True, verbose_name=_("products"))

    customer_contact_name = models.CharField(_("customer contact name"), max_length=200, blank=True)
    customer_contact_title = models.CharField(_("customer contact title"), max_length=200, blank=True)
    customer_contact_email = models.EmailField(_("customer contact email"), blank=True)
    customer_contact_language = models.CharField(
        _("customer contact language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    technical_contact_name = models.CharField(_("technical contact name"), max_length=200, blank=True)
    technical_contact_email = models.EmailField(_("technical contact email"), blank=True)
    technical_contact_phone = models.CharField(_("technical contact phone"), max_length=40, blank=True)
    partner_contact_name = models.CharField(_("partner contact name"), max_length=200, blank=True)
    partner_contact_email = models.EmailField(_("partner contact email"), blank=True)
    partner_contact_phone = models.CharField(_("partner contact phone"), max_length=40, blank=True)
    work_description = models.TextField(
        _("description of the work done"), max_length=5000, blank=True, validators=[MaxLengthValidator(5000)]
    )

    status = FSMField(
        _("status"), default=Status.EDITING, choices=Status.choices, protected=True, db_index=True
    )
    information_request_reasons = models.JSONField(_("information request reasons"), default=list, blank=True)
    information_requested_at = models.DateTimeField(_("information requested at"), null=True, blank=True)
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=32, choices=RejectionReason.choices, blank=True
    )
    rejection_sub_reasons = models.JSONField(_("rejection sub-reasons"), default=list, blank=True)
    dispute_justification = models.TextField(_("dispute justification"), blank=True)
    assigned_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_claims",
        verbose_name=_("assigned reviewer"),
    )

    # Deadlines: each is set exactly while the claim is in the state it belongs to
    # (DEADLINE_BY_STATUS), so beat jobs find due claims by an index range scan.
    review_start_due_at = models.DateTimeField(_("review start due"), null=True, blank=True, db_index=True)
    review_due_at = models.DateTimeField(_("review due"), null=True, blank=True, db_index=True)
    partner_response_due_at = models.DateTimeField(
        _("partner response due"), null=True, blank=True, db_index=True
    )
    consent_window_ends_at = models.DateTimeField(
        _("consent window ends"), null=True, blank=True, db_index=True
    )
    dispute_window_ends_at = models.DateTimeField(
        _("dispute window ends"), null=True, blank=True, db_index=True
    )
    dispute_response_due_at = models.DateTimeField(
        _("dispute response due"), null=True, blank=True, db_index=True
    )
    # The reviewer SLA the claim runs on now (review start, review, dispute response): a copy of
    # that deadline so the review queue is one index, and when the SLA job flagged it as breached.
    sla_due_at = models.DateTimeField(_("SLA deadline"), null=True, blank=True, db_index=True)
    sla_breached_at = models.DateTimeField(_("SLA breached at"), null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rejected by"),
    )
    # When to remind the partner of an open information request (2 business days before its
    # deadline); cleared once the reminder is written, and whenever the claim moves on.
    partner_reminder_at = models.DateTimeField(null=True, blank=True, db_index=True)

    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        verbose_name=_("copied from"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="created_claims"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        indexes = [
            models.Index(fields=["partner", "status"], name="claim_partner_status_idx"),
            # The review queue (claims past the draft stage, by SLA deadline then id; PostgreSQL sorts
            # NULLs last): a page is an index scan with no sort however many claims share a deadline,
            # and its capped count an index-only scan.
            models.Index(
                fields=["sla_due_at", "id"],
                condition=~models.Q(status="editing"),
                name="claim_review_queue_idx",
            ),
            # The partner dashboard's default order (newest first): a page is an index scan, no sort.
            models.Index(fields=["partner", "-created_at", "-id"], name="claim_partner_newest_idx"),
            # The Partner API's list order (last change, then id, ascending, after a cursor).
            models.Index(fields=["partner", "updated_at", "id"], name="claim_partner_updated_idx"),
            # A customer's claims, and a partner's claims on one customer (the duplicate check
            # `Claim.with_duplicate_flag` makes for each draft the dashboard lists).
            models.Index(fields=["customer_tenant_id", "partner"], name="claim_tenant_partner_idx"),
            # The dashboard's "needs attention": a partner's newest drafts, and its rejections whose
            # dispute window closes soon. Partial, so each holds only the claims it serves.
            models.Index(
                fields=["partner", "updated_at", "id"],
                condition=models.Q(status="editing"),
                name="claim_partner_drafts_idx",
            ),
            models.Index(
                fields=["partner", "dispute_window_ends_at"],
                condition=models.Q(status="rejected"),
                name="claim_partner_disputable_idx",
            ),
            # The lapse job: the associations naming a subscription, found from the subscriptions
            # that lapsed (`lapse_due_q`); only associations, so the index stays small.
            models.Index(
                fields=["subscription_id"],
                condition=models.Q(status="associated", subscription_id__isnull=False),
                name="claim_lapse_scan",
            ),
        ]
        constraints = [
            # A partner's reference names one claim; the guard under concurrent creates and edits.
            models.UniqueConstraint(
                fields=["partner", "external_reference"],
                condition=~models.Q(external_reference=""),
                name="claim_partner_external_reference_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    # -- rules that read the claim -------------------------------------------------------------

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for text_field in self._meta.concrete_fields:
            value = getattr(self, text_field.attname)
            # PostgreSQL cannot store NUL in text: refuse it here instead of failing on save.
            if isinstance(text_field, models.CharField | models.TextField) and "\x00" in str(value or ""):
                errors.setdefault(text_field.name, []).append(str(_("Null characters are not allowed.")))
            # A name, title or phone is one line: a line break in it would forge lines in mail and CSV.
            elif isinstance(text_field, models.CharField) and has_control_character(str(value or "")):
                errors.setdefault(text_field.name, []).append(
                    str(_("Write this on one line: no line breaks or other control characters."))
                )
        if (
            self.activity
            and self.solution_area
            and self.activity not in ACTIVITIES_BY_AREA.get(self.solution_area, ())
        ):
            errors.setdefault("activity", []).append(
                str(_("“%(activity)s” is not an activity of %(area)s."))
                % {"activity": self.get_activity_display(), "area": self.get_solution_area_display()}
            )
        if self.subscription_id and not self.area_takes_subscription_id(self.solution_area):
            errors.setdefault("subscription_id", []).append(
                str(_("A subscription ID applies to Business Applications claims only."))
            )
        # The subscription ID is the partner's to change only in a draft (`EDITABLE_AFTER_SUBMIT`
        # leaves it out): from submission on, the lapse job, not an edit, answers for its status.
        if self.status == self.S.EDITING and "subscription_id" not in errors:
            problems = self.subscription_problems()
            if problems:
                errors["subscription_id"] = problems
        if self.mpn_id and self.partner_id and self.mpn.partner_id != self.partner_id:
            errors.setdefault("mpn", []).append(str(_("Choose one of your own MPN IDs.")))
        if self.customer_domain:
            self.customer_domain = self.customer_domain.strip().lower()
            if not DOMAIN_RE.match(self.customer_domain):
                errors.setdefault("customer_domain", []).append(
                    str(_("Enter a domain name such as contoso.com."))
                )
        tenant_id = _as_uuid(self.customer_tenant_id)
        if tenant_id and self.customer_domain and "customer_domain" not in errors:
            tenant = Tenant.objects.filter(tenant_id=tenant_id).first()
            if tenant is not None and not tenant.domains.filter(domain=self.customer_domain).exists():
                errors.setdefault("customer_domain", []).append(
                    str(_("%(domain)s is not a verified domain of tenant %(tenant)s."))
                    % {"domain": self.customer_domain, "tenant": self.customer_tenant_id}
                )
        self.external_reference = (self.external_reference or "").strip()
        if self.external_reference and self.partner_id and "external_reference" not in errors:
            other = self.claim_with_reference(self.partner_id, self.external_reference, excluding=self.pk)
            if other is not None:
                errors["external_reference"] = [self.reference_taken_message(other)]
        if errors:
            raise ValidationError(errors)

    @classmethod
    def claim_with_reference(cls, partner_id: int, reference: str, *, excluding: int | None) -> Claim | None:
        """The partner's claim that carries `reference`, other than `excluding`."""
        return (
            cls.objects.filter(partner_id=partner_id, external_reference=reference)
            .exclude(pk=excluding)
            .only("id", "name")
            .first()
        )

    @staticmethod
    def reference_taken_message(other: Claim) -> str:
        return str(_("Your claim “%(name)s” (#%(id)s) already has this reference.")) % {
            "name": other.name,
            "id": other.pk,
        }

    def product_problems(self, products: Iterable[Product]) -> list[str]:
        wrong = [p.name for p in products if p.solution_area != self.solution_area or not p.active]
        if wrong:
            return [
                str(_("Not products of %(area)s: %(names)s."))
                % {"area": self.get_solution_area_display(), "names": ", ".join(sorted(wrong))}
            ]
        return []

    def submission_problems(self) -> list[str]:
        """What still stops this claim from being submitted, in words for the partner."""
        problems: list[str] = []
        products = list(self.products.all())
        if not products:
            problems.append(str(_("Choose at least one product or workload.")))
        problems += self.product_problems(products)
        if not self.documents.exists():
            problems.append(str(_("Upload at least one proof-of-execution document.")))
        if not (self.customer_contact_name and self.customer_contact_email):
            problems.append(str(_("Give the customer contact's name and email.")))
        if not (self.partner_contact_name and self.partner_contact_email):
            problems.append(str(_("Give the partner contact's name and email.")))
        if any(p.needs_technical_contact for p in products) and not (
            self.technical_contact_name and self.technical_contact_email
        ):
            problems.append(str(_("Dynamics 365 workloads need a technical contact (name and email).")))
        if not self.work_description.strip():
            problems.append(str(_("Describe the work you did for the customer.")))
        # The registry may have changed since the draft was saved (a subscription suspended since).
        if self.status == self.S.EDITING:
            problems += self.subscription_problems()
        # A list of claims may have asked the database once for all (`with_duplicate_flag`).
        duplicate = getattr(self, "has_duplicate", None)
        if duplicate is None:
            duplicate = bool(self.pk) and self.duplicates().exists()
        if duplicate:
            problems.append(has_no_duplicate.refusal(self))
        return problems

    # -- the subscription checks (Partner Center's, for Business Applications) -----------------

    def subscription_problems(self, registry: SubscriptionRegistry | None = None) -> list[str]:
        """Why the commerce registry refuses the subscription this claim names, in words for the
        partner, each naming the subscription; [] when it names none or the registry has no say.

        A subscription the registry holds is judged by what it holds: it must be on the claimed
        tenant (nothing more is said of another tenant's subscription), a Business Applications
        product, not bought through CSP, and `active` (grace is the run-up to suspension: a claim is
        not filed on it; after approval the lapse job tolerates grace). An ID the registry does not
        hold is refused only where the registry covers the claimed tenant, that is holds at least
        one subscription on it: there the subscription does not exist; elsewhere the registry
        cannot tell. `registry` (or an attribute `subscription_registry` a list set, as
        `needs_attention` does) answers for many claims at once; by default one or two queries.
        """
        subscription_id = _as_uuid(self.subscription_id)
        tenant_id = _as_uuid(self.customer_tenant_id)
        if subscription_id is None or tenant_id is None or not self.takes_subscription_id:
            return []
        if registry is None:
            registry = getattr(self, "subscription_registry", None) or SubscriptionRegistry.for_claims([self])
        names = {"id": subscription_id, "tenant": tenant_id}
        subscription = registry.found.get(subscription_id)
        if subscription is None:
            if tenant_id in registry.covered:
                return [str(_("Subscription %(id)s does not exist on tenant %(tenant)s.")) % names]
            return []
        if subscription.tenant.tenant_id != tenant_id:
            return [str(_("Subscription %(id)s belongs to another tenant, not to %(tenant)s.")) % names]
        problems: list[str] = []
        if subscription.product.solution_area != SolutionArea.BUSINESS_APPLICATIONS:
            problems.append(
                str(
                    _(
                        "Subscription %(id)s is for %(product)s, not a Business Applications product "
                        "(Dynamics 365 or Power Platform)."
                    )
                )
                % {**names, "product": subscription.product.name}
            )
        if subscription.channel == Subscription.Channel.CSP:
            problems.append(
                str(
                    _(
                        "Subscription %(id)s was bought through a Cloud Solution Provider (CSP); "
                        "a CSP subscription cannot be claimed."
                    )
                )
                % names
            )
        if subscription.status != Subscription.Status.ACTIVE:
            problems.append(
                str(
                    _(
                        "Subscription %(id)s is not active (its status is “%(status)s”); "
                        "only an active subscription can be claimed."
                    )
                )
                % {**names, "status": subscription.get_status_display()}
            )
        return problems

    # -- the duplicate rule: one live claim per partner, customer tenant, activity and product ----

    @classmethod
    def duplicates_of(
        cls, *, partner_id: Any, tenant_id: Any, activity: Any, products: Any, excluding: Any = None
    ) -> models.QuerySet[Claim]:
        """The partner's live claims on `tenant_id` for `activity` sharing any of `products`, other
        than `excluding`: the one duplicate query. Each argument may be a value or an `OuterRef`
        (`with_duplicate_flag`); `products` is ids, products or a query of either. A claim sharing
        several products appears once per product: add `.distinct()` to list them."""
        claims = cls.objects.filter(
            partner_id=partner_id,
            customer_tenant_id=tenant_id,
            activity=activity,
            status__in=cls.LIVE_STATUSES,
            products__in=products,
        )
        return claims if excluding is None else claims.exclude(pk=excluding)

    @staticmethod
    def duplicate_message(duplicates: Iterable[Claim]) -> str:
        """The one message that names the live claims a claim would duplicate."""
        return str(
            _("Another live claim of yours already covers this customer, activity and product: %(names)s.")
        ) % {"names": ", ".join(f"“{c.name}” (#{c.pk})" for c in duplicates)}

    @classmethod
    def with_duplicate_flag(cls, claims: models.QuerySet[Claim]) -> models.QuerySet[Claim]:
        """`claims`, each annotated `has_duplicate`: `duplicates()` of every row as one subquery."""
        shared = cls.products.through.objects.filter(claim_id=OuterRef(OuterRef("pk"))).values("product_id")
        others = cls.duplicates_of(
            partner_id=OuterRef("partner_id"),
            tenant_id=OuterRef("customer_tenant_id"),
            activity=OuterRef("activity"),
            products=shared,
            excluding=OuterRef("pk"),
        )
        return claims.annotate(has_duplicate=Exists(others))

    def duplicates(self) -> models.QuerySet[Claim]:
        """This partner's other live claims on the same tenant, activity and any of the same products."""
        return self.duplicates_of(
            partner_id=self.partner_id,
            tenant_id=self.customer_tenant_id,
            activity=self.activity,
            products=self.products.all(),
            excluding=self.pk,
        ).distinct()

    def editable_fields(self) -> frozenset[str]:
        if self.status == self.S.EDITING:
            return self.PARTNER_FIELDS
        if self.status in (self.S.SUBMITTED, self.S.PARTNER_ACTION_REQUIRED):
            return self.EDITABLE_AFTER_SUBMIT
        return frozenset()

    def edit_refusal(self) -> str:
        """Why the partner may change none of this claim's fields now, or "" (`editable_fields`)."""
        if self.editable_fields():
            return ""
        return str(_("A claim that is %(status)s cannot be edited.")) % {"status": self.get_status_display()}

    @property
    def may_add_documents(self) -> bool:
        return self.status in (self.S.EDITING, self.S.SUBMITTED, self.S.PARTNER_ACTION_REQUIRED)

    @classmethod
    def for_reviewers(cls, claims: models.QuerySet[Claim] | None = None) -> models.QuerySet[Claim]:
        """`claims` (every claim by default) as reviewers may see them: without the partners' drafts."""
        return (cls.objects.all() if claims is None else claims).exclude(status=cls.S.EDITING)

    @property
    def in_review_queue(self) -> bool:
        """Reviewers see this claim: it has been submitted (`for_reviewers`)."""
        return self.status != self.S.EDITING

    # -- what a surface may offer outside the state machine ------------------------------------
    # Each question is answered here once; a `*_refusal` gives the words shown when the answer is
    # no ("" when it is yes), and the yes-or-no property reads it. Who asks (a partner manager, a
    # reviewer) is the caller's check: these rules read the claim only.

    def copy_refusal(self) -> str:
        """Why no new claim may be started from this one (copied), or ""."""
        if self.status == self.S.REJECTED and not dispute_window_open(self):
            return ""
        return str(_("A new claim can be started from a rejected claim once it can no longer be disputed."))

    @property
    def may_copy(self) -> bool:
        """A new draft may be started from this claim: rejected, and past disputing."""
        return not self.copy_refusal()

    def delete_refusal(self) -> str:
        """Why this claim may not be deleted, or "": only a draft may be; a submitted one is withdrawn."""
        if self.status == self.S.EDITING:
            return ""
        return str(_("Only a draft can be deleted; withdraw a submitted claim instead."))

    @property
    def may_delete(self) -> bool:
        return not self.delete_refusal()

    def document_removal_refusal(self) -> str:
        """Why a PoE document may not be removed, or "": once submitted, the PoE is what was judged."""
        if self.status == self.S.EDITING:
            return ""
        return str(_("Documents can be removed only while the claim is a draft."))

    @property
    def may_remove_documents(self) -> bool:
        return not self.document_removal_refusal()

    def comment_refusal(self, author_kind: str) -> str:
        """Why someone of `author_kind` (a `ClaimEvent.ActorKind`) may not comment, or "".

        Partners and reviewers comment once the claim is submitted; the customer and the system
        never do (their words travel with their transition).
        """
        if author_kind == ClaimEvent.ActorKind.PARTNER:
            if self.status == self.S.EDITING:
                return str(_("Comments open once the claim is submitted."))
            return ""
        if author_kind == ClaimEvent.ActorKind.REVIEWER:
            if self.status == self.S.EDITING:
                return str(_("A draft is not in review yet; comment once it is submitted."))
            return ""
        return str(_("You are not allowed to comment on this claim."))

    def may_comment(self, author_kind: str) -> bool:
        return not self.comment_refusal(author_kind)

    @property
    def may_partner_comment(self) -> bool:
        """`may_comment` for the partner, for templates (which cannot pass an argument)."""
        return self.may_comment(ClaimEvent.ActorKind.PARTNER)

    @staticmethod
    def comment_partner_visible(author_kind: str, *, asked: bool) -> bool:
        """Whether a comment is shown to the partner: a partner's own always is; a reviewer chooses
        (`asked`) between a comment to the partner and an internal note."""
        return True if author_kind == ClaimEvent.ActorKind.PARTNER else asked

    # A claim has a reviewer to assign while someone at Microsoft still has work on it.
    ASSIGNABLE_STATUSES = frozenset(
        {
            Status.SUBMITTED,
            Status.UNDER_REVIEW,
            Status.PARTNER_ACTION_REQUIRED,
            Status.APPROVED,
            Status.DISPUTED,
        }
    )

    def assignment_refusal(self) -> str:
        """Why no reviewer may be assigned to this claim (a draft, rejected, or done), or ""."""
        if self.status in self.ASSIGNABLE_STATUSES:
            return ""
        return str(_("A claim that is %(status)s has no reviewer to assign.")) % {
            "status": self.get_status_display()
        }

    @property
    def is_assignable(self) -> bool:
        return not self.assignment_refusal()

    @staticmethod
    def programme_of(activity: str) -> Programme | None:
        """The incentive programme claims of `activity` are assessed under (None: no activity yet)."""
        return PROGRAMME_BY_ACTIVITY.get(activity)

    @property
    def programme(self) -> Programme | None:
        """The incentive programme this claim is assessed under, by its activity."""
        return self.programme_of(self.activity)

    @staticmethod
    def sub_reason_choices(rejection_reason: str) -> type[models.TextChoices]:
        """The codes a rejection's sub-reasons are drawn from: why the partner withdrew, or why the
        PoE was found insufficient."""
        return (
            WithdrawReason
            if rejection_reason == RejectionReason.PARTNER_REQUEST
            else InsufficientPoeSubReason
        )

    @staticmethod
    def area_takes_subscription_id(solution_area: str) -> bool:
        """A subscription ID belongs to Business Applications claims only: the forms show the field,
        the model accepts a value and the claim page shows the row for these only."""
        return solution_area == SolutionArea.BUSINESS_APPLICATIONS

    @property
    def takes_subscription_id(self) -> bool:
        return self.area_takes_subscription_id(self.solution_area)

    # The name under which a list or a sweep loads `subscription_inactive_since` with the claims.
    INACTIVE_SINCE_ANNOTATION = "named_subscription_inactive_since"

    @staticmethod
    def _named_subscription() -> models.QuerySet[Subscription]:
        """The subscription a claim (the outer query's row) names, on the claim's own tenant: a
        subscription ID of another tenant is never this claim's to lapse."""
        return Subscription.objects.filter(
            subscription_id=OuterRef("subscription_id"), tenant__tenant_id=OuterRef("customer_tenant_id")
        )

    @classmethod
    def subscription_inactive_since_expression(cls) -> Subquery:
        """`subscription_inactive_since` as one subquery per row, to annotate a list or a sweep with
        (under `INACTIVE_SINCE_ANNOTATION`)."""
        return Subquery(cls._named_subscription().values("inactive_since")[:1])

    @classmethod
    def lapse_due_q(cls, now: dt.datetime) -> models.Q:
        """Associations whose named subscription has been out of active/grace longer than
        `CPOR_LAPSE_DAYS` at `now` (`subscription_lapsed` as a filter). The registry's partial index
        on `inactive_since` finds the subscriptions, `claim_lapse_scan` their claims."""
        return models.Q(status=cls.S.ASSOCIATED, subscription_id__isnull=False) & models.Q(
            Exists(cls._named_subscription().filter(inactive_since__lt=lapse_cutoff(now)))
        )

    @property
    def subscription_inactive_since(self) -> dt.datetime | None:
        """Since when the subscription this claim names has been out of active/grace, as the
        commerce feed last said; None when it is live, unknown to the registry, or none is named."""
        if self.INACTIVE_SINCE_ANNOTATION in self.__dict__:
            return self.__dict__[self.INACTIVE_SINCE_ANNOTATION]
        if not self.subscription_id:
            return None
        return (
            Subscription.objects.filter(
                subscription_id=self.subscription_id, tenant__tenant_id=self.customer_tenant_id
            )
            .values_list("inactive_since", flat=True)
            .first()
        )

    @property
    def not_disputable_because(self) -> NotDisputable | None:
        """Why the partner may not dispute this claim now (its label is the refusal), or None when
        they may: a rejection for a disputable reason, within its dispute window."""
        if self.status != self.S.REJECTED:
            return NotDisputable.NOT_REJECTED
        if self.rejection_reason in NOT_DISPUTABLE:
            return NotDisputable.REJECTED_ON_REQUEST
        if not dispute_window_open(self):
            return NotDisputable.WINDOW_CLOSED
        return None

    @property
    def is_disputable(self) -> bool:
        return self.not_disputable_because is None

    @classmethod
    def disputable_q(cls, now: dt.datetime) -> models.Q:
        """`is_disputable` as a filter: the claims a partner may dispute at `now`."""
        return models.Q(status=cls.S.REJECTED, dispute_window_ends_at__gt=now) & ~models.Q(
            rejection_reason__in=NOT_DISPUTABLE
        )

    # -- facts the transitions carry (django-fsm-2 `custom=`) ----------------------------------

    @classmethod
    def transition_facts(cls) -> dict[str, dict[str, Any]]:
        """Every transition's name and the facts (`custom=`) declared on it, by name."""
        field = cls._meta.get_field("status")
        return dict(sorted((t.name, dict(t.custom)) for t in field.get_all_transitions(cls)))

    # The state machine is fixed once the class is built: each answer below is read from it once
    # per process, not on every request or row that asks.
    @classmethod
    @functools.cache
    def actions_with(cls, fact: str) -> tuple[str, ...]:
        """The transitions that carry `fact` (a `Fact` name), ordered by its value: a number is a
        place (`Fact.REVIEWER_BUTTON`); among equal values (True), by name."""
        carrying = [(facts[fact], name) for name, facts in cls.transition_facts().items() if facts.get(fact)]
        return tuple(name for _, name in sorted(carrying, key=lambda pair: int(pair[0])))

    @classmethod
    @functools.cache
    def sources_of(cls, action: str) -> tuple[str, ...]:
        """The states `action` starts from, in the order of `Claim.Status`."""
        field = cls._meta.get_field("status")
        sources = {t.source for t in field.get_all_transitions(cls) if t.name == action}
        return tuple(status for status in cls.Status if status in sources)

    @classmethod
    def supersedable_statuses(cls) -> tuple[str, ...]:
        """The states a competing partner's winning claim can end (`supersede`): held, not disputed."""
        return cls.sources_of("supersede")

    @property
    def next_deadline(self) -> dt.datetime | None:
        field = self.DEADLINE_BY_STATUS.get(self.status)
        return getattr(self, field) if field else None

    def snapshot(self) -> dict[str, Any]:
        """The partner-editable fields and the status as plain values, for history diffs."""
        values: dict[str, Any] = {}
        for name in sorted(self.PARTNER_FIELDS - {"products", "mpn"}):
            field = self._meta.get_field(name)
            value = getattr(self, field.attname)
            values[name] = None if value is None else str(value)
        values["mpn"] = self.mpn.number if self.mpn_id else None
        values["products"] = sorted(self.products.values_list("code", flat=True)) if self.pk else []
        values["status"] = self.status
        return values

    def _set_deadline(self, field: str | None, value: dt.datetime | None = None) -> None:
        """Clear every deadline, then set the one the new state runs on."""
        for name in self.DEADLINE_BY_STATUS.values():
            setattr(self, name, None)
        self.partner_reminder_at = None
        self.sla_due_at = value if field in self.SLA_FIELDS else None
        self.sla_breached_at = None
        if field:
            setattr(self, field, value)

    # -- the state machine -----------------------------------------------------------------

    @transition(
        status, source=S.EDITING, target=S.SUBMITTED, conditions=[is_complete], permission=partner_manager
    )
    def submit(self, *, by: Any, now: dt.datetime) -> None:
        self.submitted_at = now
        self._set_deadline("review_start_due_at", add_business_days(now, REVIEW_BUSINESS_DAYS))

    @transition(
        status,
        source=S.SUBMITTED,
        target=S.UNDER_REVIEW,
        permission=reviewer,
        custom={Fact.REVIEWER_BUTTON: 1},
    )
    def start_review(self, *, by: Any, now: dt.datetime) -> None:
        self.assigned_reviewer = by
        self._set_deadline("review_due_at", add_business_days(now, REVIEW_BUSINESS_DAYS))

    @transition(
        status,
        source=S.UNDER_REVIEW,
        target=S.PARTNER_ACTION_REQUIRED,
        permission=reviewer,
        custom={Fact.REVIEWER_BUTTON: 3},
    )
    def request_information(
        self, *, by: Any, now: dt.datetime, reasons: Iterable[str] = (), comment: str = ""
    ) -> None:
        reasons = _codes(reasons, InformationRequestReason, _("Choose at least one reason for the request."))
        _require_text(comment, _("Write a comment telling the partner what is needed."))
        self.information_request_reasons = reasons
        self.information_requested_at = now
        self._set_deadline("partner_response_due_at", add_business_days(now, PARTNER_RESPONSE_BUSINESS_DAYS))
        self.partner_reminder_at = add_business_days(
            now, PARTNER_RESPONSE_BUSINESS_DAYS - REMINDER_BUSINESS_DAYS
        )

    @transition(
        status,
        source=S.PARTNER_ACTION_REQUIRED,
        target=S.UNDER_REVIEW,
        conditions=[has_partner_response],
        permission=partner_manager,
        custom={Fact.TAKES_DOCUMENTS: True},
    )
    def resubmit(self, *, by: Any, now: dt.datetime, comment: str = "") -> None:
        self._set_deadline("review_due_at", add_business_days(now, REVIEW_BUSINESS_DAYS))

    @transition(
        status,
        source=S.UNDER_REVIEW,
        target=S.APPROVED,
        permission=reviewer,
        custom={Fact.REVIEWER_BUTTON: 2},
    )
    def approve(self, *, by: Any, now: dt.datetime, comment: str = "") -> None:
        self.information_request_reasons = []
        self._set_deadline("consent_window_ends_at", now + CONSENT_WINDOW)

    @transition(
        status,
        source=S.UNDER_REVIEW,
        target=S.REJECTED,
        permission=reviewer,
        custom={Fact.REVIEWER_BUTTON: 4},
    )
    def reject(
        self, *, by: Any, now: dt.datetime, sub_reasons: Iterable[str] = (), comment: str = ""
    ) -> None:
        sub_reasons = _codes(
            sub_reasons, InsufficientPoeSubReason, _("Choose at least one rejection reason.")
        )
        _require_text(comment, _("Write a comment telling the partner why the claim is rejected."))
        self._rejected(RejectionReason.INSUFFICIENT_POE, sub_reasons, disputable_from=now)
        self.rejected_by = by

    @transition(
        status,
        source=S.PARTNER_ACTION_REQUIRED,
        target=S.REJECTED,
        conditions=[partner_response_overdue],
        permission=system,
    )
    def expire(self, *, by: Any, now: dt.datetime) -> None:
        self._rejected(RejectionReason.NO_PARTNER_RESPONSE, [], disputable_from=now)

    @transition(
        status,
        source=[S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.ASSOCIATED],
        target=S.REJECTED,
        permission=partner_manager,
    )
    def withdraw(self, *, by: Any, now: dt.datetime, reason: str = "", comment: str = "") -> None:
        (reason,) = _codes([reason], WithdrawReason, _("Say why you withdraw the claim."))
        self._rejected(RejectionReason.PARTNER_REQUEST, [reason], disputable_from=None)

    @transition(
        status, source=S.APPROVED, target=S.REJECTED, conditions=[consent_window_open], permission=customer
    )
    def deny_consent(self, *, by: Any, now: dt.datetime, comment: str = "") -> None:
        self._rejected(RejectionReason.CUSTOMER_DECLINE, [], disputable_from=None)

    @transition(
        status, source=S.APPROVED, target=S.ASSOCIATED, conditions=[consent_window_closed], permission=system
    )
    def close_consent_window(self, *, by: Any, now: dt.datetime) -> None:
        self._set_deadline(None)

    @transition(
        status,
        source=[S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.ASSOCIATED],
        target=S.REJECTED,
        permission=system,
    )
    def supersede(self, *, by: Any, now: dt.datetime, comment: str = "") -> None:
        """Ends an association when a competing partner's claim on the same tenant and product wins."""
        self._rejected(RejectionReason.SUPERSEDED, [], disputable_from=now)

    @transition(
        status,
        source=S.REJECTED,
        target=S.DISPUTED,
        conditions=[dispute_window_open, has_no_duplicate],
        permission=partner_manager,
        custom={Fact.TAKES_DOCUMENTS: True},
    )
    def dispute(
        self, *, by: Any, now: dt.datetime, justification: str = "", documents: Iterable[Any] = ()
    ) -> None:
        if not (justification or "").strip() and not list(documents):
            raise ClaimRuleError(str(_("Give a business justification or upload updated PoE to dispute.")))
        self.dispute_justification = justification.strip()
        # One dispute per rejection: the window is spent, and an upheld rejection is final.
        self._set_deadline("dispute_response_due_at", add_business_days(now, DISPUTE_RESPONSE_BUSINESS_DAYS))

    @transition(
        status,
        source=S.DISPUTED,
        target=S.UNDER_REVIEW,
        permission=dispute_decider,
        custom={Fact.REVIEWER_BUTTON: 5},
    )
    def reopen(self, *, by: Any, now: dt.datetime, comment: str = "") -> None:
        self.rejection_reason = ""
        self.rejection_sub_reasons = []
        self.rejected_by = None
        self.assigned_reviewer = by
        self._set_deadline("review_due_at", add_business_days(now, REVIEW_BUSINESS_DAYS))

    @transition(
        status,
        source=S.DISPUTED,
        target=S.REJECTED,
        permission=dispute_decider,
        custom={Fact.REVIEWER_BUTTON: 6},
    )
    def uphold_rejection(self, *, by: Any, now: dt.datetime, comment: str = "") -> None:
        _require_text(comment, _("Write a comment telling the partner why the rejection stands."))
        self._set_deadline(None)

    @transition(
        status,
        source=S.ASSOCIATED,
        target=S.REJECTED,
        conditions=[end_requested],
        permission=review_lead,
        custom={Fact.REVIEWER_BUTTON: 7},
    )
    def end_association(self, *, by: Any, now: dt.datetime, comment: str = "") -> None:
        """A review lead ends an association the customer asked to end after its opt-out window."""
        _require_text(comment, _("Write a comment telling the partner why the association ends."))
        self._rejected(RejectionReason.CUSTOMER_REQUEST, [], disputable_from=now)
        self.rejected_by = by

    @transition(
        status,
        source=S.ASSOCIATED,
        target=S.REJECTED,
        conditions=[subscription_lapsed],
        permission=system,
    )
    def lapse(self, *, by: Any, now: dt.datetime) -> None:
        """Ends an association whose subscription has been inactive too long (the lapse beat job);
        the partner may dispute it, as any rejection it did not ask for."""
        self._rejected(RejectionReason.SUBSCRIPTION_INACTIVE, [], disputable_from=now)

    def _rejected(self, reason: str, sub_reasons: list[str], *, disputable_from: dt.datetime | None) -> None:
        self.rejected_by = None
        self.rejection_reason = reason
        self.rejection_sub_reasons = sub_reasons
        self._set_deadline(
            "dispute_window_ends_at", disputable_from + DISPUTE_WINDOW if disputable_from else None
        )


def _as_uuid(value: Any) -> uuid.UUID | None:
    """The value as a UUID, or None when it is not one (field validation reports that)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _codes(values: Iterable[str], choices: type[models.TextChoices], empty_message: Any) -> list[str]:
    chosen = list(dict.fromkeys(str(v) for v in values or ()))
    if not chosen:
        raise ClaimRuleError(str(empty_message))
    unknown = [v for v in chosen if v not in choices.values]
    if unknown:
        raise ClaimRuleError(str(_("Unknown reason code: %(codes)s.")) % {"codes": ", ".join(unknown)})
    return chosen


def _require_text(text: str | None, message: Any) -> None:
    if not (text or "").strip():
        raise ClaimRuleError(str(message))


# ---------------------------------------------------------------------------------------------
# PoE documents, comments, history


def _poe_storage() -> Any:
    return storages["poe"]


def _poe_path(document: PoeDocument, filename: str) -> str:
    # Generated names only: the partner's file name is kept in `original_name`, never on disk.
    return f"poe/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


class PoeDocument(models.Model):
    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"
        PNG = "png", "PNG"
        JPEG = "jpeg", "JPEG"

    CONTENT_TYPES = {
        Kind.PDF: "application/pdf",
        Kind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Kind.PNG: "image/png",
        Kind.JPEG: "image/jpeg",
    }

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(storage=_poe_storage, upload_to=_poe_path, max_length=255)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def content_type(self) -> str:
        return self.CONTENT_TYPES[self.kind]


class ClaimEvent(models.Model):
    """Append-only history: one row per transition, edit, comment, upload and notification."""

    class ActorKind(models.TextChoices):
        PARTNER = "partner", _("Partner")
        REVIEWER = "reviewer", _("Reviewer")
        CUSTOMER = "customer", _("Customer")
        SYSTEM = "system", _("System")

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        EDIT = "edit", _("Edited")
        COMMENT = "comment", _("Comment")
        UPLOAD = "upload", _("Document uploaded")
        REMOVE_DOCUMENT = "remove_document", _("Document removed")
        NOTIFICATION = "notification", _("Notification")
        ASSIGN = "assign", _("Assigned")
        CHECKLIST = "checklist", _("Checklist updated")
        SLA_BREACH = "sla_breach", _("Review SLA breached")
        SUBMIT = "submit", _("Submitted")
        START_REVIEW = "start_review", _("Review started")
        REQUEST_INFORMATION = "request_information", _("Information requested")
        RESUBMIT = "resubmit", _("Resubmitted")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        EXPIRE = "expire", _("Rejected: no partner response")
        WITHDRAW = "withdraw", _("Withdrawn")
        DENY_CONSENT = "deny_consent", _("Customer declined")
        CLOSE_CONSENT_WINDOW = "close_consent_window", _("Sent for incentive assessment")
        SUPERSEDE = "supersede", _("Superseded")
        DISPUTE = "dispute", _("Rejection disputed")
        REOPEN = "reopen", _("Dispute accepted, review reopened")
        UPHOLD_REJECTION = "uphold_rejection", _("Rejection upheld")
        END_ASSOCIATION = "end_association", _("Association ended at the customer's request")
        WORKLOADS_DECLINED = "workloads_declined", _("Customer declined some workloads")
        END_REQUESTED = "end_requested", _("Customer asked to end the association")
        END_REQUEST_DECLINED = "end_request_declined", _("Request to end the association declined")
        LAPSE = "lapse", _("Ended: the subscription is no longer active")
        ASSESSED = "assessed", _("Assessed for incentives")

    # Every index here is written for each of the many events a beat sweep appends, so there are
    # only the ones reads need: a claim's history (claim, time), the event list newest first (id),
    # and the two optional references, indexed only where they are set (most events have neither).
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="events", db_index=False, verbose_name=_("claim")
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    from_status = models.CharField(_("from status"), max_length=32, blank=True)
    to_status = models.CharField(_("to status"), max_length=32, blank=True)
    diff = models.JSONField(_("changes"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    partner_visible = models.BooleanField(_("partner-visible"), default=True)
    email = models.ForeignKey(
        OutboundEmail,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("email"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("claim event")
        verbose_name_plural = _("claim events")
        indexes = [
            models.Index(fields=["claim", "created_at"], name="event_claim_time_idx"),
            models.Index(fields=["actor"], condition=models.Q(actor__isnull=False), name="event_actor_idx"),
            models.Index(fields=["email"], condition=models.Q(email__isnull=False), name="event_email_idx"),
        ]

    def __str__(self) -> str:
        return _("%(action)s on claim #%(pk)s") % {"action": self.get_action_display(), "pk": self.claim_id}

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ClaimRuleError("History is append-only: a ClaimEvent cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ClaimRuleError("History is append-only: a ClaimEvent cannot be deleted.")


class Comment(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    author_kind = models.CharField(max_length=10, choices=ClaimEvent.ActorKind.choices)
    body = models.TextField(max_length=5000)
    partner_visible = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author_kind} on claim {self.claim_id}"


class AssociationEndRequest(models.Model):
    """A customer's request, after the opt-out window, to end an association; a review lead decides
    (granted: `end_association`; declined: the customer is told why). One pending per claim."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting for a review lead")
        GRANTED = "granted", _("Association ended")
        DECLINED = "declined", _("Request declined")
        # The association ended another way (withdrawn, superseded, lapsed) before a lead decided.
        SETTLED = "settled", _("No longer needed: the association ended")

    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="end_requests", verbose_name=_("claim")
    )
    requested_by_email = models.EmailField(_("requested by"))
    language = models.CharField(_("language"), max_length=8, default="en")
    reason = models.TextField(_("customer's reason"), max_length=2000)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_note = models.TextField(_("decision note"), blank=True, max_length=5000)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("request to end an association")
        verbose_name_plural = _("requests to end an association")
        constraints = [
            models.UniqueConstraint(
                fields=["claim"],
                condition=models.Q(outcome="pending"),
                name="one_pending_end_request_per_claim",
            )
        ]

    def __str__(self) -> str:
        return _("Request to end the association of claim #%(pk)s") % {"pk": self.claim_id}


# ---------------------------------------------------------------------------------------------
# Subscription and usage feeds
#
# Loaded from the commerce and usage feeds (`claims.feeds`, `manage.py import_subscriptions` and
# `import_usage`, the admin's upload page). The claim's subscription checks and the lapse job read
# them, which is why they live in claims: claims imports none of the apps built on it.


class Subscription(models.Model):
    """A commercial subscription on a customer tenant, as the commerce feed last reported it."""

    class Channel(models.TextChoices):
        DIRECT = "direct", _("Direct")
        EA = "ea", _("Enterprise Agreement")
        CSP = "csp", _("Cloud Solution Provider")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        GRACE = "grace", _("Grace period")
        SUSPENDED = "suspended", _("Suspended")
        DELETED = "deleted", _("Deleted")

    # Statuses in which Microsoft counts a subscription as live; out of these `inactive_since` runs.
    LIVE_STATUSES = (Status.ACTIVE, Status.GRACE)

    subscription_id = models.UUIDField(_("subscription ID"), unique=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("tenant")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("product")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    seats = models.PositiveIntegerField(_("seats"))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    # The moment an import first saw the subscription out of active/grace; cleared when it returns.
    # The lapse job ends associations whose subscription has been out longer than a setting.
    inactive_since = models.DateTimeField(_("inactive since"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["tenant", "subscription_id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            models.Index(
                fields=["inactive_since"],
                condition=models.Q(inactive_since__isnull=False),
                name="subscription_lapse_scan",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="subscription_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "grace"], inactive_since__isnull=True)
                | models.Q(status__in=["suspended", "deleted"], inactive_since__isnull=False),
                name="subscription_inactive_since_iff_not_live",
            ),
        ]

    def __str__(self) -> str:
        return str(self.subscription_id)


@dataclass(frozen=True)
class SubscriptionRegistry:
    """What the registry says about the subscriptions some claims name, read in at most two
    queries however many claims: each named subscription found (with its tenant and product), and
    which of the claimed tenants whose named subscription was not found the registry covers."""

    found: dict[uuid.UUID, Subscription]
    covered: frozenset[uuid.UUID]

    @classmethod
    def for_claims(cls, claims: Iterable[Claim]) -> SubscriptionRegistry:
        named = [
            (subscription_id, tenant_id)
            for claim in claims
            if claim.takes_subscription_id
            and (subscription_id := _as_uuid(claim.subscription_id))
            and (tenant_id := _as_uuid(claim.customer_tenant_id))
        ]
        if not named:
            return cls(found={}, covered=frozenset())
        found = {
            s.subscription_id: s
            for s in Subscription.objects.filter(
                subscription_id__in={subscription_id for subscription_id, _tenant_id in named}
            ).select_related("tenant", "product")
        }
        unknown_on = {tenant_id for subscription_id, tenant_id in named if subscription_id not in found}
        covered = (
            Subscription.objects.filter(tenant__tenant_id__in=unknown_on)
            .values_list("tenant__tenant_id", flat=True)
            .distinct()
            if unknown_on
            else []
        )
        return cls(found=found, covered=frozenset(covered))

    def subscription_of(self, claim: Claim) -> Subscription | None:
        subscription_id = _as_uuid(claim.subscription_id)
        return self.found.get(subscription_id) if subscription_id else None


class MonthlyUsage(models.Model):
    """Active users of one product on one tenant in one month, as the usage feed reported them.

    The foreign keys have no database constraint: checked row by row they cost the import of a
    million-row feed more than everything else together. The usage import writes only rows whose
    tenant and product it resolved, holding a key-share lock on them until it commits
    (`claims.feeds`); Django still cascades and protects on delete, and on PostgreSQL two
    statement-level triggers (migration 0016) do it for a deletion that races an import."""

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="monthly_usage",
        verbose_name=_("tenant"),
        db_index=False,  # the unique constraint's index leads with the tenant
        db_constraint=False,
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="monthly_usage",
        verbose_name=_("product"),
        # No index of its own: every read names the tenant (the unique constraint's index leads
        # with it), and one more index on every row written costs the usage import. Only deleting
        # a product (PROTECT, and the trigger of migration 0016) scans the table, a rare admin step.
        db_index=False,
        db_constraint=False,
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    active_users = models.PositiveIntegerField(_("active users"))

    class Meta:
        ordering = ["tenant", "product", "month"]
        verbose_name = _("monthly usage")
        verbose_name_plural = _("monthly usage")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "product", "month"], name="one_usage_per_month"),
            models.CheckConstraint(condition=models.Q(month__day=1), name="usage_month_is_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.product_id} {self.month:%Y-%m}: {self.active_users}"
