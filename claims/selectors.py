"""Reads for the partner portal: every query a page runs, each scoped to one partner.

Each page runs a fixed number of queries however many claims, products, documents or events there
are: lists are fetched in one query each (joins or one prefetch), never one query per row.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from claims.history import HistoryEntry, author_label, history_entries, lead_flag
from claims.models import (
    Activity,
    Claim,
    ClaimEvent,
    Comment,
    InformationRequestReason,
    Membership,
    PoeDocument,
    Product,
    SubscriptionRegistry,
    choice_labels,
)
from cpor.deadlines import Deadline, describe_deadline

S = Claim.Status
REQUEST = "request_information"
PAGE_SIZE = 25

# What the dashboard may sort by: a name in the URL → the ORDER BY it stands for (always ending on a
# unique column, so pages never overlap).
SORTS: dict[str, tuple[Any, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "submitted": (F("submitted_at").desc(nulls_last=True), "-id"),
    "customer": ("customer_name", "id"),
    "name": ("name", "id"),
    "status": ("status", "-created_at", "-id"),
}

DASHBOARD_COLUMNS = (
    "id",
    "name",
    "activity",
    "customer_name",
    "customer_domain",
    "customer_tenant_id",
    "status",
    "submitted_at",
    *Claim.DEADLINE_BY_STATUS.values(),
)


# ---------------------------------------------------------------------------------------------
# Who is asking


def membership_for(user: Any) -> Membership | None:
    """The user's membership with its partner in one query, cached on the user for the request.

    Later permission checks (`membership_of`, `is_managing_user`) read the cached object instead of
    querying again.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_staff:
        return None
    cached = getattr(user, "_portal_membership", False)
    if cached is not False:
        return cached
    membership = Membership.objects.select_related("partner").filter(user_id=user.pk).first()
    user._portal_membership = membership
    if membership is not None:
        user.membership = membership
    return membership


def partner_claims(partner_id: int) -> QuerySet[Claim]:
    return Claim.objects.filter(partner_id=partner_id)


# ---------------------------------------------------------------------------------------------
# Deadlines in words


def next_deadline(claim: Any, now: dt.datetime | None = None) -> Deadline | None:
    """The deadline the claim runs on now, told from the partner's side ("3 business days left …").

    `claim` is a Claim or anything with its `status` and deadline attributes.
    """
    field_name = Claim.DEADLINE_BY_STATUS.get(claim.status)
    return describe_deadline(field_name, getattr(claim, field_name) if field_name else None, now)


# ---------------------------------------------------------------------------------------------
# The Customer Associations dashboard


@dataclass(frozen=True)
class DashboardFilters:
    """Cleaned filter values; an empty value means "any"."""

    q: str = ""
    status: str = ""
    activity: str = ""
    solution_area: str = ""
    product: str = ""  # a product code
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    sort: str = "newest"
    page: int = 1


@dataclass
class StatusCount:
    status: str
    label: str
    count: int


@dataclass
class DashboardRow:
    """One claim of the list, as plain values (no model instance: a page is read, not changed)."""

    pk: int
    name: str
    customer_name: str
    customer_domain: str
    customer_tenant_id: uuid.UUID
    activity: str
    activity_label: str
    status: str
    status_label: str
    submitted_at: dt.datetime | None
    deadline: Deadline | None
    product_names: str


@dataclass
class Dashboard:
    rows: list[DashboardRow]
    counts: list[StatusCount]
    total: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE
    first_index: int = 0
    last_index: int = 0

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def filtered_claims(
    partner_id: int, filters: DashboardFilters, *, with_status: bool = True
) -> QuerySet[Claim]:
    """The partner's claims matching `filters` (the status filter only when `with_status`)."""
    claims = partner_claims(partner_id)
    if with_status and filters.status:
        claims = claims.filter(status=filters.status)
    if filters.activity:
        claims = claims.filter(activity=filters.activity)
    if filters.solution_area:
        claims = claims.filter(solution_area=filters.solution_area)
    if filters.product:
        # (claim, product) is unique in the through table: the join never repeats a claim.
        claims = claims.filter(products__code=filters.product)
    if filters.submitted_from:
        claims = claims.filter(submitted_at__gte=_day_start(filters.submitted_from))
    if filters.submitted_to:
        claims = claims.filter(submitted_at__lt=_day_start(filters.submitted_to + dt.timedelta(days=1)))
    if filters.q:
        claims = claims.filter(_search(filters.q))
    return claims


