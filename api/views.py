"""The portal's "API keys" page: a partner's Global and Incentives admins create, list and revoke keys.

Other members of the partner (read-only members, Billing admins) get 403; people of no partner 404.
A new key's secret is shown once, on the page that answers the POST that created it, never again.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from api.auth import may_manage_keys
from api.forms import ApiKeyForm
from api.models import ApiKey
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
