"""Benchmark the Partner API's claim list (GET /api/v1/claims) at 1,000,000 claims, beside a bare view.

Usage (PostgreSQL only; a database of its own, so no one else's data is touched):

    createdb -h 127.0.0.1 -U postgres cpor_bench_api
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench_api .venv/bin/python bench/api_list_bench.py

The first run builds the data set with bench/build_million.py's generator (1,000,000 claims over
1,000 partners, partner 1 with 20,000; a few minutes), then spreads `updated_at` over the claims'
lives (the generator writes one `now()` for all) and gives 200 of partner 2's claims to a small
partner of their own ("Bench API small partner"). Later runs reuse the database while it holds
--claims claims. Options: --claims N (a smaller data set: rebuilt when the count differs),
--rebuild, --runs N, --scope read|write (the keys' scope; write, the default, also computes each
claim's allowed actions), --no-drop (skip the run without the list index), --explain (print plans).

Each case is a real request through Django's test Client with a real API key (Authorization:
Bearer), timed with time.perf_counter after a warm-up, alternating with the bare view in the same
process: one raw SELECT of the same columns (the MPN ID joined, the product codes as an ARRAY
subquery), the derived fields (status label, deadline in words, allowed actions and editable
fields per status) made with the same domain functions, serialized by json.dumps with Django's
JSON encoder (times written as pydantic writes them) and returned as an HttpResponse. The bare view must return the same JSON as the
endpoint (compared item by item), or the run stops. Query counts by CaptureQueriesContext; the
key's last-used UPDATE (at most once a minute) is shown apart. The endpoint's and the bare view's
main statements are EXPLAIN ANALYZEd. When the (partner, updated_at, id) index exists, the cases
run again with it dropped, in a transaction that is rolled back.

Target (issue 12): median at most 2x the bare view; the same number of queries for limit 10 and
100, and for the partner with 20,000 claims and the one with 200.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")
os.environ.setdefault("DEBUG", "true")  # development settings, as before DEBUG defaulted to off

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import clear_url_caches, include, path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.dateparse import parse_datetime  # noqa: E402

from api.models import ApiKey  # noqa: E402
from api.schemas import ACTIONS, ClaimOut  # noqa: E402
from bench.build_million import build  # noqa: E402
from claims import workflow  # noqa: E402
from claims.models import Claim, Membership, MpnId, Partner  # noqa: E402
from claims.selectors import membership_for  # noqa: E402
from cpor.deadlines import describe_deadline  # noqa: E402

LIST_URL = "/api/v1/claims"
BARE_URL = "/bench/bare/claims"
LIST_INDEX = "claim_partner_updated_idx"
BIG_ADMIN = "bench-admin@partner1.example"  # build_million.py's Incentives admin of partner 1
SMALL_PARTNER = "Bench API small partner"
SMALL_ADMIN = "bench-api-small@partner-small.example"
SMALL_CLAIMS = 200
KEY_NAME = "API list bench"
WARM_UP = 5
TARGET_RATIO = 2.0
TOUCH = 'UPDATE "api_apikey"'  # the key's last_used_at, written at most once a minute

# ---------------------------------------------------------------------------------------------
# The bare view: one SELECT, the same JSON

# ClaimOut's fields that are not a column of claims_claim under the same name.
DERIVED = {
    "status_label",
    "mpn",
    "products",
    "deadline",
    "allowed_actions",
    "editable_fields",
    "may_add_documents",
    "copied_from",
}
JSON_COLUMNS = {"information_request_reasons", "rejection_sub_reasons"}


def _columns() -> list[str]:
    """The claims_claim columns ClaimOut shows, in its order (a column added to ClaimOut comes along)."""
    names = []
    concrete = {f.name: f for f in Claim._meta.concrete_fields}
    for name in ClaimOut.model_fields:
        if name in DERIVED:
            continue
        if name not in concrete or concrete[name].is_relation:
            sys.exit(f"ClaimOut.{name} is neither a claims_claim column nor known to the bare view: teach it")
        names.append(name)
    return names


COLUMNS = _columns()
BARE_SELECT = """
SELECT {columns}, c.copied_from_id, m.number,
       ARRAY(SELECT p.code FROM claims_claim_products cp JOIN claims_product p ON p.id = cp.product_id
              WHERE cp.claim_id = c.id ORDER BY p.code) AS products
  FROM claims_claim c JOIN claims_mpnid m ON m.id = c.mpn_id
 WHERE {where}
 ORDER BY c.updated_at, c.id
 LIMIT %s
