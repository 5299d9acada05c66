"""The usage import's PostgreSQL path (`claims.feeds._import_usage_in_sql`): the file is copied
line by line into the database and checked there. It must read every file exactly as the Python
path does (the one SQLite uses, and PostgreSQL's fallback for a database not in UTF-8): the same
rows saved, the same lines rejected with the same column and reason, the same counts."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from claims import feeds
from claims.models import MonthlyUsage, Product, Tenant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)
NORTHWIND = uuid.UUID("6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f")
TAILSPIN = uuid.UUID("0d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5")
HEADER = "tenant_id,product_code,month,active_users"


@pytest.fixture(autouse=True)
def tenants() -> None:
    Tenant.objects.create(tenant_id=NORTHWIND, name="Northwind Traders")
    Tenant.objects.create(tenant_id=TAILSPIN, name="Tailspin Toys")


def both_paths(data: bytes, monkeypatch: pytest.MonkeyPatch, **options: object) -> tuple[object, object]:
    """Import `data` by SQL, then (table emptied) by Python; what each saved and reported."""

    def run() -> object:
        MonthlyUsage.objects.all().delete()
        result = feeds.import_usage(io.BytesIO(data), now=NOW, **options)
        saved = sorted(
            MonthlyUsage.objects.values_list("tenant__tenant_id", "product__code", "month", "active_users")
        )
        counts = (result.rows_read, result.created, result.updated, result.unchanged, result.rejected)
        # The Python path reports a repeated key when it saves its batch, after the batch's other
        # rejections; SQL reports all in line order.
        rejections = sorted(result.rejections, key=lambda r: r.line)
        return counts, result.windows_1254_lines, rejections, saved

    by_sql = run()
    monkeypatch.setattr(feeds, "_server_reads_utf8", lambda: False)
    by_python = run()
    return by_sql, by_python


ODD_ROWS = f"""{HEADER}
{NORTHWIND},d365-sales,2026-01,1
{str(NORTHWIND).upper()},d365-sales,2026-02,2
{{{NORTHWIND}}},d365-sales,2026-03,3
urn:uuid:{NORTHWIND},d365-sales,2026-04,4
{NORTHWIND.hex},d365-sales,2026-05,5
{str(NORTHWIND).replace("-", "")[:31]}-,d365-sales,2026-05,5
{NORTHWIND},D365-Sales,2026-06,6
{NORTHWIND},d365-sales,2026-6,6
{NORTHWIND},d365-sales,0000-06,6
{NORTHWIND},d365-sales,2026-00,6
{NORTHWIND},d365-sales,2026-11,007
{NORTHWIND},d365-sales,2026-10,00000000001
{NORTHWIND},d365-sales,2026-09,2147483647
{NORTHWIND},d365-sales,2026-08,2147483648
{NORTHWIND},d365-sales,2026-07,-
{NORTHWIND},d365-sales,2025-07,+5
{NORTHWIND},d365-sales,2025-06,٣
{NORTHWIND},d365-sales,2025-05,
,,,
{TAILSPIN},power-apps,2025-01,1,,
{TAILSPIN},power-apps,2025-02,1,,x
{TAILSPIN},power-apps,2025-03
{TAILSPIN},power-apps,2025-04,1,2
 {TAILSPIN} ,\tpower-apps , 2025-05 ,  9\t
