"""Two imports of the same feed at once (two operators, or the command and the admin page) on
PostgreSQL: both finish, the rows are those of the file once, and between them every row is counted
as new exactly once."""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid

import pytest
from django.db import connection

from claims import feeds
from claims.models import MonthlyUsage, Product, Subscription, Tenant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)
STATUS = ("active", "suspended")


def both_at_once(text: str, importer: object) -> list[feeds.ImportResult]:
    barrier = threading.Barrier(2, timeout=30)
    results: list[feeds.ImportResult] = []
    crashes: list[BaseException] = []

    def operator() -> None:
        try:
            barrier.wait()
            results.append(importer(io.BytesIO(text.encode()), now=NOW, batch_rows=50))  # type: ignore[operator]
        except BaseException as exc:
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=operator) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an import is stuck"
    if crashes:
        raise crashes[0]
    return results


def test_two_usage_imports_of_one_file_at_once() -> None:
    tenants = [Tenant.objects.create(tenant_id=uuid.uuid4(), name=f"T{n}") for n in range(5)]
    codes = list(Product.objects.order_by("code").values_list("code", flat=True)[:6])
    lines = [
        f"{tenant.tenant_id},{code},2026-{month:02},{month * 3}"
        for tenant in tenants
        for code in codes
        for month in range(1, 11)
    ]
    results = both_at_once(
        "tenant_id,product_code,month,active_users\n" + "\n".join(lines), feeds.import_usage
    )
    assert MonthlyUsage.objects.count() == len(lines) == 300
    assert sum(r.created for r in results) == 300
    assert all(r.rejected == 0 and r.saved == 300 for r in results)


def test_two_subscription_imports_of_one_file_at_once() -> None:
    tenant = Tenant.objects.create(tenant_id=uuid.uuid4(), name="T")
    lines = [
        f"{uuid.UUID(int=n)},{tenant.tenant_id},d365-sales,direct,{STATUS[n % 2]},{n},2025-01-01,"
        for n in range(1, 201)
    ]
    header = "subscription_id,tenant_id,product_code,channel,status,seats,start_date,end_date\n"
    results = both_at_once(header + "\n".join(lines), feeds.import_subscriptions)
    assert Subscription.objects.count() == 200
    assert sum(r.created for r in results) == 200
    assert Subscription.objects.filter(inactive_since=NOW).count() == 100
