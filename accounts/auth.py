"""Signing in: by email, one lockout policy (django-axes) for the portal and the admin.

One canonical form of an email address decides both which account a sign-in is for and which
lock counts it, so no spelling of an address reaches an account past that account's lock:
`bob@contoſo.example` (long s), `rıta@…` (dotless i), `ALICE@…` and fullwidth `ａｌｉｃｅ@…` are
the same address as the plain one, to the lock and to the account lookup alike.

Axes counts failures in the database (`AccessAttempt`), so a Redis outage changes nothing here.
It locks an account at a client address after `AXES_FAILURE_LIMIT` failures, and the address as a
whole after `CPOR_SIGN_IN_FAILURES_PER_IP` failures across all accounts (password spraying), each
for `AXES_COOLOFF_TIME`. The client address comes from `cpor.client_ip`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCK_KEY_LENGTH = 255  # AccessAttempt.username


def canonical_email(value: str) -> str:
    """NFKC, then case folded the way the database's UPPER() and Python's casefold() both agree.

    casefold() alone keeps the dotless ı, which PostgreSQL's UPPER() makes I: folding the upper
    case once more turns it into i, so a lookup can never match an account the lock missed.
    """
    folded = unicodedata.normalize("NFKC", value.strip()).casefold()
    return unicodedata.normalize("NFKC", folded.upper().casefold())


class EmailBackend(ModelBackend):
    """Users sign in with their email address; the username is not shown anywhere.

    The account is the one whose canonical address equals the typed one's. Should two accounts
    share a canonical address, only the exact spelling signs in (never a guess between them).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        typed = kwargs.get("email") or username
        if not typed or password is None:
            return None
        user = _account_for(typed)
        if user is None:
            get_user_model()().set_password(password)  # spend the same time as a real check
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def _account_for(typed: str) -> Any:
    canonical = canonical_email(typed)
    # The database narrows (iexact is ASCII-only on SQLite, UPPER() on PostgreSQL); Python decides.
    candidates = [
        user
        for user in get_user_model()
        .objects.filter(Q(email__iexact=canonical) | Q(email__iexact=typed.strip()))
        .order_by("pk")[:10]
        if canonical_email(user.email) == canonical
    ]
    if len(candidates) == 1:
        return candidates[0]
    exact = [user for user in candidates if user.email == typed.strip()]
    return exact[0] if len(exact) == 1 else None


# ---------------------------------------------------------------------------------------------
# django-axes hooks (named in settings)


def lockout_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the canonical address a sign-in names (the lock's key)."""
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username")
    return canonical_email(typed)[:LOCK_KEY_LENGTH] if isinstance(typed, str) and typed else None


class SignInAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler with its own limit for the address as a whole.

    `AXES_LOCKOUT_PARAMETERS` lists the account-at-address lock first and the address lock second;
    axes compares one count with one limit, so the address's count is reported on the account
    scale: it reaches `AXES_FAILURE_LIMIT` exactly when the address reaches its own limit.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        account_limit = settings.AXES_FAILURE_LIMIT
        per_account, *per_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        address_failures = max(per_address, default=0)
        if address_failures >= settings.CPOR_SIGN_IN_FAILURES_PER_IP:
            return max(per_account, account_limit)
        return per_account


def locked_out(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page a locked sign-in sees (429, with when to try again)."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
