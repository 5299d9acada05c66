"""The reviewer's Django admin: the review queue, the claim page, bulk actions, the SLA overview.

Nobody changes a claim through the admin's own forms (every model permission here is "view"): each
button posts to a view in `reviews.views`, which calls `claims.workflow`.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims.contributions import claim_page_panels
from claims.models import Claim, ClaimEvent, MpnId, Partner, Product, _as_uuid, is_lead, is_reviewer
from claims.workflow import TransitionRefused, assign_reviewer, transition
from reviews import views
from reviews.claim_page import review_page
from reviews.competing import is_competing
from reviews.end_requests import end_requested, is_waiting, waiting_count
from reviews.forms import AssignForm, QueueActionForm
from reviews.models import SlaDigest
from reviews.queue_rows import QueueChangeList
from reviews.sla import SlaState, in_sla_state, sla_state_expression

S = Claim.Status
BULK_LIMIT = 500  # claims one bulk action moves; more is a job for a filter, not a click


class CappedCountPaginator(Paginator):
    """Counts at most `cap` rows (`SELECT COUNT(*) FROM (… LIMIT cap+1)`), never the whole table.

    Past the cap the queue says "10000+" and offers the first `cap` rows' pages: a reviewer narrows
    a longer list with a filter or the search.
    """

    cap = 10_000

    @cached_property
    def _counted(self) -> int:
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap


# ---------------------------------------------------------------------------------------------
# Queue filters


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(status.value, status.label) for status in Claim.REVIEWER_STATUSES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        return queryset.filter(status=self.value()) if self.value() else queryset


class SlaStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("SLA state")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(SlaState.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() in SlaState.values:
            return in_sla_state(queryset, self.value(), timezone.now())
        return queryset


class AssignmentFilter(admin.SimpleListFilter):
    title = gettext_lazy("assigned reviewer")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", _("Assigned to me")), ("none", _("Unassigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() == "me":
            return queryset.filter(assigned_reviewer_id=request.user.pk)
        if self.value() == "none":
            return queryset.filter(assigned_reviewer__isnull=True)
        return queryset


class ProductFilter(admin.SimpleListFilter):
    title = gettext_lazy("product")
    parameter_name = "product"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Product.objects.order_by("solution_area", "name").values_list("code", "name"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        # (claim, product) is unique in the through table: the join never repeats a claim.
        return queryset.filter(products__code=self.value()) if self.value() else queryset


class CompetingFilter(admin.SimpleListFilter):
    title = gettext_lazy("competing")
    parameter_name = "competing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Competing")), ("no", _("Not competing"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() == "yes":
            return queryset.filter(is_competing=True)
        if self.value() == "no":
            return queryset.filter(is_competing=False)
        return queryset


class EndRequestFilter(admin.SimpleListFilter):
    title = gettext_lazy("customer's request to end")
    parameter_name = "end_request"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("waiting", _("Customer asked to end the association"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() == "waiting":
            return queryset.filter(end_requested=True)
        return queryset


# ---------------------------------------------------------------------------------------------
# The claim: queue and page


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = (
        "claim",
        "partner_and_mpn",
        "customer",
        "product_names",
        "status_label",
        "assigned",
        "age",
        "sla_deadline",
        "sla_state_label",
        "competing",
    )
    list_display_links = ("claim",)
    list_filter = (
        StatusFilter,
        # Beside the status it concerns, above the long product list, where a lead looks first.
        EndRequestFilter,
        SlaStateFilter,
        AssignmentFilter,
        ("solution_area", admin.ChoicesFieldListFilter),
        ProductFilter,
        CompetingFilter,
    )
    list_select_related = ("partner", "mpn", "assigned_reviewer")
    list_per_page = 100
    list_max_show_all = 0  # "Show all" would fetch the whole queue
    paginator = CappedCountPaginator
    show_full_result_count = False
    sortable_by = ("claim", "age", "sla_deadline")
    ordering = (F("sla_due_at").asc(nulls_last=True), "pk")
    search_fields = (
        "name",
        "customer_name",
        "customer_domain",
        "partner__name",
        "mpn__number",
        "customer_tenant_id",
    )
    search_help_text = gettext_lazy(
        "A tenant ID (exact), an MPN ID (exact), or part of a customer name or domain, a partner name "
        "or a claim name."
    )
    actions = ("start_review_action", "assign_to_me_action", "assign_to_action")
    action_form = QueueActionForm  # Django's, its widgets rendered once per distinct input
    change_form_template = "admin/reviews/claim/change_form.html"
    change_list_template = "admin/reviews/claim/change_list.html"
    fieldsets = (
        (
            gettext_lazy("Claim"),
            {
                "fields": (
                    "name",
                    ("status", "assigned_reviewer"),
                    ("partner", "mpn"),
                    ("solution_area", "activity"),
                    "products",
                    ("created_at", "submitted_at"),
                    "copied_from",
                )
            },
        ),
        (
            gettext_lazy("Customer"),
            {
                "fields": (
                    ("customer_name", "customer_domain"),
                    ("customer_tenant_id", "subscription_id"),
                    ("customer_contact_name", "customer_contact_title"),
                    ("customer_contact_email", "customer_contact_language"),
                    ("technical_contact_name", "technical_contact_email", "technical_contact_phone"),
                )
            },
        ),
        (
            gettext_lazy("Partner"),
            {
                "fields": (
                    ("partner_contact_name", "partner_contact_email", "partner_contact_phone"),
                    "work_description",
                )
            },
        ),
        (
            gettext_lazy("Decision"),
            {
                "fields": (
                    ("information_request_reasons", "information_requested_at"),
                    ("rejection_reason", "rejection_sub_reasons", "rejected_by"),
                    "dispute_justification",
                )
            },
        ),
        (
            gettext_lazy("Deadlines"),
            {
                "fields": (
                    ("sla_due_at", "sla_breached_at"),
                    ("review_start_due_at", "review_due_at", "dispute_response_due_at"),
                    ("partner_response_due_at", "consent_window_ends_at", "dispute_window_ends_at"),
                )
            },
        ),
    )

    # -- permissions: reviewers read here and act through the workflow views ----------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        return is_reviewer(request.user)

    def has_lead_permission(self, request: HttpRequest) -> bool:
        return is_lead(request.user)

    # -- the queue -------------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[QueueChangeList]:
        # Only the columns shown, products' names without instances; its template writes the rows
        # with reviews.queue_rows (the display methods below say what each cell holds).
        return QueueChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return (
            Claim.for_reviewers(super().get_queryset(request))
            .annotate(
                sla_state=sla_state_expression(timezone.now()),
                is_competing=is_competing(),
                end_requested=end_requested(),
            )
            .prefetch_related(
                Prefetch("products", queryset=Product.objects.only("id", "name").order_by("name"))
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Claim], search_term: str
    ) -> tuple[QuerySet[Claim], bool]:
        """A tenant ID or an MPN ID matches exactly (an index lookup); other text matches in part.

        Every arm of the OR is a condition on the claim's own columns, so PostgreSQL answers it as a
        BitmapOr of indexes: the trigram indexes on claim name, customer name and domain
        (`reviews` migration 0005), and the partner index for the partners and MPN IDs, which are
        looked up first (a few rows; a join inside the OR would scan every claim).
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        tenant = _as_uuid(term)
        if tenant is not None:
            return queryset.filter(customer_tenant_id=tenant), False
        matches = (
            Q(name__icontains=term) | Q(customer_name__icontains=term) | Q(customer_domain__icontains=term)
        )
        partners = list(Partner.objects.filter(name__icontains=term).order_by().values_list("pk", flat=True))
        if partners:
            matches |= Q(partner_id__in=partners)
        if term.isdigit():
            mpns = list(MpnId.objects.filter(number=term).order_by().values_list("pk", flat=True))
            if mpns:
                matches |= Q(mpn_id__in=mpns)
        return queryset.filter(matches), False

    @admin.display(description=gettext_lazy("claim"), ordering="pk")
    def claim(self, obj: Claim) -> str:
        return f"#{obj.pk} {obj.name}"

    @admin.display(description=gettext_lazy("partner"))
    def partner_and_mpn(self, obj: Claim) -> str:
        # The queue's rows carry the names as values (reviews.queue_rows.QUEUE_RELATED).
        if hasattr(obj, "queue_partner_name"):
            return format_html("{}<br><small>MPN {}</small>", obj.queue_partner_name, obj.queue_mpn_number)
        return format_html("{}<br><small>MPN {}</small>", obj.partner.name, obj.mpn.number)

    @admin.display(description=gettext_lazy("customer"))
    def customer(self, obj: Claim) -> str:
        return format_html("{}<br><small>{}</small>", obj.customer_name, obj.customer_domain)

    @admin.display(description=gettext_lazy("products"))
    def product_names(self, obj: Claim) -> str:
        if hasattr(obj, "queue_product_names"):  # the queue's page read them in one query
            return obj.queue_product_names
        return ", ".join(p.name for p in obj.products.all())

    @admin.display(description=gettext_lazy("status"))
    def status_label(self, obj: Claim) -> str:
        # The flag stands under the status it changes: an associated claim a lead must decide on.
        if is_waiting(obj):
            return format_html(
                '{}<br><span class="end-request-flag">{}</span>',
                obj.get_status_display(),
                _("Customer asked to end"),
            )
        return obj.get_status_display()

    @admin.display(description=gettext_lazy("age"), ordering="submitted_at")
    def age(self, obj: Claim) -> str:
        since = obj.submitted_at or obj.created_at
        elapsed = timezone.now() - since
        if elapsed < dt.timedelta(days=1):
            return _("%(hours)s h") % {"hours": max(0, int(elapsed.total_seconds() // 3600))}
        return _("%(days)s d") % {"days": elapsed.days}

    @admin.display(description=gettext_lazy("assigned reviewer"))
    def assigned(self, obj: Claim) -> str:
        if obj.assigned_reviewer_id is None:
            return "—"
        email = getattr(obj, "queue_reviewer_email", None) or obj.assigned_reviewer.email
        # The address may break before its "@": the column stays narrow enough for 1280 px.
        local, at, domain = email.partition("@")
        return format_html("{}<wbr>{}{}", local, at, domain)

    @admin.display(description=gettext_lazy("SLA deadline"), ordering=F("sla_due_at").asc(nulls_last=True))
    def sla_deadline(self, obj: Claim) -> str:
        if obj.sla_due_at is None:
            return "—"
        local = timezone.localtime(obj.sla_due_at)
        return format_html(
            "{}<br><small>{}</small>",
            date_format(local, "SHORT_DATE_FORMAT"),
            time_format(local, "TIME_FORMAT"),
        )

    @admin.display(description=gettext_lazy("SLA state"))
    def sla_state_label(self, obj: Claim) -> str:
        state = getattr(obj, "sla_state", "")
        if not state:
            return "—"
        return format_html('<span class="sla sla-{}">{}</span>', state, SlaState(state).label)

    @admin.display(description=gettext_lazy("competing"))
    def competing(self, obj: Claim) -> str:
        # A tag where another partner claims the same tenant and product, and nothing elsewhere: a red
        # "no" icon on every ordinary claim read like an error.
        if getattr(obj, "is_competing", False):
            return format_html('<span class="competing-flag">{}</span>', _("Competing"))
        return ""

    def action_checkbox(self, obj: Claim) -> str:
        # The same markup as Django's, written directly: a widget template per row costs more than
        # the page's queries.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            _("Select this object for an action - {}").format(obj),
        )

    # -- bulk actions, each claim through the workflow ------------------------------------------------

    def _selected_pks(self, request: HttpRequest, queryset: QuerySet[Claim]) -> list[int] | None:
        pks = list(queryset.order_by("pk").values_list("pk", flat=True)[: BULK_LIMIT + 1])
        if len(pks) > BULK_LIMIT:
            messages.error(request, _("Select at most %(count)s claims at once.") % {"count": BULK_LIMIT})
            return None
        return pks

    def _report(
        self, request: HttpRequest, done: list[int], refused: dict[str, list[int]], what: str
    ) -> None:
        if done:
            messages.success(
                request,
                _("%(what)s: %(claims)s.") % {"what": what, "claims": ", ".join(f"#{pk}" for pk in done)},
            )
        for reason, pks in refused.items():
            messages.warning(
                request,
                _("Not done for %(claims)s: %(reason)s")
                % {"claims": ", ".join(f"#{pk}" for pk in pks), "reason": reason},
            )

    def _each(self, pks: list[int], act: Any) -> tuple[list[int], dict[str, list[int]]]:
        done: list[int] = []
        refused: dict[str, list[int]] = {}
        for pk in pks:
            try:
                act(pk)
            except TransitionRefused as exc:
                refused.setdefault(str(exc), []).append(pk)
            else:
                done.append(pk)
        return done, refused

    @admin.action(description=gettext_lazy("Start review of the selected claims"), permissions=["review"])
    def start_review_action(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        pks = self._selected_pks(request, queryset)
        if pks is not None:
            done, refused = self._each(pks, lambda pk: transition(pk, "start_review", by=request.user))
            self._report(request, done, refused, _("Review started"))

    @admin.action(description=gettext_lazy("Assign the selected claims to me"), permissions=["review"])
    def assign_to_me_action(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        pks = self._selected_pks(request, queryset)
        if pks is not None:
            done, refused = self._each(pks, lambda pk: assign_reviewer(pk, by=request.user, to=request.user))
            self._report(request, done, refused, _("Assigned to you"))

    @admin.action(description=gettext_lazy("Assign the selected claims to…"), permissions=["lead"])
    def assign_to_action(self, request: HttpRequest, queryset: QuerySet[Claim]) -> HttpResponse | None:
        pks = self._selected_pks(request, queryset)
        if pks is None:
            return None
        form = AssignForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            target = form.cleaned_data["reviewer"]
            done, refused = self._each(pks, lambda pk: assign_reviewer(pk, by=request.user, to=target))
            who = target.email if target is not None else _("nobody")
            self._report(request, done, refused, _("Assigned to %(who)s") % {"who": who})
            return None
        return TemplateResponse(
            request,
            "admin/reviews/claim/assign_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Assign claims"),
                "form": form,
                "pks": pks,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    # -- the claim page and the workflow views ----------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if request.method in ("GET", "HEAD"):
            claim = self.get_object(request, unquote(object_id))
            if claim is not None:
                extra_context["review"] = review_page(claim, request.user)
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "may_see_sla": request.user.has_perm("reviews.view_sladigest"),
        }
        if is_lead(request.user):
            # A lead's way to the customers' requests: the queue is ordered by SLA deadline, and an
            # associated claim has none, so its flag alone would sit at the end of the list.
            extra_context["end_requests_waiting"] = waiting_count()
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view

        def bound(view: Any) -> Any:
            def call(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                return view(request, self, *args, **kwargs)

            call.__name__ = view.__name__
            return wrap(call)

        name = "claims_claim_"
        return [
            path("sla/", bound(views.sla_overview), name=name + "sla"),
            path("<int:object_id>/review/<slug:action>/", bound(views.transition), name=name + "transition"),
            path("<int:object_id>/comment/", bound(views.comment), name=name + "comment"),
            path("<int:object_id>/checklist/", bound(views.checklist), name=name + "checklist"),
            path("<int:object_id>/assign/", bound(views.assign), name=name + "assign"),
            path(
                "<int:object_id>/end-request/decline/",
                bound(views.decline_end_request),
                name=name + "decline_end_request",
            ),
            *(
                path(
                    f"<int:object_id>/{panel.path}/", bound(views.panel_action(panel)), name=name + panel.name
                )
                for panel in claim_page_panels()
                if panel.act is not None
            ),
            path(
                "<int:object_id>/documents/<int:document_id>/",
                bound(views.document),
                name=name + "document",
            ),
            *super().get_urls(),
        ]


# ---------------------------------------------------------------------------------------------
# History and the digest log: read-only


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClaimEvent)
class ClaimEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "claim",
        "actor_kind",
        "actor",
        "action",
        "from_status_label",
        "to_status_label",
    )
    list_filter = ("action", "actor_kind")
    list_select_related = ("claim", "actor")
    # Newest first by id (ids follow creation): the primary key serves the page without a sort.
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False

    @admin.display(description=gettext_lazy("from status"))
    def from_status_label(self, obj: ClaimEvent) -> str:
        return _status_label(obj.from_status)

    @admin.display(description=gettext_lazy("to status"))
    def to_status_label(self, obj: ClaimEvent) -> str:
        return _status_label(obj.to_status)


def _status_label(value: str) -> str:
    return str(S(value).label) if value in S.values else value or "—"


@admin.register(SlaDigest)
class SlaDigestAdmin(ReadOnlyAdmin):
    list_display = ("day", "sent_at", "breached_count", "recipients")
