"""Two POSTs of one sign-in link at the same moment: exactly one signs in (PostgreSQL, real commits).

The link's row is locked and marked used in one transaction, so the second request waits for the
first and then finds the link used. 30 rounds, two threads each, released together by a barrier.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from consent import signin
from consent.models import CustomerSignInLink
from tests.consent.portal_helpers import ask_for_link, delivered_link, tenant

ROUNDS = 30

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_posts_of_one_link_sign_in_once(settings) -> None:
    settings.CPOR_CUSTOMER_SIGN_IN_RATE_LIMIT = settings.CPOR_CUSTOMER_LINK_RATE_LIMIT = 1000
    tenant("Northwind Traders", "northwind.example")
    for round_number in range(ROUNDS):
        email = f"user{round_number}@northwind.example"
        ask_for_link(Client(), email)
        path, _token = delivered_link(email)
        barrier = threading.Barrier(2, timeout=30)
        codes: list[int] = []
        crashes: list[BaseException] = []

        def post(
            path: str = path,
            barrier: threading.Barrier = barrier,
            codes: list[int] = codes,
            crashes: list[BaseException] = crashes,
        ) -> None:
            try:
                client = Client()
                barrier.wait()
                codes.append(client.post(path).status_code)
            except BaseException as exc:
                crashes.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not crashes, crashes
        assert sorted(codes) == [302, 410], (round_number, codes)
    assert CustomerSignInLink.objects.filter(used_at__isnull=False).count() == ROUNDS


def test_two_requests_for_one_address_checked_at_once_leave_one_usable_link(settings) -> None:
    # The tasks lock the tenant: whichever runs first, only the newest request is mailed and signs in.
    settings.CPOR_CUSTOMER_SIGN_IN_RATE_LIMIT = 1000
    tenant("Northwind Traders", "northwind.example")
    for round_number in range(10):
        email = f"pair{round_number}@northwind.example"
        ask_for_link(Client(REMOTE_ADDR="192.0.2.1"), email, checked=False)
        ask_for_link(Client(REMOTE_ADDR="192.0.2.2"), email, checked=False)
        ids = list(CustomerSignInLink.objects.filter(email=email).order_by("pk").values_list("pk", flat=True))
        barrier = threading.Barrier(2, timeout=30)
        results: list[bool] = []
        crashes: list[BaseException] = []

        def check(
            link_id: int,
            barrier: threading.Barrier = barrier,
            results: list[bool] = results,
            crashes: list[BaseException] = crashes,
        ) -> None:
            try:
                barrier.wait()
                results.append(signin.send_link(link_id))
            except BaseException as exc:
                crashes.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=check, args=(pk,)) for pk in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not crashes, crashes
        assert sorted(results) == [False, True], (round_number, results)
        (mailed,) = CustomerSignInLink.objects.filter(email=email, email_message__isnull=False)
        assert mailed.pk == ids[-1]
        path, _token = delivered_link(email)
        assert Client().post(path).status_code == 302
