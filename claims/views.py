"""The partner portal: the Customer Associations dashboard, claim forms, PoE, comments and history.

Every view is thin: fetch the claim through `_claim_for` (scoped to the user's partner, so an
outsider gets 404), validate a form, make one `claims.workflow` call, redirect with a message.
A refusal (`TransitionRefused`) or a rule broken (`ValidationError`) is shown on the page with a
4xx status, never a 500, and changes nothing. GET never changes anything; actions are POST-only.
"""

from __future__ import annotations

import csv
import hashlib
import math
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from claims import documents, selectors, workflow
from claims.forms import (
    AREA_HELP,
    ClaimForm,
    CommentForm,
    DashboardFilterForm,
    DisputeForm,
    LanguageForm,
    ResubmitForm,
    SolutionAreaForm,
    SubmitForm,
    UploadForm,
    WithdrawForm,
)
from claims.models import Claim, Membership, SolutionArea
from claims.password_reset import OutboxPasswordResetForm
from claims.poe_template import poe_template_docx
from claims.workflow import TransitionRefused
from cpor.client_ip import client_ip
from cpor.ratelimit import hit

S = Claim.Status
PANEL_ACTIONS = ("edit", "submit", "dispute", "copy", "withdraw", "delete")
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
PASSWORD_RESETS_PER_IP = 10  # per 15 minutes: enough for people, too few to flood inboxes


# ---------------------------------------------------------------------------------------------
# Scoped fetches


def _membership(request: HttpRequest) -> Membership:
    membership = selectors.membership_for(request.user)
    if membership is None:
        raise Http404("Not a partner user")
    return membership


def _claim_for(request: HttpRequest, pk: int) -> tuple[Claim, Membership]:
    """The claim if it belongs to the user's partner; 404 for everybody else."""
    membership = _membership(request)
    claim = selectors.claim_for_partner(membership.partner_id, pk)
    if claim is None:
        raise Http404("No such claim")
    return claim, membership


def _managed_claim(request: HttpRequest, pk: int) -> tuple[Claim, Membership]:
    """As `_claim_for`, for a user who may change claims (read-only members get 403)."""
    claim, membership = _claim_for(request, pk)
    _require_manager(membership)
    return claim, membership


def _require_manager(membership: Membership) -> None:
    if not membership.can_manage_claims:
        raise PermissionDenied(_("Your role is read-only: ask one of your organization's admins."))