def _search(text: str) -> Q:
    try:
        return Q(customer_tenant_id=uuid.UUID(text))
    except ValueError:
        pass
    return (
        Q(name__icontains=text)
        | Q(customer_name__icontains=text)
        | Q(customer_domain__icontains=text)
        | Q(customer_tenant_id__icontains=text)
        | Q(external_reference=text)  # the partner's own reference, whole (the unique index finds it)
    )


NAME_SEPARATOR = "\x1f"  # cannot occur in a product name


class JoinedNames(Aggregate):
    """The names of a group joined with NAME_SEPARATOR: STRING_AGG, or GROUP_CONCAT on SQLite."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, chr(31))"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            function="GROUP_CONCAT",
            template="%(function)s(%(expressions)s, char(31))",
            **extra,
        )


def _product_names() -> Subquery:
    """Each claim's product names in one column of the page query (no second query, no N+1)."""
    names = (
        Claim.products.through.objects.filter(claim_id=OuterRef("pk"))
        .order_by()
        .values("claim_id")
        .annotate(names=JoinedNames("product__name"))
        .values("names")
    )
    return Subquery(names, output_field=CharField())


def status_counts(
    partner_id: int, filters: DashboardFilters, *, version: int | None = None
) -> dict[str, int]:
    """Claims per status under every filter except the status one (one GROUP BY).

    Unfiltered counts are cached under the partner's `claims_version`, which the workflow bumps in
    the transaction of every change that moves a count: a stale entry is never read again.
    """
    key = None
    if version is not None and not _narrowed(filters):
        key = f"cpor:status-counts:{partner_id}:{version}"
        cached = cache.get(key)
        if cached is not None:
            return cached
    rows = dict(
        filtered_claims(partner_id, filters, with_status=False)
        .order_by()
        .values_list("status")
        .annotate(n=Count("*"))  # COUNT(*): an index-only scan of (partner, status)
    )
    if key is not None:
        cache.set(key, rows, timeout=3600)
    return rows


def _narrowed(filters: DashboardFilters) -> bool:
    """Whether any filter other than status (and sort, page) narrows the list."""
    return bool(
        filters.q
        or filters.activity
        or filters.solution_area
        or filters.product
        or filters.submitted_from
        or filters.submitted_to
    )


def dashboard(
    partner_id: int, filters: DashboardFilters, *, now: dt.datetime | None = None, version: int | None = None
) -> Dashboard:
    """One page of the partner's claims and the count per status: three queries (counts, the page,
    its products), each a plain-values read."""
    now = now or timezone.now()
    by_status = status_counts(partner_id, filters, version=version)
    counts = [StatusCount(value, str(label), by_status.get(value, 0)) for value, label in S.choices]
    total = by_status.get(filters.status, 0) if filters.status else sum(by_status.values())
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    offset = (page - 1) * PAGE_SIZE
    found = list(
        filtered_claims(partner_id, filters)
        .annotate(product_names=_product_names())
        .order_by(*SORTS.get(filters.sort, SORTS["newest"]))
        .values_list(*DASHBOARD_COLUMNS, "product_names")[offset : offset + PAGE_SIZE]
    )
    statuses, activities = dict(S.choices), dict(Activity.choices)
    rows = []
    for values in found:
        claim = dict(zip((*DASHBOARD_COLUMNS, "product_names"), values, strict=True))
        field_name = Claim.DEADLINE_BY_STATUS.get(claim["status"])
        rows.append(
            DashboardRow(
                pk=claim["id"],
                name=claim["name"],
                customer_name=claim["customer_name"],
                customer_domain=claim["customer_domain"],
                customer_tenant_id=claim["customer_tenant_id"],
                activity=claim["activity"],
                activity_label=str(activities.get(claim["activity"], claim["activity"])),
                status=claim["status"],
                status_label=str(statuses.get(claim["status"], claim["status"])),
                submitted_at=claim["submitted_at"],
                deadline=describe_deadline(field_name, claim[field_name] if field_name else None, now),
                product_names=", ".join(sorted((claim["product_names"] or "").split(NAME_SEPARATOR)))
                if claim["product_names"]
                else "",
            )
        )
    return Dashboard(
        rows=rows,
        counts=counts,
        total=total,
        page=page,
        pages=pages,
        first_index=offset + 1 if rows else 0,
        last_index=offset + len(rows),
    )


def export_rows(partner_id: int, filters: DashboardFilters) -> Iterator[tuple[Claim, list[Product]]]:
    """Every claim of the filtered list (not only one page), in the dashboard's order, in chunks."""
    claims = (
        filtered_claims(partner_id, filters)
        .select_related("mpn")
        .order_by(*SORTS.get(filters.sort, SORTS["newest"]))
        .prefetch_related(Prefetch("products", queryset=Product.objects.only("id", "code", "name")))
    )
    for claim in claims.iterator(chunk_size=1000):
        yield claim, list(claim.products.all())


