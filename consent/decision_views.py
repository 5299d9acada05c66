"""The customer's decisions in the portal: decline all or some workloads while the opt-out window is
open, and ask the review team to end an association after it.

Each view fetches the claim through the customer's tenant (`association_for`: another tenant's
claim is a 404), checks the post with a form, and makes the change through the one path. A refusal
(the window closed meanwhile, a stale page, a workload not on the claim) shows the association
page again with the reason and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from claims import workflow
from claims.models import Claim, ClaimEvent
from claims.workflow import CUSTOMER, TransitionRefused
from consent.associations import association_for
from consent.customer_session import customer_required
from consent.decision_forms import DeclineForm, EndRequestForm, refusal_text
from consent.portal import association_context

DECISION_ACTIONS = (
    ClaimEvent.Action.WORKLOADS_DECLINED,
    ClaimEvent.Action.DENY_CONSENT,
)


@never_cache
@require_POST
@customer_required
def decline(request: HttpRequest, claim_id: int) -> HttpResponse:
    customer: Any = request.customer  # type: ignore[attr-defined]
    claim = association_for(customer, claim_id)
    form = DeclineForm(request.POST, claim=claim)
    if not form.is_valid():
        return _again(request, claim_id, decline_form=form)
    declined = form.cleaned_data["declined"]
    try:
        claim = workflow.decline_workloads(
            claim,
            () if form.cleaned_data["decline_all"] else declined,
            decline_all=form.cleaned_data["decline_all"],
            by=CUSTOMER,
            customer_email=customer.email,
            customer_language=customer.language,
            reason=form.cleaned_data["reason"],
            expected_status=form.expected_status,
        )
    except (TransitionRefused, ValidationError) as error:
        return _again(request, claim_id, refusal=refusal_text(error), decline_form=form)
    if claim.status == Claim.Status.REJECTED:
        text = _(
            "You declined the association with %(partner)s. The claim is rejected and the partner "
            "has been told."
        )
    else:
        text = _("You declined %(workloads)s. %(partner)s has been told and keeps the other workloads.")
    names = ", ".join(product.name for product in declined)
    _tell(request, text % {"partner": claim.partner.name, "workloads": names}, _receipt_url(claim))
    return redirect("consent:customer_association", claim.pk)


@never_cache
@require_POST
@customer_required
def request_end(request: HttpRequest, claim_id: int) -> HttpResponse:
    customer: Any = request.customer  # type: ignore[attr-defined]
    claim = association_for(customer, claim_id)
    form = EndRequestForm(request.POST)
    if not form.is_valid():
        return _again(request, claim_id, end_request_form=form)
    try:
        workflow.request_end_association(
            claim,
            by=CUSTOMER,
            customer_email=customer.email,
            language=customer.language,
            reason=form.cleaned_data["reason"],
        )
    except (TransitionRefused, ValidationError) as error:
        return _again(request, claim_id, refusal=refusal_text(error), end_request_form=form)
    messages.success(
        request, _("Your request is with the review team; you will get an email with the decision.")
    )
    return redirect("consent:customer_association", claim.pk)


def _again(request: HttpRequest, claim_id: int, *, refusal: str = "", **forms: Form) -> HttpResponse:
    """The association page as it stands now, with the refusal and the customer's form as posted.

    A refusal is told at the top of the page; so are a form's errors when its form is no longer
    on the page (the window closed, the association ended), where they would otherwise be lost.
    """
    claim = association_for(request.customer, claim_id)  # type: ignore[attr-defined]
    context = association_context(request, claim, **forms)
    if refusal:
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": refusal})
    shown = {
        "decline_form": context["may_decline"],
        "end_request_form": context["may_ask_to_end"] and not context["pending_end_request"],
    }
    for name, form in forms.items():
        if form.errors and not shown[name] and not refusal:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": error})
    return render(request, "consent/portal/association.html", context, status=409 if refusal else 400)


def _receipt_url(claim: Claim) -> str:
    event = (
        ClaimEvent.objects.filter(
            claim=claim, actor_kind=ClaimEvent.ActorKind.CUSTOMER, action__in=DECISION_ACTIONS
        )
        .order_by("-created_at", "-id")
        .first()
    )
    return reverse("consent:customer_receipt", args=[claim.pk, event.pk]) if event else ""


def _tell(request: HttpRequest, text: str, receipt_url: str) -> None:
    if receipt_url:
        text = format_html('{} <a href="{}">{}</a>', text, receipt_url, _("Open the receipt"))
    messages.success(request, text)