def _is_xhr(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


# ---------------------------------------------------------------------------------------------
# Home and the dashboard


def home(request: HttpRequest) -> HttpResponse:
    """Partner users land on their dashboard; others see what CPOR is and where to sign in."""
    if selectors.membership_for(request.user) is not None:
        return dashboard(request)
    return render(request, "home.html", {"membership": None})


def _filter_form(request: HttpRequest) -> DashboardFilterForm:
    return DashboardFilterForm(request.GET, products=selectors.products_for_filter())


CHART_BAR = 290  # units of the longest bar (each bar is drawn in a box of this width)


# The dashboard below its header, cached for CPOR_PAGE_CACHE_SECONDS (a minute) per partner, claims
# version, role, language, time zone, status, sort and page (the first few): the partner's claims
# version changes with every change the page shows (the workflow bumps it:
# `claims.workflow.events.claims_changed`), and the time slot in the key bounds what only time
# changes (a deadline's words, a subscription imported into the registry that makes a draft ready)
# to that time. Other filters render uncached.
DASHBOARD_CACHED_PAGES = 5
DASHBOARD_CACHED_PARAMETERS = frozenset({"status", "sort", "page"})


def _page_key(page: str, membership: Membership, *parts: str) -> str | None:
    """The cache key of a page body of `membership`'s partner: its claims version, the role, the
    language, the time zone and the time slot, then the page's own `parts`. None: the cache is off."""
    if settings.CPOR_PAGE_CACHE_SECONDS <= 0:
        return None
    return ":".join(
        (
            f"cpor:{page}",
            str(membership.partner_id),
            str(membership.partner.claims_version),
            membership.role,
            translation.get_language() or "",
            timezone.get_current_timezone_name(),
            _time_slot(),
            *parts,
        )
    )


def _time_slot() -> str:
    """The current slot of CPOR_PAGE_CACHE_SECONDS: a cached page is used within its slot only."""
    return str(int(timezone.now().timestamp() // settings.CPOR_PAGE_CACHE_SECONDS))


def _left_in_slot() -> int:
    """Seconds until the current slot ends: a page cached in it is kept no longer (after that no key
    can name it)."""
    seconds = settings.CPOR_PAGE_CACHE_SECONDS
    return max(1, math.ceil(seconds - timezone.now().timestamp() % seconds))


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    membership = selectors.membership_for(request.user)
    if membership is None:
        return render(request, "claims/not_a_partner.html", status=403)
    form = _filter_form(request)
    filters = form.filters()
    key = _dashboard_key(request, form, filters, membership)
    body = cache.get(key) if key else None
    if body is None:
        body = _dashboard_body(request, membership, form, filters)
        if key:
            cache.set(key, body, _left_in_slot())
    return render(request, "claims/dashboard.html", {"membership": membership, "body": mark_safe(body)})  # noqa: S308 -- our own rendering


def _dashboard_key(
    request: HttpRequest,
    form: DashboardFilterForm,
    filters: selectors.DashboardFilters,
    membership: Membership,
) -> str | None:
    """The cache key of the dashboard's body, or None when it is rendered uncached: a request with
    any parameter but a valid status, sort and one of the first pages (so a client inventing URLs
    cannot fill the cache; each cached state has one spelling)."""
    if (
        form.errors
        or not set(request.GET) <= DASHBOARD_CACHED_PARAMETERS
        or any(len(request.GET.getlist(name)) > 1 for name in request.GET)
        or not 1 <= filters.page <= DASHBOARD_CACHED_PAGES
    ):
        return None
    return _page_key("dashboard", membership, filters.status, filters.sort, str(filters.page))


def _dashboard_body(
    request: HttpRequest,
    membership: Membership,
    form: DashboardFilterForm,
    filters: selectors.DashboardFilters,
) -> str:
    board = selectors.dashboard(membership.partner_id, filters, version=membership.partner.claims_version)
    query = request.GET.copy()
    query.pop("page", None)
    return render_to_string(
        "claims/dashboard_body.html",
        {
            "membership": membership,
            "form": form,
            "filters": filters,
            "board": board,
            "needs": selectors.needs_attention(membership.partner_id),
            "statuses": _status_entries(board, query),
            # The filter form's HTML depends on the filters, the language and the catalogue: cached
            # for the few filter states that have one spelling (see _filter_form_key).
            "filter_form_key": _filter_form_key(request, form),
            "products_key": hashlib.md5(repr(form.products).encode(), usedforsecurity=False).hexdigest(),
            "chart_bar": CHART_BAR,
            "export_query": query.urlencode(),
            "previous_query": _page_query(query, board.page - 1),
            "next_query": _page_query(query, board.page + 1),
            "filtered": any(request.GET.get(name) for name in form.fields if name not in ("page", "sort")),
        },
        request,
    )


CACHED_FILTERS = ("status", "sort")


def _filter_form_key(request: HttpRequest, form: DashboardFilterForm) -> str | None:
    """The filter form's cache key: its cleaned status and sort, or None (not cached).

    Only a form without errors whose other fields are empty is cached, so the key space is the
    statuses times the sort orders whatever URLs a client invents (junk parameters, free text,
    dates, invalid values all render uncached), and a key never stands for HTML that shows
    something else: a valid choice is spelled one way only.
    """
    # The page number is a hidden field, not part of the form's HTML.
    ignored = (*CACHED_FILTERS, "page")
    if form.errors or any(request.GET.get(name) for name in form.fields if name not in ignored):
        return None
    return ":".join(f"{name}={form.cleaned_data.get(name) or ''}" for name in CACHED_FILTERS)


def _page_query(query: Any, page: int) -> str:
    query = query.copy()
    query["page"] = str(page)
    return query.urlencode()


def _status_entries(board: selectors.Dashboard, query: Any) -> list[dict[str, Any]]:
    """Each status with the link that filters on it and its bar in the chart (drawn server-side)."""
    most = max((c.count for c in board.counts), default=0)
    entries = []
    for entry in board.counts:
        link = query.copy()
        link["status"] = entry.status
        width = round(CHART_BAR * entry.count / most) if most else 0
        entries.append(
            {
                "status": entry.status,
                "label": entry.label,
                "count": entry.count,
                "count_text": number_format(entry.count, 0, force_grouping=True),
                "href": "?" + link.urlencode(),
                "width": width,
            }
        )
    return entries


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_safe
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    membership = _membership(request)
    filters = _filter_form(request).filters()
    language = translation.get_language()
    zone = timezone.get_default_timezone()

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        with translation.override(language):
            yield "\ufeff" + writer.writerow(
                [
                    _("Claim ID"),
                    _("Claim name"),
                    _("Status"),
                    _("Customer"),
                    _("Domain"),
                    _("Tenant ID"),
                    _("Products"),
                    _("Activity"),
                    _("Solution area"),
                    _("MPN ID"),
                    _("Created"),
                    _("Submitted"),
                    _("Next deadline"),
                    _("Deadline"),
                ]
            )
            now = timezone.now()
            for claim, products in selectors.export_rows(membership.partner_id, filters):
                deadline = selectors.next_deadline(claim, now)
                yield writer.writerow(
                    _cell(v)
                    for v in (
                        claim.pk,
                        claim.name,
                        claim.get_status_display(),
                        claim.customer_name,
                        claim.customer_domain,
                        claim.customer_tenant_id,
                        "; ".join(p.name for p in products),
                        claim.get_activity_display(),
                        claim.get_solution_area_display(),
                        claim.mpn.number,
                        claim.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                        claim.submitted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                        if claim.submitted_at
                        else "",
                        deadline.words if deadline else "",
                        deadline.at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if deadline else "",
                    )
                )

    stamp = timezone.now().strftime("%Y%m%d")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customer-associations-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------------------------------
# New claim and edit


def _area_from(values: Any) -> str | None:
    area = values.get("solution_area")
    return area if area in SolutionArea.values else None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def claim_new(request: HttpRequest) -> HttpResponse:
    """Step one chooses the solution area (a GET form); step two holds the fields that fit it."""
    membership = _membership(request)
    _require_manager(membership)
    source = request.POST if request.method == "POST" else request.GET
    area = _area_from(source)
    if area is None:
        area_form = SolutionAreaForm(source if "solution_area" in source else None)
        status = 400 if area_form.is_bound else 200
        return render(
            request, "claims/claim_new_area.html", {"form": area_form, "area_help": AREA_HELP}, status=status
        )
    instance = Claim(partner=membership.partner, solution_area=area)
    if request.method != "POST":
        form = ClaimForm(
            instance=instance,
            membership=membership,
            area=area,
            initial={"partner_contact_email": request.user.email},
        )
        return render(request, "claims/claim_form.html", _form_context(form, area, None))
    form = ClaimForm(request.POST, instance=instance, membership=membership, area=area)
    if form.is_valid():
        fields = form.changes()
        products = fields.pop("products")
        try:
            claim = workflow.create_claim(by=request.user, fields=fields, products=products)
        except ValidationError as exc:
            form.add_workflow_error(exc)
        else:
            messages.success(
                request, _("Your claim is saved as a draft. Upload the proof of execution next.")
            )
            return redirect("claims:detail", pk=claim.pk)
    return render(request, "claims/claim_form.html", _form_context(form, area, None), status=400)


def _form_context(form: ClaimForm, area: str, claim: Claim | None) -> dict[str, Any]:
    return {
        "form": form,
        "area": area,
        "area_label": SolutionArea(area).label,
        "claim": claim,
        "can_change_area": "solution_area" in form.fields,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def claim_edit(request: HttpRequest, pk: int) -> HttpResponse:
    claim, membership = _managed_claim(request, pk)
    refusal = claim.edit_refusal()
    if refusal:
        return _claim_page(request, claim, membership, status=409, refusal=refusal)
    editable = claim.editable_fields()
    area = claim.solution_area
    if "solution_area" in editable:
        area = _area_from(request.POST if request.method == "POST" else request.GET) or area
    if request.method != "POST":
        form = ClaimForm(instance=claim, membership=membership, area=area, editable=editable)
        return render(request, "claims/claim_form.html", _form_context(form, area, claim))
    form = ClaimForm(request.POST, instance=claim, membership=membership, area=area, editable=editable)
    if form.is_valid():
        try:
            workflow.edit_claim(claim.pk, by=request.user, changes=form.changes())
        except ValidationError as exc:
            form.add_workflow_error(exc)
        except TransitionRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect("claims:detail", pk=claim.pk)
    return render(request, "claims/claim_form.html", _form_context(form, area, claim), status=400)


# ---------------------------------------------------------------------------------------------
# The claim page and its actions


# The claim page below its header, cached for CPOR_PAGE_CACHE_SECONDS per user, role, claim,
# partner claims version, language and time zone, as the dashboard: every change the page shows
# bumps the version (transitions, sweeps, edits, documents, comments, assessments, customers' end
# requests). Its forms' CSRF token is not cached: a random slot stands for it, stored beside the
# body and replaced for each request. A page answering a posted form (its errors, a refusal) is
# never cached.


@login_required
@require_safe
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership(request)
    key = _page_key("claim-page", membership, str(pk), str(request.user.pk))
    cached = cache.get(key) if key else None
    if cached is not None:
        name, slot, body = cached
        return _claim_response(request, pk, name, body, slot)
    claim = selectors.claim_for_partner(membership.partner_id, pk, for_page=True)
    if claim is None:
        raise Http404("No such claim")
    slot = _csrf_slot()
    body = _claim_body(request, claim, membership, csrf_slot=slot)
    if key:
        cache.set(key, (claim.name, slot, body), _left_in_slot())
    return _claim_response(request, claim.pk, claim.name, body, slot)


def _csrf_slot() -> str:
    """What stands for the CSRF token in a claim page's body until the response: random for each
    rendering, so no text a partner writes into a claim can spell it."""
    return f"csrf-slot-{secrets.token_hex(16)}"


def _claim_response(
    request: HttpRequest, pk: int, name: str, body: str, csrf_slot: str, *, status: int = 200
) -> HttpResponse:
    body = body.replace(csrf_slot, get_token(request))
    return render(
        request,
        "claims/claim_detail.html",
        {"claim_pk": pk, "claim_name": name, "body": mark_safe(body)},  # noqa: S308 -- our own rendering
        status=status,
    )


def _claim_page(
    request: HttpRequest,
    claim: Claim,
    membership: Membership,
    *,
    status: int = 200,
    refusal: str = "",
    **forms: Any,
) -> HttpResponse:
    slot = _csrf_slot()
    body = _claim_body(request, claim, membership, csrf_slot=slot, refusal=refusal, **forms)
    return _claim_response(request, claim.pk, claim.name, body, slot, status=status)


def _claim_body(
    request: HttpRequest,
    claim: Claim,
    membership: Membership,
    *,
    csrf_slot: str,
    refusal: str = "",
    **forms: Any,
) -> str:
    manager = membership.can_manage_claims
    page = selectors.claim_page(claim, assessment_reasons=manager)
    actions = set(workflow.allowed_actions(claim, request.user)) if manager else set()
    # The state machine says which transitions this user may start; the claim says what else may
    # be done to it. Only the manager question is the page's own.
    offers = {
        "submit": "submit" in actions,
        "resubmit": "resubmit" in actions,
        "withdraw": "withdraw" in actions,
        "dispute": "dispute" in actions and claim.is_disputable,
        "copy": manager and claim.may_copy,
        "delete": manager and claim.may_delete,
        "edit": manager and not claim.edit_refusal(),
        # Answering an information request is one form (answer, PoE, resubmit): no second box.
        "upload": manager and claim.may_add_documents and "resubmit" not in actions,
        "remove_document": manager and claim.may_remove_documents,
        "comment": manager and claim.may_partner_comment and "resubmit" not in actions,
    }
    context = {
        "membership": membership,
        "page": page,
        "claim": claim,
        "offers": offers,
        # The "What you can do now" panel shows only these: never an empty panel.
        "any_action": any(offers[name] for name in PANEL_ACTIONS),
        "refusal": refusal,
        "submission_problems": claim.submission_problems() if offers["submit"] else [],
        "submit_form": forms.get("submit_form") or SubmitForm(),
        "resubmit_form": forms.get("resubmit_form") or ResubmitForm(),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
        "dispute_form": forms.get("dispute_form") or DisputeForm(),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "upload_form": forms.get("upload_form") or UploadForm(),
        "max_bytes": settings.CPOR_POE_MAX_BYTES,
        "max_files": settings.CPOR_POE_MAX_FILES,
        "csrf_token": csrf_slot,  # the token is put in by _claim_response
    }
    return render_to_string("claims/claim_detail_body.html", context, request)


def _act(
    request: HttpRequest,
    claim: Claim,
    membership: Membership,
    action: Callable[[], Any],
    *,
    success: str,
    form_name: str,
    form: Any,
    next_url: str | None = None,
) -> HttpResponse:
    """Run one workflow call; on success redirect with `success`, otherwise show the page with why."""
    try:
        result = action()
    except TransitionRefused as exc:
        return _claim_page(request, claim, membership, status=409, refusal=str(exc), **{form_name: form})
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return _claim_page(request, claim, membership, status=400, **{form_name: form})
    messages.success(request, success)
    if next_url is None:
        next_url = reverse("claims:detail", args=[getattr(result, "pk", None) or claim.pk])
    return HttpResponseRedirect(next_url)


def _invalid(
    request: HttpRequest, claim: Claim, membership: Membership, form_name: str, form: Any
) -> HttpResponse:
    return _claim_page(request, claim, membership, status=400, **{form_name: form})


def _seen_status(request: HttpRequest) -> str | None:
    """The status the claim page showed when the partner acted: its action forms send it, so an
    action on a claim that moved on since is refused (`expected_status`) instead of applied to a
    state the partner never saw. None (no check) when a form was posted without it."""
    return request.POST.get("seen_status") or None


def _form_action(
    request: HttpRequest,
    pk: int,
    form_class: type[Any],
    form_name: str,
    run: Callable[[Claim, dict[str, Any]], Any],
    *,
    success: str,
    next_url: str | None = None,
) -> HttpResponse:
    """A claim-page action: scoped fetch, the action's form, the workflow call, redirect or errors."""
    claim, membership = _managed_claim(request, pk)
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid(request, claim, membership, form_name, form)
    return _act(
        request,
        claim,
        membership,
        lambda: run(claim, form.cleaned_data),
        success=success,
        form_name=form_name,
        form=form,
        next_url=next_url,
    )


def _transition_action(
    request: HttpRequest,
    pk: int,
    action: str,
    form_class: type[Any],
    details: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    success: str,
) -> HttpResponse:
    """A claim-page transition: its form's `details` go through the one path, guarded by the status
    the page showed (`_seen_status`)."""
    return _form_action(
        request,
        pk,
        form_class,
        f"{action}_form",
        lambda claim, data: workflow.transition(
            claim.pk, action, by=request.user, expected_status=_seen_status(request), **details(data)
        ),
        success=success,
    )


@login_required
@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition_action(
        request,
        pk,
        "submit",
        SubmitForm,
        lambda data: {},
        success=_("Your claim is submitted. Review should start within five business days."),
    )


@login_required
@require_POST
def resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition_action(
        request,
        pk,
        "resubmit",
        ResubmitForm,
        lambda data: {"comment": data["comment"], "documents": data["files"]},
        success=_("Your claim is back with the reviewer."),
    )


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition_action(
        request,
        pk,
        "withdraw",
        WithdrawForm,
        lambda data: {"reason": data["reason"], "comment": data["comment"]},
        success=_("The claim is withdrawn."),
    )


@login_required
@require_POST
def dispute(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition_action(
        request,
        pk,
        "dispute",
        DisputeForm,
        lambda data: {"justification": data["justification"], "documents": data["files"]},
        success=_("Your dispute is sent. A review lead answers within five business days."),
    )


@login_required
@require_POST
def add_comment(request: HttpRequest, pk: int) -> HttpResponse:
    claim, _membership = _claim_for(request, pk)
    if claim.status == S.PARTNER_ACTION_REQUIRED:
        # A comment does not answer the request: the claim waits on the partner until resubmitted.
        deadline = selectors.next_deadline(claim)
        success = _(
            "Your comment is posted, but the claim still waits on you: it goes back to the reviewer "
            "only when you resubmit, by %(deadline)s. Resubmit below."
        ) % {"deadline": _when(deadline.at) if deadline else "—"}
        next_url = reverse("claims:detail", args=[pk]) + "#answer"
    else:
        success = _("Your comment is posted; the reviewer is told by email.")
        next_url = reverse("claims:detail", args=[pk]) + "#comments"
    return _form_action(
        request,
        pk,
        CommentForm,
        "comment_form",
        lambda claim, data: workflow.add_comment(claim.pk, by=request.user, body=data["body"]),
        success=success,
        next_url=next_url,
    )


def _when(at: Any) -> str:
    local = timezone.localtime(at)
    return f"{date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"


@login_required
@require_POST
def copy(request: HttpRequest, pk: int) -> HttpResponse:
    claim, membership = _managed_claim(request, pk)
    try:
        new = workflow.copy_claim(claim.pk, by=request.user)
    except (TransitionRefused, ValidationError) as exc:
        message = str(exc) if isinstance(exc, TransitionRefused) else " ".join(exc.messages)
        return _claim_page(request, claim, membership, status=409, refusal=message)
    messages.success(
        request, _("A new draft is started from claim #%(pk)s. Check it and add new PoE.") % {"pk": pk}
    )
    return redirect("claims:edit", pk=new.pk)


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    claim, membership = _managed_claim(request, pk)
    try:
        workflow.delete_draft(claim.pk, by=request.user)
    except TransitionRefused as exc:
        return _claim_page(request, claim, membership, status=409, refusal=str(exc))
    messages.success(request, _("The draft “%(name)s” is deleted.") % {"name": claim.name})
    return redirect("claims:dashboard")


# ---------------------------------------------------------------------------------------------
# Documents


@login_required
@require_POST
def upload_documents(request: HttpRequest, pk: int) -> HttpResponse:
    """Store each file through the workflow; a JavaScript upload gets JSON, a plain form a page."""
    claim, membership = _managed_claim(request, pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        if _is_xhr(request):
            return JsonResponse(
                {"uploaded": [], "errors": [str(e) for e in form.errors.get("files", [])]}, status=400
            )
        return _invalid(request, claim, membership, "upload_form", form)
    uploaded: list[str] = []
    errors: list[str] = []
    for upload in form.cleaned_data["files"]:
        try:
            document = workflow.add_document(claim.pk, by=request.user, upload=upload)
        except ValidationError as exc:
            errors.extend(exc.messages)
        except TransitionRefused as exc:
            if _is_xhr(request):
                return JsonResponse({"uploaded": uploaded, "errors": [str(exc)]}, status=409)
            return _claim_page(request, claim, membership, status=409, refusal=str(exc))
        else:
            uploaded.append(document.original_name)
    if uploaded:
        # The script uploads file by file and then reloads the page, which shows the message too.
        messages.success(request, _("Uploaded: %(names)s.") % {"names": ", ".join(uploaded)})
    if _is_xhr(request):
        return JsonResponse(
            {"uploaded": uploaded, "errors": errors}, status=200 if uploaded or not errors else 400
        )
    if errors and not uploaded:
        for error in errors:
            form.add_error("files", error)
        return _invalid(request, claim, membership, "upload_form", form)
    for error in errors:
        messages.error(request, error)
    return redirect(reverse("claims:detail", args=[claim.pk]) + "#documents")


@login_required
@require_POST
def remove_document(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    claim, membership = _managed_claim(request, pk)
    try:
        workflow.remove_document(claim.pk, by=request.user, document_id=document_pk)
    except TransitionRefused as exc:
        return _claim_page(request, claim, membership, status=409, refusal=str(exc))
    messages.success(request, _("The document is removed."))
    return redirect(reverse("claims:detail", args=[claim.pk]) + "#documents")


@login_required
@require_http_methods(["GET", "HEAD"])
@never_cache
def download_document(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    """Only members of the claim's partner; S3 answers with a short pre-signed link, a folder streams."""
    membership = _membership(request)
    document = selectors.document_for_partner(membership.partner_id, pk, document_pk)
    if document is None:
        raise Http404("No such document")
    return documents.serve(document)


@login_required
@require_safe
def poe_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        poe_template_docx(),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    language = translation.get_language() or settings.LANGUAGE_CODE
    response["Content-Disposition"] = f'attachment; filename="cpor-poe-template-{language}.docx"'
    return response


# ---------------------------------------------------------------------------------------------
# Language and password reset


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the language and remember it for a year in this browser."""
    form = LanguageForm(request.POST)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if form.is_valid():
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            form.cleaned_data["language"],
            max_age=LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE or request.is_secure(),
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
        )
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset-by-email, in our layout and language, with a limit per network address."""

    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("claims:password_reset_done")
    # The mail goes through the outbox (an SMTP outage delays it); its link is minted when sent.
    form_class = OutboxPasswordResetForm

    def form_valid(self, form: Any) -> HttpResponse:
        if not hit(
            "password-reset",
            client_ip(self.request) or "unknown",
            limit=PASSWORD_RESETS_PER_IP,
            window_seconds=900,
        ):
            form.add_error(
                None, _("Too many reset requests from your network. Wait 15 minutes and try again.")
            )
            return self.form_invalid(form)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("claims:password_reset_complete")