FILTER_PRODUCTS_CACHE = "cpor:portal:filter-products"


def products_for_filter() -> list[tuple[str, str]]:
    """(code, name) of the active catalogue, for the product filter; the catalogue changes rarely,
    so it is kept in the cache for a few minutes."""
    return cache.get_or_set(
        FILTER_PRODUCTS_CACHE,
        lambda: list(Product.objects.filter(active=True).order_by("name").values_list("code", "name")),
        timeout=300,
    )


# ---------------------------------------------------------------------------------------------
# What needs the partner now (the top of the dashboard)

NEEDS_LIMIT = 10  # of each kind; the full list is one status filter away
DISPUTE_WINDOW_WARNING = dt.timedelta(days=7)


@dataclass
class WaitingClaim:
    pk: int
    name: str
    customer_name: str
    status: str
    deadline: Deadline | None


@dataclass
class NeedsAttention:
    """Claims waiting on the partner: an information request to answer, a dispute window closing
    within seven days, drafts ready to submit."""

    answer: list[WaitingClaim]
    disputes_closing: list[WaitingClaim]
    ready_drafts: list[WaitingClaim]

    def __bool__(self) -> bool:
        return bool(self.answer or self.disputes_closing or self.ready_drafts)


def needs_attention(partner_id: int, *, now: dt.datetime | None = None) -> NeedsAttention:
    """At most five queries however many claims: the claims with a partner deadline (requests to
    answer, dispute windows closing), then the newest drafts with their products and documents,
    which the claim's own `submission_problems` judges (duplicates asked for all drafts in the same
    query, the subscriptions they name in at most two more: `SubscriptionRegistry`)."""
    now = now or timezone.now()
    columns = ("id", "name", "customer_name", "status", "partner_response_due_at", "dispute_window_ends_at")
    due = partner_claims(partner_id).filter(
        Q(status=S.PARTNER_ACTION_REQUIRED)
        | Claim.disputable_q(now) & Q(dispute_window_ends_at__lte=now + DISPUTE_WINDOW_WARNING)
    )
    answer: list[WaitingClaim] = []
    closing: list[WaitingClaim] = []
    soonest = (Coalesce("partner_response_due_at", "dispute_window_ends_at").asc(), F("id").asc())
    # Only the first NEEDS_LIMIT of each list are shown: each row is ranked within its list in the
    # query, so a partner with a thousand open requests reads five rows, not a thousand.
    ranked = due.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[Case(When(status=S.PARTNER_ACTION_REQUIRED, then=True), default=False)],
            order_by=soonest,
        )
    ).filter(rank__lte=NEEDS_LIMIT)
    for values in ranked.order_by(*soonest).values_list(*columns):
        claim = dict(zip(columns, values, strict=True))
        field_name = Claim.DEADLINE_BY_STATUS.get(claim["status"])
        item = WaitingClaim(
            pk=claim["id"],
            name=claim["name"],
            customer_name=claim["customer_name"],
            status=claim["status"],
            deadline=describe_deadline(field_name, claim[field_name] if field_name else None, now),
        )
        target = answer if claim["status"] == S.PARTNER_ACTION_REQUIRED else closing
        if len(target) < NEEDS_LIMIT:
            target.append(item)
    drafts = Claim.with_duplicate_flag(
        partner_claims(partner_id)
        .filter(status=S.EDITING)
        .order_by("-updated_at", "-id")
        .prefetch_related(
            "products", Prefetch("documents", queryset=PoeDocument.objects.only("id", "claim_id"))
        )
    )[:NEEDS_LIMIT]
    drafts = list(drafts)
    registry = SubscriptionRegistry.for_claims(drafts)
    for draft in drafts:
        draft.subscription_registry = registry
    ready = [
        WaitingClaim(pk=d.pk, name=d.name, customer_name=d.customer_name, status=d.status, deadline=None)
        for d in drafts
        if not d.submission_problems()
    ]
    return NeedsAttention(answer=answer, disputes_closing=closing, ready_drafts=ready)


# ---------------------------------------------------------------------------------------------
# The claim page


@dataclass
class ClaimPage:
    claim: Claim
    products: list[Product]
    documents: list[PoeDocument]
    comments: list[Comment]
    history: list[HistoryEntry]
    copies: list[Claim]
    deadline: Deadline | None
    information_reasons: list[str]
    rejection_reason: str
    rejection_sub_reasons: list[str]
    # The reviewer's words with the open information request (partner action required), and with
    # the decision that upheld a rejection after a dispute (then final): "" when there is none.
    information_request: str = ""
    upheld_after_dispute: bool = False
    upheld_note: str = ""