"{TAILSPIN}","power-apps","2025-06","10"
"{TAILSPIN}","power,apps","2025-06","10"
"{TAILSPIN}","power-apps","2025-07","1""0"
{TAILSPIN},power\\apps,2025-08,1
{TAILSPIN},power-apps,2025-09,1\\N
{TAILSPIN},power\x1eapps,2025-10,1
\x1e{TAILSPIN},power-apps,2025-11,1
{TAILSPIN},power-apps,2025-12,1\x00
{TAILSPIN},power-apps,2024-12,1\x1f
{"y" * 5000}
{TAILSPIN},power-apps,2024-11,{"9" * 4090}
{TAILSPIN},power-apps,2025-01,2
{TAILSPIN},power-apps,2026-12,1
\t
{TAILSPIN},m365-teams,2026-11,5
"""


def test_odd_rows_are_read_as_the_python_path_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    by_sql, by_python = both_paths(ODD_ROWS.encode(), monkeypatch)
    assert by_sql == by_python
    counts, _windows, rejections, saved = by_sql
    assert counts[1] == len(saved) > 5 and counts[4] == len(rejections) > 20


def test_one_chunk_at_a_time_and_lines_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "CHUNK_BYTES", 61)  # lines split between reads, overlong ones too
    by_sql, by_python = both_paths(ODD_ROWS.replace("\n", "\r\n").encode(), monkeypatch)
    assert by_sql == by_python


def test_windows_1254_semicolons_and_a_bom(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "\r\n\r\nTenant_ID;Month;Active_Users;Product_Code\r"
        f"{NORTHWIND};2026-10;10;d365-sales\r\n"
        f"{NORTHWIND};2026-10;11;ürün-ş\r\n"
        f"{TAILSPIN};2026-09;12;power-apps\n"
        f"{TAILSPIN};2026-09;12;power-apps;\n"
    )
    for data in (text.encode("cp1254"), feeds.BOM + text.encode("utf-8")):
        by_sql, by_python = both_paths(data, monkeypatch)
        assert by_sql == by_python
        monkeypatch.undo()
    counts, windows, rejections, _saved = by_sql
    assert counts == (4, 2, 0, 0, 2) and windows == 0
    assert [str(r) for r in rejections] == [
        "line 5, product_code: No product with the code “ürün-ş”.",
        "line 7, tenant_id + product_code + month: The same key as line 6.",
    ]


def test_a_second_run_changes_only_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [f"{NORTHWIND},d365-sales,2025-{m:02},{m}" for m in range(1, 13)]
    feeds.import_usage(io.BytesIO("\n".join([HEADER, *rows]).encode()), now=NOW)
    rows[3] = rows[3].rsplit(",", 1)[0] + ",40"
    rows.append(f"{TAILSPIN},d365-sales,2025-01,1")
    result = feeds.import_usage(io.BytesIO("\n".join([HEADER, *rows]).encode()), now=NOW)
    assert (result.created, result.updated, result.unchanged, result.rejected) == (1, 1, 11, 0)
    assert MonthlyUsage.objects.get(tenant__tenant_id=NORTHWIND, month=dt.date(2025, 4, 1)).active_users == 40


def test_rejections_stream_past_what_is_kept() -> None:
    bad = "".join(f"{NORTHWIND},d365-sales,2026-10,-{n}\n" for n in range(12_000))
    seen: list[feeds.Rejection] = []
    result = feeds.import_usage(
        io.BytesIO((HEADER + "\n" + bad).encode()), now=NOW, keep=5, on_rejection=seen.append
    )
    assert result.rejected == len(seen) == 12_000 and len(result.rejections) == 5
    assert [r.line for r in seen] == list(range(2, 12_002))
    assert seen[-1].reason == "“-11999” is negative."


# ---------------------------------------------------------------------------------------------
# What the foreign keys' constraints did, now that the import's speed needs them gone


def test_a_tenant_deleted_in_sql_takes_its_usage_with_it() -> None:
    feeds.import_usage(io.BytesIO(f"{HEADER}\n{NORTHWIND},d365-sales,2026-10,1\n".encode()), now=NOW)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM claims_tenant WHERE tenant_id = %s", [NORTHWIND])
    assert not MonthlyUsage.objects.exists()


def test_a_product_named_by_usage_cannot_be_deleted_in_sql() -> None:
    feeds.import_usage(io.BytesIO(f"{HEADER}\n{NORTHWIND},d365-sales,2026-10,1\n".encode()), now=NOW)
    product = Product.objects.get(code="d365-sales")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM claims_product WHERE id = %s", [product.pk])
    assert MonthlyUsage.objects.filter(product=product).exists()


def test_a_tenant_deleted_between_the_check_and_the_upsert_refuses_the_file() -> None:
    doomed = Tenant.objects.create(tenant_id=uuid.UUID(int=99), name="Doomed Ltd")
    text = f"{HEADER}\nbad,d365-sales,2026-10,1\n{doomed.tenant_id},d365-sales,2026-10,1\n"

    def delete_the_tenant(rejection: feeds.Rejection) -> None:
        Tenant.objects.filter(pk=doomed.pk).delete()  # after the check resolved its rows

    with pytest.raises(feeds.FeedError, match="deleted during the import. Nothing was saved"):
        feeds.import_usage(io.BytesIO(text.encode()), now=NOW, on_rejection=delete_the_tenant)
    assert not MonthlyUsage.objects.exists()
