"""Benchmark the usage feed import against PostgreSQL's COPY of the same file.

Usage (PostgreSQL; the usage table and the benchmark's tenants are emptied and refilled):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_import_bench .venv/bin/python bench/import_bench.py

Options: --rows N (default 1,000,000), --memory-sizes 100000,1000000, --runs N (default 3).

It prints, in one run on one database:
- a generated usage CSV of N rows (tenants × products × months, every key once) in /tmp;
- `COPY … FROM STDIN (FORMAT csv, HEADER)` of that file, streamed by this process, into a scratch
  table with the feed's four columns typed (uuid, text, text, integer) and no index: wall time;
- the same COPY into a scratch table that holds the indexes claims_monthlyusage keeps (a bigserial
  primary key and the unique key): PostgreSQL's own bulk load once its indexes are kept, the
  import's ratio to it printed beside the ratio to the bare COPY;
- one `INSERT … SELECT … ON CONFLICT` from the first scratch table into an empty `claims_monthlyusage`,
  sorted by its key: what the table itself costs (its indexes and checks), no row checked or reported;
- `claims.feeds.import_file("usage", path)`, the commands' and the admin's code path, into an
  empty `claims_monthlyusage`: wall time, rows/s and the ratio to COPY (the issue's target: ≤ 3×)
  and to the SQL upsert;
- the same file imported again (every row unchanged, nothing written): wall time;
- every timed run starts right after `ANALYZE` and a `CHECKPOINT`, so none inherits another's dirty
  pages;
- the import's peak Python memory (tracemalloc) and the process's peak RSS growth at each of
  --memory-sizes, to show that memory does not grow with the file;
- the timed steps --runs times, each run's figures and then their medians, with the load average
  before and after (the machine may be shared: a ratio to COPY in the same run is what compares).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only")

import django

django.setup()

from django.core.management import call_command
from django.db import connection

from claims import feeds
from claims.models import Product, Tenant

MONTHS = 24  # 2024-01 … 2025-12: all in the past
BENCH_TENANT_NAME = "Import bench tenant"


def run(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def settle() -> None:
    run("ANALYZE")
    run("CHECKPOINT")


def tenants_for(rows: int, products: int) -> list[uuid.UUID]:
    """Enough benchmark tenants that tenants × products × MONTHS ≥ rows (created once, reused)."""
    needed = -(-rows // (products * MONTHS))
    have = list(
        Tenant.objects.filter(name=BENCH_TENANT_NAME).order_by("pk").values_list("tenant_id", flat=True)
    )
    if len(have) < needed:
        new = [
            Tenant(tenant_id=uuid.UUID(int=(0xB0 << 120) + i), name=BENCH_TENANT_NAME)
            for i in range(len(have), needed)
        ]
        Tenant.objects.bulk_create(new, batch_size=5_000)
        have += [t.tenant_id for t in new]
    return have[:needed]


def write_csv(rows: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"cpor_usage_{rows}.csv"
    codes = list(Product.objects.order_by("code").values_list("code", flat=True))
    tenants = tenants_for(rows, len(codes))
    if path.exists() and sum(1 for _ in path.open("rb")) == rows + 1:
        return path
    written = 0
    with path.open("w", newline="") as out:
        out.write("tenant_id,product_code,month,active_users\n")
        for tenant in tenants:
            for code in codes:
                for m in range(MONTHS):
                    if written == rows:
                        return path
                    out.write(f"{tenant},{code},{2024 + m // 12}-{m % 12 + 1:02},{(written * 7919) % 5000}\n")
                    written += 1
    return path


def copy_file(path: Path) -> float:
    run("DROP TABLE IF EXISTS bench_usage_copy")
    run("CREATE TABLE bench_usage_copy (tenant_id uuid, product_code text, month text, active_users integer)")
    return _timed_copy(path, "bench_usage_copy (tenant_id, product_code, month, active_users)")


def copy_file_indexed(path: Path) -> float:
    """COPY of the same file into a scratch table holding the indexes claims_monthlyusage holds (a
    bigserial primary key and the unique key of tenant, product and month): what PostgreSQL's own
    bulk load costs once a table keeps the indexes the import must keep."""
    run("DROP TABLE IF EXISTS bench_usage_copy_indexed")
    run(
        "CREATE TABLE bench_usage_copy_indexed (id bigserial PRIMARY KEY, tenant_id uuid, product_code text, "
        "month text, active_users integer, UNIQUE (tenant_id, product_code, month))"
    )
    elapsed = _timed_copy(path, "bench_usage_copy_indexed (tenant_id, product_code, month, active_users)")
    run("DROP TABLE bench_usage_copy_indexed")
    return elapsed


def _timed_copy(path: Path, target: str) -> float:
    settle()
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {target} FROM STDIN (FORMAT csv, HEADER)") as copy,
        path.open("rb") as source,
    ):
        while chunk := source.read(1 << 20):
            copy.write(chunk)
    return time.perf_counter() - started


def sql_upsert() -> float:
    """The database's own floor for the import's write: one INSERT … SELECT … ON CONFLICT from the
    COPY'd scratch table into an empty claims_monthlyusage (its primary key and unique indexes, and
    checks; since migration 0016 no foreign key constraints, since 0017 no index on the product),
    sorted by the unique key as the import sorts, with no checking of the rows and no report of bad
    ones. (The import itself, holding a lock that keeps other writers out, inserts the keys it did
    not find without ON CONFLICT.)"""
    run("TRUNCATE claims_monthlyusage")
    settle()
    started = time.perf_counter()
    run(
        "INSERT INTO claims_monthlyusage (tenant_id, product_id, month, active_users) "
        "SELECT t.id, p.id, (s.month || '-01')::date, s.active_users FROM bench_usage_copy s "
        "JOIN claims_tenant t ON t.tenant_id = s.tenant_id JOIN claims_product p ON p.code = s.product_code "
        "ORDER BY 1, 2, 3 "
        "ON CONFLICT (tenant_id, product_id, month) DO UPDATE SET active_users = excluded.active_users "
        "WHERE claims_monthlyusage.active_users <> excluded.active_users"
    )
    elapsed = time.perf_counter() - started
    run("DROP TABLE bench_usage_copy")
    return elapsed


def import_file(path: Path, *, empty_first: bool) -> tuple[float, feeds.ImportResult]:
    if empty_first:
        run("TRUNCATE claims_monthlyusage")
    settle()
    started = time.perf_counter()
    result = feeds.import_file("usage", str(path))
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description="Usage feed import benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run on PostgreSQL: set DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0)

    print(f"PostgreSQL {connection.pg_version}")
    print("memory of the import (tracemalloc peak; peak RSS growth of the process):")
    sizes = sorted(int(n) for n in args.memory_sizes.split(","))
    files = {rows: write_csv(rows) for rows in sorted({*sizes, args.rows})}
    # Smallest first, before the timed runs: the process's peak RSS only ever rises.
    for rows in sizes:
        sized = files[rows]
        run("TRUNCATE claims_monthlyusage")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        result = feeds.import_file("usage", str(sized))
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        assert result.created == rows, result.summary()
        print(
            f"  {rows:>9,} rows: peak {peak / 1024 / 1024:6.1f} MiB traced, RSS +{rss_growth / 1024:6.1f} MiB"
        )

    path = files[args.rows]
    size = path.stat().st_size
    print(f"usage feed: {args.rows:,} rows, {size / 1024 / 1024:.1f} MiB at {path}")
    print(f"load average before: {_load()}")
    runs: list[tuple[float, float, float, float, float]] = []
    for number in range(1, args.runs + 1):
        indexed = copy_file_indexed(path)
        copy_seconds = copy_file(path)
        floor = sql_upsert()
        seconds, result = import_file(path, empty_first=True)
        assert (result.created, result.rejected) == (args.rows, 0), result.summary()
        again, result = import_file(path, empty_first=False)
        assert (result.unchanged, result.changed) == (args.rows, 0), result.summary()
        runs.append((copy_seconds, floor, seconds, again, indexed))
        print(f"run {number} (load {_load()}):")
        report(args.rows, copy_seconds, floor, seconds, again, indexed)
    if len(runs) > 1:
        medians = [statistics.median(run[i] for run in runs) for i in range(5)]
        print(f"median of {len(runs)} runs (each ratio is that of the medians):")
        report(args.rows, *medians)
    print(f"load average after: {_load()}")


def _load() -> str:
    return ", ".join(f"{n:.1f}" for n in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def report(
    rows: int, copy_seconds: float, floor: float, seconds: float, again: float, indexed: float
) -> None:
    print(
        f"  COPY into a scratch table:          {copy_seconds:7.2f} s  ({rows / copy_seconds:>9,.0f} rows/s)"
    )
    print(
        f"  COPY into an indexed scratch table: {indexed:7.2f} s  = {indexed / copy_seconds:.2f}× COPY"
        " (PostgreSQL's own load, keeping a primary key and the unique key)"
    )
    print(
        f"  one SQL upsert from that table:     {floor:7.2f} s  ({rows / floor:>9,.0f} rows/s)"
        f"  = {floor / copy_seconds:.2f}× COPY (the table's own cost: its indexes)"
    )
    print(
        f"  import_usage, empty table:          {seconds:7.2f} s  ({rows / seconds:>9,.0f} rows/s)"
        f"  = {seconds / copy_seconds:.2f}× COPY, {seconds / floor:.2f}× the SQL upsert,"
        f" {seconds / indexed:.2f}× COPY into the indexed table"
    )
    print(
        f"  import_usage, same file again:      {again:7.2f} s  ({rows / again:>9,.0f} rows/s)"
        f"  = {again / copy_seconds:.2f}× COPY, 0 rows changed"
    )


if __name__ == "__main__":
    main()
