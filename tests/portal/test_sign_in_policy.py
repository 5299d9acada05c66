"""One sign-in policy for the portal and the admin (django-axes, `accounts.auth`): failures counted in
the database per canonical address and client IP, and per client IP; the client IP from
`cpor.client_ip`, trusting X-Forwarded-For only from configured proxies.

Each attack asserts the response, the AccessAttempt rows and that no session was created."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from claims.models import Membership
from tests.factories import PartnerFactory, UserFactory, partner_user, reviewer

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)
LIMIT = 10
ATTACKER = "203.0.113.9"
PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def _pinned_clock() -> Any:
    with time_machine.travel(T0, tick=False) as clock:
        yield clock


def portal(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": email, "password": password}, **extra)


def admin(client: Client, email: str, password: str, **extra: Any) -> Any:
    data = {"username": email, "password": password, "next": reverse("admin:index")}
    return client.post(reverse("admin:login"), data, **extra)


PAGES = {"portal": portal, "admin": admin}


def is_locked_page(response: Any) -> bool:
    return response.status_code == 429 and "Too many failed sign-ins" in response.content.decode()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def signed_in_sessions() -> int:
    """Sessions that hold a signed-in user (reading `client.session` creates empty ones)."""
    return sum("_auth_user_id" in session.get_decoded() for session in Session.objects.all())


def fail(page: Any, client: Client, email: str, times: int, **extra: Any) -> list[Any]:
    return [page(client, email, f"guess-{n}", **extra) for n in range(times)]


def attempts() -> dict[tuple[str | None, str | None], int]:
    rows: dict[tuple[str | None, str | None], int] = {}
    for row in AccessAttempt.objects.all():
        key = (row.username, row.ip_address)
        rows[key] = rows.get(key, 0) + row.failures_since_start
    return rows


@pytest.fixture
def rita() -> Any:
    return reviewer(email="rita@cpor.example", username="rita")


@pytest.fixture
def bob() -> Any:
    return partner_user(
        PartnerFactory(name="Contoso"), Membership.Role.MEMBER, email="bob@contoso.example", username="bob"
    )


@pytest.mark.parametrize(("locking_page", "other_page"), [("portal", "admin"), ("admin", "portal")])
def test_a_lock_earned_at_one_page_holds_at_the_other(rita: Any, locking_page: str, other_page: str) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    responses = fail(PAGES[locking_page], client, "rita@cpor.example", LIMIT)

    assert not any(is_locked_page(r) for r in responses[:-1])
    assert all(r.status_code == 200 for r in responses[:-1])
    assert is_locked_page(responses[-1])
    assert attempts() == {("rita@cpor.example", ATTACKER): LIMIT}
    # The right password, at the other page, is refused while the lock holds.
    for page in (PAGES[other_page], PAGES[locking_page]):
        response = page(client, "rita@cpor.example", PASSWORD)
        assert is_locked_page(response) and response["Retry-After"] == "900"
        assert not signed_in(client)
    assert signed_in_sessions() == 0
    assert attempts() == {("rita@cpor.example", ATTACKER): LIMIT}  # refusals during a lock do not extend it


@pytest.mark.parametrize(
    ("variant", "owner"),
    [
        ("bob@contoſo.example", "bob"),  # long s
        ("BOB@CONTOSO.EXAMPLE", "bob"),
        ("ｂｏｂ@ｃｏｎｔｏｓｏ.ｅｘａｍｐｌｅ", "bob"),  # fullwidth
        ("  Bob@Contoso.Example ", "bob"),
        ("rıta@cpor.example", "rita"),  # dotless i
        ("RITA@cpor.example", "rita"),
        ("ｒｉｔａ@cpor.example", "rita"),
    ],
)
@pytest.mark.parametrize("page", ["portal", "admin"])
def test_every_spelling_of_an_address_counts_against_one_lock_and_cannot_pass_it(
    rita: Any, bob: Any, variant: str, owner: str, page: str
) -> None:
    real = {"bob": bob, "rita": rita}[owner].email
    client = Client(REMOTE_ADDR=ATTACKER)
    # Half the failures with the real address, half with the variant: one count.
    fail(PAGES[page], client, real, LIMIT // 2)
    responses = fail(PAGES[page], client, variant, LIMIT // 2)

    assert is_locked_page(responses[-1])
    assert attempts() == {(real, ATTACKER): LIMIT}
    for spelling in (real, variant):
        for sign_in in PAGES.values():
            assert is_locked_page(sign_in(client, spelling, PASSWORD))
            assert not signed_in(client)
    assert signed_in_sessions() == 0


def test_a_variant_signs_in_to_its_own_account_only(rita: Any) -> None:
    # Two accounts whose addresses differ only by a dotless i (created before the canonical form).
    other = UserFactory(email="rıta@cpor.example", username="rita-dotless", is_staff=True)
    other.set_password("another-secret-77")
    other.save()

    assert portal(Client(), "rıta@cpor.example", PASSWORD).status_code == 200  # rita's password
    assert portal(Client(), "rita@cpor.example", "another-secret-77").status_code == 200
    assert portal(Client(), "RITA@cpor.example", "another-secret-77").status_code == 200
    client = Client()
    assert portal(client, "rita@cpor.example", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(rita.pk)
    client = Client()
    assert portal(client, "rıta@cpor.example", "another-secret-77").status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_a_variant_reaches_the_one_account_it_names(rita: Any) -> None:
    client = Client()
    assert portal(client, "ＲＩＴＡ@cpor.example", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(rita.pk)


def test_another_account_and_another_address_are_not_locked(rita: Any, bob: Any) -> None:
    attacker = Client(REMOTE_ADDR=ATTACKER)
    fail(portal, attacker, "rita@cpor.example", LIMIT)

    assert portal(attacker, "bob@contoso.example", PASSWORD).status_code == 302
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert admin(elsewhere, "rita@cpor.example", PASSWORD).status_code == 302
    assert signed_in(elsewhere)


def test_an_address_spraying_many_accounts_is_locked_as_a_whole(settings: Any, rita: Any, bob: Any) -> None:
    settings.CPOR_SIGN_IN_FAILURES_PER_IP = 12
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(11):
        response = portal(attacker, f"user{n}@contoso.example", "guess")
        assert response.status_code == 200, n
    assert is_locked_page(admin(attacker, "nobody@contoso.example", "guess"))

    # Now no account signs in from there, not even with its right password …
    assert is_locked_page(portal(attacker, "bob@contoso.example", PASSWORD))
    assert is_locked_page(admin(attacker, "rita@cpor.example", PASSWORD))
    assert not signed_in(attacker)
    # … while everyone else still can.
    assert portal(Client(REMOTE_ADDR="192.0.2.44"), "bob@contoso.example", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(rita: Any, _pinned_clock: Any) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    fail(portal, client, "rita@cpor.example", LIMIT)
    _pinned_clock.move_to(T0 + dt.timedelta(minutes=14))
    assert is_locked_page(admin(client, "rita@cpor.example", PASSWORD))

    _pinned_clock.move_to(T0 + dt.timedelta(minutes=15, seconds=1))
    assert admin(client, "rita@cpor.example", PASSWORD).status_code == 302
    assert signed_in(client)


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked_not_the_proxy(
    settings: Any, rita: Any, bob: Any
) -> None:
    settings.CPOR_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = "10.0.0.2"
    attacker = Client(REMOTE_ADDR=proxy)
    # The attacker invents a new left part each time; the proxy appends the address it saw.
    for n in range(LIMIT):
        response = portal(
            attacker, "rita@cpor.example", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}"
        )
    assert is_locked_page(response)
    assert attempts() == {("rita@cpor.example", ATTACKER): LIMIT}

    # Another client through the same proxy signs in to the same account.
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert admin(colleague, "rita@cpor.example", PASSWORD).status_code == 302
    # Through two proxies of ours the client is still the first untrusted address from the right.
    chained = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{ATTACKER}, 10.1.2.3")
    assert is_locked_page(admin(chained, "rita@cpor.example", PASSWORD))


def test_an_untrusted_forwarded_header_is_ignored(settings: Any, rita: Any) -> None:
    settings.CPOR_TRUSTED_PROXIES = ["10.0.0.0/8"]
    attacker = Client(REMOTE_ADDR=ATTACKER)
    # Straight to the app, a new X-Forwarded-For every time: still one client, locked.
    for n in range(LIMIT):
        response = admin(attacker, "rita@cpor.example", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert is_locked_page(response)
    assert attempts() == {("rita@cpor.example", ATTACKER): LIMIT}
    assert is_locked_page(admin(attacker, "rita@cpor.example", PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.5"))

    # Nor can the attacker lock someone else by naming their address.
    victim = "192.0.2.77"
    fail(portal, Client(REMOTE_ADDR="203.0.113.10", HTTP_X_FORWARDED_FOR=victim), "rita@cpor.example", LIMIT)
    assert portal(Client(REMOTE_ADDR=victim), "rita@cpor.example", PASSWORD).status_code == 302


def test_the_lock_page_speaks_turkish(rita: Any) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    client.cookies["django_language"] = "tr"
    responses = fail(admin, client, "rita@cpor.example", LIMIT)

    assert responses[-1].status_code == 429
    html = responses[-1].content.decode()
    assert 'lang="tr"' in html and "Too many failed sign-ins" not in html and "15 dakika" in html


def test_a_successful_sign_in_leaves_no_access_log_row(bob: Any) -> None:
    from axes.models import AccessLog

    client = Client()
    response = portal(client, "bob@contoso.example", PASSWORD)
    assert response.status_code == 302 and signed_in(client)
    assert AccessLog.objects.count() == 0
