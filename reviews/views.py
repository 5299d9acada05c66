"""The reviewer's admin views beside the claim page: every change goes through `claims.workflow`.

Each view is mounted by `reviews.admin.ClaimAdmin.get_urls` behind `admin_site.admin_view` (staff
only, CSRF-checked, never cached). A view fetches the claim (never a draft), checks that the user
is a reviewer, validates a form, makes one workflow call and redirects back with a message. A GET
never changes anything; a refusal (someone acted first, a rule) is a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csp.decorators import csp_replace
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from claims import workflow
from claims.contributions import ClaimPagePanel
from claims.documents import serve
from claims.models import Claim, Fact, PoeDocument, is_reviewer
from claims.workflow import TransitionRefused
from reviews.checklist import checklist_of, save_checklist
from reviews.claim_page import (
    INPUT_FORMS,
    PREVIEW_KINDS,
    action_label,
    unmet_condition,
    verb_label,
)
from reviews.competing import competing_claims
from reviews.end_requests import end_requests_of, waiting_count
from reviews.forms import AssignForm, ChecklistForm, CommentForm, DeclineEndRequestForm
from reviews.sla import overview

S = Claim.Status


def change_url(pk: int) -> str:
    return reverse("admin:claims_claim_change", args=[pk])


def _back(pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(change_url(pk))


def _require_reviewer(request: HttpRequest) -> None:
    if not is_reviewer(request.user):
        raise PermissionDenied


def _claim(pk: int) -> Claim:
    """A claim reviewers may see: anything submitted (a partner's draft is the partner's alone)."""
    return get_object_or_404(
        Claim.for_reviewers().select_related("partner", "mpn", "assigned_reviewer"), pk=pk
    )


def _errors(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _form_errors(form: forms.Form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _context(request: HttpRequest, model_admin: admin.ModelAdmin, claim: Claim | None, **extra: Any) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": Claim._meta,
        "claim": claim,
        **extra,
    }


# ---------------------------------------------------------------------------------------------
# Transitions


def transition(
    request: HttpRequest, model_admin: admin.ModelAdmin, object_id: int, action: str
) -> HttpResponse:
    """GET: the form of a transition that needs input. POST: make the transition.

    The POST carries the status the reviewer saw (`seen_status`); when the claim moved on since,
    the button is stale and is refused even if the transition would be possible again, so nobody
    decides on a page that no longer shows the claim as it is.
    """
    _require_reviewer(request)
    if action not in Claim.actions_with(Fact.REVIEWER_BUTTON):
        raise Http404
    claim = _claim(object_id)
    form_class = INPUT_FORMS.get(action)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    if request.method != "POST":
        if form_class is None:
            return _back(claim.pk)
        if action not in workflow.allowed_actions(claim, request.user):
            messages.error(request, _refusal(claim, action))
            return _back(claim.pk)
        unmet = unmet_condition(claim, action)
        if unmet is not None:
            messages.error(request, unmet)
            return _back(claim.pk)
        initial: dict[str, Any] = {}
        if action == "request_information":
            initial["reasons"] = checklist_of(claim).failed
        return _transition_form(request, model_admin, claim, action, form_class(initial=initial))

    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        return _transition_form(request, model_admin, claim, action, form)
    details = form.details() if form is not None else {}
    try:
        workflow.transition(
            claim.pk,
            action,
            by=request.user,
            # An empty seen_status (a form posted without it) asks for no check.
            expected_status=request.POST.get("seen_status") or None,
            **details,
        )
    except TransitionRefused as exc:
        messages.error(request, str(exc))
        return _back(claim.pk)
    messages.success(
        request, _("Claim #%(pk)s: %(action)s.") % {"pk": claim.pk, "action": action_label(action)}
    )
    return _back(claim.pk)


def _refusal(claim: Claim, action: str) -> str:
    return _("“%(action)s” is not possible for you on this claim now (it is %(status)s).") % {
        "action": verb_label(action),
        "status": claim.get_status_display(),
    }


def _transition_form(
    request: HttpRequest, model_admin: admin.ModelAdmin, claim: Claim, action: str, form: Any
) -> TemplateResponse:
    extra: dict[str, Any] = {}
    if action == "approve":
        # The confirmation names what approving sets off: the consent mail now, and competitors ended.
        extra["supersedes"] = [
            c for c in competing_claims(claim).order_by("pk") if c.status in Claim.supersedable_statuses()
        ]
    if action == "end_association":
        # The lead decides on what the customer asked: the request stands beside the comment field.
        extra["end_request"] = end_requests_of(claim, request.user).pending
    return TemplateResponse(
        request,
        "admin/reviews/transition_form.html",
        _context(
            request,
            model_admin,
            claim,
            title=_("%(action)s: claim #%(pk)s") % {"action": verb_label(action), "pk": claim.pk},
            action=action,
            action_label=verb_label(action),
            form=form,
            **extra,
        ),
    )


# ---------------------------------------------------------------------------------------------
# Comments, checklist, assignment, other apps' panels


@require_POST
def comment(request: HttpRequest, model_admin: admin.ModelAdmin, object_id: int) -> HttpResponse:
    _require_reviewer(request)
    claim = _claim(object_id)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(claim.pk)
    try:
        workflow.add_comment(
            claim.pk, by=request.user, body=form.cleaned_data["body"], partner_visible=form.partner_visible
        )
    except TransitionRefused as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request,
            _("Comment sent to the partner.") if form.partner_visible else _("Internal note added."),
        )
    return _back(claim.pk)


@require_POST
def decline_end_request(request: HttpRequest, model_admin: admin.ModelAdmin, object_id: int) -> HttpResponse:
    """A review lead declines the customer's request to end the association; the customer is mailed
    the reason. The workflow checks that the user is a lead and that a request waits."""
    _require_reviewer(request)
    claim = _claim(object_id)
    form = DeclineEndRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(claim.pk)
    try:
        workflow.decline_end_request(claim.pk, by=request.user, reason=form.cleaned_data["reason"])
    except TransitionRefused as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request,
            _("Claim #%(pk)s: the request to end the association is declined; the customer is told why.")
            % {"pk": claim.pk},
        )
    return _back(claim.pk)


@require_POST
def checklist(request: HttpRequest, model_admin: admin.ModelAdmin, object_id: int) -> HttpResponse:
    _require_reviewer(request)
    claim = _claim(object_id)
    form = ChecklistForm(request.POST)
    if not form.is_valid():
        if form.has_error("__all__", "both"):
            messages.error(request, _form_errors(form))
        else:
            messages.error(request, _("Choose checklist items from the list."))
        return _back(claim.pk)
    try:
        save_checklist(
            claim.pk,
            by=request.user,
            passed=form.cleaned_data["passed"],
            missing=form.cleaned_data["missing"],
        )
    except TransitionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("PoE checklist saved."))
    return _back(claim.pk)


@require_POST
def assign(request: HttpRequest, model_admin: admin.ModelAdmin, object_id: int) -> HttpResponse:
    """Assign to me (`to=me`), or to a review lead's choice of reviewer (empty: nobody)."""
    _require_reviewer(request)
    claim = _claim(object_id)
    if request.POST.get("to") == "me":
        target = request.user
    else:
        form = AssignForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a reviewer from the list."))
            return _back(claim.pk)
        target = form.cleaned_data["reviewer"]
    try:
        workflow.assign_reviewer(claim.pk, by=request.user, to=target)
    except TransitionRefused as exc:
        messages.error(request, str(exc))
    else:
        who = target.email if target is not None else _("nobody")
        messages.success(request, _("Claim #%(pk)s assigned to %(who)s.") % {"pk": claim.pk, "who": who})
    return _back(claim.pk)