def claim_for_partner(partner_id: int, pk: int, *, for_page: bool = False) -> Claim | None:
    """The partner's claim `pk`, or None. `for_page` (the claim page's GET) asks in the same query
    whether it has documents and copies, so `claim_page` skips the query for each it has none of
    (most claims have no copy)."""
    claims = partner_claims(partner_id).select_related("mpn", "copied_from")
    if for_page:
        claims = claims.annotate(
            page_has_documents=Exists(PoeDocument.objects.filter(claim_id=OuterRef("pk"))),
            page_has_copies=Exists(
                Claim.objects.filter(copied_from_id=OuterRef("pk"), partner_id=OuterRef("partner_id"))
            ),
        )
    return claims.filter(pk=pk).first()


def partner_comments(claim: Claim) -> list[Comment]:
    """The partner-visible comments, oldest first, each with `who` wrote it as partners read it."""
    comments = list(
        claim.comments.filter(partner_visible=True)
        .select_related("author")
        .annotate(by_lead=lead_flag("author_id"))
        .order_by("created_at", "id")
    )
    for comment in comments:
        comment.who = author_label(comment.author_kind, comment.author, by_lead=comment.by_lead)
    return comments


def partner_events(claim: Claim) -> QuerySet[ClaimEvent]:
    """The partner-visible history, oldest first, ready for `history_entries`."""
    return (
        claim.events.filter(partner_visible=True)
        .select_related("actor")
        .annotate(by_lead=lead_flag("actor_id"))
        .order_by("created_at", "id")
    )


def claim_page(claim: Claim, *, now: dt.datetime | None = None, assessment_reasons: bool = True) -> ClaimPage:
    """Everything the partner sees about one claim: products, documents, partner-visible comments
    and history, and the claims started from it — one query each. A read-only member reads an
    assessment as eligible or not, without its reasons (`assessment_reasons`)."""
    products = list(claim.products.order_by("name"))
    # A claim read with `claim_for_partner(for_page=True)` says which of these it has none of.
    documents = (
        list(claim.documents.select_related("uploaded_by").order_by("uploaded_at", "id"))
        if getattr(claim, "page_has_documents", True)
        else []
    )
    comments = partner_comments(claim)
    events = list(partner_events(claim))
    copies = (
        list(Claim.objects.filter(copied_from=claim, partner_id=claim.partner_id).only("id", "name"))
        if getattr(claim, "page_has_copies", True)
        else []
    )
    moves = [e for e in events if e.to_status and e.from_status != e.to_status]
    last_move = moves[-1] if moves else None
    return ClaimPage(
        claim=claim,
        products=products,
        documents=documents,
        comments=comments,
        history=history_entries(events, assessment_reasons=assessment_reasons),
        information_request=last_move.note
        if last_move and claim.status == S.PARTNER_ACTION_REQUIRED and last_move.action == REQUEST
        else "",
        upheld_after_dispute=bool(
            last_move and claim.status == S.REJECTED and last_move.action == "uphold_rejection"
        ),
        upheld_note=last_move.note
        if last_move and claim.status == S.REJECTED and last_move.action == "uphold_rejection"
        else "",
        copies=copies,
        deadline=next_deadline(claim, now),
        information_reasons=choice_labels(claim.information_request_reasons, InformationRequestReason),
        rejection_reason=claim.get_rejection_reason_display() if claim.rejection_reason else "",
        rejection_sub_reasons=choice_labels(
            claim.rejection_sub_reasons, Claim.sub_reason_choices(claim.rejection_reason)
        ),
    )


# ---------------------------------------------------------------------------------------------
# Forms' look-ups


def partner_duplicates(
    partner_id: int,
    *,
    tenant_id: uuid.UUID,
    activity: str,
    products: Iterable[Product],
    exclude_pk: int | None = None,
) -> list[Claim]:
    """The first few claims a claim with these values would duplicate (`Claim.duplicates_of`)."""
    product_ids = [p.pk for p in products]
    if not product_ids:
        return []
    claims = Claim.duplicates_of(
        partner_id=partner_id,
        tenant_id=tenant_id,
        activity=activity,
        products=product_ids,
        excluding=exclude_pk,
    )
    return list(claims.distinct().only("id", "name").order_by("id")[:5])


def document_for_partner(partner_id: int, claim_pk: int, document_pk: int) -> PoeDocument | None:
    return (
        PoeDocument.objects.filter(pk=document_pk, claim_id=claim_pk, claim__partner_id=partner_id)
        .select_related("claim")
        .first()
    )