"""


@dataclass
class BareContext:
    """What the bare view knows without asking the database: the key's user, partner and scope."""

    user: Any = None
    partner_id: int = 0
    may_write: bool = False
    per_status: dict[str, tuple[list[str], list[str], bool]] = field(default_factory=dict)


BARE = BareContext()


def _bare_sql(params: dict[str, str], partner_id: int) -> tuple[str, list[Any]]:
    where, args = ["c.partner_id = %s"], [partner_id]
    if params.get("status"):
        where.append("c.status = %s")
        args.append(params["status"])
    if params.get("updated_since"):
        where.append("c.updated_at >= %s")
        args.append(parse_datetime(params["updated_since"]))
    if params.get("cursor"):
        raw = base64.urlsafe_b64decode(params["cursor"] + "=" * (-len(params["cursor"]) % 4))
        at, pk = json.loads(raw)
        where.append("(c.updated_at, c.id) > (%s, %s)")
        args += [dt.datetime.fromisoformat(at), pk]
    limit = int(params.get("limit", 50))
    sql = BARE_SELECT.format(columns=", ".join(f"c.{name}" for name in COLUMNS), where=" AND ".join(where))
    return sql, [*args, limit + 1]


class TimesAsPydantic(DjangoJSONEncoder):
    """Django's encoder, with times written as the endpoint's pydantic serializer writes them (to the
    microsecond, UTC as Z), so the two answers are the same JSON."""

    def default(self, o: object) -> object:
        if isinstance(o, dt.datetime):
            return o.isoformat().replace("+00:00", "Z")
        return super().default(o)