def panel_action(panel: ClaimPagePanel) -> Callable[..., HttpResponse]:
    """The view behind a contributed panel's form (`claims.contributions`): the panel acts, this
    view checks the reviewer and the claim first and shows the panel's answer as a message."""
    perform = panel.act
    if perform is None:
        raise ValueError(f"the claim page panel {panel.name!r} has no action")

    @require_POST
    def act(request: HttpRequest, model_admin: admin.ModelAdmin, object_id: int) -> HttpResponse:
        _require_reviewer(request)
        claim = _claim(object_id)
        try:
            done = perform(claim.pk, by=request.user, data=request.POST)
        except TransitionRefused as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, done)
        return _back(claim.pk)

    act.__name__ = panel.name
    return act


# ---------------------------------------------------------------------------------------------
# Documents


# The claim page frames the PDF preview; every other page refuses any frame (DENY, 'none').
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
def document(
    request: HttpRequest, model_admin: admin.ModelAdmin, object_id: int, document_id: int
) -> HttpResponse:
    """A PoE file for a reviewer: inline (`?inline=1`, PDF and images) or as a download.

    Local storage streams the file through this view; S3 answers with a redirect to a short-lived
    pre-signed URL, so the bucket stays private and the web process never carries the bytes.
    """
    _require_reviewer(request)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    doc = get_object_or_404(
        PoeDocument.objects.filter(claim__status__in=Claim.REVIEWER_STATUSES),
        pk=document_id,
        claim_id=object_id,
    )
    inline = request.GET.get("inline") == "1" and doc.kind in PREVIEW_KINDS
    return serve(doc, inline=inline)


# ---------------------------------------------------------------------------------------------
# SLA overview


def sla_overview(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    if not request.user.has_perm("reviews.view_sladigest"):
        raise PermissionDenied
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return TemplateResponse(
        request,
        "admin/reviews/sla_overview.html",
        _context(
            request,
            model_admin,
            None,
            title=_("SLA overview"),
            overview=overview(),
            # Not an SLA, but the leads' other open work: customers waiting for their decision.
            end_requests_waiting=waiting_count(),
        ),
    )
