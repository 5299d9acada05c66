"""The customer's sign-in: a scope in the session, for one tenant, that is not a user's session.

Signing in ends any partner or staff sign-in in the browser (a fresh session, new key) and stores
the scope: the tenant, the address, the language, when it began and when it was last used, with an
HMAC over what it grants, so a scope that was altered, or written by another version of these
rules, is refused. `customer_required` checks it on every page: the tenant must still exist, the
address's domain must still be one of its verified domains, the sign-in must not be idle longer
than `CPOR_CUSTOMER_IDLE_SECONDS` nor older than `CPOR_CUSTOMER_SESSION_SECONDS`, and no user may
have signed in to the same session since (a partner signing in later gets a partner session,
never both).

Partner pages and the admin need a signed-in user; a customer has none, so they refuse it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from claims.models import Tenant, TenantDomain
from consent.models import CustomerSignInLink
from consent.signin import domain_of

SESSION_KEY = "cpor_customer"
_SALT = "consent.customer_session.scope"
# Writing the session on every page would cost a write per view; the idle clock moves by minutes.
_SEEN_RESOLUTION = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Customer:
    """Who is signed in to the portal: an address at one tenant."""

    tenant: Tenant
    email: str
    language: str
    signed_in_at: dt.datetime


def _mac(tenant_pk: int, email: str, language: str, signed_in_at: float) -> str:
    value = f"{tenant_pk}\n{email}\n{language}\n{signed_in_at!r}"
    return salted_hmac(_SALT, value, algorithm="sha256").hexdigest()


def sign_in(request: HttpRequest, link: CustomerSignInLink) -> None:
    """Start the customer's session for the link's tenant and address."""
    # A fresh session: a partner's or reviewer's sign-in in this browser ends (logout() tells
    # Django and django-axes), and the key changes, so a key fixed before is worth nothing after.
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        logout(request)
    else:
        request.session.flush()
    rotate_token(request)  # as Django's login() does: a CSRF token seen before is worth nothing after
    now = timezone.now().timestamp()
    request.session[SESSION_KEY] = {
        "tenant": link.tenant_id,
        "email": link.email,
        "language": link.language,
        "signed_in_at": now,
        "seen_at": now,
        "mac": _mac(link.tenant_id, link.email, link.language, now),
    }


def sign_out(request: HttpRequest) -> None:
    logout(request)


class Problem:
    """Why a scope in the session no longer signs anyone in."""

    TAMPERED = "tampered"
    EXPIRED = "expired"
    TENANT_GONE = "tenant_gone"
    USER_SIGNED_IN = "user_signed_in"


def read(request: HttpRequest) -> tuple[Customer | None, str | None]:
    """(the signed-in customer, None), (None, None) when nobody is, or (None, why it ended)."""
    scope = request.session.get(SESSION_KEY)
    if scope is None:
        return None, None
    try:
        tenant_pk, email, language = int(scope["tenant"]), str(scope["email"]), str(scope["language"])
        signed_in_at, seen_at = float(scope["signed_in_at"]), float(scope["seen_at"])
        mac = str(scope["mac"])
    except (KeyError, TypeError, ValueError):
        return None, Problem.TAMPERED
    if not constant_time_compare(mac, _mac(tenant_pk, email, language, signed_in_at)):
        return None, Problem.TAMPERED
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return None, Problem.USER_SIGNED_IN
    now = timezone.now().timestamp()
    if (
        now - signed_in_at > settings.CPOR_CUSTOMER_SESSION_SECONDS
        or now - seen_at > settings.CPOR_CUSTOMER_IDLE_SECONDS
        or now < signed_in_at
    ):
        return None, Problem.EXPIRED
    domain = (
        TenantDomain.objects.select_related("tenant")
        .filter(tenant_id=tenant_pk, domain=domain_of(email))
        .first()
    )
    if domain is None:
        return None, Problem.TENANT_GONE
    if now - seen_at > _SEEN_RESOLUTION.total_seconds():
        request.session[SESSION_KEY] = {**scope, "seen_at": now}
    started = dt.datetime.fromtimestamp(signed_in_at, tz=dt.UTC)
    return Customer(tenant=domain.tenant, email=email, language=language, signed_in_at=started), None


def ended_page(request: HttpRequest, problem: str) -> HttpResponse:
    """The clear page for a sign-in that no longer holds; the scope is forgotten."""
    request.session.pop(SESSION_KEY, None)
    return render(request, "consent/portal/session_ended.html", {"problem": problem}, status=403)


def sign_in_page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    from consent.forms import CustomerSignInForm

    context.setdefault("form", CustomerSignInForm())
    context.setdefault("minutes", settings.CPOR_CUSTOMER_LINK_MINUTES)
    return render(request, "consent/portal/sign_in.html", context, status=status)


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run the view with `request.customer` set, or answer with the sign-in or the ended page.

    Nobody signed in: the sign-in page (403, so no cache or crawler takes it for the page asked
    for). A scope that no longer holds: the "your sign-in has ended" page (403).
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer, problem = read(request)
        if customer is None:
            if problem is not None:
                return ended_page(request, problem)
            return sign_in_page(request, status=403)
        request.customer = customer  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped
