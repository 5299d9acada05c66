"""Throughput under a real server: gunicorn with production settings, wrk, pages beside their bare views.

Usage (after bench/build_million.py; Debian's wrk: `apt-get install -y wrk`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpor_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/wrk_bench.py

It collects the static files into a scratch folder, then starts gunicorn from deploy/gunicorn.conf.py
with production settings (DEBUG off, persistent database connections as deployed, Redis for the
cache and broker, a worker per core unless --workers or WEB_CONCURRENCY says otherwise) and
bench/wrk_settings.py, which adds the bare views of bench/bare_views.py beside the site's URLs.
Plain HTTP on 127.0.0.1: the HTTPS redirect and secure cookies are off, as behind the proxy that
would terminate TLS; the consent page's per-IP rate limit is lifted, since every request comes from
one address.

The dashboard's and the claim page's bodies are cached for CPOR_PAGE_CACHE_SECONDS (60 s) under the
partner's claims version (claims.views): wrk asks for one URL as one user, so after the first request
of each minute those pages are read from the cache. `CPOR_PAGE_CACHE_SECONDS=0` in the environment
measures them rendered for every request. The bare views are never cached.

Pages, each paired with its bare view (one raw SELECT of the same rows, a minimal template):

- dashboard      /claims/ as the big partner's admin      ↔ /bench/bare/dashboard/
- claim page     /claims/<pk>/ (one of its claims)        ↔ /bench/bare/claim/<pk>/
- consent page   /consent/<token>/ (a link minted here)   ↔ /bench/bare/consent/<token>/
- review queue   /admin/claims/claim/ as the bench reviewer ↔ /bench/bare/queue/

For --rounds rounds (default 3) every page and its bare view run `wrk -t2 -c8 -d<duration>`, one
after the other, the order alternating each round, so a busy neighbour slows both alike. Printed:
median req/s, p50 and p99 latency, errors (non-2xx and socket errors) per view, each page's ratio to
its bare view, the targets, and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Targets from issue 16, on 2 cores.
RATIO_TARGETS = {"dashboard": 0.5, "claim page": 0.5}
RATE_TARGETS = {"review queue": 100.0, "consent page": 500.0}


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(args: argparse.Namespace, var_dir: str, port: int) -> dict[str, str]:
    """Production settings on plain HTTP, for the server and for this process (sessions, tokens)."""
    env = {name: value for name, value in os.environ.items() if name != "DEBUG"}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.wrk_settings",
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"http://127.0.0.1:{port}",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        CPOR_VAR_DIR=var_dir,
        CPOR_CONSENT_RATE_LIMIT=str(10**9),
        BIND_HOST="127.0.0.1",
        PORT=str(port),
        GUNICORN_LOG_LEVEL="warning",
    )
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    return env


def prepare(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Signed-in sessions and a consent link, in this process with the server's settings.

    Returns the cookies per user and the pages' and bare views' paths.
    """
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    from claims.models import Claim
    from consent.models import ConsentRequest, new_token

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…/cpor_bench")
    if not settings.REDIS_URL:
        sys.exit("The benchmark runs with Redis, as production does: set REDIS_URL=redis://…")
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        sys.exit("The benchmark database has unapplied migrations: run `manage.py migrate` on it first.")

    users = get_user_model().objects
    cookies = {}
    for role, email in (
        ("partner", "bench-admin@partner1.example"),
        ("reviewer", "bench-reviewer@cpor.example"),
    ):
        user = users.filter(username=email).first()
        if user is None:
            sys.exit(f"{email} is missing: build the database with bench/build_million.py")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies[role] = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    partner_id = users.get(username="bench-admin@partner1.example").membership.partner_id
    claim = (
        Claim.objects.filter(partner_id=partner_id, status=Claim.Status.UNDER_REVIEW).order_by("-id").first()
    )
    approved = (
        Claim.objects.filter(
            partner_id=partner_id, status=Claim.Status.APPROVED, consent_window_ends_at__gt=timezone.now()
        )
        .order_by("-id")
        .first()
    )
    if claim is None or approved is None:
        sys.exit("The big partner has no claim under review or approved: rebuild with bench/build_million.py")
    # A consent link as the notice mails it: only its hash is stored. Earlier runs' links stay valid
    # for their claims; the benchmark's page is always this one.
    token, token_hash = new_token()
    ConsentRequest.objects.create(
        claim=approved,
        token_hash=token_hash,
        contact_name=approved.customer_contact_name,
        contact_email=approved.customer_contact_email,
        language="en",
        expires_at=approved.consent_window_ends_at,
    )
    paths = {
        "dashboard": "/claims/",
        "dashboard (bare)": "/bench/bare/dashboard/",
        "claim page": f"/claims/{claim.pk}/",
        "claim page (bare)": f"/bench/bare/claim/{claim.pk}/",
        "consent page": f"/consent/{token}/",
        "consent page (bare)": f"/bench/bare/consent/{token}/",
        "review queue": "/admin/claims/claim/",
        "review queue (bare)": "/bench/bare/queue/",
    }
    connection.close()
    return cookies, paths


def cookie_for(view: str, cookies: dict[str, str]) -> str:
    if view.startswith("consent"):
        return ""
    return cookies["reviewer" if view.startswith("review queue") else "partner"]


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}: see its output above")
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2).read()  # noqa: S310
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit(f"gunicorn did not answer on {base} within {timeout:.0f} s")


def check(base: str, path: str, cookie: str) -> int:
    """The view answers 200 with a page (so wrk measures pages, not redirects or errors)."""
    request = urllib.request.Request(base + path, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read()
            final = response.geturl()
    except urllib.error.HTTPError as error:
        sys.exit(f"GET {path} answered {error.code}")
    if final != base + path:
        sys.exit(f"GET {path} was redirected to {final}: the session is not signed in")
    return len(body)


LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(base: str, path: str, cookie: str, *, threads: int, connections: int, duration: int) -> Run:
    # A 30 s timeout: on a machine shared with other work a slow answer is slow, not an error; what
    # counts as an error is an answer that is not 2xx/3xx or a connection that failed.
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603 (wrk, with this script's own arguments)
        [*command, base + path], capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    latency = {int(q): float(v) * UNIT_MS[unit] for q, v, unit in LATENCY.findall(output)}
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return Run(
        rps=rps, p50_ms=latency.get(50, 0.0), p99_ms=latency.get(99, 0.0), errors=errors, requests=requests
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per view and round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: the deployed one per core)"
    )
    parser.add_argument("--pages", default="dashboard,claim page,consent page,review queue")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `apt-get install -y wrk` (Debian's package), then run this again.")
    pages = [page.strip() for page in args.pages.split(",") if page.strip()]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    var_dir = tempfile.mkdtemp(prefix="cpor-wrk-")
    env = server_environment(args, var_dir, port)
    print("collecting static files (production's hashed names) …", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
    )
    cookies, paths = prepare(env)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(  # noqa: S603 (the checkout's own gunicorn)
        [gunicorn, "-c", "deploy/gunicorn.conf.py", "cpor.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the access log, one line a request, as production writes it
        start_new_session=True,
    )
    load_before = os.getloadavg()
    try:
        wait_until_up(base, server)
        views = [view for page in pages for view in (page, f"{page} (bare)")]
        sizes = {view: check(base, paths[view], cookie_for(view, cookies)) for view in views}
        for view in views:  # warm every worker's caches and connections
            wrk(
                base,
                paths[view],
                cookie_for(view, cookies),
                threads=args.threads,
                connections=args.connections,
                duration=2,
            )
        runs: dict[str, list[Run]] = {view: [] for view in views}
        for number in range(args.rounds):
            for page in pages:
                pair = [page, f"{page} (bare)"]
                for view in pair if number % 2 == 0 else reversed(pair):
                    runs[view].append(
                        wrk(
                            base,
                            paths[view],
                            cookie_for(view, cookies),
                            threads=args.threads,
                            connections=args.connections,
                            duration=args.duration,
                        )
                    )
            print(f"round {number + 1}/{args.rounds} done", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(var_dir, ignore_errors=True)
    load_after = os.getloadavg()

    workers = env.get("WEB_CONCURRENCY") or str(len(os.sched_getaffinity(0)))
    print()
    print(
        f"gunicorn: {workers} sync workers, production settings, DB_CONN_MAX_AGE="
        f"{env.get('DB_CONN_MAX_AGE', '60 (default)')}, Redis cache; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s × {args.rounds} rounds, A/B alternating; medians"
    )
    page_cache = env.get("CPOR_PAGE_CACHE_SECONDS", "60 (default)")
    print(
        f"dashboard and claim page bodies cached for CPOR_PAGE_CACHE_SECONDS={page_cache}"
        + (
            ": every request renders them"
            if page_cache.strip() == "0"
            else ": wrk repeats one URL, so most are hits"
        )
    )
    print(
        f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}; after: {' '.join(f'{v:.2f}' for v in load_after)}"
    )
    print(f"{'view':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'bytes':>9}   rounds' req/s")
    median: dict[str, float] = {}
    errors = 0
    for view in views:
        rounds = runs[view]
        median[view] = statistics.median(r.rps for r in rounds)
        errors += sum(r.errors for r in rounds)
        print(
            f"{view:<22}{median[view]:>9.1f}{statistics.median(r.p50_ms for r in rounds):>9.1f}"
            f"{statistics.median(r.p99_ms for r in rounds):>9.1f}{sum(r.errors for r in rounds):>8}"
            f"{sizes[view]:>9,}   " + " ".join(f"{r.rps:.0f}" for r in rounds)
        )
    print()
    missed = errors > 0
    for page in pages:
        ratio = median[page] / median[f"{page} (bare)"]
        ratios = [a.rps / b.rps for a, b in zip(runs[page], runs[f"{page} (bare)"], strict=True)]
        line = f"{page:<14} {ratio:6.2f} of its bare view's req/s (rounds: {' '.join(f'{r:.2f}' for r in ratios)})"
        if page in RATIO_TARGETS:
            ok = ratio >= RATIO_TARGETS[page]
            missed |= not ok
            line += f"   target ≥ {RATIO_TARGETS[page]:.2f}: {'met' if ok else 'MISSED'}"
        if page in RATE_TARGETS:
            ok = median[page] >= RATE_TARGETS[page]
            missed |= not ok
            line += f"   target ≥ {RATE_TARGETS[page]:.0f} req/s: {'met' if ok else 'MISSED'}"
        print(line)
    print(f"errors: {errors} (target 0)")
    print("targets: " + ("MISSED" if missed else "met"))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
