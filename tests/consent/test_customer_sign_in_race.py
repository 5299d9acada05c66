"""Two POSTs of one sign-in link at the same moment: exactly one signs in (PostgreSQL, real commits).

The link's row is locked and marked used in one transaction, so the second request waits for the
first and then finds the link used. 30 rounds, two threads each, released together by a barrier.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

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