def bare_claims(request: HttpRequest) -> HttpResponse:
    """The floor: the endpoint's JSON from one SELECT, with no ORM objects and no schema validation.

    It does what a hand-written view would: one clock reading per page, the status labels looked up
    in a dict, and the allowed actions and editable fields asked once per status per page (for the
    key's user on its own partner's claims they depend on the status alone). No authentication: the
    partner and user are the benchmark's (BARE).
    """
    params = request.GET.dict()
    limit = int(params.get("limit", 50))
    sql, args = _bare_sql(params, BARE.partner_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = cursor.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    now = timezone.now()
    labels = {value: str(label) for value, label in Claim.Status.choices}
    items = []
    for row in rows:
        item = dict(zip(COLUMNS, row, strict=False))
        copied_from, mpn, products = row[len(COLUMNS) :]
        for name in JSON_COLUMNS:
            item[name] = json.loads(item[name])
        status = item["status"]
        if status not in BARE.per_status:
            claim = Claim(status=status, partner_id=BARE.partner_id)
            BARE.per_status[status] = (
                [a for a in workflow.allowed_actions(claim, BARE.user) if a in ACTIONS]
                if BARE.may_write
                else [],
                sorted(claim.editable_fields()) if BARE.may_write else [],
                BARE.may_write and claim.may_add_documents,
            )
        allowed, editable, may_add = BARE.per_status[status]
        deadline_field = Claim.DEADLINE_BY_STATUS.get(status)
        deadline = describe_deadline(
            deadline_field, item.get(deadline_field) if deadline_field else None, now
        )
        out = dict(item)
        out.update(
            status_label=labels[status],
            mpn=mpn,
            products=list(products),
            deadline={
                "field": deadline_field,
                "at": deadline.at,
                "words": deadline.words,
                "overdue": deadline.overdue,
            }
            if deadline and deadline_field
            else None,
            allowed_actions=allowed,
            editable_fields=editable,
            may_add_documents=may_add,
            copied_from=copied_from,
        )
        items.append({name: out[name] for name in ClaimOut.model_fields})
    next_cursor = None
    if more:
        last = items[-1]
        raw = json.dumps([last["updated_at"].isoformat(), last["id"]]).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    body = json.dumps(
        {"items": items, "next_cursor": next_cursor}, cls=TimesAsPydantic, separators=(",", ":")
    )
    return HttpResponse(body, content_type="application/json")


ORIGINAL_URLCONF = settings.ROOT_URLCONF
urlpatterns = [path(BARE_URL.lstrip("/"), bare_claims), path("", include(ORIGINAL_URLCONF))]


# ---------------------------------------------------------------------------------------------
# The data set


def _count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM claims_claim")
        return cursor.fetchone()[0]


def _run(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def prepare(total: int, rebuild: bool) -> None:
    """Build (or reuse) the data set: build_million.py's claims, then this benchmark's additions."""
    call_command("migrate", verbosity=0)
    if rebuild or _count() != total:
        big = min(20_000, total // 5)
        # Partner 2 lends SMALL_CLAIMS to the small partner and keeps as many.
        partners = max(2, min(1_000, (total - big) // (2 * SMALL_CLAIMS) + 1))
        # build() deletes the bench partners with raw SQL: first their rows that would block it.
        bench = Partner.objects.filter(name__startswith="Bench ")
        for rel in Partner._meta.related_objects:
            if rel.related_model not in (Claim, Membership, MpnId) and rel.on_delete.__name__ == "CASCADE":
                rel.related_model.objects.filter(**{f"{rel.field.name}__in": bench}).delete()
        build(total, partners, big)
    if Partner.objects.filter(name=SMALL_PARTNER).exists():
        return
    started = time.perf_counter()
    print("spreading updated_at over the claims' lives …")
    _run(
        "UPDATE claims_claim SET updated_at = LEAST(now(), created_at + (id % 45) * interval '1 day'"
        " + (id % 86400) * interval '1 second')"
    )
    print(f"a partner with {SMALL_CLAIMS} claims …")
    small = Partner.objects.create(name=SMALL_PARTNER, language="en")
    mpn = MpnId.objects.create(partner=small, number="8999999", location="Bench")
    second = Partner.objects.filter(name__startswith="Bench Partner ").order_by("pk")[1]
    _run(
        "UPDATE claims_claim SET partner_id = %s, mpn_id = %s WHERE id IN "
        "(SELECT id FROM claims_claim WHERE partner_id = %s ORDER BY id LIMIT %s)",
        [small.pk, mpn.pk, second.pk, SMALL_CLAIMS],
    )
    user, _ = get_user_model().objects.update_or_create(username=SMALL_ADMIN, defaults={"email": SMALL_ADMIN})
    Membership.objects.update_or_create(
        user=user, defaults={"partner": small, "role": Membership.Role.INCENTIVES_ADMIN}
    )
    print("vacuum analyze …")
    _run("VACUUM ANALYZE claims_claim")
    print(f"prepared in {time.perf_counter() - started:.0f} s")


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Caller:
    label: str
    partner_id: int
    user: Any
    secret: str
    claims: int


def issue_key(email: str, scope: str) -> Caller:
    user = get_user_model().objects.get(username=email)
    membership = membership_for(user)
    if membership is None:
        sys.exit(f"{email} has no membership: rebuild with --rebuild")
    ApiKey.objects.filter(partner=membership.partner, name=KEY_NAME).delete()
    _, secret = ApiKey.issue(name=KEY_NAME, partner=membership.partner, created_by=user, scope=scope)
    claims = Claim.objects.filter(partner_id=membership.partner_id).count()
    return Caller(membership.partner.name, membership.partner_id, user, secret, claims)


def endpoint(client: Client, caller: Caller, params: dict[str, str]) -> Callable[[], HttpResponse]:
    def get() -> HttpResponse:
        response = client.get(LIST_URL, params, headers={"authorization": f"Bearer {caller.secret}"})
        if response.status_code != 200:
            raise SystemExit(
                f"GET {LIST_URL} {params} answered {response.status_code}: {response.content[:300]!r}"
            )
        return response

    return get


def bare(client: Client, caller: Caller, params: dict[str, str]) -> Callable[[], HttpResponse]:
    def get() -> HttpResponse:
        BARE.user, BARE.partner_id = caller.user, caller.partner_id
        BARE.per_status = {}
        response = client.get(BARE_URL, params)
        if response.status_code != 200:
            raise SystemExit(f"GET {BARE_URL} {params} answered {response.status_code}")
        return response

    return get


def queries(call: Callable[[], HttpResponse]) -> tuple[int, int, list[str]]:
    """Queries of one call, without the key's last-used UPDATE, and how many of those there were."""
    with CaptureQueriesContext(connection) as captured:
        call()
    sqls = [q["sql"] for q in captured.captured_queries]
    touches = sum(1 for sql in sqls if sql.startswith(TOUCH))
    return len(sqls) - touches, touches, sqls


def alternate(
    runs: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[list[float], list[float]]:
    for _ in range(WARM_UP):
        first()
        second()
    a, b = [], []
    for _ in range(runs):
        for call, times in ((first, a), (second, b)):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
    return a, b


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18] if len(times) >= 2 else times[0]


SCAN = re.compile(
    r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)?(?: using| on) (\w+)"
)


def explain(sql: str, args: list[Any] | None = None) -> tuple[float, str, str]:
    """(execution ms, how claims_claim is read, the plan) of EXPLAIN ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, args)
        lines = [row[0] for row in cursor.fetchall()]
    plan = "\n".join(lines)
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
    reads, filtered, inside = [], 0, False
    for line in lines:
        found = SCAN.search(line)
        if found:
            kind, name = found.groups()
            # The claims table's own scans: its indexes are named claim_* or claims_claim_*_idx.
            inside = " claims_claim " in line + " " or (
                kind == "Bitmap Index Scan" and name.startswith("claim_")
            )
            if inside:
                reads.append("seq scan" if kind == "Seq Scan" else f"{kind.lower()} {name}")
        elif "->" in line:
            inside = False
        elif inside and "Rows Removed by Filter" in line:
            filtered += int(line.rsplit(":", 1)[1])
    # A sort above the first read of claims_claim: the plan sorts the rows instead of reading them in order.
    first = next((i for i, line in enumerate(lines) if " claims_claim " in line + " "), 0)
    if any(re.search(r"->\s+(Incremental )?Sort\b|^(Incremental )?Sort\b", line) for line in lines[:first]):
        reads.append("+ sort")
    summary = " ".join(reads) + (f" ({filtered:,} rows filtered out)" if filtered else "")
    return ms, summary, plan


def main_statement(sqls: list[str]) -> str:
    for sql in sqls:
        if (
            sql.startswith("SELECT")
            and 'FROM "claims_claim"' in sql
            and 'ORDER BY "claims_claim"."updated_at"' in sql
        ):
            return sql
    raise SystemExit("the endpoint's list statement was not found among its queries")


def same_json(api: HttpResponse, raw: HttpResponse) -> tuple[bool, int, str]:
    a, b = json.loads(api.content), json.loads(raw.content)
    if a == b:
        return True, len(a["items"]), ""
    if [i["id"] for i in a["items"]] != [i["id"] for i in b["items"]]:
        return False, len(a["items"]), "different ids"
    for x, y in zip(a["items"], b["items"], strict=True):
        for name in x:
            if x[name] != y.get(name):
                return False, len(a["items"]), f"claim {x['id']}: {name} {x[name]!r} != {y.get(name)!r}"
    return False, len(a["items"]), f"next_cursor {a['next_cursor']!r} != {b['next_cursor']!r}"


@dataclass
class Row:
    case: str
    api_ms: list[float]
    bare_ms: list[float]
    api_queries: int
    rows: int
    api_sql_ms: float
    api_plan: str
    bare_sql_ms: float
    bare_plan: str

    @property
    def ratio(self) -> float:
        return statistics.median(self.api_ms) / statistics.median(self.bare_ms)


def measure(client: Client, caller: Caller, cases: list[tuple[str, dict[str, str]]], args: Any) -> list[Row]:
    rows = []
    for label, params in cases:
        call_api, call_bare = endpoint(client, caller, params), bare(client, caller, params)
        api_response, bare_response = call_api(), call_bare()
        same, count, why = same_json(api_response, bare_response)
        if not same:
            sys.exit(f"{label}: the bare view's JSON differs from the endpoint's ({why})")
        api_queries, _, sqls = queries(call_api)
        bare_queries, _, _ = queries(call_bare)
        if bare_queries != 1:
            sys.exit(f"the bare view made {bare_queries} queries")
        api_sql_ms, api_plan, api_full = explain(main_statement(sqls))
        bare_sql_ms, bare_plan, bare_full = explain(*_bare_sql(params, caller.partner_id))
        if args.explain:
            print(f"--- {label}: endpoint\n{api_full}\n--- {label}: bare\n{bare_full}")
        api_ms, bare_ms = alternate(args.runs, call_api, call_bare)
        rows.append(
            Row(label, api_ms, bare_ms, api_queries, count, api_sql_ms, api_plan, bare_sql_ms, bare_plan)
        )
    return rows


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(
        f"{'case':30} {'rows':>4} | {'API med':>8} {'p95':>7} {'q':>2} | {'bare med':>8} {'p95':>7} {'q':>2} | "
        f"{'ratio':>5} | {'SQL ms API/bare':>16}  plan (API | bare)"
    )
    for r in rows:
        print(
            f"{r.case:30} {r.rows:4d} | {statistics.median(r.api_ms):8.2f} {p95(r.api_ms):7.2f} {r.api_queries:2d} | "
            f"{statistics.median(r.bare_ms):8.2f} {p95(r.bare_ms):7.2f} {1:2d} | {r.ratio:5.2f} | "
            f"{r.api_sql_ms:7.2f}/{r.bare_sql_ms:<8.2f}  {r.api_plan} | {r.bare_plan}"
        )


def cursor_at(partner_id: int, position: int, status: str = "") -> str:
    """The cursor the API gives out after the claim at `position` of the partner's list."""
    claims = Claim.objects.filter(partner_id=partner_id)
    if status:
        claims = claims.filter(status=status)
    updated_at, pk = claims.order_by("updated_at", "id").values_list("updated_at", "id")[position]
    raw = json.dumps([updated_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--claims", type=int, default=1_000_000, help="size of the data set (rebuilt if it differs)"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--scope", choices=ApiKey.Scope.values, default=ApiKey.Scope.WRITE)
    parser.add_argument("--no-drop", action="store_true", help="skip the run without the list index")
    parser.add_argument("--explain", action="store_true", help="print each case's plans")
    args = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark database must be PostgreSQL: set DATABASE_URL=postgres://…/cpor_bench_api")
    if args.claims < 5 * SMALL_CLAIMS * 2:
        sys.exit(f"--claims must be at least {5 * SMALL_CLAIMS * 2}")
    prepare(args.claims, args.rebuild)
    settings.DEBUG = False
    # Hundreds of reads a minute from one key: the limit still counts each call (on the cache; Redis
    # when REDIS_URL is set), but never refuses one.
    settings.CPOR_API_RATE_READ = 10**9
    settings.ROOT_URLCONF = sys.modules[__name__]
    clear_url_caches()

    big, small = issue_key(BIG_ADMIN, args.scope), issue_key(SMALL_ADMIN, args.scope)
    BARE.may_write = args.scope == ApiKey.Scope.WRITE
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = %s", [LIST_INDEX])
        has_index = cursor.fetchone() is not None
        cursor.execute(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY updated_at) FROM claims_claim WHERE partner_id = %s",
            [big.partner_id],
        )
        since = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    since_text = since.isoformat().replace("+00:00", "Z")
    deep = cursor_at(big.partner_id, int(big.claims * 0.75))
    cases = [
        ("first page", {"limit": "100"}),
        ("status=under_review", {"status": "under_review", "limit": "100"}),
        ("updated_since (half)", {"updated_since": since_text, "limit": "100"}),
        (
            "status=submitted+updated_since",
            {"status": "submitted", "updated_since": since_text, "limit": "100"},
        ),
        ("cursor at 3/4 of the list", {"cursor": deep, "limit": "100"}),
    ]
    client = Client()
    print(
        f"claims: {_count():,}   partner: {big.label} ({big.claims:,} claims)   key scope: {args.scope}   "
        f"runs: {args.runs} after {WARM_UP} warm-up, alternating   PostgreSQL {version}"
    )
    print(f"updated_since = {since_text}; ms per request (median, p95); q = queries per request")

    rows = measure(client, big, cases, args)
    print_rows(f"with {LIST_INDEX}" if has_index else f"WITHOUT {LIST_INDEX} (not in this database)", rows)

    print("\nqueries per request, first page (the key's last-used UPDATE, once a minute, not counted):")
    counts = {}
    for caller in (big, small):
        for limit in ("10", "100"):
            counted, touches, _ = queries(endpoint(client, caller, {"limit": limit}))
            response = endpoint(client, caller, {"limit": limit})()
            counts[(caller.label, limit)] = counted
            print(
                f"  {caller.label:28} {caller.claims:>7,} claims  limit {limit:>3}: {counted} queries"
                f" (+{touches} last-used UPDATE), {len(json.loads(response.content)['items'])} items"
            )
    constant = len(set(counts.values())) == 1

    if has_index and not args.no_drop:
        try:
            with transaction.atomic():
                _run(f"DROP INDEX {LIST_INDEX}")
                print_rows(
                    f"WITHOUT {LIST_INDEX} (dropped in a transaction, rolled back)",
                    measure(client, big, cases, args),
                )
                raise _RollBack
        except _RollBack:
            pass

    worst = max(r.ratio for r in rows)
    met = worst <= TARGET_RATIO and constant
    print(
        f"\ntarget: API median <= {TARGET_RATIO:.0f}x bare (worst {worst:.2f}x) and constant queries "
        f"({'yes' if constant else 'NO'}): {'met' if met else 'MISSED'}"
    )
    ApiKey.objects.filter(name=KEY_NAME, partner_id__in=[big.partner_id, small.partner_id]).delete()
    sys.exit(0 if met else 1)


class _RollBack(Exception):
    pass


if __name__ == "__main__":
    main()
