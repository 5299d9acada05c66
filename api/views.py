"""The portal's "API keys" and "Webhooks" pages, for a partner's Global and Incentives admins.

Other members of the partner (read-only members, Billing admins) get 403; people of no partner 404;
another partner's key or endpoint is 404. A new key's secret, and a new endpoint's signing secret,
is shown once, on the page that answers the POST that created it, never again. Every change is a
POST; the webhook changes go through api.webhooks, which the Partner API calls too.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from api import webhooks
from api.auth import may_manage_keys
from api.forms import ApiKeyForm, WebhookEndpointForm
from api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from claims.models import Membership
from claims.selectors import membership_for


def _key_admin(request: HttpRequest) -> Membership:
    membership = membership_for(request.user)
    if membership is None:
        raise Http404("Not a partner user")
    if not may_manage_keys(membership):
        raise PermissionDenied(_("Only your organization's Global or Incentives admins manage API keys."))
    return membership


def _keys(membership: Membership) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(partner_id=membership.partner_id).select_related("created_by")


@login_required
@require_safe
def key_list(request: HttpRequest) -> HttpResponse:
    membership = _key_admin(request)
    return render(request, "api/api_keys.html", {"keys": list(_keys(membership)), "form": ApiKeyForm()})


@login_required
@require_POST
@never_cache
def key_new(request: HttpRequest) -> HttpResponse:
    membership = _key_admin(request)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return render(
            request, "api/api_keys.html", {"keys": list(_keys(membership)), "form": form}, status=400
        )
    key, secret = ApiKey.issue(
        name=form.cleaned_data["name"],
        partner=membership.partner,
        created_by=request.user,
        scope=form.cleaned_data["scope"],
    )
    return render(request, "api/api_key_created.html", {"key": key, "secret": secret})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _key_admin(request)
    key = _keys(membership).filter(pk=pk).first()
    if key is None:
        raise Http404("No such key")
    if request.method == "POST":
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(
            request, _("The key “%(name)s” is revoked; calls with it are refused.") % {"name": key.name}
        )
        return redirect("api_keys")
    return render(request, "api/api_key_revoke.html", {"key": key})


# ---------------------------------------------------------------------------------------------
# Webhooks

DELIVERIES_PER_PAGE = 25


def _webhook_admin(request: HttpRequest) -> Membership:
    membership = membership_for(request.user)
    if membership is None:
        raise Http404("Not a partner user")
    if not may_manage_keys(membership):
        raise PermissionDenied(_("Only your organization's Global or Incentives admins manage webhooks."))
    return membership


def _endpoint_for(request: HttpRequest, pk: int) -> WebhookEndpoint:
    """The endpoint if it is the admin's partner's; any other is 404, as if it did not exist."""
    membership = _webhook_admin(request)
    endpoint = WebhookEndpoint.objects.filter(partner_id=membership.partner_id, pk=pk).first()
    if endpoint is None:
        raise Http404("No such endpoint")
    return endpoint


def _event_labels() -> dict[str, str]:
    return {code: str(label) for code, label in webhooks.EVENT_TYPES} | {webhooks.TEST_EVENT: _("Test event")}


def _endpoint_form(data: object = None) -> WebhookEndpointForm:
    return WebhookEndpointForm(data, event_types=webhooks.EVENT_TYPES)


@login_required
@require_safe
def webhook_list(request: HttpRequest) -> HttpResponse:
    membership = _webhook_admin(request)
    # The latest attempted delivery of each endpoint, in two queries however many endpoints.
    latest = (
        WebhookDelivery.objects.filter(endpoint_id=OuterRef("pk"), attempts__gt=0)
        .order_by("-last_attempt_at", "-id")
        .values("pk")[:1]
    )
    endpoints = list(
        WebhookEndpoint.objects.filter(partner_id=membership.partner_id)
        .annotate(last_delivery_id=Subquery(latest))
        .order_by("created_at", "id")
    )
    last_ids = [endpoint.last_delivery_id for endpoint in endpoints if endpoint.last_delivery_id]
    last_by_id = {
        delivery.pk: delivery
        for delivery in WebhookDelivery.objects.filter(pk__in=last_ids)
        .select_related("event")
        .defer("event__payload")
    }
    labels = _event_labels()
    everything = len(webhooks.EVENT_TYPES)
    for endpoint in endpoints:
        endpoint.last_delivery = last_by_id.get(endpoint.last_delivery_id)
        endpoint.event_labels = [labels.get(code, code) for code in endpoint.event_types]
        endpoint.subscribes_to_all = len(set(endpoint.event_types)) >= everything
    return render(request, "api/webhooks.html", {"endpoints": endpoints})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def webhook_new(request: HttpRequest) -> HttpResponse:
    membership = _webhook_admin(request)
    if request.method != "POST":
        return render(request, "api/webhook_form.html", {"form": _endpoint_form()})
    form = _endpoint_form(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = webhooks.create_endpoint(
                partner=membership.partner,
                by=request.user,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(
                request,
                "api/webhook_created.html",
                {"endpoint": endpoint, "secret": secret, "timeout": settings.CPOR_WEBHOOK_TIMEOUT},
            )
    return render(request, "api/webhook_form.html", {"form": form}, status=400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_for(request, pk)
    if request.method == "POST":
        webhooks.delete_endpoint(endpoint, by=request.user)
        messages.success(
            request, _("The endpoint %(url)s is deleted; it receives no more events.") % {"url": endpoint.url}
        )
        return redirect("webhooks")
    return render(request, "api/webhook_delete.html", {"endpoint": endpoint})


@login_required
@require_POST
def webhook_enable(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_for(request, pk)
    if endpoint.is_active:
        messages.info(request, _("The endpoint %(url)s is already active.") % {"url": endpoint.url})
    else:
        try:
            webhooks.enable_endpoint(endpoint, by=request.user)
        except WebhookEndpoint.DoesNotExist:  # deleted since it was fetched
            raise Http404("No such endpoint") from None
        messages.success(
            request,
            _("The endpoint %(url)s is active again; events waiting for it are sent now.")
            % {"url": endpoint.url},
        )
    return redirect("webhooks")


@login_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_for(request, pk)
    try:
        webhooks.send_test_event(endpoint, by=request.user)
    except IntegrityError:  # the endpoint was deleted since it was fetched
        raise Http404("No such endpoint") from None
    messages.success(
        request,
        _("A test event is on its way to %(url)s. Reload this page in a moment to see how it went.")
        % {"url": endpoint.url},
    )
    return redirect("webhook_deliveries", pk=endpoint.pk)


@login_required
@require_safe
def webhook_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_for(request, pk)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk)
        .select_related("event", "event__claim")
        .defer("event__payload")
        .order_by("-created_at", "-id")
    )
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    labels = _event_labels()
    for delivery in page.object_list:
        delivery.event_label = labels.get(delivery.event.type, delivery.event.type)
    return render(request, "api/webhook_deliveries.html", {"endpoint": endpoint, "page": page})
